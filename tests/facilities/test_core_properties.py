"""Property tests of the pure core against references it does not share code with: areas against pyproj's
geodesic area, partial-date intervals against the calendar, tile covers against the tile grid's own bounds.
(Also the tests that kill mutants `make mutate` found surviving: tests/MUTATION.md.)"""

from __future__ import annotations

import calendar
import datetime as dt
import math
import time

import numpy as np
import pytest
import shapely
import shapely.affinity
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyproj import Geod

from facilities.dates import DatePrecision, PartialDate, parse_timestamp
from facilities.errors import ValidationError
from facilities.geometry import (
    ANY_GEOMETRY,
    MAX_VERTICES,
    POLYGONAL,
    check_geometries,
    check_geometry,
    ground_area_m2,
    ground_areas_m2,
    rfc7946,
    survives_export,
)
from imagery.errors import AreaTooLarge
from imagery.tiles import MAX_LAT, Tile, as_geometry, lat2tile, lon2tile, tile_for, tiles_for_area

GEOD = Geod(ellps="WGS84")
PROPS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def geodesic_area(geom) -> float:
    # Edges in the registry are straight in lon/lat (RFC 7946): densified to 0.001 degree, a geodesic between
    # neighbouring vertices is the same path to well under a part per million of the area
    area, _ = GEOD.geometry_area_perimeter(shapely.segmentize(geom, 0.001))
    return abs(area)


# ---------------------------------------------------------------- areas

@st.composite
def stars(draw):
    """Non-convex outlines ("stars") of 5-40 points around a centre anywhere but the poles, 50 m to 15 degrees
    across, clockwise or not."""
    lon = draw(st.floats(-170, 170))
    lat = draw(st.floats(-70, 70))
    radius = draw(st.floats(0.0005, 7.5))
    n = draw(st.integers(5, 40))
    spikes = draw(st.lists(st.floats(0.3, 1.0), min_size=n, max_size=n))
    pts = [(lon + radius * r * math.cos(2 * math.pi * i / n), lat + radius * r * math.sin(2 * math.pi * i / n) * 0.9)
           for i, r in enumerate(spikes)]
    if draw(st.booleans()):
        pts.reverse()
    poly = shapely.Polygon(pts)
    if not poly.is_valid:
        poly = shapely.make_valid(poly)
    return poly


@PROPS
@given(stars())
def test_areas_match_the_geodesic_area_for_large_and_odd_shapes(geom):
    ours, ref = ground_area_m2(geom), geodesic_area(geom)
    assert ours == pytest.approx(ref, rel=1e-5, abs=1e-3)


@PROPS
@given(st.floats(-179, 178), st.floats(-80, 79), st.floats(0.01, 1.0), st.floats(0.01, 1.0))
def test_boxes_and_boxes_with_holes_match_the_geodesic_area(west, south, width, height):
    outer = shapely.box(west, south, west + width, south + height)
    hole = shapely.box(west + width / 4, south + height / 4, west + width / 2, south + height / 2)
    holed = outer.difference(hole)
    assert ground_area_m2(outer) == pytest.approx(geodesic_area(outer), rel=1e-6)
    assert ground_area_m2(holed) == pytest.approx(geodesic_area(outer) - geodesic_area(hole), rel=1e-6)


def test_multipolygons_sum_their_parts_and_areas_are_vectorised_alike():
    a, b = shapely.box(10, 50, 12, 51), shapely.box(-60, -40, -59.5, -39)  # two hemispheres
    multi = shapely.MultiPolygon([a, b])
    assert ground_area_m2(multi) == pytest.approx(geodesic_area(a) + geodesic_area(b), rel=1e-6)
    assert list(ground_areas_m2(shapely.points([[0, 0]]).tolist() + [a, multi])) == pytest.approx(
        [0.0, ground_area_m2(a), ground_area_m2(multi)])
    assert ground_area_m2(None) == 0.0 and ground_area_m2(shapely.LineString([(0, 0), (1, 1)])) == 0.0
    assert ground_area_m2(shapely.Polygon()) == 0.0
    # a degree square at the equator is about 12,308 km2 on WGS 84; at 60N about half of it
    assert ground_area_m2(shapely.box(0, 0, 1, 1)) == pytest.approx(12_308.46e6, rel=1e-5)
    assert ground_area_m2(shapely.box(0, 60, 1, 61)) == pytest.approx(geodesic_area(shapely.box(0, 60, 1, 61)),
                                                                      rel=1e-6)


