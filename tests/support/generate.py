"""A deterministic synthetic registry for the benchmarks, and the GeoPackage built from it.

N facilities as valid star-convex polygons (20 vertices, ~100-500 m across) clustered over
land-ish lon/lat boxes, a few hundred sources and 3 observations per facility. Everything
comes from one numpy seed, so two runs build the same file. The built store is cached under
bench/out/ and reused when its recorded generator key matches.

    python bench/generate.py --facilities 100000 --out bench/out/registry-100000.gpkg
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path

import numpy as np
import shapely

from facilities.dates import DatePrecision, PartialDate
from facilities.errors import StoreError
from facilities.model import (
    Alias,
    Confidence,
    Facility,
    FacilityStatus,
    ImageRef,
    LocationPrecision,
    Observation,
    ObservationKind,
    Registry,
    Source,
)
from facilities.store import open_store

GENERATOR_VERSION = "1"  # bump when the output changes, so cached stores are rebuilt
DEFAULT_SEED = 20_241_125
OUT_DIR = Path(__file__).resolve().parents[2] / "bench" / "out"  # cached stores live with the bench results
VERTICES = 20
OBS_PER_FACILITY = 3
N_SOURCES = 300
N_CLUSTERS = 1500

# (west, south, east, north, weight, countries): rough continental boxes, so density varies like real data
REGIONS = [
    (-125.0, 25.0, -70.0, 50.0, 3, ("US", "CA", "MX")),
    (-75.0, -35.0, -40.0, 5.0, 2, ("BR", "AR", "CL", "CO")),
    (-10.0, 36.0, 40.0, 60.0, 3, ("DE", "FR", "IT", "PL", "ES", "GB")),
    (-15.0, -30.0, 45.0, 15.0, 2, ("NG", "ZA", "KE", "EG")),
    (45.0, 20.0, 120.0, 50.0, 4, ("IR", "IN", "CN", "PK", "KZ")),
    (120.0, 30.0, 145.0, 45.0, 2, ("KP", "KR", "JP")),
    (115.0, -35.0, 150.0, -20.0, 1, ("AU",)),
]
SYLLABLES = ("ka", "ro", "min", "sen", "tal", "vo", "dun", "ha", "pyo", "lin", "gar", "sok", "mar", "eng", "chu")
SUFFIXES = ("Plant", "Works", "Depot", "Factory", "Complex", "Yard", "Arsenal", "Test Site")
CATEGORIES = ("missile production", "shipyard", "munitions", "research", "storage", "airbase", "testing")
LANGS = ("en", "ko", "ru", "zh", "ar", None)
PROVIDERS = ("Maxar", "Airbus", "Planet", "Sentinel-2")
ANALYSTS = ("alice", "bob", "chen", "dana", "")
STAMP = dt.datetime(2025, 1, 15, 9, 30, tzinfo=dt.UTC)


def default_path(n: int) -> Path:
    return OUT_DIR / f"registry-{n}.gpkg"


def cache_key(n: int, seed: int) -> str:
    return f"v{GENERATOR_VERSION}:n={n}:seed={seed}"


def polygons(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """n star-convex polygons and their centres (lon, lat); one vectorised shapely call."""
    weights = np.array([r[4] for r in REGIONS], dtype=float)
    region_of_cluster = rng.choice(len(REGIONS), size=N_CLUSTERS, p=weights / weights.sum())
    boxes = np.array([r[:4] for r in REGIONS])[region_of_cluster]
    cx = rng.uniform(boxes[:, 0], boxes[:, 2])
    cy = rng.uniform(boxes[:, 1], boxes[:, 3])
    cluster = rng.integers(0, N_CLUSTERS, size=n)
    lon = np.clip(cx[cluster] + rng.normal(0, 0.4, n), -179.0, 179.0)
    lat = np.clip(cy[cluster] + rng.normal(0, 0.3, n), -84.0, 84.0)
    # Sorted angles around the centre give a simple (hence valid) ring, counter-clockwise as RFC 7946 wants.
    step = 2 * np.pi / VERTICES
    angles = np.arange(VERTICES) * step + rng.uniform(0, 0.8 * step, (n, VERTICES))
    radius_m = rng.uniform(50, 250, n)[:, None] * rng.uniform(0.6, 1.0, (n, VERTICES))
    dlat = radius_m / 111_320.0
    dlon = dlat / np.cos(np.radians(lat))[:, None]
    ring = np.empty((n, VERTICES + 1, 2))
    ring[:, :-1, 0] = lon[:, None] + dlon * np.cos(angles)
    ring[:, :-1, 1] = lat[:, None] + dlat * np.sin(angles)
    ring[:, -1] = ring[:, 0]
    # Already at the export precision, so an export/import round trip is exact.
    ring = np.round(ring, 7)
    return shapely.polygons(ring), region_of_cluster[cluster]


def _name(rng: np.random.Generator, i: int) -> str:
    parts = rng.choice(SYLLABLES, size=int(rng.integers(2, 4)))
    return f"{''.join(parts).capitalize()} {SUFFIXES[i % len(SUFFIXES)]} {i}"


def _date(rng: np.random.Generator) -> PartialDate:
    day = dt.date(2000, 1, 1) + dt.timedelta(days=int(rng.integers(0, 9131)))  # 2000..2024
    roll = rng.random()
    if roll < 0.6:
        return PartialDate(day, DatePrecision.DAY, "day")
    if roll < 0.8:
        return PartialDate(day.replace(day=1), DatePrecision.MONTH, "month")
    if roll < 0.9:
        return PartialDate(day.replace(month=1, day=1), DatePrecision.YEAR, "year")
    return PartialDate(day.replace(day=1), DatePrecision.APPROXIMATE, "month")


def generate(n: int = 100_000, seed: int = DEFAULT_SEED) -> Registry:
    rng = np.random.default_rng(seed)
    sources = tuple(
        Source(id=f"src-{i:04d}", title=f"Report {i} on industrial sites", publisher=f"Outlet {i % 37}",
               url=f"https://example.org/reports/{i}", published=_date(rng), language=LANGS[i % 5],
               excerpt="a short quote kept as the evidence" if i % 3 == 0 else "")
        for i in range(N_SOURCES))
    geoms, regions = polygons(rng, n)
    statuses, precisions = list(FacilityStatus), list(LocationPrecision)
    facilities = []
    for i in range(n):
        countries = REGIONS[regions[i]][5]
        aliases = tuple(Alias(name=f"Site {i}-{k}", lang=LANGS[(i + k) % len(LANGS)])
                        for k in range(int(rng.integers(0, 3))))
        facilities.append(Facility(
            id=f"fac-{i:06d}", name=_name(rng, i), geometry=geoms[i],
            location_precision=precisions[i % len(precisions)], aliases=aliases,
            country=countries[i % len(countries)], category=CATEGORIES[i % len(CATEGORIES)],
            status=statuses[int(rng.integers(0, len(statuses)))],
            notes="" if i % 4 else "Outline digitised over a single cloud-free scene.",
            source_ids=tuple(sorted({f"src-{int(s):04d}" for s in rng.integers(0, N_SOURCES, 2)})),
            created_at=STAMP, updated_at=STAMP))
    kinds, confidences = list(ObservationKind), list(Confidence)
    observations = []
    for i in range(n * OBS_PER_FACILITY):
        fac = facilities[i // OBS_PER_FACILITY]
        date = _date(rng)
        kind = kinds[int(rng.integers(0, len(kinds)))]
        image = (ImageRef(provider=PROVIDERS[i % len(PROVIDERS)], image_id=f"img-{i:07d}", acquired=date)
                 if i % 2 else None)
        observations.append(Observation(
            id=f"obs-{i:07d}", facility_id=fac.id, date=date, kind=kind,
            summary=f"{kind.value.replace('-', ' ').capitalize()} seen at {fac.name}.", image=image,
            confidence=confidences[i % len(confidences)], analyst=ANALYSTS[i % len(ANALYSTS)],
            source_ids=(f"src-{int(rng.integers(0, N_SOURCES)):04d}",), created_at=STAMP, updated_at=STAMP))
    return Registry(facilities=tuple(facilities), observations=tuple(observations), sources=sources)


def _is_current(path: Path, key: str) -> bool:
    if not path.exists():
        return False
    try:
        store = open_store(path)
    except StoreError:  # a broken or foreign file: rebuild it
        return False
    try:
        return store.get_meta("bench_generator") == key
    finally:
        store.close()


def build_store(n: int = 100_000, path: Path | None = None, seed: int = DEFAULT_SEED, *,
                verbose: bool = True) -> Path:
    """The store for (n, seed) at `path`, built only when no current cached copy is there."""
    path = Path(path) if path else default_path(n)
    key = cache_key(n, seed)
    if _is_current(path, key):
        return path
    t0 = time.perf_counter()
    registry = generate(n, seed)
    t1 = time.perf_counter()
    # Build beside the target and rename when complete: an interrupted build never looks cached.
    tmp = path.with_name(f".{path.stem}.building.gpkg")
    for stale in (tmp, *(tmp.with_name(tmp.name + s) for s in ("-wal", "-shm"))):
        stale.unlink(missing_ok=True)
    store = open_store(tmp)
    try:
        store.import_registry(registry, actor="bench")
        store.set_meta("bench_generator", key)
    finally:
        store.close()  # the last close checkpoints the WAL into the file, so renaming the .gpkg is enough
    os.replace(tmp, path)
    if verbose:
        print(f"built {path} ({n:,} facilities, {len(registry.observations):,} observations): "
              f"generate {t1 - t0:.1f} s, import {time.perf_counter() - t1:.1f} s", file=sys.stderr)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--facilities", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--out", type=Path, default=None, help="default: bench/out/registry-<N>.gpkg")
    args = parser.parse_args(argv)
    print(build_store(args.facilities, args.out, args.seed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
