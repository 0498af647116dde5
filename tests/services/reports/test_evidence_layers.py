"""tracker.reports.evidence_layers (pure) and an empty site's export: recorded polygons grouped by the region
measured again that holds them (its figures) and any other polygon on its own (ellipsoidal area, no mean
difference); points are not footprints; a site with nothing measured still gives both layers, empty."""

from __future__ import annotations

import datetime as dt
import json

import pyogrio
import pytest
import shapely
from shapely.geometry import MultiPolygon, box

from facilities.model import Facility, Observation, Structure
from imagery.change import ChangeRegion
from imagery.keys import ImageKey
from tests.support.registry import square
from tracker.reports.evidence import write_evidence
from tracker.reports.evidence_layers import (
    CHANGE_FIELDS,
    ELLIPSOIDAL,
    MEASURED,
    change_rows,
    ellipsoidal_m2,
    footprint_rows,
)
from tracker.reports.measured import MeasuredPair
from tracker.settings import load_settings
from tracker.site import site_view
from tracker.wiring import imagery_session

A, B, C = box(127.650, 39.920, 127.651, 39.921), box(127.6512, 39.920, 127.6513, 39.9201), box(127.66, 39.93,
                                                                                               127.661, 39.931)


def _region(geom, area: float, diff: float) -> ChangeRegion:
    return ChangeRegion(geom, area, 1.0, diff, 9.0, 12.0, False, 0.0, 0.0)


def _pair(geom) -> MeasuredPair:
    o = Observation(id="obs-1", facility_id="site-1", date="2023-10-09", kind="progress", summary="x", geometry=geom)
    return MeasuredPair(o, "change", ImageKey("local", "aa"), ImageKey("local", "bb"), dt.date(2021, 4, 2),
                        dt.date(2023, 10, 9))


def test_recorded_polygons_take_the_figures_of_the_region_holding_them_and_the_rest_their_own_area():
    regions = [_region(shapely.union_all([A, B]).buffer(1e-6), 8000.0, 0.31)]  # A and B in one measured region
    rows = change_rows(_pair(MultiPolygon([A, B, C])), regions, method="m", raster="difference_obs-1.tif")
    assert [r.properties["region"] for r in rows] == [1, 2]
    first, second = (r.properties for r in rows)
    assert list(first) == [n for n, _ in CHANGE_FIELDS]
    assert (first["area_m2"], first["mean_difference"], first["area_basis"]) == (8000.0, 0.31, MEASURED)
    assert rows[0].geometry.equals(MultiPolygon([A, B])) and rows[1].geometry.equals(MultiPolygon([C]))
    assert second["area_basis"] == ELLIPSOIDAL and second["mean_difference"] is None
    assert second["area_m2"] == pytest.approx(ellipsoidal_m2(C), abs=0.01) and 8000 < second["area_m2"] < 9600
    assert first["before"] == "local:aa" and first["after_date"] == "2023-10-09" and first["method"] == "m"
    # the pair could not be measured again: every polygon on its own
    alone = change_rows(_pair(MultiPolygon([A, B])), None)
    assert [r.properties["area_basis"] for r in alone] == [ELLIPSOIDAL, ELLIPSOIDAL]
    assert alone[0].properties["difference_raster"] is None


def test_points_are_not_footprints_and_the_area_is_the_ellipsoids():
    fac = Facility(id="site-1", name="Site one", geometry=square())
    structures = [Structure(id="site-1.a", facility_id="site-1", name="A", geometry=A),
                  Structure(id="site-1.p", facility_id="site-1", name="P", geometry=shapely.Point(127.655, 39.925),
                            built="2019")]
    [row] = footprint_rows(site_view(fac, structures), [])
    assert row.properties["structure_id"] == "site-1.a" and row.properties["traced_on"] is None
    assert row.properties["area_m2"] == pytest.approx(structures[0].footprint_m2, rel=1e-5)  # the model's rule agrees


def test_a_site_with_nothing_measured_still_has_both_layers_empty(store, make_facility, tmp_path):
    store.add_facility(make_facility(), actor="t")
    session = imagery_session(load_settings())
    try:
        result = write_evidence(store, session, "Site one", tmp_path / "out")
    finally:
        session.close()
    assert (result.change_polygons, result.footprints, result.skipped) == (0, 0, ())
    info = {name: pyogrio.read_info(tmp_path / "out" / "evidence.gpkg", layer=name)["features"]
            for name, _ in pyogrio.list_layers(tmp_path / "out" / "evidence.gpkg")}
    assert info == {"change_polygons": 0, "footprints": 0}
    assert json.loads((tmp_path / "out" / "footprints.geojson").read_text())["features"] == []
    assert not list((tmp_path / "out").glob("*.tif"))
