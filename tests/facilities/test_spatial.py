"""Spatial questions on GeoDataFrames: geodesic distances, inside a polygon or layer, nearest site."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely
from pyproj import Geod

from facilities import spatial
from facilities.errors import ValidationError


@pytest.fixture
def sites():
    return gpd.GeoDataFrame(
        {"id": ["a", "b", "c"], "name": ["A", "B", "C"]},
        geometry=[shapely.box(127.50, 39.90, 127.51, 39.91), shapely.box(127.60, 39.90, 127.61, 39.91),
                  shapely.box(10.0, 50.0, 10.01, 50.01)], crs="EPSG:4326")


def test_geodesic_distance_from_a_point_matches_pyproj(sites):
    # due east of site a's east edge along its latitude band: the distance to (127.51, 39.905)
    found = spatial.within_distance(sites, (127.55, 39.905), 20_000)
    assert list(found["id"]) == ["a", "b"]
    _, _, expected = Geod(ellps="WGS84").inv(127.51, 39.905, 127.55, 39.905)
    assert found.loc[found["id"] == "a", "distance_m"].iloc[0] == pytest.approx(expected, rel=1e-4)
    assert spatial.within_distance(sites, (127.505, 39.905), 1)["distance_m"].iloc[0] == 0  # inside


def test_near_another_site_leaves_it_out(sites):
    found = spatial.near_site(sites, "a", 10_000)
    assert list(found["id"]) == ["b"]
    _, _, expected = Geod(ellps="WGS84").inv(127.51, 39.90, 127.60, 39.90)
    assert found["distance_m"].iloc[0] == pytest.approx(expected, rel=1e-3)
    with pytest.raises(ValidationError):
        spatial.near_site(sites, "zz", 1)


def test_inside_a_polygon_or_a_projected_layer(sites):
    area = shapely.box(127.4, 39.8, 127.55, 40.0)
    assert list(spatial.inside(sites, area)["id"]) == ["a"]
    layer = gpd.GeoDataFrame(geometry=[area], crs="EPSG:4326").to_crs(32652)
    assert list(spatial.inside(sites, layer, predicate="within")["id"]) == ["a"]
    with pytest.raises(ValidationError, match="no polygon"):
        spatial.inside(sites, gpd.GeoDataFrame(geometry=[shapely.Point(0, 0)], crs=4326))


def test_nearest_site_to_each_feature(sites):
    layer = gpd.GeoDataFrame({"n": [1, 2]}, geometry=[shapely.Point(127.59, 39.905), shapely.Point(10.2, 50.0)],
                             crs="EPSG:4326").to_crs(3857)
    out = spatial.nearest_sites(layer, sites)
    assert list(out["site_id"]) == ["b", "c"] and out.crs.to_epsg() == 4326
    assert out["distance_m"].iloc[0] == pytest.approx(Geod(ellps="WGS84").inv(127.59, 39.905, 127.60, 39.905)[2],
                                                      rel=1e-3)
    capped = spatial.nearest_sites(layer, sites, max_distance_m=5_000)
    assert capped["site_id"].isna().tolist() == [False, True]
    with pytest.raises(ValidationError, match="no CRS"):
        spatial.nearest_sites(gpd.GeoDataFrame(geometry=[shapely.Point(0, 0)]), sites)