# ---------------------------------------------------------------- partial dates

SLACK = {"year": 365, "month": 45, "day": 15}
DAYS = st.dates(dt.date(1800, 1, 1), dt.date(2026, 12, 31))


def unit_interval(day: dt.date, unit: str) -> tuple[dt.date, dt.date]:
    if unit == "year":
        return dt.date(day.year, 1, 1), dt.date(day.year + 1, 1, 1) - dt.timedelta(days=1)
    if unit == "month":
        nxt = dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)
        return dt.date(day.year, day.month, 1), nxt - dt.timedelta(days=1)
    return day, day


def text_of(day: dt.date, unit: str) -> str:
    return {"year": f"{day.year:04d}", "month": f"{day.year:04d}-{day.month:02d}", "day": day.isoformat()}[unit]


@settings(max_examples=300, deadline=None)
@given(DAYS, st.sampled_from(["year", "month", "day"]), st.booleans())
def test_every_precision_and_approximation_covers_the_calendars_interval(day, unit, approximate):
    text = ("~" if approximate else "") + text_of(day, unit)
    d = PartialDate.parse(text)
    assert str(d) == text and PartialDate.parse(str(d)) == d
    assert d.precision is (DatePrecision.APPROXIMATE if approximate else DatePrecision(unit))
    first, last = unit_interval(day, unit)
    if approximate:
        first, last = first - dt.timedelta(days=SLACK[unit]), last + dt.timedelta(days=SLACK[unit])
    assert (d.start, d.end) == (first, last)
    assert d.start <= d.value <= d.end


@pytest.mark.parametrize("text, start, end", [
    ("2024-02", "2024-02-01", "2024-02-29"), ("2023-02", "2023-02-01", "2023-02-28"),
    ("1900-02", "1900-02-01", "1900-02-28"), ("2000-02", "2000-02-01", "2000-02-29"),
    ("2024-12", "2024-12-01", "2024-12-31"), ("2024", "2024-01-01", "2024-12-31"),
    ("~2024-12", "2024-10-17", "2025-02-14"), ("~2024", "2023-01-01", "2025-12-31"),
    ("~2024-01-01", "2023-12-17", "2024-01-16"), ("1800-01-01", "1800-01-01", "1800-01-01"),
])
def test_boundary_dates(text, start, end):
    d = PartialDate.parse(text)
    assert (d.start.isoformat(), d.end.isoformat()) == (start, end)


@pytest.mark.parametrize("text", ["1799", "1799-12-31", "2024-13", "2024-00", "2024-02-30", "2023-02-29", "24",
                                  "2024-1", "2024-01-1", "~", "2024~", " ", "2024-01-01T00:00", "~~2024"])
def test_impossible_or_malformed_dates_are_refused(text):
    with pytest.raises(ValidationError):
        PartialDate.parse(text)


def test_the_latest_year_is_next_year_in_utc():
    nxt = dt.datetime.now(dt.UTC).year + 1
    assert PartialDate.parse(str(nxt)).value == dt.date(nxt, 1, 1)
    with pytest.raises(ValidationError, match=f"outside 1800..{nxt}"):
        PartialDate.parse(str(nxt + 1))


def test_dates_order_by_value_then_precision_and_parse_what_they_are_given():
    assert PartialDate.parse(dt.date(2024, 3, 1)) == PartialDate.parse("2024-03-01")
    d = PartialDate.parse("2024-03")
    assert PartialDate.parse(d) is d
    assert PartialDate.parse("  2024-03 ") == d  # surrounding blanks are not part of the date
    with pytest.raises(ValidationError, match="got int"):
        PartialDate.parse(2024)  # type: ignore[arg-type]
    assert calendar.isleap(2024) and PartialDate.parse("2024-02-29").end == dt.date(2024, 2, 29)


