"""Helpers shared by the registry tests. A module of its own, not conftest: with several
conftest.py files in the tree, `from conftest import ...` can resolve to the wrong one (and does,
in processes spawned by a full run)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import shapely


def square(x: float = 127.65, y: float = 39.92, d: float = 0.01):
    return shapely.box(x, y, x + d, y + d)



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


def readable_digest(store) -> tuple:
    """Everything a user can read back through the store: what 'a refused write changed nothing' is
    checked against on every backend (store_digest compares a GeoPackage file's rows)."""
    import json

    from facilities import geojson_codec as codec

    records = [codec.properties(o) for o in (*store.list_facilities(), *store.list_structures(),
                                             *store.list_observations(), *store.list_sources())]
    hist = [(h.entity, h.entity_id, h.action, h.at, h.before, h.after) for h in store.history(limit=10_000)]
    return store.counts(), json.dumps(records, sort_keys=True), hist
