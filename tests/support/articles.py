"""The text reader shared by the tests: one loaded lexicon and gazetteer, the seed registry's facilities.

Plain module values, imported by the test modules, not a conftest: a second conftest shadows
tests/conftest.py for `from conftest import` in spawned processes (see tests/registry_helpers.py).
"""

from __future__ import annotations

from tracker.articles import ArticleResult, Reader, load_resources
from tracker.seeding import read_seed

resources = load_resources()
seed_facilities = read_seed().facilities
reader = Reader(resources, seed_facilities)


def read(text: str, published: str | None = None, fmt: str = "text") -> ArticleResult:
    """Read one text against the seed registry; the first article's result."""
    return reader.read(text, fmt=fmt, published=published)[0]