# ---------------------------------------------------------------- tile covers

@PROPS
@given(st.integers(1, 18), st.data())
def test_a_box_on_tile_boundaries_covers_exactly_its_tiles(z, data):
    n = 2**z
    x0 = data.draw(st.integers(0, n - 1))
    y0 = data.draw(st.integers(0, n - 1))
    x1 = data.draw(st.integers(x0, min(n - 1, x0 + 3)))
    y1 = data.draw(st.integers(y0, min(n - 1, y0 + 3)))
    w, _, _, north = Tile(z, x0, y0).bounds()
    _, south, e, _ = Tile(z, x1, y1).bounds()
    if north - south < 1e-9 or e - w < 1e-9:
        return  # rows near the Mercator limit collapse in degrees
    expected = [Tile(z, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]
    assert tiles_for_area((w, south, e, north), z) == expected


@PROPS
@given(st.integers(0, 20), st.floats(-180, 180), st.floats(-85.05, 85.05))
def test_a_point_is_in_the_tile_that_holds_it(z, lon, lat):
    t = tile_for(lon, lat, z)
    w, s, e, n = t.bounds()
    assert w - 1e-9 <= lon <= e + 1e-9 and s - 1e-9 <= lat <= n + 1e-9
    assert 0 <= t.x < 2**z and 0 <= t.y < 2**z


def test_tile_grid_edges_and_clamping():
    assert lon2tile(-180, 3) == 0 and lon2tile(180, 3) == 7 and lon2tile(179.999, 3) == 7
    assert lon2tile(0, 1) == 1 and lon2tile(-1e-9, 1) == 0
    assert lat2tile(90, 3) == 0 and lat2tile(-90, 3) == 7 and lat2tile(0, 1) == 1 and lat2tile(1e-9, 1) == 0
    assert Tile(1, 0, 0).bounds() == pytest.approx((-180, 0, 0, 85.0511287798066))
    assert Tile(2, 1, 2).bounds() == pytest.approx((-90, -66.51326044311186, 0, 0))  # the row below the equator
    assert Tile(2, 1, 2).centre() == pytest.approx((-45, -66.51326044311186 / 2))
    assert tiles_for_area(shapely.Point(10, 10), 5) == [tile_for(10, 10, 5)]
    # an outline whose edge lies on a tile boundary does not pull in the neighbour...
    w, s, e, n = Tile(10, 500, 400).bounds()
    assert tiles_for_area(shapely.box(w, s, e, n), 10) == [Tile(10, 500, 400)]
    # ...and a line along it is in the tile that holds its points (tile_for's: the east one)
    assert tiles_for_area(shapely.LineString([(e, s + 1e-6), (e, n - 1e-6)]), 10) == [tile_for(e, s + 1e-6, 10)]


# ---------------------------------------------------------------- kills of surviving mutants (tests/MUTATION.md)

def test_a_partial_date_made_directly_means_its_precision_not_its_approximation_unit():
    # PartialDate(value, precision) as the stores build it: approx_unit keeps its default ("day")
    month = PartialDate(dt.date(2024, 6, 15), DatePrecision.MONTH)
    year = PartialDate(dt.date(2024, 6, 15), DatePrecision.YEAR)
    assert (str(month), month.start, month.end) == ("2024-06", dt.date(2024, 6, 1), dt.date(2024, 6, 30))
    assert (str(year), year.start, year.end) == ("2024", dt.date(2024, 1, 1), dt.date(2024, 12, 31))
    assert PartialDate.parse("2024-06").approx_unit == "month" and PartialDate.parse("2024").approx_unit == "year"


def test_timestamps_are_read_as_utc_and_refused_naming_the_rule(monkeypatch):
    monkeypatch.setenv("TZ", "America/Los_Angeles")
    time.tzset()
    try:
        for text in ("2024-11-25T23:30:00", "2024-11-25T23:30:00Z", "2024-11-26T08:30:00+09:00"):
            got = parse_timestamp(text)
            assert got == dt.datetime(2024, 11, 25, 23, 30, tzinfo=dt.UTC) and got.tzinfo is dt.UTC, text
    finally:
        monkeypatch.undo()
        time.tzset()
    with pytest.raises(ValidationError, match=r"timestamp 'yesterday' is not ISO 8601 \(e.g. 2024-11-25T10:00:00Z\)"):
        parse_timestamp("yesterday")
    with pytest.raises(ValidationError, match=r"out of range once converted to UTC \(years 1 to 9999\)"):
        parse_timestamp("0001-01-01T00:00+01:00")


def test_utcnow_is_aware_utc_cut_to_the_millisecond(monkeypatch):
    import types

    from facilities import dates

    class Frozen(dt.datetime):
        @classmethod
        def now(cls, tz=None):
            return dt.datetime(2024, 1, 2, 3, 4, 5, 1_000 if tz is not None else 7, tzinfo=tz)

    monkeypatch.setattr(dates, "dt", types.SimpleNamespace(datetime=Frozen, UTC=dt.UTC, date=dt.date,
                                                           timedelta=dt.timedelta, timezone=dt.timezone))
    assert dates.utcnow() == dt.datetime(2024, 1, 2, 3, 4, 5, 1_000, tzinfo=dt.UTC)
    assert dates.utcnow().tzinfo is dt.UTC


# ---------------------------------------------------------------- geometry checks: each rule, and the batch path
# against the one-by-one path (check_geometries decides the common case with vectorised calls; it must agree)

def _ring(n: int) -> shapely.Polygon:
    """A valid polygon of exactly n coordinates (n - 1 distinct vertices and the closing one)."""
    t = [2 * math.pi * i / (n - 1) for i in range(n - 1)]
    return shapely.Polygon([(127.6 + 0.01 * math.cos(a), 39.9 + 0.01 * math.sin(a)) for a in t])


SITE = shapely.box(127.6, 39.9, 127.61, 39.91)
GEOMETRY_CASES = {
    "valid": (SITE, None, ()),
    "null": (None, "geometry is missing (null)", ()),
    "point": (shapely.Point(1, 2), "geometry type Point is not allowed here (expected Polygon or MultiPolygon)", ()),
    "empty": (shapely.Polygon(), "geometry is an empty Polygon", ()),
    "too-many": (_ring(MAX_VERTICES + 1), f"geometry has {MAX_VERTICES + 1:,} vertices; the limit is "
                 f"{MAX_VERTICES:,} per feature", ()),
    "at-limit": (_ring(MAX_VERTICES), None, ()),
    "z": (shapely.Polygon([(127.6, 39.9, 5), (127.61, 39.9, 5), (127.61, 39.91, 5)]), None,
          ("dropped Z coordinates",)),
    "nan": (shapely.Polygon([(127.6, 39.9), (math.nan, 39.9), (127.61, 39.91)]),
            "geometry has non-finite coordinates (NaN or infinity)", ()),
    "swapped": (shapely.box(39.9, 127.6, 39.91, 127.61), "coordinate (39.91, 127.6) is outside longitude -180..180 / "
                "latitude -90..90; the values look like latitude, longitude order (GeoJSON wants longitude first)",
                ()),
    "metres": (shapely.box(500000, 4400000, 500100, 4400100), "coordinate (500100, 4.4e+06) is outside longitude "
               "-180..180 / latitude -90..90; these look like projected metres, not degrees (reproject to EPSG:4326)",
               ()),
    "lat-95": (shapely.box(100, 80, 101, 95), "coordinate (101, 95) is outside longitude -180..180 / latitude "
               "-90..90", ()),
    "lat-90.5": (shapely.box(100, 80, 101, 90.5), "coordinate (101, 90.5) is outside longitude -180..180 / latitude "
                 "-90..90", ()),
    "lat-90": (shapely.box(100, 80, 101, 90), None, ()),
    "lat-180-swapped": (shapely.box(10, 170, 11, 180), "coordinate (11, 170) is outside longitude -180..180 / latitude "
                        "-90..90; the values look like latitude, longitude order (GeoJSON wants longitude first)", ()),
    "lat-180.5": (shapely.box(10, 170, 11, 180.5), "coordinate (11, 170) is outside longitude -180..180 / latitude "
                  "-90..90; these look like projected metres, not degrees (reproject to EPSG:4326)", ()),
    "lon-90-swapped": (shapely.box(89, 100, 90, 101), "coordinate (90, 100) is outside longitude -180..180 / latitude "
                       "-90..90; the values look like latitude, longitude order (GeoJSON wants longitude first)", ()),
    "lon-90.5": (shapely.box(89, 100, 90.5, 101), "coordinate (90.5, 100) is outside longitude -180..180 / latitude "
                 "-90..90", ()),
    "lon-180-lat-95": (shapely.box(179, 95, 180, 96), "coordinate (180, 95) is outside longitude -180..180 / latitude "
                       "-90..90", ()),
    "lon-180.5": (shapely.box(179.9, 10, 180.5, 11), "coordinate (180.5, 10) is outside longitude -180..180 / latitude "
                  "-90..90; these look like projected metres, not degrees (reproject to EPSG:4326)", ()),
    "edge-180": (shapely.box(179.9, 10, 180, 11), None, ()),
    "width-180": (shapely.Polygon([(-90, 0), (90, 0), (90, 1), (-90, 1)]), None, ()),  # not read as crossing ±180°
    "jump-180.5": (shapely.Polygon([(90.25, 0), (-90.25, 0), (-90.25, 1), (90.25, 1)]), None,
                   ("split at the antimeridian (RFC 7946 §3.1.9)",)),
    "crossing": (shapely.Polygon([(179, 0), (-179, 0), (-179, 1), (179, 1)]), None,
                 ("split at the antimeridian (RFC 7946 §3.1.9)",)),
    "bowtie": (shapely.Polygon([(127.6, 39.9), (127.61, 39.91), (127.61, 39.9), (127.6, 39.91)]),
               "invalid geometry: Self-intersection[127.605 39.905] (fix it, or import with repair to apply "
               "make_valid)", ()),
    "one-part-multi": (shapely.MultiPolygon([SITE]), None, ()),
    "z-point": (shapely.Point(127.6, 39.9, 5), "geometry type Point is not allowed here (expected Polygon or "
                "MultiPolygon)", ()),  # a suspect the batch path must check with the caller's allowed types
    "two-part-multi": (shapely.MultiPolygon([SITE, shapely.box(128, 40, 128.01, 40.01)]), None, ()),
    "2mm": (shapely.box(127.6, 39.9, 127.60000002, 39.91), "geometry is too small or too narrow for the export's 7 "
            "decimals (about 1 cm): rounded as the export writes it, the Polygon becomes invalid (Too few points in "
            "geometry component[127.6 39.9]); draw it at least a few centimetres wide", ()),
}


@pytest.mark.parametrize("name", sorted(GEOMETRY_CASES))
def test_each_geometry_rule_names_the_problem(name):
    geom, error, notes = GEOMETRY_CASES[name]
    if error is not None:
        with pytest.raises(ValidationError) as err:
            check_geometry(geom)
        assert str(err.value) == error
        return
    checked = check_geometry(geom)
    assert checked.notes == notes
    split = ("two-part-multi", "crossing", "jump-180.5")
    assert checked.geometry.geom_type == ("MultiPolygon" if name in split else "Polygon")
    if name in ("crossing", "jump-180.5"):
        assert checked.geometry.bounds[::2] == (-180, 180)
    elif name == "crossing":  # read as the short way across ±180°: two degrees wide, not 358
        assert checked.geometry.bounds == (-180, 0, 180, 1) and round(checked.geometry.area, 9) == 2
    else:
        assert ground_area_m2(checked.geometry) == pytest.approx(ground_area_m2(shapely.force_2d(geom)), rel=1e-9)
    assert not shapely.has_z(checked.geometry) and checked.geometry.is_valid


def test_repair_says_what_it_did_and_refuses_what_it_cannot_use():
    bowtie = GEOMETRY_CASES["bowtie"][0]
    fixed = check_geometry(bowtie, repair=True)
    assert fixed.geometry.geom_type == "MultiPolygon" and fixed.geometry.is_valid
    assert fixed.notes == ("repaired with make_valid(structure): Self-intersection[127.605 39.905]; area "
                           f"{ground_area_m2(bowtie):,.0f} -> {ground_area_m2(fixed.geometry):,.0f} m²",)
    assert ground_area_m2(bowtie) != ground_area_m2(fixed.geometry)
    flat = shapely.Polygon([(127.6, 39.9), (127.61, 39.9), (127.605, 39.9)])  # a ring with no area
    with pytest.raises(ValidationError) as err:
        check_geometry(flat, repair=True)
    assert str(err.value) == ("invalid geometry: Self-intersection[127.605 39.9]; repair gave Polygon, which is not "
                              "usable")
    line = shapely.LineString([(127.6, 39.9), (127.6, 39.9)])
    with pytest.raises(ValidationError, match="invalid geometry"):
        check_geometry(line, allowed=ANY_GEOMETRY)
    lines = shapely.MultiLineString([[(127.6, 39.9), (127.6, 39.9)], [(127.6, 39.9), (127.7, 40.0)]])
    repaired = check_geometry(lines, allowed=ANY_GEOMETRY, repair=True)  # a line repaired: no area in the note
    assert repaired.notes == ("repaired with make_valid(structure): Too few points in geometry component[127.6 39.9]",)
    out, errors, _ = check_geometries(np.array([bowtie], dtype=object))  # no repair unless asked for
    assert errors == {0: GEOMETRY_CASES["bowtie"][1]} and out[0] is bowtie
    assert check_geometry(shapely.Point(1, 2), allowed=ANY_GEOMETRY).geometry.equals(shapely.Point(1, 2))


def _one_by_one(geoms, **kw):
    out, errors, notes = [], {}, {}
    for i, g in enumerate(geoms):
        try:
            checked = check_geometry(g, **kw)
        except ValidationError as err:
            out.append(g)
            errors[i] = str(err)
            continue
        out.append(checked.geometry)
        if checked.notes:
            notes[i] = checked.notes
    return out, errors, notes


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(sorted(set(GEOMETRY_CASES) - {"too-many", "at-limit"})), min_size=1, max_size=8),
       st.booleans(), st.sampled_from([POLYGONAL, ANY_GEOMETRY]))
