import datetime as dt

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Transformer

from facilities.dates import DatePrecision, PartialDate
from facilities.errors import ValidationError
from facilities.geometry import MAX_VERTICES, check_geometry, ground_area_m2
from facilities.model import Facility, Observation, Structure, slugify


@pytest.mark.parametrize("text, precision, start, end", [
    ("2024-11-25", DatePrecision.DAY, "2024-11-25", "2024-11-25"),
    ("2024-02", DatePrecision.MONTH, "2024-02-01", "2024-02-29"),
    ("2011", DatePrecision.YEAR, "2011-01-01", "2011-12-31"),
    ("~2020-06", DatePrecision.APPROXIMATE, "2020-04-17", "2020-08-14"),
])
def test_partial_dates_cover_their_interval(text, precision, start, end):
    d = PartialDate.parse(text)
    assert d.precision is precision
    assert str(d) == text
    assert (d.start.isoformat(), d.end.isoformat()) == (start, end)


@pytest.mark.parametrize("bad", ["2024-02-30", "2024-13-01", "0001-01-01", "2999", "24-1-1", "yesterday", ""])
def test_impossible_dates_are_refused_with_the_value(bad):
    with pytest.raises(ValidationError, match="date"):
        PartialDate.parse(bad)


def test_area_is_on_the_ground_not_in_degrees():
    box = shapely.box(127.65, 39.91, 127.66, 39.92)
    utm = Transformer.from_crs("EPSG:4326", "EPSG:32652", always_xy=True)
    projected = shapely.transform(box, lambda c: np.c_[utm.transform(c[:, 0], c[:, 1])]).area
    assert ground_area_m2(box) == pytest.approx(projected, rel=2e-3)
    assert 0.9e6 < ground_area_m2(box) < 1.0e6  # ~1113 m x 853 m, not 1e-4 square degrees


def test_facility_rejects_bad_ids_names_and_types():
    g = shapely.box(0, 0, 1, 1)
    with pytest.raises(ValidationError, match="facility id"):
        Facility(id="Has Spaces", name="x", geometry=g)
    with pytest.raises(ValidationError, match="name is required"):
        Facility(id="x", name="  ", geometry=g)
    with pytest.raises(ValidationError, match="NUL"):
        Facility(id="x", name="a\x00b", geometry=g)
    with pytest.raises(ValidationError, match="ISO 3166"):
        Facility(id="x", name="x", geometry=g, country="North Korea")
    with pytest.raises(ValidationError, match="Polygon or MultiPolygon, got Point"):
        Facility(id="x", name="x", geometry=shapely.Point(0, 0))
    with pytest.raises(ValidationError, match="location_precision 'exact' is not one of"):
        Facility(id="x", name="x", geometry=g, location_precision="exact")


def test_html_in_text_is_kept_verbatim():
    f = Facility(id="x", name="<img src=x onerror=alert(1)>", geometry=shapely.box(0, 0, 1, 1),
                 notes="<script>alert(1)</script> `${alert(1)}`")
    assert f.name == "<img src=x onerror=alert(1)>"
    assert "<script>" in f.notes


def test_values_are_immutable_and_evolve():
    f = Facility(id="x", name="x", geometry=shapely.box(0, 0, 1, 1))
    with pytest.raises(AttributeError):
        f.name = "y"
    assert f.evolve(name="y").name == "y" and f.name == "x"


def test_geo_interface_feeds_geopandas():
    fs = [Facility(id=f"f{i}", name=f"F {i}", geometry=shapely.box(i, 0, i + 1, 1)) for i in range(3)]
    gdf = gpd.GeoDataFrame.from_features(fs, crs="EPSG:4326")
    assert list(gdf["id"]) == ["f0", "f1", "f2"]
    assert gdf.geometry.iloc[1].equals(shapely.box(1, 0, 2, 1))


