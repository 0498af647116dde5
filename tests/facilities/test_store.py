"""What only the GeoPackage store does: a file GDAL opens, its pragmas, migrations, processes, bulk
import. Behaviour every backend shares is in test_store_contract.py, run against GeoPackage and PostGIS."""

import json
import sqlite3
import subprocess
import sys

import pytest
import shapely

from facilities.errors import StoreError
from facilities.model import Facility, Observation, Registry, Source, Structure
from facilities.store import GeoPackageStore, open_store
from tests.support.registry import run_isolated, square, store_digest


def test_new_store_is_a_valid_geopackage_that_gdal_reads(populated, tmp_path):
    path = populated.path
    populated.close()
    check = run_isolated(
        "import sys; from osgeo_utils.samples import validate_gpkg as v;"
        "v.check(sys.argv[1], extra_checks=True, warning_as_error=True); print('valid')", str(path))
    assert check.returncode == 0, check.stderr
    info = run_isolated(
        "import sys, json, pyogrio;"
        "out = {n: pyogrio.read_info(sys.argv[1], layer=n) for n, _ in pyogrio.list_layers(sys.argv[1])};"
        "print(json.dumps({n: [i['features'], i['geometry_type'], i['total_bounds']] for n, i in out.items()}))",
        str(path))
    assert info.returncode == 0, info.stderr
    layers = json.loads(info.stdout)
    assert layers["facilities"][:2] == [1, "MultiPolygon"]
    assert layers["facilities"][2] == pytest.approx([127.65, 39.92, 127.66, 39.93], abs=1e-9)  # exact extent
    assert layers["structures"][0] == 1 and layers["observations"][0] == 1
    assert layers["sources"][0] == 1 and layers["history"][0] == 4


def test_gdal_reads_back_the_same_geometry_and_fields(populated):
    path = populated.path
    populated.close()
    out = run_isolated(
        "import sys, pyogrio; df = pyogrio.read_dataframe(sys.argv[1], layer='facilities');"
        "print(df.geometry.iloc[0].wkt); print(df['name'].iloc[0]); print(df['source_ids'].iloc[0])", str(path))
    wkt, name, sources = out.stdout.splitlines()
    assert shapely.from_wkt(wkt).equals(square())
    assert name == "Site one" and json.loads(sources) == ["src-1"]


def test_store_uses_wal_busy_timeout_and_foreign_keys(store):
    con = store._connect()
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert con.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
    assert con.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert con.execute("PRAGMA application_id").fetchone()[0] == 0x47504B47


def _registry_with(*objs) -> Registry:
    kinds = {Facility: [], Structure: [], Observation: [], Source: []}
    for o in objs:
        kinds[type(o)].append(o)
    return Registry(tuple(kinds[Facility]), tuple(kinds[Structure]), tuple(kinds[Observation]),
                    tuple(kinds[Source]))


@pytest.mark.parametrize("content, message", [
    (b"not sqlite at all", "not a GeoPackage"),
    (None, "not a facility registry"),
])
def test_files_that_are_not_registries_are_refused(tmp_path, content, message):
    path = tmp_path / "x.gpkg"
    if content is None:  # a valid SQLite/GeoPackage made by someone else
        con = sqlite3.connect(path)
        con.execute("PRAGMA application_id = 1196444487")
        con.execute("CREATE TABLE other (a)")
        con.commit()
        con.close()
    else:
        path.write_bytes(content)
    with pytest.raises(StoreError, match=message):
        GeoPackageStore(path)


def test_newer_schema_is_refused_and_urls_are_checked(store, tmp_path):
    store.set_meta("schema_version", "99")
    store.close()
    with pytest.raises(StoreError, match="newer than this software"):
        GeoPackageStore(store.path)
    with pytest.raises(StoreError, match="must end in .gpkg"):
        open_store(tmp_path / "registry.sqlite")
    with pytest.raises(StoreError, match="cannot connect .*Connection refused"):
        open_store("postgresql://127.0.0.1:1/db")  # nothing listens on port 1: a clear error, not a hang
    assert open_store(f"gpkg://{tmp_path / 'b.gpkg'}").counts()["facilities"] == 0


WRITER = """
import sys
from facilities.model import Observation
from facilities.store import GeoPackageStore
path, worker, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = GeoPackageStore(path)
for i in range(n):
    s.add_observation(Observation(id=f"w{worker}-{i}", facility_id="site-1", date="2024", kind="activity",
                                  summary=f"writer {worker} #{i}"), actor=f"w{worker}")
s.close()
"""


