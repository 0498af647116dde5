"""Sentinel-2 through a static STAC API on 127.0.0.1: search, SCL cloudiness, window reads by range requests."""

from __future__ import annotations

import datetime as dt
import json
import sys

import numpy as np
import pytest
from affine import Affine
from rasterio.warp import transform_bounds

from imagery.base import DateCertainty
from imagery.chips import grid_for_bbox
from imagery.errors import RasterError, StacError
from imagery.http import PROJECT_URL, USER_AGENT
from imagery.stac import Sentinel2Source, StacConfig, planetary_computer_config, scl_cloud_fraction
from tests.support.rasters import RangeServer, scene, write_cog
from tests.support.timing import budget

X0, Y0 = 380_000.0, 4_430_000.0  # UTM 52N, upper left of the fake tile
TILE_PX = 2048  # 20.48 km at 10 m
VISUAL_T = Affine(10, 0, X0, 0, -10, Y0)
SCL_T = Affine(20, 0, X0, 0, -20, Y0)
# a 1 km x 1 km area in the middle of the tile
AOI_UTM = (X0 + 10_000, Y0 - 11_000, X0 + 11_000, Y0 - 10_000)
AOI = tuple(transform_bounds("EPSG:32652", "EPSG:4326", *AOI_UTM))
CONFORMS = ["https://api.stacspec.org/v1.0.0/core", "https://api.stacspec.org/v1.0.0/item-search",
            "https://api.stacspec.org/v1.0.0/item-search#query"]