def test_observation_and_structure_coerce_text_fields():
    o = Observation(id="o", facility_id="f", date="~2020-06", kind="construction-start", summary="s")
    assert o.date.precision is DatePrecision.APPROXIMATE
    with pytest.raises(ValidationError, match="kind 'built' is not one of"):
        Observation(id="o", facility_id="f", date="2020", kind="built", summary="s")
    s = Structure(id="s", facility_id="f", name="B", geometry=shapely.box(0, 0, 0.001, 0.001), built="2021")
    assert s.built.value == dt.date(2021, 1, 1) and s.footprint_m2 > 0


def test_slugify_makes_stable_ids():
    assert slugify("February 11 Plant") == "february-11-plant"
    assert slugify("Hamhŭng Werk") == "hamhung-werk"


# ------------------------------------------------------------------ geometry checks

def test_bowtie_is_rejected_with_reason_and_repaired_only_when_asked():
    bowtie = shapely.Polygon([(0, 0), (2, 2), (2, 0), (0, 2), (0, 0)])
    with pytest.raises(ValidationError, match=r"Self-intersection\[1 1\]"):
        check_geometry(bowtie)
    fixed = check_geometry(bowtie, repair=True)
    assert fixed.geometry.is_valid and fixed.geometry.geom_type == "MultiPolygon"
    assert fixed.geometry.area == pytest.approx(2.0)  # never the 0 of the bowtie nor buffer(0)'s 1
    assert any("make_valid" in n for n in fixed.notes)


def test_hole_outside_shell_is_rejected():
    poly = shapely.Polygon([(0, 0), (1, 0), (1, 1), (0, 1)], holes=[[(2, 2), (3, 2), (3, 3), (2, 3)]])
    with pytest.raises(ValidationError, match="Hole lies outside shell"):
        check_geometry(poly)


@pytest.mark.parametrize("coords, hint", [
    ([(39.9, 127.6), (39.91, 127.6), (39.91, 127.61), (39.9, 127.6)], "latitude, longitude order"),
    ([(14e6, 4.8e6), (14.1e6, 4.8e6), (14.1e6, 4.9e6), (14e6, 4.8e6)], "projected metres"),
    ([(200, 95), (201, 95), (201, 96), (200, 95)], "outside longitude"),
])
def test_out_of_range_coordinates_say_why(coords, hint):
    with pytest.raises(ValidationError, match=hint):
        check_geometry(shapely.Polygon(coords))


def test_empty_non_finite_and_huge_geometries_are_refused():
    with pytest.raises(ValidationError, match="empty Polygon"):
        check_geometry(shapely.Polygon())
    with pytest.raises(ValidationError, match="non-finite"):
        check_geometry(shapely.Polygon([(0, 0), (float("nan"), 0), (1, 1), (0, 0)]))
    t = np.linspace(0, 2 * np.pi, MAX_VERTICES + 10)
    circle = shapely.Polygon(np.c_[np.cos(t), np.sin(t)])
    with pytest.raises(ValidationError, match="vertices; the limit"):
        check_geometry(circle)
    with pytest.raises(ValidationError, match="type Point is not allowed"):
        check_geometry(shapely.Point(0, 0))


def test_z_is_dropped_and_one_part_multipolygons_normalised():
    poly3d = shapely.Polygon([(0, 0, 5), (1, 0, 5), (1, 1, 5), (0, 0, 5)])
    out = check_geometry(shapely.MultiPolygon([poly3d]))
    assert out.geometry.geom_type == "Polygon" and not out.geometry.has_z
    assert "dropped Z" in " ".join(out.notes)


def test_antimeridian_polygon_is_split_in_parts_narrower_than_180():
    wrapped = shapely.Polygon([(170, 0), (-170, 0), (-170, 10), (170, 10), (170, 0)])
    out = check_geometry(wrapped)
    assert out.geometry.geom_type == "MultiPolygon"
    assert all(p.bounds[2] - p.bounds[0] < 180 for p in out.geometry.geoms)
    halves = shapely.MultiPolygon([shapely.box(170, 0, 180, 10), shapely.box(-180, 0, -170, 10)])
    assert shapely.normalize(out.geometry).equals_exact(shapely.normalize(halves), 1e-9)
