"""Local imagery: safe open, import as COG with provenance, LocalSource; every bad file gives a typed error."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
import rasterio.shutil
from affine import Affine
from rasterio.control import GroundControlPoint

from imagery.base import DateCertainty
from imagery.errors import CorruptRaster, NotGeoreferenced, RasterError, TooLarge, UnsupportedFormat
from imagery.local import LocalSource, import_image, import_image_files, open_raster, sha256_file, sniff_driver
from tests.support.rasters import (
    UTM52_ORIGIN,
    RangeServer,
    scene,
    write_cog,
    write_sparse,
    write_tif,
    write_vrt_disguised,
)
from tests.support.timing import budget

UTM_T = Affine(0.5, 0, UTM52_ORIGIN[0], 0, -0.5, UTM52_ORIGIN[1])
DAY = dt.date(2024, 5, 17)


def _stored(data_dir):
    return sorted(p.name for p in (data_dir / "imagery").glob("*")) if (data_dir / "imagery").exists() else []


def test_striped_geotiff_is_converted_to_cog_with_sidecar(tmp_path):
    src = write_tif(tmp_path / "site.tif", scene(600, 800), "EPSG:32652", UTM_T)
    out = import_image_files(src, tmp_path / "data", DAY, sensor="WorldView-3", licence="own",
                             attribution="Analyst upload")
    cap = out.capture
    assert cap.provider == "local" and cap.certainty is DateCertainty.STATED and cap.date == DAY
    assert cap.capture_id == sha256_file(src) and out.path.name == f"{cap.capture_id}.tif"
    assert cap.sensor == "WorldView-3" and cap.licence == "own" and cap.resolution_m == pytest.approx(0.5)
    with rasterio.open(out.path) as dst:
        assert dst.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
        assert dst.crs.to_epsg() == 32652 and dst.read(1)[0, 0] == scene(600, 800)[0, 0, 0]
    meta = json.loads(out.sidecar.read_text())
    assert meta["original_name"] == "site.tif" and meta["captured"] == "2024-05-17" and meta["converted"]
    west, south, east, north = meta["bounds_wgs84"]
    assert 127.6 < west < east < 127.7 and 39.8 < south < north < 40.0


def test_cog_in_web_mercator_is_stored_unchanged(tmp_path):
    t = Affine(1.0, 0, 14_210_000.0, 0, -1.0, 4_855_000.0)
    src = write_cog(tmp_path / "merc.tif", scene(512, 512, seed=3), "EPSG:3857", t)
    out = import_image_files(src, tmp_path / "data", DAY)
    assert sha256_file(out.path) == sha256_file(src)
    assert not json.loads(out.sidecar.read_text())["converted"]


def test_uint16_with_nodata_and_jpeg2000(tmp_path):
    data = scene(256, 256, bands=4, dtype="uint16")
    data[:, :20, :] = 0
    src = write_tif(tmp_path / "ms.tif", data, "EPSG:32652", UTM_T, nodata=0)
    cap = import_image(src, tmp_path / "data", DAY, sensor="PlanetScope")
    with rasterio.open(cap.extra["path"]) as dst:
        assert dst.nodata == 0 and dst.dtypes[0] == "uint16" and dst.count == 4
    jp2 = tmp_path / "scene.jp2"
    with rasterio.open(src) as s:
        rasterio.shutil.copy(s, jp2, driver="JP2OpenJPEG", QUALITY=100, REVERSIBLE="YES")
    assert sniff_driver(jp2) == "JP2OpenJPEG"
    cap2 = import_image(jp2, tmp_path / "data", DAY)
    with rasterio.open(cap2.extra["path"]) as dst:
        assert dst.driver == "GTiff" and dst.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"


def test_local_source_lists_by_area_and_date_and_reads_a_chip(tmp_path):
    data_dir = tmp_path / "data"
    a = import_image(write_tif(tmp_path / "a.tif", scene(400, 400, seed=1), "EPSG:32652", UTM_T), data_dir,
                     dt.date(2023, 1, 5))
    b = import_image(write_tif(tmp_path / "b.tif", scene(400, 400, seed=2), "EPSG:32652", UTM_T), data_dir,
                     dt.date(2024, 6, 1))
    source = LocalSource(data_dir)
    bbox = tuple(a.extra["bounds_wgs84"])
    inner = (bbox[0] + 0.0003, bbox[1] + 0.0003, bbox[2] - 0.0003, bbox[3] - 0.0003)
    assert [c.capture_id for c in source.captures(inner)] == [a.capture_id, b.capture_id]
    assert [c.capture_id for c in source.captures(inner, start=dt.date(2024, 1, 1))] == [b.capture_id]
    assert source.captures((0.0, 0.0, 1.0, 1.0)) == []
    chip = source.read(b, inner, (64, 48))
    assert chip.data.shape == (3, 48, 64) and chip.crs == "EPSG:32652" and chip.capture == b
    with pytest.raises(RasterError, match="not a local import"):
        source.read(dataclasses.replace(b, capture_id="../../etc/passwd"), inner, (8, 8))


def test_vrt_renamed_tif_is_refused_without_network_or_file_access(tmp_path):
    server = RangeServer(files={"/served.tif": b"x" * 100})
    try:
        bad = write_vrt_disguised(tmp_path / "upload.tif", f"{server.url}/served.tif", "/etc/hostname")
        with pytest.raises(UnsupportedFormat) as info:
            import_image(bad, tmp_path / "data", DAY)
        # the driver allow-list alone refuses it as well (defence in depth)
        with pytest.raises(rasterio.errors.RasterioIOError):
            rasterio.open(bad, driver="GTiff")
        assert server.hits == []
    finally:
        server.close()
    hostname = Path("/etc/hostname").read_text().strip()
    assert hostname not in str(info.value) and _stored(tmp_path / "data") == []


def test_sparse_bomb_is_refused_from_the_header(tmp_path):
    bomb = write_sparse(tmp_path / "bomb.tif", 200_000, 200_000, 3)
    assert bomb.stat().st_size < 20_000_000
    with budget(0.5, "refused from the header: reading its 120 GB of pixels would take minutes"), \
            pytest.raises(TooLarge, match="200000 x 200000 x 3"):
        import_image(bomb, tmp_path / "data", DAY)
    assert _stored(tmp_path / "data") == []


def _tiled(tmp_path, name="valid.tif"):
    return write_tif(tmp_path / name, scene(512, 512, seed=5), "EPSG:32652", UTM_T, tiled=True,
                     blockxsize=128, blockysize=128, compress="deflate")


def test_corrupt_tiles_are_a_typed_error(tmp_path):
    path = _tiled(tmp_path)
    raw = bytearray(path.read_bytes())
    mid = len(raw) // 2
    raw[mid:mid + 4000] = bytes(b ^ 0xFF for b in raw[mid:mid + 4000])
    path.write_bytes(bytes(raw))
    with pytest.raises(CorruptRaster, match="valid.tif"):
        import_image(path, tmp_path / "data", DAY)
    assert not any(n.endswith(".tif") for n in _stored(tmp_path / "data"))


def test_truncated_tiff_is_a_typed_error(tmp_path):
    path = _tiled(tmp_path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(CorruptRaster):
        import_image(path, tmp_path / "data", DAY)


def test_not_georeferenced_and_gcp_only(tmp_path):
    plain = write_tif(tmp_path / "plain.tif", scene(64, 64), None, None)
    with pytest.raises(NotGeoreferenced, match="no coordinate reference system"):
        import_image(plain, tmp_path / "data", DAY)
    no_transform = write_tif(tmp_path / "nt.tif", scene(64, 64), "EPSG:32652", None)
    with pytest.raises(NotGeoreferenced):
        import_image(no_transform, tmp_path / "data", DAY)
    gcps = [GroundControlPoint(0, 0, 127.6, 39.9), GroundControlPoint(63, 63, 127.61, 39.89),
            GroundControlPoint(0, 63, 127.6, 39.89)]
    gcp_path = write_tif(tmp_path / "gcp.tif", scene(64, 64), None, None)
    with rasterio.open(gcp_path, "r+") as dst:
        dst.gcps = (gcps, rasterio.crs.CRS.from_epsg(4326))
    with pytest.raises(NotGeoreferenced):
        import_image(gcp_path, tmp_path / "data", DAY)


@pytest.mark.parametrize("content", [
    b"\x89PNG\r\n\x1a\n" + b"\x00" * 64,
    b"<!doctype html><html><body>not an image</body></html>",
    b"PK\x03\x04" + b"\x00" * 64,
    b"",
])
def test_other_formats_renamed_tif_are_refused(tmp_path, content):
    path = tmp_path / "renamed.tif"
    path.write_bytes(content)
    with pytest.raises(UnsupportedFormat):
        import_image(path, tmp_path / "data", DAY)


def test_missing_file_is_a_raster_error(tmp_path):
    with pytest.raises(RasterError, match="cannot read"):
        import_image(tmp_path / "nope.tif", tmp_path / "data", DAY)


def test_open_raster_budget_is_configurable(tmp_path):
    path = _tiled(tmp_path)
    with pytest.raises(TooLarge), open_raster(path, max_bytes=1000):
        pass
    with open_raster(path) as src:
        assert np.asarray(src.read(1, window=((0, 8), (0, 8)))).shape == (8, 8)
