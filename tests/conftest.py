"""Shared fixtures: every test makes its own registry in a temporary directory; no network."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import shapely

from facilities.model import Facility, Observation, Source, Structure
from facilities.seed import ensure_seeded
from facilities.store import GeoPackageStore

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path, monkeypatch):
    # No test may touch the analyst's real registry or read a stray tracker.toml.
    monkeypatch.setenv("TRACKER_DATABASE", str(tmp_path / "default-registry.gpkg"))
    monkeypatch.setenv("TRACKER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TRACKER_CONFIG", str(tmp_path / "no-such-tracker.toml"))


@pytest.fixture
def store(tmp_path):
    s = GeoPackageStore(tmp_path / "registry.gpkg")
    yield s
    s.close()


@pytest.fixture
def seeded(store):
    ensure_seeded(store)
    return store


@pytest.fixture
def source():
    return Source(id="src-1", title="A report", url="https://example.org/r")


def square(x: float = 127.65, y: float = 39.92, d: float = 0.01):
    return shapely.box(x, y, x + d, y + d)


@pytest.fixture
def make_facility():
    def make(id="site-1", name="Site one", **kw):
        kw.setdefault("geometry", square())
        return Facility(id=id, name=name, **kw)

    return make


@pytest.fixture
def populated(store, source, make_facility):
    store.add_source(source, actor="t")
    store.add_facility(make_facility(source_ids=("src-1",)), actor="t")
    store.add_structure(Structure(id="site-1.a", facility_id="site-1", name="A",
                                  geometry=shapely.Point(127.655, 39.925)), actor="t")
    store.add_observation(Observation(id="obs-1", facility_id="site-1", date="2024-10", kind="progress",
                                      summary="roof", structure_id="site-1.a", source_ids=("src-1",)), actor="t")
    return store


def run_isolated(code: str, *args: str) -> subprocess.CompletedProcess:
    """Run Python in a fresh process: GDAL (pyogrio) must not open a file our sqlite3 has open in
    the same process (SQLite warns that two copies of the library can corrupt it)."""
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ})


def store_digest(path: Path) -> dict:
    """A hash of every table's rows: what 'nothing stored changed' is checked against."""
    import hashlib
    import sqlite3

    con = sqlite3.connect(path)
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {t: hashlib.sha256(repr(con.execute(f'SELECT * FROM "{t}" ORDER BY rowid').fetchall()).encode())
                .hexdigest() for t in tables if not t.startswith(("rtree_", "sqlite_"))}
    finally:
        con.close()
