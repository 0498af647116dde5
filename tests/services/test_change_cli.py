"""`facilities imagery change` as a user runs it, on local images imported into a real GeoPackage registry: the JSON
contract's keys, a new 7,200 m² roof measured within 10 %, independent noise not significant, a pair in another CRS
and resolution compared at the coarser pixel, NDVI from a band described as NIR, --accept writing one observation
with the regions and nothing written without it, and every refusal (Wayback, the same key twice) one clear line."""

from __future__ import annotations

import json

import numpy as np
import pytest
import rasterio
from affine import Affine
from pyproj import Transformer
from rasterio.warp import calculate_default_transform, reproject
from shapely.geometry import box, shape

from facilities.store import GeoPackageStore
from tests.support.cli import cli_in
from tests.support.rasters import UTM52_ORIGIN, write_tif
from tests.support.registry import store_digest
from tracker.change import FIELDS

X0, Y0 = UTM52_ORIGIN
T = Affine(0.5, 0, X0, 0, -0.5, Y0)
N = 1000  # 500 m x 500 m at 0.5 m
ROOF = (slice(400, 640), slice(380, 500))  # 120 m x 60 m
ROOF_M2 = 7200.0


def _ground() -> np.ndarray:
    yy, xx = np.mgrid[0:N, 0:N]
    base = (np.sin(xx / 37.0) + np.cos(yy / 23.0)) * 40 + 110
    return np.stack([base, base + 15, base + 30])


def _u8(x: np.ndarray, seed: int) -> np.ndarray:
    return np.clip(np.round(x + np.random.default_rng(seed).normal(0, 4, x.shape)), 0, 255).astype(np.uint8)


def _with_roof() -> np.ndarray:
    out = _ground()
    for b, v in enumerate((70, 120, 200)):
        out[b][ROOF] = v
    return out


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TRACKER_OFFLINE", "1")
    cli = cli_in(tmp_path)
    cli("init", "-q", "--no-seed")
    to_ll = Transformer.from_crs("EPSG:32652", "EPSG:4326", always_xy=True)
    (w, s), (e, n) = to_ll.transform(X0 + 200, Y0 - 300), to_ll.transform(X0 + 300, Y0 - 200)
    cli("add", "Test yard", "--id", "yard", "--geometry", box(w, s, e, n).wkt)  # 100 m: the area is 400 m across
    return cli


def _import(run, tmp_path, name: str, data: np.ndarray, day: str, descriptions: tuple[str, ...] = (), **kw) -> str:
    path = write_tif(tmp_path / f"{name}.tif", data, kw.pop("crs", "EPSG:32652"), kw.pop("transform", T), **kw)
    if descriptions:
        with rasterio.open(path, "r+") as dst:
            for band, text in enumerate(descriptions, 1):
                dst.set_band_description(band, text)
    return run("imagery", "import", f"{path}={day}").stdout.split("\t")[0]


def test_a_new_roof_in_json_and_text_and_accept_records_one_observation(run, tmp_path):
    before = _import(run, tmp_path, "before", _u8(_ground(), 1), "2021-04-02")
    after = _import(run, tmp_path, "after", _u8(_with_roof(), 2), "2023-10-09")
    digest = store_digest(tmp_path / "r.gpkg")
    out = run("imagery", "change", "yard", "--before", before, "--after", after, "--json",
              "--geojson", str(tmp_path / "regions.geojson"))
    doc = json.loads(out.stdout)
    assert tuple(doc) == FIELDS
    assert doc["significant"] is True and doc["changed_m2"] == pytest.approx(ROOF_M2, rel=0.10)
    low, high = doc["changed_m2_range"]
    assert low <= ROOF_M2 <= high
    assert (doc["before"], doc["after"], doc["before_date"], doc["after_date"]) == (
        before, after, "2021-04-02", "2023-10-09")
    assert doc["index"] == "exg" and doc["pixel_size_m"] == 0.5 and doc["valid_fraction"] == 1.0
    assert doc["polygons"]["type"] == "FeatureCollection" and len(doc["polygons"]["features"]) == 1
    props = doc["polygons"]["features"][0]["properties"]
    assert (props["before"], props["after"]) == (before, after) and props["area_m2"] == doc["changed_m2"]
    assert json.loads((tmp_path / "regions.geojson").read_text()) == doc["polygons"]
    assert store_digest(tmp_path / "r.gpkg") == digest  # nothing written without --accept

    text = run("imagery", "change", "yard", "--before", before, "--after", after, "--accept").stdout
    assert "m² changed (" in text and "1. " in text and "built-up" in text
    store = GeoPackageStore(tmp_path / "r.gpkg")
    try:
        [obs] = store.list_observations()
    finally:
        store.close()
    assert obs.kind.value == "progress" and str(obs.date) == "2023-10-09" and obs.analyst == "tester"
    # the regions' MultiPolygon (the store keeps a one-part MultiPolygon as its Polygon)
    assert obs.geometry.geom_type in ("Polygon", "MultiPolygon") and obs.image.image_id == after.split(":", 1)[1]
    assert shape(doc["polygons"]["features"][0]["geometry"]).symmetric_difference(obs.geometry).area < 1e-12
    assert "m² changed" in obs.summary and "measured from the pixels" in obs.summary and before in obs.notes
    assert "Method:" in obs.notes and "local:" not in obs.summary  # keys and method in the notes, not the table