def test_the_batch_check_agrees_with_the_one_by_one_check(names, repair, allowed):
    geoms = [GEOMETRY_CASES[n][0] for n in names]
    out, errors, notes = check_geometries(np.array(geoms, dtype=object), repair=repair, allowed=allowed)
    ref_out, ref_errors, ref_notes = _one_by_one(geoms, repair=repair, allowed=allowed)
    assert errors == ref_errors and notes == ref_notes
    for i, (got, want) in enumerate(zip(out, ref_out, strict=True)):
        if i in errors:
            continue
        assert got.geom_type == want.geom_type and got.equals_exact(want, 0), names[i]


def test_the_batch_check_at_the_vertex_limit():
    geoms = np.array([_ring(MAX_VERTICES), _ring(MAX_VERTICES + 1)], dtype=object)
    out, errors, notes = check_geometries(geoms)
    assert list(errors) == [1] and "100,001 vertices" in errors[1] and notes == {}
    assert out[0] is geoms[0]


def test_export_rounding_and_orientation():
    thin = GEOMETRY_CASES["2mm"][0]
    assert survives_export(np.array([SITE, thin, None], dtype=object)).keys() == {1}
    assert survives_export(np.array([thin], dtype=object), exclude={0: "known"}) == {}
    assert survives_export(np.array([thin], dtype=object), precision=9) == {}
    cw = shapely.Polygon([(0, 0), (0, 1), (1, 1), (1, 0)])
    holed = shapely.Polygon(shapely.box(0, 0, 4, 4).exterior.coords, [shapely.box(1, 1, 2, 2).exterior.coords])
    (ccw,), (fixed,) = rfc7946(np.array([cw], dtype=object)), rfc7946(np.array([holed], dtype=object))
    assert ccw.exterior.is_ccw and not fixed.interiors[0].is_ccw and fixed.exterior.is_ccw
    (rounded,) = rfc7946(np.array([shapely.Point(1.123456789, 2.987654321)], dtype=object))
    assert (rounded.x, rounded.y) == (1.1234568, 2.9876543)
    (five,) = rfc7946(np.array([shapely.Point(1.123456789, 2.987654321)], dtype=object), precision=5)
    assert (five.x, five.y) == (1.12346, 2.98765)


