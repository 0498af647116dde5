"""The GeoJSON codec's fast ways of building outlines, against shapely's `shape()` as the reference (issue 22).

An import builds a file's Polygons and MultiPolygons in a few vectorised calls (`_polygonal_batch`), and a single
outline from numpy arrays (`_fast_polygonal`); each hands anything unusual back to the slower, general way. Both
must give exactly the geometry `shape()` gives (every ring, hole, part and position, in order), and both must be
taken for ordinary outlines: a fast path that quietly declines everything is still correct but makes a 50 MB
import several times slower, which is why they exist.
"""

from __future__ import annotations

import math

import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import shape

from facilities.errors import ValidationError
from facilities.geojson_codec import _build_deferred, _construct, _Deferred, _fast_polygonal, _polygonal_batch


def _ring(cx: float, cy: float, radii: list[float], turn: float) -> list[list[float]]:
    """A closed star-shaped ring around (cx, cy): one vertex per radius, evenly turned, first position repeated."""
    angles = [turn + 2 * math.pi * k / len(radii) for k in range(len(radii))]
    pts = [[round(cx + r * math.cos(a), 6), round(cy + r * math.sin(a), 6)] for r, a in zip(radii, angles, strict=True)]
    return [*pts, pts[0]]


@st.composite
def polygon_rings(draw, cx: float, cy: float) -> list[list[list[float]]]:
    outer = draw(st.lists(st.floats(0.5, 1.0), min_size=3, max_size=9))
    rings = [_ring(cx, cy, outer, draw(st.floats(0, 1)))]
    for h in range(draw(st.integers(0, 2))):  # holes: small rings near the centre, one beside the other
        hole = draw(st.lists(st.floats(0.05, 0.1), min_size=3, max_size=6))
        rings.append(_ring(cx - 0.2 + 0.4 * h, cy, hole, draw(st.floats(0, 1))))
    return rings


@st.composite
def outlines(draw) -> dict:
    cx, cy = draw(st.floats(-170, 170)), draw(st.floats(-80, 80))
    if draw(st.booleans()):
        return {"type": "Polygon", "coordinates": draw(polygon_rings(cx, cy))}
    parts = [draw(polygon_rings(cx + 3 * k, cy)) for k in range(draw(st.integers(1, 3)))]
    return {"type": "MultiPolygon", "coordinates": parts}


def same(a, b) -> bool:
    """The same geometry to the last position: type, parts, rings and coordinates in order."""
    return a.geom_type == b.geom_type and shapely.to_wkb(a) == shapely.to_wkb(b)


@settings(max_examples=80, deadline=None)
@given(raws=st.lists(outlines(), min_size=1, max_size=6))
def test_a_batch_is_built_as_shape_builds_each(raws):
    built = _polygonal_batch(raws)
    assert built is not None  # ordinary 2D outlines take the vectorised way
    assert len(built) == len(raws)
    for raw, geom in zip(raws, built, strict=True):
        assert same(geom, shape(raw)), (raw, geom.wkt)


@settings(max_examples=80, deadline=None)
@given(raw=outlines())
def test_one_outline_is_built_from_arrays_as_shape_builds_it(raw):
    fast = _fast_polygonal(raw)
    assert fast is not None  # the numpy way is taken for an ordinary outline
    assert same(fast, shape(raw))
    assert same(_construct(raw), shape(raw))


HOLED = {"type": "Polygon", "coordinates": [[[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]],
                                            [[1, 1], [2, 1], [2, 2], [1, 1]], [[5, 5], [6, 5], [6, 6], [5, 5]]]}
MULTI = {"type": "MultiPolygon", "coordinates": [HOLED["coordinates"], [[[20, 0], [21, 0], [21, 1], [20, 0]]]]}


def test_holes_and_parts_are_kept_in_order():
    for raw in (HOLED, MULTI):
        for geom in (_fast_polygonal(raw), _construct(raw), _polygonal_batch([raw])[0]):
            assert same(geom, shape(raw))
    poly = _fast_polygonal(HOLED)
    assert [list(r.coords) for r in poly.interiors] == [[(1, 1), (2, 1), (2, 2), (1, 1)],
                                                        [(5, 5), (6, 5), (6, 6), (5, 5)]]
    multi = _polygonal_batch([HOLED, MULTI, HOLED])
    assert [g.geom_type for g in multi] == ["Polygon", "MultiPolygon", "Polygon"]
    assert len(multi[1].geoms) == 2 and len(multi[1].geoms[0].interiors) == 2