def test_two_processes_writing_at_once_lose_nothing(populated):
    # Plain subprocesses, not multiprocessing: AppTest leaves a __main__ behind that spawned
    # children would try to re-run.
    n = 150
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(populated.path), str(w), str(n)],
                              stderr=subprocess.PIPE, text=True) for w in range(2)]
    errors = [p.communicate(timeout=300)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errors
    assert populated.counts()["observations"] == 1 + 2 * n
    assert len({o.id for o in populated.list_observations()}) == 1 + 2 * n
    assert populated.check() == []


def test_migrations_run_once_in_order_on_open(store, monkeypatch):
    from facilities.store import migrations

    path = store.path
    store.close()
    applied = []

    nxt = migrations.schema_version() + 1  # a step after the released ones

    def to_next(con, _dialect):
        applied.append(nxt)
        con.execute("ALTER TABLE facilities ADD COLUMN korean_name TEXT")

    monkeypatch.setattr(migrations, "MIGRATIONS",
                        (*migrations.MIGRATIONS, migrations.Migration(nxt, "korean name", {"gpkg": to_next})))
    s = GeoPackageStore(path)
    assert s.get_meta("schema_version") == str(nxt) and applied == [nxt]
    s.close()
    s = GeoPackageStore(path)  # already at the newest: nothing runs again
    assert applied == [nxt]
    s.close()


def test_a_failing_migration_leaves_the_file_as_it_was(store, monkeypatch):
    from facilities.store import migrations

    path = store.path
    store.close()
    before = store_digest(path)

    def broken(con, _dialect):
        con.execute("ALTER TABLE facilities ADD COLUMN half_done TEXT")
        raise RuntimeError("migration bug")

    nxt = migrations.schema_version() + 1
    monkeypatch.setattr(migrations, "MIGRATIONS",
                        (*migrations.MIGRATIONS, migrations.Migration(nxt, "broken", {"*": broken})))
    with pytest.raises(RuntimeError, match="migration bug"):
        GeoPackageStore(path)
    assert store_digest(path) == before


def test_bulk_import_indexes_like_the_triggers_do(tmp_path, make_facility):
    """Imports past BULK_ROWS fill the R-tree themselves; the file must end up exactly as if the
    spec's triggers had done it, triggers included."""
    from facilities.store.geopackage import BULK_ROWS

    n = BULK_ROWS + 10
    facs = tuple(make_facility(id=f"f{i}", geometry=square(i * 0.01, 0, 0.005)) for i in range(n))
    bulk, single = GeoPackageStore(tmp_path / "bulk.gpkg"), GeoPackageStore(tmp_path / "single.gpkg")
    bulk.import_registry(Registry(facilities=facs), actor="t")
    for chunk in range(0, n, BULK_ROWS - 1):
        single.import_registry(Registry(facilities=facs[chunk:chunk + BULK_ROWS - 1]), actor="t")
    q = "SELECT id, minx, maxx, miny, maxy FROM rtree_facilities_geom ORDER BY id"
    assert bulk._connect().execute(q).fetchall() == single._connect().execute(q).fetchall()
    q = "SELECT name, sql FROM sqlite_master WHERE type='trigger' ORDER BY name"
    assert bulk._connect().execute(q).fetchall() == single._connect().execute(q).fetchall()
    bulk.add_facility(make_facility(id="late", geometry=square(50, 50, 0.01)), actor="t")  # trigger still works
    assert [f.id for f in bulk.facilities_in_bbox((49.9, 49.9, 50.1, 50.1))] == ["late"]
    assert len(bulk.facilities_in_bbox((-1, -1, 10, 1))) == n


def test_migration_keeps_the_edit_history(populated, tmp_path):
    from tracker.migrate import copy_registry

    f = populated.get_facility("site-1")
    populated.update_facility(f.evolve(notes="edited"), actor="ana")
    target = GeoPackageStore(tmp_path / "copy.gpkg")
    copy_registry(populated, target, actor="migrator")
    theirs = [(h.entity, h.entity_id, h.action, h.actor, h.at, h.before, h.after) for h in populated.history(limit=99)]
    ours = [(h.entity, h.entity_id, h.action, h.actor, h.at, h.before, h.after) for h in target.history(limit=99)]
    assert ours[1:] == theirs  # the same entries in the same order, then the migration's own
    assert ours[0][2] == "import" and ours[0][3] == "migrator"
    assert target.history("site-1")[0].before["notes"] == ""
    target.close()
