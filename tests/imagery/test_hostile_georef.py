"""Issue 14, part B, imagery: georeferencing that cannot be right and COGs whose full-resolution tiles are cut off
are refused at import with the reason; a GDAL read error in a later chip read is an ImageryError naming the image."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
from affine import Affine
from hypothesis import given, settings
from hypothesis import strategies as st

from imagery.errors import CorruptRaster, ImageryError, NotGeoreferenced
from imagery.local import LocalSource, import_image
from tests.support.rasters import UTM52_ORIGIN, scene, write_cog, write_tif

DAY = dt.date(2024, 5, 1)


def _import(tmp_path, path):
    return import_image(path, tmp_path / "data", DAY)


@pytest.mark.parametrize("crs, transform, words", [
    ("EPSG:4326", Affine(1e-4, 0, float("nan"), 0, -1e-4, 39.9), "NaN or infinity"),
    ("EPSG:4326", Affine(1e-4, 0, 127.6, 0, -1e-4, float("inf")), "NaN or infinity"),
    ("EPSG:4326", Affine(1e-4, 0, 127.6, 0, -1e-4, 95.0), "beyond ±90°"),
    ("EPSG:4326", Affine(1e-4, 0, 127.6, 0, -1e-4, -89.99), "beyond ±90°"),
    ("EPSG:4326", Affine(0.2, 0, 170.0, 0, -1e-4, 10.0), "beyond ±180°"),  # 170 to 195.6
    ("EPSG:4326", Affine(1e-4, 0, 185.0, 0, -1e-4, 10.0), "beyond ±180°"),
    ("EPSG:32652", Affine(1e10, 0, UTM52_ORIGIN[0], 0, -1e10, UTM52_ORIGIN[1]), "pixels of"),
    ("EPSG:32652", Affine(1e-6, 0, UTM52_ORIGIN[0], 0, -1e-6, UTM52_ORIGIN[1]), "pixels of"),
    ("EPSG:4326", Affine(10.0, 0, 100.0, 0, -1e-4, 10.0), "pixels of"),  # 10° pixels: 1,113 km
    ("EPSG:32652", Affine(0.5, 0.1, UTM52_ORIGIN[0], 0.1, -0.5, UTM52_ORIGIN[1]), "rotated"),
])
def test_georeferencing_that_cannot_be_right_is_refused_with_the_reason(tmp_path, crs, transform, words):
    path = write_tif(tmp_path / "in.tif", scene(256, 256), crs, transform)
    with pytest.raises(NotGeoreferenced, match=words) as info:
        _import(tmp_path, path)
    assert "in.tif" in str(info.value)
    assert not list((tmp_path / "data" / "imagery").glob("*.tif"))


def test_a_zero_size_pixel_is_refused(tmp_path):
    path = write_tif(tmp_path / "in.tif", scene(64, 64), "EPSG:32652",
                     Affine(0.5, 0, UTM52_ORIGIN[0], 0, -0.5, UTM52_ORIGIN[1]))
    import rasterio  # rasterio refuses to write a zero pixel; a header can still say so
    with rasterio.open(path, "r+") as dst:
        dst.transform = Affine(0.0, 0, UTM52_ORIGIN[0], 0, -0.5, UTM52_ORIGIN[1])
    with pytest.raises(NotGeoreferenced, match="zero size|geotransform|ground control points"):  # GDAL keeps a
        _import(tmp_path, path)  # zero-scale header as a tie point, which rasterio reports as GCPs


def test_a_gcp_only_image_is_refused_saying_so(tmp_path):
    import rasterio
    from rasterio.control import GroundControlPoint
    from rasterio.crs import CRS

    path = tmp_path / "gcps.tif"
    gcps = [GroundControlPoint(0, 0, 127.6, 39.91), GroundControlPoint(0, 255, 127.61, 39.91),
            GroundControlPoint(255, 0, 127.6, 39.9), GroundControlPoint(255, 255, 127.61, 39.9)]
    with rasterio.open(path, "w", driver="GTiff", width=256, height=256, count=3, dtype="uint8") as dst:
        dst.write(scene(256, 256))
        dst.gcps = (gcps, CRS.from_epsg(4326))
    with pytest.raises(NotGeoreferenced, match="ground control points"):
        _import(tmp_path, path)


@settings(max_examples=25, deadline=None)
@given(x=st.floats(-400, 400) | st.sampled_from([math.nan, math.inf]),
       y=st.floats(-200, 200) | st.sampled_from([math.nan, -math.inf]),
       px=st.floats(-2, 2) | st.sampled_from([0.0, 1e-12, 1e10]))
def test_any_geographic_header_is_imported_in_range_or_refused(tmp_path_factory, x, y, px):
    tmp = tmp_path_factory.mktemp("g")
    path = write_tif(tmp / "in.tif", scene(32, 32), "EPSG:4326", Affine(px, 0, x, 0, -abs(px) or -1e-4, y))
    try:
        cap = _import(tmp, path)
    except ImageryError:
        return
    west, south, east, north = cap.extra["bounds_wgs84"]
    assert -180 <= west < east <= 180 and -90 <= south < north <= 90


def _truncated_cog(tmp_path, fraction=0.6):
    full = write_cog(tmp_path / "full.tif", scene(2048, 2048, seed=4), "EPSG:32652",
                     Affine(0.5, 0, UTM52_ORIGIN[0], 0, -0.5, UTM52_ORIGIN[1]), COMPRESS="DEFLATE")
    raw = full.read_bytes()
    cut = tmp_path / "cut.tif"
    cut.write_bytes(raw[:int(len(raw) * fraction)])
    return cut


def test_a_cog_cut_at_60_percent_is_refused_at_import_though_its_overviews_read(tmp_path):
    import rasterio

    cut = _truncated_cog(tmp_path)
    with rasterio.open(cut) as src:  # the overviews are whole: a decimated read succeeds
        src.read(1, out_shape=(64, 64))
    with pytest.raises(CorruptRaster, match="cut.tif: full-resolution pixels cannot be decoded"):
        _import(tmp_path, cut)
    assert not list((tmp_path / "data" / "imagery").glob("*.tif"))


def test_a_stored_image_corrupted_later_gives_an_imagery_error_naming_it(tmp_path):
    good = write_cog(tmp_path / "site.tif", scene(2048, 2048, seed=5), "EPSG:32652",
                     Affine(0.5, 0, UTM52_ORIGIN[0], 0, -0.5, UTM52_ORIGIN[1]))
    cap = _import(tmp_path, good)
    stored = tmp_path / "data" / "imagery" / f"{cap.capture_id}.tif"
    raw = stored.read_bytes()
    stored.write_bytes(raw[:int(len(raw) * 0.6)] + b"\x00" * (len(raw) - int(len(raw) * 0.6)))
    src = LocalSource(tmp_path / "data")
    west, south, east, north = cap.extra["bounds_wgs84"]
    with pytest.raises(ImageryError) as info:
        src.read(cap, (west, south, east, north), (2048, 2048))  # full resolution: past the overviews
    assert cap.capture_id in str(info.value) or "site.tif" in str(info.value)


def test_sound_images_still_import(tmp_path):
    geo = write_tif(tmp_path / "geo.tif", scene(256, 256), "EPSG:4326", Affine(1e-5, 0, 127.6, 0, -1e-5, 39.91))
    utm = write_cog(tmp_path / "utm.tif", scene(512, 512), "EPSG:32652",
                    Affine(0.5, 0, UTM52_ORIGIN[0], 0, -0.5, UTM52_ORIGIN[1]))
    for path in (geo, utm):
        west, south, east, north = _import(tmp_path, path).extra["bounds_wgs84"]
        assert 127 < west < east < 128 and 39 < south < north < 40
    assert np.isfinite([west, south, east, north]).all()