def test_noise_another_crs_and_ndvi(run, tmp_path):
    before = _import(run, tmp_path, "before", _u8(_ground(), 1), "2021-04-02")
    noise = _import(run, tmp_path, "noise", _u8(_ground(), 7), "2022-06-01")
    res = run("imagery", "change", "yard", "--before", before, "--after", noise)
    assert res.stdout.startswith("No significant change between ")
    assert json.loads(run("imagery", "change", "yard", "--before", before, "--after", noise, "--json").stdout)[
        "changed_m2"] == 0

    # the later image in lon/lat at about 1 m: both are compared on UTM at 1 m, never finer
    src = _u8(_with_roof(), 3)
    dst_t, width, height = calculate_default_transform("EPSG:32652", "EPSG:4326", N, N,
                                                       *(X0, Y0 - N * 0.5, X0 + N * 0.5, Y0), resolution=1.2e-5)
    warped = np.zeros((3, height, width), np.uint8)
    reproject(src, warped, src_transform=T, src_crs="EPSG:32652", dst_transform=dst_t, dst_crs="EPSG:4326")
    lonlat = _import(run, tmp_path, "lonlat", warped, "2024-05-05", crs="EPSG:4326", transform=dst_t, nodata=0)
    doc = json.loads(run("imagery", "change", "yard", "--before", before, "--after", lonlat, "--json").stdout)
    assert doc["pixel_size_m"] == pytest.approx(1.03, abs=0.05) and doc["significant"]
    assert doc["changed_m2"] == pytest.approx(ROOF_M2, rel=0.15)

    # four bands described as red, green, blue, NIR: NDVI; green-up of a field counted unless --built-up-only
    field = (slice(100, 200), slice(100, 300))  # 50 m x 100 m
    nir0, nir1 = np.full((1, N, N), 60, np.uint8), np.full((1, N, N), 60, np.uint8)
    rgb1 = _with_roof()
    for b, v in enumerate((60, 150, 50)):
        rgb1[b][field] = v
    nir1[0][field] = 200
    four0 = np.concatenate([_u8(_ground(), 1), nir0])
    four1 = np.concatenate([_u8(rgb1, 4), nir1])
    named = ("Red", "Green", "Blue", "NIR")
    k0 = _import(run, tmp_path, "n0", four0, "2021-04-03", descriptions=named)
    k1 = _import(run, tmp_path, "n1", four1, "2023-08-01", descriptions=named)
    everything = json.loads(run("imagery", "change", "yard", "--before", k0, "--after", k1, "--json").stdout)
    built = json.loads(run("imagery", "change", "yard", "--before", k0, "--after", k1, "--json",
                           "--built-up-only").stdout)
    assert everything["index"] == built["index"] == "ndvi"
    assert everything["changed_m2"] == pytest.approx(ROOF_M2 + 5000, rel=0.10)
    assert built["changed_m2"] == pytest.approx(ROOF_M2, rel=0.10)


def test_refusals_are_one_clear_line_and_write_nothing(run, tmp_path):
    before = _import(run, tmp_path, "before", _u8(_ground(), 1), "2021-04-02")
    digest = store_digest(tmp_path / "r.gpkg")
    cases = [(["--before", "esri-wayback:45134", "--after", before], "esri-wayback:45134"),
             (["--before", before, "--after", before], "both name"),
             (["--before", before, "--after", "local:" + "0" * 64], "local:" + "0" * 64),
             (["--before", before, "--after", "not-a-key"], "not-a-key")]
    for args, words in cases:
        res = run("imagery", "change", "yard", *args, "--accept", ok=False)
        assert res.returncode == 1 and "Traceback" not in res.stderr and words in res.stderr, res.stderr
        assert len(res.stderr.strip().splitlines()) == 1
    noise = _import(run, tmp_path, "noise", _u8(_ground(), 9), "2022-06-01")
    res = run("imagery", "change", "yard", "--before", before, "--after", noise, "--accept", ok=False)
    assert "no significant change" in res.stderr and "nothing to record" in res.stderr
    assert store_digest(tmp_path / "r.gpkg") == digest
