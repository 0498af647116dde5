"""Fixtures for the text reader: one loaded lexicon and gazetteer, the seed registry's facilities."""

from __future__ import annotations

import pytest

from facilities.seed import read_seed
from facilities.text import Reader, load_resources


@pytest.fixture(scope="session")
def resources():
    return load_resources()


@pytest.fixture(scope="session")
def seed_facilities():
    return read_seed().facilities


@pytest.fixture(scope="session")
def reader(resources, seed_facilities):
    return Reader(resources, seed_facilities)


@pytest.fixture
def read(reader):
    """Read one text; return the first article's result."""

    def run(text: str, published: str | None = None, fmt: str = "text"):
        return reader.read(text, fmt=fmt, published=published)[0]

    return run
