"""The text reader shared by the tests: one loaded lexicon and gazetteer, the seed registry's facilities.

Plain module values imported by the test modules (loading the lexicon once per process).
"""

from __future__ import annotations

from pathlib import Path

from facilities.store import GeoPackageStore
from tracker.articles import ArticleResult, Reader, load_resources
from tracker.seeding import read_seed

resources = load_resources()
seed_facilities = read_seed().facilities
reader = Reader(resources, seed_facilities)


def read(text: str, published: str | None = None, fmt: str = "text") -> ArticleResult:
    """Read one text against the seed registry; the first article's result."""
    return reader.read(text, fmt=fmt, published=published)[0]


def observations(tmp_path: Path) -> list:
    """The observations the article tests' `cli` fixture recorded from texts (sources `txt-*`)."""
    store = GeoPackageStore(tmp_path / "r.gpkg")
    try:
        return [o for o in store.list_observations() if any(s.startswith("txt-") for s in o.source_ids)]
    finally:
        store.close()