# ---------------------------------------------------------------- tile covers: limits and the antimeridian

def test_tile_centres_off_the_axes():
    w, s, e, n = Tile(3, 5, 2).bounds()
    assert (w, e) == (45.0, 90.0) and Tile(3, 5, 2).centre() == pytest.approx(((w + e) / 2, (s + n) / 2))
    assert Tile(3, 5, 2).centre()[1] == pytest.approx((40.97989806962013 + 66.51326044311186) / 2)


def test_areas_over_the_antimeridian_and_the_edges_of_the_grid():
    assert tiles_for_area(shapely.Point(180, 10), 3) == [Tile(3, 7, 3)]  # clamped into the grid, no tile 8
    assert tiles_for_area(shapely.Point(0, -MAX_LAT), 3) == [Tile(3, 4, 7)]
    east, west = tiles_for_area((179.99, 0, 180, 0.01), 13), tiles_for_area((-180, 0, -179.99, 0.01), 13)
    assert tiles_for_area((179.99, 0, -179.99, 0.01), 13) == sorted(east + west)  # 2 parts, not 8192 columns
    across = shapely.Polygon([(179.5, 0), (180.5, 0), (180.5, 1), (179.5, 1)])
    shifted = as_geometry(across)
    assert shifted.geom_type == "MultiPolygon" and shifted.bounds == (-180, 0, 180, 1)
    assert sorted(round(p.area, 9) for p in shifted.geoms) == [0.5, 0.5]
    assert as_geometry(shapely.affinity.translate(across, -360)).equals(shifted)
    assert as_geometry(shapely.box(-190, 0, 190, 1)).equals(shapely.box(-180, 0, 180, 1))
    assert as_geometry(SITE) is SITE and as_geometry((10, 0, 11, 1)).equals(shapely.box(10, 0, 11, 1))
    with pytest.raises(ValueError, match="^empty geometry$"):
        as_geometry(shapely.Polygon())


