"""GeoDataFrames into the registry: the GeoJSON front door's checks, all or nothing, any CRS but none."""

from __future__ import annotations

import json

import geopandas as gpd
import pytest
import shapely

from facilities.errors import InputError
from facilities.frames import read_facilities, read_observations, read_sources, read_structures
from facilities.frames_import import import_geodataframe
from facilities.geojson_io import export_text
from facilities.model import Registry
from facilities.store import GeoPackageStore
from tracker.seeding import ensure_seeded


@pytest.fixture
def seeded_path(tmp_path):
    path = tmp_path / "seeded.gpkg"
    store = GeoPackageStore(path)
    ensure_seeded(store)
    store.close()
    return path


@pytest.fixture
def empty_path(tmp_path):
    path = tmp_path / "empty.gpkg"
    GeoPackageStore(path).close()
    return path


def _features_by_id(path):
    store = GeoPackageStore(path)
    try:
        return {f["id"]: f for f in json.loads(export_text(store))["features"]}
    finally:
        store.close()


def test_registry_frames_round_trip_through_import(seeded_path, empty_path):
    store = GeoPackageStore(empty_path)
    store.import_registry(Registry(sources=tuple(GeoPackageStore(seeded_path).list_sources())), actor="t")
    for read in (read_facilities, read_structures, read_observations):
        import_geodataframe(read(seeded_path), store, actor="t")
    store.close()
    assert _features_by_id(empty_path) == _features_by_id(seeded_path)
    assert len(read_sources(empty_path)) == len(read_sources(seeded_path))


def test_an_analysts_layer_in_utm_is_reprojected_and_kept_as_facilities(empty_path):
    # a 200 m square in UTM zone 52N near Hamhung
    x, y = 333_000.0, 4_418_000.0
    layer = gpd.GeoDataFrame({"Name": ["Depot X"], "source": ["my notes"]},
                             geometry=[shapely.box(x, y, x + 200, y + 200)], crs="EPSG:32652")
    report = import_geodataframe(layer, empty_path, actor="t")
    assert report.added["facility"] == 1
    df = read_facilities(empty_path)
    row = df.iloc[0]
    assert row["name"] == "Depot X" and row["extra"] == {"source": "my notes"}
    assert 127 < row.geometry.centroid.x < 128 and 39 < row.geometry.centroid.y < 41
    assert row["area_m2"] == pytest.approx(40_000, rel=0.01)


def test_a_frame_without_crs_is_refused(empty_path):
    layer = gpd.GeoDataFrame({"name": ["A"]}, geometry=[shapely.box(0, 0, 1, 1)])
    with pytest.raises(InputError, match="no CRS"):
        import_geodataframe(layer, empty_path)


def test_every_bad_row_is_named_and_nothing_is_written(empty_path):
    good = shapely.box(127.0, 39.0, 127.01, 39.01)
    bowtie = shapely.Polygon([(127, 39), (127.01, 39.01), (127.01, 39), (127, 39.01), (127, 39)])
    layer = gpd.GeoDataFrame({"name": ["Good", None, "Bowtie", "Line"]},
                             geometry=[good, good, bowtie, shapely.LineString([(127, 39), (128, 40)])],
                             crs="EPSG:4326")
    with pytest.raises(InputError) as err:
        import_geodataframe(layer, empty_path)
    assert [p.index for p in err.value.problems] == [1, 2, 3]
    assert "no name" in str(err.value) and "Self-intersection" in str(err.value)
    assert read_facilities(empty_path).empty


def test_explicit_feature_type_and_unknown_column_for_our_own_kind(empty_path, seeded_path):
    obs = read_observations(seeded_path).head(1).assign(surprise=1)
    with pytest.raises(InputError, match="unknown properties: surprise"):
        import_geodataframe(obs, empty_path, feature_type="observation")
    with pytest.raises(InputError, match="feature_type"):
        import_geodataframe(obs, empty_path, feature_type="building")
