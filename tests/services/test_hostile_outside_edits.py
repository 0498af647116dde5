"""Issue 14: values written into the registry by another program (SQL as QGIS's field calculator would
write it) that the model refuses are all found by `facilities validate`, named by table, id and column."""

from __future__ import annotations

import os
import subprocess
import sys

import shapely

from facilities.store import GeoPackageStore
from facilities.store.gpkg_binary import encode
from tracker.seeding import ensure_seeded


def test_validate_names_every_value_edited_outside_the_app(tmp_path):
    db = tmp_path / "r.gpkg"
    store = GeoPackageStore(db)
    ensure_seeded(store)
    con = store._connect()
    bowtie = shapely.MultiPolygon([shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])])
    con.execute("UPDATE facilities SET aliases = 'Plant 11; Feb 11', status = 'closed' WHERE id = 'february-11-plant'")
    con.execute("UPDATE facilities SET systems = 'KN-23', location_precision = 'exact', geom = ? "
                "WHERE id = 'february-8-vinalon-complex'", (encode([bowtie])[0],))
    con.execute("UPDATE facilities SET geom = ? WHERE id = 'february-11-plant'", (encode([shapely.Point(1, 1)])[0],))
    store.close()
    res = subprocess.run([sys.executable, "-m", "tracker", "--db", str(db), "validate"], capture_output=True,
                         text=True, env={**os.environ}, timeout=120, cwd=tmp_path)
    assert res.returncode == 1 and "Traceback" not in res.stderr
    for needle in ("facilities 'february-11-plant' aliases: 'Plant 11; Feb 11'",
                   "facilities 'february-11-plant' status: 'closed'",
                   "facilities 'february-11-plant' geom: a Point, where a facility needs a Polygon",
                   "facilities 'february-8-vinalon-complex' systems: 'KN-23'",
                   "facilities 'february-8-vinalon-complex' location_precision: 'exact'",
                   "facilities 'february-8-vinalon-complex' geom: invalid geometry (Self-intersection"):
        assert needle in res.stderr, res.stderr