@pytest.mark.parametrize("area, max_tiles, message", [
    ((0, -10, 100, 70), 1, "area needs about 6 tiles at z2; the limit is 1"),  # 2 x 3 candidates: over 4 x 1
    ((0, -10, 100, 10), 1, "area needs 4 tiles at z2; the limit is 1"),  # 2 x 2: the candidates pass, the count not
    ((0, -10, 100, 70), 2, "area needs 6 tiles at z2; the limit is 2"),
    ((170, -10, -170, 70), 1, "area needs about 3 tiles at z2; the limit is 1"),  # second part: 3 + 3 found > 4
    ((0, -10, 10, 10), 1, "area needs 2 tiles at z2; the limit is 1"),
])
def test_the_tile_limits_name_the_count(area, max_tiles, message):
    with pytest.raises(AreaTooLarge) as err:
        tiles_for_area(area, 2, max_tiles=max_tiles)
    assert str(err.value) == message
    assert tiles_for_area((0, -10, 10, 10), 2, max_tiles=2) == [Tile(2, 2, 1), Tile(2, 2, 2)]


def test_the_default_limit_is_1024_tiles():
    w, _, _, n = Tile(10, 0, 500).bounds()
    _, s, e, _ = Tile(10, 31, 531).bounds()
    assert len(tiles_for_area((w, s, e, n), 10)) == 1024  # 32 x 32
    _, s, e, _ = Tile(10, 40, 524).bounds()
    with pytest.raises(AreaTooLarge, match="^area needs 1025 tiles at z10; the limit is 1024$"):
        tiles_for_area((w, s, e, n), 10)  # 41 x 25


def test_the_candidate_limit_is_four_times_the_tile_limit():
    with pytest.raises(AreaTooLarge, match="^area needs about 5 tiles at z3; the limit is 1$"):
        tiles_for_area((-90, 10, 100, 11), 3, max_tiles=1)  # 5 x 1 candidates: over 4 x 1
