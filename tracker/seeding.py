"""The seed registry (seeds/, shipped in the package: tracker.package_data): loaded into an empty
store on first run, once."""

from __future__ import annotations

from pathlib import Path

import yaml

from facilities import geojson_codec as codec
from facilities.geojson_io import parse_json
from facilities.model import ImageRef, Observation, Registry, Source
from facilities.store import ImportReport, OnConflict, Store

from .package_data import seeds_dir

SEEDS_DIR = seeds_dir()
SEED_VERSION = "1"


def read_seed(seeds_dir: Path = SEEDS_DIR) -> Registry:
    """The seed registry: sources, facilities and structures, and observations from the seeds directory."""
    sources = tuple(Source(**raw) for raw in yaml.safe_load((seeds_dir / "sources.yaml").read_text("utf-8")))
    data = parse_json((seeds_dir / "facilities.geojson").read_bytes(), source="seeds/facilities.geojson")
    places, _problems, _notes = codec.parse_feature_collection(data, source="seeds/facilities.geojson")
    observations = []
    for raw in yaml.safe_load((seeds_dir / "observations.yaml").read_text("utf-8")):
        raw = dict(raw)
        if raw.get("image"):
            raw["image"] = ImageRef(**raw["image"])
        raw["source_ids"] = tuple(raw.get("source_ids") or ())
        observations.append(Observation(**raw))
    return Registry(places.facilities, places.structures, tuple(observations), sources)


def ensure_seeded(store: Store, seeds_dir: Path = SEEDS_DIR) -> ImportReport | None:
    """Load the seed into a store that has never had one and holds no facilities; else do nothing."""
    if store.get_meta("seed_version") is not None:
        return None
    if store.counts()["facilities"] == 0:
        report = store.import_registry(read_seed(seeds_dir), actor="seed", on_conflict=OnConflict.SKIP,
                                       note="seed registry")
    else:
        report = None
    store.set_meta("seed_version", SEED_VERSION)
    return report