def _scl(cloudy: bool) -> np.ndarray:
    scl = np.full((1, TILE_PX // 2, TILE_PX // 2), 4, dtype=np.uint8)  # 4 = vegetation
    if cloudy:  # cloud over the west 40 % of the area (20 m pixels: the area spans rows/cols 500-550)
        scl[0, 500:550, 500:520] = 9
        scl[0, 500:550, 520:530] = 3
    return scl


def _item(server_url: str, item_id: str, when: str, cloud: float, folder: str, host: str | None = None) -> dict:
    west, south, east, north = transform_bounds("EPSG:32652", "EPSG:4326", X0, Y0 - TILE_PX * 10,
                                                X0 + TILE_PX * 10, Y0)
    base = f"http://{host}/{folder}" if host else f"{server_url}/{folder}"
    return {
        "type": "Feature", "stac_version": "1.0.0", "id": item_id, "stac_extensions": [],
        "geometry": {"type": "Polygon", "coordinates": [[[west, south], [east, south], [east, north],
                                                         [west, north], [west, south]]]},
        "bbox": [west, south, east, north], "links": [], "collection": "sentinel-2-c1-l2a",
        "properties": {"datetime": when, "eo:cloud_cover": cloud, "platform": "sentinel-2b"},
        "assets": {"visual": {"href": f"{base}/TCI.tif", "type": "image/tiff; application=geotiff"},
                   "scl": {"href": f"{base}/SCL.tif", "type": "image/tiff; application=geotiff"},
                   "red": {"href": f"{base}/B04.tif", "type": "image/tiff; application=geotiff"},
                   "nir": {"href": f"{base}/B08.tif", "type": "image/tiff; application=geotiff"}},
    }


@pytest.fixture(scope="module")
def stac(tmp_path_factory):
    d = tmp_path_factory.mktemp("stac")
    visual = write_cog(d / "tci.tif", scene(TILE_PX, TILE_PX, seed=9), "EPSG:32652", VISUAL_T,
                       BLOCKSIZE=256).read_bytes()
    files = {"/a/TCI.tif": visual, "/b/TCI.tif": visual,
             "/a/SCL.tif": write_cog(d / "scl_a.tif", _scl(True), "EPSG:32652", SCL_T, nodata=0).read_bytes(),
             "/b/SCL.tif": write_cog(d / "scl_b.tif", _scl(False), "EPSG:32652", SCL_T, nodata=0).read_bytes(),
             "/a/B04.tif": write_cog(d / "b04.tif", np.full((1, 256, 256), 800, np.uint16), "EPSG:32652",
                                     Affine(10, 0, X0 + 9_500, 0, -10, Y0 - 9_500), nodata=0).read_bytes(),
             "/a/B08.tif": write_cog(d / "b08.tif", np.full((1, 256, 256), 3200, np.uint16), "EPSG:32652",
                                     Affine(10, 0, X0 + 9_500, 0, -10, Y0 - 9_500), nodata=0).read_bytes()}
    server = RangeServer(files=files)
    items = [_item(server.url, "S2B_52TDK_20240517_0_L2A", "2024-05-17T02:15:01Z", 12.5, "a"),
             _item(server.url, "S2A_52TDK_20230903_0_L2A", "2023-09-03T02:15:01Z", 3.0, "b"),
             _item(server.url, "S2A_52TDK_20230820_0_L2A", "2023-08-20T02:15:01Z", 85.0, "b"),
             _item(server.url, "S2A_FORGED_20230801_0_L2A", "2023-08-01T02:15:01Z", 1.0, "x",
                   host="169.254.169.254")]
    searches: list[dict] = []

    def search(body: bytes) -> dict:
        req = json.loads(body or b"{}")
        searches.append(req)
        limit = req.get("query", {}).get("eo:cloud_cover", {}).get("lt", 101)
        feats = [i for i in items if i["properties"]["eo:cloud_cover"] < limit]
        return {"type": "FeatureCollection", "features": feats, "links": []}

    server.json_routes.update({
        "/": {"type": "Catalog", "id": "fake", "stac_version": "1.0.0", "description": "test catalogue",
              "conformsTo": CONFORMS,
              "links": [{"rel": "self", "href": f"{server.url}/"}, {"rel": "root", "href": f"{server.url}/"},
                        {"rel": "search", "href": f"{server.url}/search", "method": "POST",
                         "type": "application/geo+json"}]},
        "/search": search,
    })
    server.searches = searches
    yield server
    server.close()


def _source(server: RangeServer, **kw) -> Sentinel2Source:
    return Sentinel2Source(StacConfig(url=server.url + "/", asset_hosts=("127.0.0.1",), **kw))


def test_search_filters_clouds_and_reports_cloudiness_inside_the_area(stac):
    stac.hits.clear()
    caps = _source(stac).captures(AOI, dt.date(2023, 1, 1), dt.date(2024, 12, 31))
    assert [c.capture_id for c in caps] == ["S2A_52TDK_20230903_0_L2A", "S2B_52TDK_20240517_0_L2A"]
    sent = stac.searches[-1]
    assert sent["collections"] == ["sentinel-2-c1-l2a"] and sent["query"] == {"eo:cloud_cover": {"lt": 30.0}}
    assert sent["datetime"].startswith("2023-01-01") and len(sent["bbox"]) == 4
    clear, cloudy = caps
    assert clear.extra["aoi_cloud_fraction"] == 0.0
    assert cloudy.extra["aoi_cloud_fraction"] == pytest.approx(0.6, abs=0.08)  # 20+10 of 50 columns
    assert cloudy.extra["scene_cloud_cover"] == 12.5
    assert cloudy.certainty is DateCertainty.CAPTURED and cloudy.date == dt.date(2024, 5, 17)
    assert cloudy.resolution_m == 10 and cloudy.attribution == "Contains modified Copernicus Sentinel data 2024"
    scl_gets = [h for h in stac.hits if h.path.endswith("SCL.tif") and h.method == "GET"]
    assert scl_gets and all(h.range for h in scl_gets)
    assert not any("169.254" in h.path for h in stac.hits)


def test_visual_window_read_uses_only_range_requests(stac):
    source = _source(stac)
    cap = next(c for c in source.captures(AOI) if c.capture_id.startswith("S2B"))
    stac.hits.clear()
    grid = grid_for_bbox(AOI, pixel_size=10)
    chip = source.chip(cap, grid)
    assert chip.data.shape == (3, grid.height, grid.width) and chip.data.dtype == np.uint8
    assert (chip.data > 0).all()
    gets = [h for h in stac.hits if h.path == "/a/TCI.tif" and h.method == "GET"]
    assert gets and all(h.range for h in gets)
    size = len(stac.files["/a/TCI.tif"])
    assert stac.bytes_sent("/a/TCI.tif") < 0.1 * size
    by_read = source.read(cap, AOI, (50, 50))
    assert by_read.data.shape == (3, 50, 50)


def test_red_and_nir_bands_are_read_onto_the_same_grid_when_asked(stac):
    source = _source(stac)
    cap = next(c for c in source.captures(AOI) if c.capture_id.startswith("S2B"))
    grid = grid_for_bbox(AOI, pixel_size=10)
    red, nir = source.chip(cap, grid, asset="red"), source.chip(cap, grid, asset="nir")
    assert red.data.shape == nir.data.shape == (1, grid.height, grid.width) and nir.data.dtype == np.uint16
    assert (red.data == 800).all() and (nir.data == 3200).all()  # reflectance x 10000: NDVI 0.6
    with pytest.raises(StacError, match="no 'swir' asset"):
        source.chip(cap, grid, asset="swir")


def test_retries_a_busy_asset_server(stac, monkeypatch):
    from imagery import chips

    # bounds the rare case seen once here: a parallel range fetch waiting out the full timeout after a 503
    monkeypatch.setitem(chips.GDAL_OPTIONS, "GDAL_HTTP_TIMEOUT", "3")
    stac.fail_next["/b/SCL.tif"] = 1
    source = _source(stac, timeout=(1.0, 2.0))  # GDAL_HTTP_TIMEOUT 3 from the source's client
    assert source.cloud_fraction(f"{stac.url}/b/SCL.tif", AOI) == 0.0
    assert stac.fail_next["/b/SCL.tif"] == 0
    stac.fail_next["/b/TCI.tif"] = 1  # GDAL's own retry, on an already resolved URL
    assert chips.make_chip(f"{stac.url}/b/TCI.tif", grid_for_bbox(AOI, pixel_size=10)).data.any()
    assert stac.fail_next["/b/TCI.tif"] == 0


def test_search_and_cog_reads_carry_the_project_user_agent(stac):
    """Every request, pystac-client's catalogue and search and GDAL's range reads, is sent with the
    HTTP client's user agent, which names the project and its address."""
    assert PROJECT_URL in USER_AGENT and USER_AGENT.startswith("facility-tracker/")
    source = _source(stac)
    stac.hits.clear()
    cap = next(c for c in source.captures(AOI) if c.capture_id.startswith("S2B"))
    source.chip(cap, grid_for_bbox(AOI, pixel_size=10))
    kinds = {(h.method, h.path) for h in stac.hits}
    assert {("GET", "/"), ("POST", "/search"), ("GET", "/a/TCI.tif"), ("GET", "/a/SCL.tif")} <= kinds
    assert {h.agent for h in stac.hits} == {USER_AGENT}


def test_settings_reach_gdal(stac):
    """GDAL reads with the client's timeout, retries and user agent (the session's client in the app)."""
    from imagery.chips import gdal_env
    from imagery.http import HttpConfig

    config = HttpConfig(connect_timeout=2, read_timeout=4, deadline=5, retries=1, user_agent="probe/1")
    with gdal_env(config) as env:
        options = env.options
    assert options["GDAL_HTTP_TIMEOUT"] == "5" and options["GDAL_HTTP_CONNECTTIMEOUT"] == "2"
    assert options["GDAL_HTTP_MAX_RETRY"] == "1" and options["GDAL_HTTP_USERAGENT"] == "probe/1"


def test_redirect_to_a_host_that_is_not_allowed_is_refused(stac):
    """GDAL follows redirects itself, so the client resolves an asset's redirects first and checks
    every hop: a hop to a host off the asset list is refused before anything asks it."""
    stac.redirects["/moved/SCL.tif"] = "http://169.254.169.254/latest/SCL.tif"
    stac.redirects["/elsewhere/SCL.tif"] = "https://tiles.example.org/SCL.tif"
    stac.redirects["/same/SCL.tif"] = f"{stac.url}/b/SCL.tif"
    source = _source(stac)
    for path in ("/moved/SCL.tif", "/elsewhere/SCL.tif"):
        stac.hits.clear()
        with pytest.raises(StacError, match="not allowed"):
            source.cloud_fraction(f"{stac.url}{path}", AOI)
        assert [(h.method, h.path) for h in stac.hits] == [("GET", path)]  # only the redirect itself
    stac.hits.clear()
    assert source.cloud_fraction(f"{stac.url}/same/SCL.tif", AOI) == 0.0  # an allowed hop is followed
    assert [h.path for h in stac.hits if h.method == "GET"].count("/same/SCL.tif") == 1  # GDAL got the final URL


def test_forged_asset_host_is_refused(stac):
    source = _source(stac)
    with pytest.raises(StacError, match="not allowed"):
        source.cloud_fraction("http://169.254.169.254/latest/SCL.tif", AOI)
    with pytest.raises(StacError, match="not allowed"):
        source.check_host("file:///etc/passwd")
    with pytest.raises(StacError, match="not allowed"):  # Earth Search default allows only its buckets
        Sentinel2Source().check_host(f"{stac.url}/a/TCI.tif")


def test_catalogue_down_is_a_stac_error():
    server = RangeServer()
    url = server.url
    server.close()
    source = Sentinel2Source(StacConfig(url=url, asset_hosts=("127.0.0.1",), timeout=(1, 1), max_retries=0))
    with pytest.raises(StacError, match="unavailable"):
        source.captures(AOI)


def test_planetary_computer_without_its_package_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "planetary_computer", None)
    source = Sentinel2Source(planetary_computer_config(url="http://127.0.0.1:9/"))
    with pytest.raises(StacError, match="planetary-computer"):
        source.captures(AOI)


def test_scl_fraction_counts_shadow_cloud_and_cirrus_only():
    scl = np.array([[0, 3, 4, 8], [9, 10, 5, 6]], dtype=np.uint8)
    assert scl_cloud_fraction(scl) == pytest.approx(4 / 7)
    assert scl_cloud_fraction(np.zeros((3, 3), np.uint8)) is None


def test_antimeridian_search_is_refused_before_any_request(stac):
    stac.hits.clear()
    with pytest.raises(ValueError, match="antimeridian"):
        _source(stac).captures((179.9, -17.0, -179.9, -16.9))
    assert stac.hits == []


def test_stalled_asset_server_times_out(stac, monkeypatch):
    from imagery import chips

    stac.stall["/stalled/TCI.tif"] = 30.0  # far beyond the budget: a read that waited for it fails the test
    monkeypatch.setitem(chips.GDAL_OPTIONS, "GDAL_HTTP_TIMEOUT", "1")
    monkeypatch.setitem(chips.GDAL_OPTIONS, "GDAL_HTTP_MAX_RETRY", "0")
    with budget(1.5, "GDAL_HTTP_TIMEOUT=1 cuts off the stalled server (no retry)"), pytest.raises(RasterError):
        chips.make_chip(f"{stac.url}/stalled/TCI.tif", grid_for_bbox(AOI, pixel_size=10))


def test_scenes_in_the_compare_catalogue_and_their_difference(stac, tmp_path, monkeypatch):
    """The compare view's catalogue lists clear scenes (the forged host's item is dropped) and the
    difference of two scenes of identical pixels finds no change."""
    from shapely.geometry import box

    from imagery.aoi import AreaOfInterest
    from tracker.settings import load_settings
    from tracker.wiring import imagery_session

    settings = load_settings(database=str(tmp_path / "r.gpkg"), data_dir=tmp_path / "data", stac_url=stac.url + "/",
                             stac_asset_hosts=["127.0.0.1"], imagery_allow_hosts=["127.0.0.1"], request_timeout=5)
    session = imagery_session(settings)
    aoi = AreaOfInterest.of(box(*AOI).buffer(-0.002))
    cat = session.catalogue(aoi, wayback=False, mosaics=False, local=False, scenes=True)
    assert not cat.problems
    assert [(layer.date.isoformat(), layer.readable) for layer in cat.layers] == [("2023-09-03", True),
                                                                                  ("2024-05-17", True)]
    assert all(layer.certainty is DateCertainty.CAPTURED for layer in cat.layers)
    assert "Copernicus Sentinel data 2024" in cat.layers[1].attribution_text
    diff = session.difference(cat.layers[0], cat.layers[1], aoi)
    assert diff.result.changed_m2_inside == 0.0
    assert diff.overlay.path.suffix == ".png" and diff.overlay.path.parent == tmp_path / "data" / "overlays"
    assert diff.overlay.path.is_file()
    session.close()
