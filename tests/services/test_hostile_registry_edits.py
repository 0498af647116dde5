"""Issue 14, part C2: a registry edited in QGIS or with GDAL. Reads survive records the model refuses (named by
table, id and column, the rest listed, shown and exported), the stored area follows a geometry changed outside
the app, and every row changed outside the app gets an "outside-edit" history entry at the next writable open.

Which edits are GDAL's and which are SQL: appending a feature is GDAL's own (pyogrio.write_dataframe with
append=True: a plain Polygon into the MULTIPOLYGON layer, no area, no checksum, as QGIS's "add feature" writes
it). pyogrio cannot update a feature, so updates are SQL through sqlite3 with the GeoPackage's ST_* functions
registered (as GDAL registers them, so the R-tree triggers run), and `gpkg_contents.last_change` set for the
edited layer as GDAL sets it when it writes a layer.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import shapely

from facilities.geometry import ground_area_m2
from facilities.store import GeoPackageStore, migrations, open_store
from facilities.store.gpkg_binary import SQL_FUNCTIONS, encode
from tests.support.registry import run_isolated, square
from tracker.seeding import ensure_seeded

GOOD = "february-8-vinalon-complex"
BAD = "february-11-plant"
CITED = "reuters-liga-2024-11-25"  # the source GOOD cites

GDAL_APPEND = """
import sys, geopandas as gpd, shapely, pyogrio, warnings
warnings.simplefilter("ignore")  # GDAL warns that a Polygon goes into a MULTIPOLYGON layer, then does it
frame = gpd.GeoDataFrame({"id": [sys.argv[2]], "name": ["Drawn in QGIS"], "status": ["unknown"],
                          "location_precision": ["digitised"]},
                         geometry=[shapely.box(127.5, 39.5, 127.52, 39.51)], crs=4326)
