"""Chips: one UTM grid per area, windowed reads from any CRS, GeoTIFF + PNG outputs, typed failures."""

from __future__ import annotations

import resource

import numpy as np
import pytest
import rasterio
from affine import Affine
from PIL import Image
from rasterio.warp import Resampling, calculate_default_transform, reproject, transform_bounds
from rasterio.windows import Window

from imagery.bbox import split_antimeridian
from imagery.chips import (
    GDAL_OPTIONS,
    Grid,
    grid_for_bbox,
    make_chip,
    to_rgba8,
    utm_crs_for,
    write_chip,
)
from imagery.errors import AntimeridianCrossing, NoCoverage, TooLarge
from tests.support.rasters import (
    UTM52_ORIGIN,
    scene,
    write_cog,
    write_jpeg_tiled_with_overviews,
    write_sparse,
    write_tif,
)

UTM_T = Affine(0.5, 0, UTM52_ORIGIN[0], 0, -0.5, UTM52_ORIGIN[1])
SIZE = 800  # 400 m at 0.5 m


@pytest.fixture(scope="module")
def utm_scene():
    return scene(SIZE, SIZE, seed=11)


@pytest.fixture(scope="module")
def sources(tmp_path_factory, utm_scene):
    """The same ground in EPSG:32652 (COG), EPSG:3857 and a 0.25 m JPEG with overviews."""
    d = tmp_path_factory.mktemp("chips")
    utm = write_cog(d / "utm.tif", utm_scene, "EPSG:32652", UTM_T)
    bounds = (UTM52_ORIGIN[0], UTM52_ORIGIN[1] - SIZE * 0.5, UTM52_ORIGIN[0] + SIZE * 0.5, UTM52_ORIGIN[1])
    t, w, h = calculate_default_transform("EPSG:32652", "EPSG:3857", SIZE, SIZE, *bounds)
    merc = np.zeros((3, h, w), dtype="uint8")
    reproject(utm_scene, merc, src_transform=UTM_T, src_crs="EPSG:32652", dst_transform=t, dst_crs="EPSG:3857",
              resampling=Resampling.bilinear)
    merc_path = write_tif(d / "merc.tif", merc, "EPSG:3857", t, nodata=0)
    fine = np.repeat(np.repeat(utm_scene, 2, axis=1), 2, axis=2)
    fine_t = Affine(0.25, 0, UTM52_ORIGIN[0], 0, -0.25, UTM52_ORIGIN[1])
    jpeg = write_jpeg_tiled_with_overviews(d / "fine.tif", fine, "EPSG:32652", fine_t)
    inner = transform_bounds("EPSG:32652", "EPSG:4326", bounds[0] + 60, bounds[1] + 60, bounds[2] - 60,
                             bounds[3] - 60)
    return {"utm": utm, "merc": merc_path, "jpeg": jpeg, "bbox": inner}


def test_grid_is_local_utm_snapped_to_the_pixel_size():
    bbox = (127.650, 39.915, 127.665, 39.925)
    grid = grid_for_bbox(bbox, pixel_size=0.5)
    assert grid.crs == "EPSG:32652" == utm_crs_for(127.66, 39.92)
    assert utm_crs_for(-70.0, -33.0) == "EPSG:32719"
    t = grid.transform
    assert t.a == 0.5 and t.e == -0.5 and t.c % 0.5 == 0 and t.f % 0.5 == 0
    assert 2400 < grid.width < 2700 and 2100 < grid.height < 2300
    assert grid_for_bbox(bbox, pixel_size=0.5) == grid  # the same area always gives the same grid
    with pytest.raises(TooLarge):
        grid_for_bbox((127.0, 39.0, 128.0, 40.0), pixel_size=0.5)


def test_antimeridian_area_is_refused_with_a_split_hint():
    bbox = (179.9, -17.0, -179.9, -16.9)
    with pytest.raises(AntimeridianCrossing, match="split"):
        grid_for_bbox(bbox)
    west, east = split_antimeridian(bbox)
    assert west == (179.9, -17.0, 180.0, -16.9) and east == (-180.0, -17.0, -179.9, -16.9)
    assert grid_for_bbox(east, pixel_size=10).crs == "EPSG:32701"


def test_two_dates_in_different_crs_land_on_the_same_grid(sources):
    grid = grid_for_bbox(sources["bbox"], pixel_size=0.5)
    a = make_chip(sources["utm"], grid)
    b = make_chip(sources["merc"], grid)
    assert a.transform == b.transform and a.data.shape == b.data.shape == (3, grid.height, grid.width)
    assert a.crs == b.crs == "EPSG:32652"
    diff = np.abs(a.data.astype(int) - b.data.astype(int))
    assert diff.mean() < 6  # bilinear twice over noisy texture; misalignment would be ~30


def test_aligned_grid_is_a_plain_window_read(sources, utm_scene):
    grid = Grid("EPSG:32652", UTM_T @ Affine.translation(100, 50), 300, 200)
    chip = make_chip(sources["utm"], grid)
    assert np.array_equal(chip.data, utm_scene[:, 50:250, 100:400])