@pytest.mark.parametrize("raw", [
    {"type": "Polygon", "coordinates": []},  # no ring
    {"type": "MultiPolygon", "coordinates": []},  # no part
    {"type": "MultiPolygon", "coordinates": [[]]},  # an empty part
    {"type": "Polygon", "coordinates": [[[0, 0, 1], [1, 0, 1], [1, 1, 1], [0, 0, 1]]]},  # 3D
    {"type": "Polygon", "coordinates": [[[0, 0], [1, 0, 5], [1, 1], [0, 0]]]},  # ragged positions
])
def test_an_unusual_outline_is_left_to_the_general_way(raw):
    assert _polygonal_batch([HOLED, raw]) is None


@pytest.mark.parametrize("raw", [
    {"type": "Polygon", "coordinates": []},
    {"type": "MultiPolygon", "coordinates": []},
    {"type": "Polygon", "coordinates": [[[0, 0], [1, 0, 5], [1, 1], [0, 0]]]},
    {"type": "Point", "coordinates": [1, 2]},
])
def test_one_unusual_outline_is_left_to_shape(raw):
    assert _fast_polygonal(raw) is None


def test_3d_outlines_keep_their_heights_one_by_one():
    raw = {"type": "Polygon", "coordinates": [[[0, 0, 1], [1, 0, 2], [1, 1, 3], [0, 0, 1]]]}
    assert same(_construct(raw), shape(raw)) and _construct(raw).has_z


def test_deferred_outlines_are_built_in_place_and_a_bad_one_becomes_that_features_problem():
    bad = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]], [[5, 5]]]}  # a hole of 1 position
    parsed = [(0, "a", "facility", {}, _Deferred(HOLED)), (1, "b", "structure", {}, shapely.Point(1, 2)),
              (2, "c", "facility", {}, _Deferred(MULTI))]
    problems: list = []
    out = _build_deferred(parsed, problems)
    assert [p[:4] for p in out] == [p[:4] for p in parsed] and problems == []
    assert same(out[0][4], shape(HOLED)) and out[1][4] == shapely.Point(1, 2) and same(out[2][4], shape(MULTI))
    problems = []
    out = _build_deferred([parsed[0], (3, "d", "facility", {}, _Deferred(bad)), *parsed[1:]], problems)
    assert [p[1] for p in out] == ["a", "b", "c"]  # the ones after the bad one are built too
    assert same(out[2][4], shape(MULTI))
    assert [(p.index, p.feature_id) for p in problems] == [(3, "d")] and "malformed Polygon" in problems[0].reason
    assert _build_deferred(parsed[1:2], []) == parsed[1:2]


def test_a_malformed_outline_is_refused_naming_its_type():
    with pytest.raises(ValidationError, match="malformed Polygon"):
        _construct({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]], [[5, 5]]]})


def test_an_import_builds_its_outlines_in_the_batch_not_one_by_one(monkeypatch):
    """Every facility outline and polygonal structure or observation of a file goes through the batch: the
    one-by-one builders are never called for ordinary outlines."""
    from facilities import geojson_codec

    def one_by_one(raw):
        raise AssertionError("built one by one")

    feats = [{"type": "Feature", "geometry": raw, "properties": {"feature_type": "facility", "id": f"f{k}",
                                                                   "name": f"F {k}"}}
             for k, raw in enumerate((HOLED, MULTI))]
    feats.append({"type": "Feature", "geometry": HOLED, "properties": {
        "feature_type": "structure", "id": "f0.s", "facility_id": "f0", "name": "Hall"}})
    monkeypatch.setattr(geojson_codec, "_construct", one_by_one)
    monkeypatch.setattr(geojson_codec, "shape", one_by_one)
    reg, problems, _ = geojson_codec.parse_feature_collection({"type": "FeatureCollection", "features": feats})
    assert problems == []
    assert same(reg.facilities[0].geometry, shape(HOLED)) or same(reg.facilities[1].geometry, shape(HOLED))
    assert {f.geometry.geom_type for f in reg.facilities} == {"Polygon", "MultiPolygon"}
    assert same(reg.structures[0].geometry, shape(HOLED))


def test_one_outline_is_built_without_shape(monkeypatch):
    from facilities import geojson_codec

    monkeypatch.setattr(geojson_codec, "shape", lambda raw: (_ for _ in ()).throw(AssertionError("shape() used")))
    assert same(geojson_codec._construct(HOLED), shape(HOLED))  # the test module's own shape()
    assert same(geojson_codec._construct(MULTI), shape(MULTI))