pyogrio.write_dataframe(frame, sys.argv[1], layer="facilities", append=True)
"""


def gdal_append(db: Path, ident: str) -> None:
    res = run_isolated(GDAL_APPEND, str(db), ident)
    assert res.returncode == 0, res.stderr


def sql_edit(db: Path, *statements: tuple[str, tuple], layers: tuple[str, ...] = ()) -> None:
    con = sqlite3.connect(db, isolation_level=None)
    for name, fn in SQL_FUNCTIONS.items():
        con.create_function(name, 1, fn, deterministic=True)
    for sql, params in statements:
        con.execute(sql, params)
    for layer in layers:  # what GDAL does when it has written a layer
        con.execute("UPDATE gpkg_contents SET last_change = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') "
                    "WHERE table_name = ?", (layer,))
    con.close()


def cli(db: Path, *args: str) -> subprocess.CompletedProcess:
    res = subprocess.run([sys.executable, "-m", "tracker", "--db", str(db), *args], capture_output=True, text=True,
                         env={**os.environ, "TRACKER_ACTOR": "tester"}, timeout=180, cwd=db.parent)
    assert "Traceback" not in res.stderr, res.stderr
    return res


@pytest.fixture
def registry(tmp_path) -> Path:
    db = tmp_path / "r.gpkg"
    store = GeoPackageStore(db)
    ensure_seeded(store)
    store.close()
    return db


def test_reads_survive_values_the_model_refuses_and_name_them(registry, tmp_path):
    """Non-JSON aliases and systems, an unknown status, a self-intersecting outline, a malformed source date:
    list, show and export go on with the good records and name each bad one on stderr."""
    bowtie = shapely.MultiPolygon([shapely.Polygon([(127.6, 39.9), (127.61, 39.91), (127.61, 39.9),
                                                    (127.6, 39.91)])])
    gdal_append(registry, "bowtie-site")
    gdal_append(registry, "qgis-site")
    sql_edit(registry,
             ("UPDATE facilities SET aliases = 'Plant 11; Feb 11', systems = 'KN-23', status = 'closed' "
              "WHERE id = ?", (BAD,)),
             ("UPDATE facilities SET geom = ? WHERE id = 'bowtie-site'", (encode([bowtie])[0],)),
             ("UPDATE sources SET published = 'last spring' WHERE id = ?", (CITED,)),
             layers=("facilities", "sources"))

    listed = cli(registry, "list")
    assert listed.returncode == 0
    assert GOOD in listed.stdout and "qgis-site" in listed.stdout and BAD not in listed.stdout
    for needle in (f"facilities '{BAD}' aliases: 'Plant 11; Feb 11' is not accepted",
                   f"facilities '{BAD}' systems: 'KN-23'", f"facilities '{BAD}' status: 'closed'"):
        assert needle in listed.stderr, listed.stderr
    assert all(line.startswith("warning: ") for line in listed.stderr.splitlines())

    shown = cli(registry, "show", GOOD)
    assert shown.returncode == 0 and GOOD in shown.stdout
    assert f"sources '{CITED}' published: 'last spring'" in shown.stderr, shown.stderr

    refused = cli(registry, "show", BAD)
    assert refused.returncode == 1
    assert refused.stderr.count("\n") == 1 and f"'{BAD}'" in refused.stderr and "aliases" in refused.stderr

    out = tmp_path / "out.geojson"
    exported = cli(registry, "export", str(out))
    assert exported.returncode == 1, exported.stderr  # the file is written, but a script must notice it is not whole
    assert out.exists(), exported.stderr
    ids = {f["properties"]["id"] for f in json.loads(out.read_text())["features"]}
    assert GOOD in ids and "qgis-site" in ids and BAD not in ids and "bowtie-site" not in ids
    assert f"facilities '{BAD}' aliases" in exported.stderr and "facilities 'bowtie-site' geom: invalid" in \
        exported.stderr, exported.stderr
    assert cli(registry, "validate", str(out)).returncode == 0  # our own import takes what the export wrote

    checked = cli(registry, "validate")
    assert checked.returncode == 1
    for needle in (f"facilities '{BAD}' aliases", f"facilities '{BAD}' status", "facilities 'bowtie-site' geom",
                   f"sources '{CITED}' published"):
        assert needle in checked.stderr, checked.stderr


def test_area_recomputed_and_outside_edits_recorded_at_the_next_writable_open(registry):
    """A feature GDAL appended (no area, no checksum) and an outline moved and reshaped by SQL: the next writable
    open (here `facilities list`) stores their areas from their geometry, bumps their versions and records one
    "outside-edit" entry each, with the state before where the history has one. A second open records nothing."""
    store = GeoPackageStore(registry)
    old = store.update_facility(store.get_facility(GOOD).evolve(notes="seen"), actor="analyst")
    store.close()
    bigger = shapely.MultiPolygon([square(127.0, 39.0, 0.05)])
    gdal_append(registry, "qgis-site")
    sql_edit(registry, ("UPDATE facilities SET geom = ? WHERE id = ?", (encode([bigger])[0], GOOD)),
             layers=("facilities",))
    assert cli(registry, "list").returncode == 0

    con = sqlite3.connect(registry)
    areas = dict(con.execute("SELECT id, area_m2 FROM facilities"))
    con.close()
    assert areas[GOOD] == pytest.approx(ground_area_m2(bigger), rel=1e-9)
    assert areas["qgis-site"] == pytest.approx(ground_area_m2(shapely.box(127.5, 39.5, 127.52, 39.51)), rel=1e-9)

    store = GeoPackageStore(registry)
    try:
        assert store.get_facility(GOOD).version == old.version + 1
        entries = [h for h in store.history(limit=50) if h.action == "outside-edit"]
        assert {h.entity_id for h in entries} == {GOOD, "qgis-site"}
        assert {h.actor for h in entries} == {"outside the app"} and len({h.group for h in entries}) == 1
        moved = next(h for h in entries if h.entity_id == GOOD)
        assert moved.before["area_m2"] == pytest.approx(round(old.area_m2, 1))
        assert moved.after["area_m2"] == pytest.approx(round(ground_area_m2(bigger), 1))
        assert store.outside_edits() == []
    finally:
        store.close()
    reopened = GeoPackageStore(registry)
    assert [h for h in reopened.history(limit=50) if h.action == "outside-edit"] == entries
    reopened.close()


def test_a_read_only_open_only_reports_and_validate_names_them(registry):
    gdal_append(registry, "qgis-site")
    store = GeoPackageStore(registry, read_only=True)
    try:
        assert store.outside_tables == ["facilities"]
        assert not [h for h in store.history(limit=50) if h.action == "outside-edit"]
        assert [str(e) for e in store.outside_edits()] == [
            "facilities 'qgis-site': added outside the app since the app last wrote it"]
    finally:
        store.close()
    # an SQL edit that leaves last_change alone is not compared at open (seconds at 100,000 rows); validate
    # compares every row and names it, while its writable open records the GDAL append
    sql_edit(registry, ("UPDATE sources SET title = 'retitled' WHERE id = (SELECT min(id) FROM sources)", ()))
    res = cli(registry, "validate")
    assert res.returncode == 0, res
    assert "sources '" in res.stderr and "changed outside the app" in res.stderr and "qgis-site" not in res.stderr
    reopened = GeoPackageStore(registry)
    assert [h.entity_id for h in reopened.history(limit=50) if h.action == "outside-edit"] == ["qgis-site"]
    reopened.close()


def test_a_registry_from_before_checksums_is_upgraded_without_false_edits(registry):
    """Migration 4 checksums the rows a registry already holds: nothing is reported as edited outside the app."""
    con = sqlite3.connect(registry)
    for table in ("facilities", "structures", "observations", "sources"):
        con.execute(f"ALTER TABLE {table} DROP COLUMN row_hash")
    con.execute("DELETE FROM tracker_meta WHERE key LIKE 'last_change:%'")
    con.execute("UPDATE tracker_meta SET value = '3' WHERE key = 'schema_version'")
    con.commit()
    con.close()
    store = GeoPackageStore(registry)
    try:
        assert store.get_meta("schema_version") == str(migrations.schema_version())  # 4, then every later step
        assert store.outside_edits() == []
        assert not [h for h in store.history(limit=100) if h.action == "outside-edit"]
    finally:
        store.close()


def test_postgis_rows_written_by_the_app_match_their_checksums_and_sql_edits_are_recorded(pg_url):
    store = open_store(pg_url)
    try:
        ensure_seeded(store)
        assert store.outside_edits() == []  # hex EWKB and dates as written: no false positives
        import psycopg

        with psycopg.connect(pg_url, autocommit=True) as con:
            con.execute("UPDATE facilities SET geom = ST_Multi(ST_MakeEnvelope(127, 39, 127.05, 39.05, 4326)) "
                        "WHERE id = %s", (GOOD,))
            con.execute("UPDATE facilities SET aliases = 'not json' WHERE id = %s", (BAD,))
        edits = store.record_outside_edits()
        assert {e.id for e in edits} == {GOOD, BAD}
        assert store.get_facility(GOOD).version == 2
        with store.collect_skipped() as skipped:
            ids = {f.id for f in store.list_facilities()}
        assert GOOD in ids and BAD not in ids and [p.column for p in skipped] == ["aliases"]
        text = "".join(store.iter_geojson_features())
        assert GOOD in text and f'"id":"{BAD}"' not in text
        assert store.outside_edits() == []
    finally:
        store.close()