def test_coarse_grid_reads_overviews_of_a_fine_jpeg(sources):
    grid = grid_for_bbox(sources["bbox"], pixel_size=2.0)
    fine = make_chip(sources["jpeg"], grid)
    ref = make_chip(sources["utm"], grid)
    assert fine.data.shape == ref.data.shape
    assert np.abs(fine.data.astype(int) - ref.data.astype(int)).mean() < 8


def test_partial_and_no_coverage(sources, tmp_path):
    west, south, east, north = sources["bbox"]
    half = (west + (east - west) / 2, south, east + (east - west), north)
    chip = make_chip(sources["merc"], grid_for_bbox(half, pixel_size=1.0))
    valid = (chip.data != 0).any(axis=0)
    assert 0.2 < valid.mean() < 0.8
    with pytest.raises(NoCoverage):
        make_chip(sources["utm"], grid_for_bbox((127.0, 39.0, 127.01, 39.01), pixel_size=1.0))
    with pytest.raises(NoCoverage):  # other hemisphere, same CRS code path through transform_bounds
        make_chip(sources["merc"], grid_for_bbox((10.0, 10.0, 10.01, 10.01), pixel_size=1.0))


def test_uint16_chip_writes_geotiff_and_stretched_png_with_transparent_nodata(tmp_path):
    data = scene(300, 300, bands=4, dtype="uint16")
    data[:, :, :100] = 0
    src = write_tif(tmp_path / "ms.tif", data, "EPSG:32652", UTM_T, nodata=0)
    grid = Grid("EPSG:32652", UTM_T, 300, 300)
    chip = make_chip(src, grid)
    files = write_chip(chip, tmp_path / "out", "site-2024-05-17")
    with rasterio.open(files.tif) as dst:
        assert dst.crs.to_epsg() == 32652 and dst.transform == UTM_T and dst.nodata == 0
    img = np.asarray(Image.open(files.png))
    assert img.shape[2] == 4 and img.dtype == np.uint8
    assert img[:, :, 3].min() == 0 and img[:, :, 3].max() == 255
    opaque = img[img[:, :, 3] == 255][:, :3]
    assert opaque.min() < 30 and opaque.max() > 225  # stretched to the full 8-bit range
    (lat_min, lon_min), (lat_max, lon_max) = files.bounds
    assert 39.8 < lat_min < lat_max < 40.0 and 127.6 < lon_min < lon_max < 127.7
    rgba = to_rgba8(chip.data, chip.nodata)
    assert rgba[3, :, :100].max() == 0 and rgba[3, :, 100:].min() == 255


def test_large_sparse_image_is_read_by_window_with_bounded_memory(tmp_path):
    path = write_sparse(tmp_path / "big.tif", 40_000, 40_000, 1)
    patch = scene(1024, 1024, bands=1, seed=2)
    with rasterio.open(path, "r+") as dst:
        dst.write(patch, window=Window(20_000, 20_000, 1024, 1024))
    origin_x, origin_y = UTM52_ORIGIN[0] + 20_000 * 0.5, UTM52_ORIGIN[1] - 20_000 * 0.5
    grid = Grid("EPSG:32652", Affine(0.5, 0, origin_x, 0, -0.5, origin_y), 1024, 1024)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    chip = make_chip(path, grid)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert np.array_equal(chip.data, patch)
    assert grown_mb < 200  # the whole image would be 1.6 GB


def test_gdal_http_options_are_bounded():
    assert float(GDAL_OPTIONS["GDAL_HTTP_TIMEOUT"]) > 0 and int(GDAL_OPTIONS["GDAL_HTTP_MAX_RETRY"]) >= 1
    assert GDAL_OPTIONS["GDAL_DISABLE_READDIR_ON_OPEN"] == "EMPTY_DIR"
    assert ".tif" in GDAL_OPTIONS["CPL_VSIL_CURL_ALLOWED_EXTENSIONS"]
    assert GDAL_OPTIONS["GDAL_NUM_THREADS"] == "ALL_CPUS"


def test_same_crs_resampled_read_matches_a_warp_and_handles_edges(sources, utm_scene):
    from rasterio.warp import reproject as warp

    grid = Grid("EPSG:32652", Affine(1.0, 0, UTM52_ORIGIN[0] - 50.3, 0, -1.0, UTM52_ORIGIN[1] - 20.7), 250, 150)
    chip = make_chip(sources["utm"], grid)
    ref = np.zeros((3, 150, 250), dtype=np.uint8)
    warp(utm_scene, ref, src_transform=UTM_T, src_crs="EPSG:32652", dst_transform=grid.transform,
         dst_crs="EPSG:32652", resampling=Resampling.bilinear, dst_nodata=0)
    assert (chip.data[:, :, :50] == 0).all()  # west of the image: no data
    inner = (slice(None), slice(2, -2), slice(53, -2))
    assert np.abs(chip.data[inner].astype(int) - ref[inner].astype(int)).mean() < 4
