"""The imagery session and its values: one area of interest for every source, image keys that
round-trip, EOX composites keyed "eox-s2cloudless:<year>", overlays rendered once, the difference
refused for display-only pixels, and the services' status, against the fake servers on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import logging
import math

import pytest
import shapely
from hypothesis import given
from hypothesis import strategies as st
from shapely.geometry import box

from imagery.aoi import CHIP_PX, PAD_M, AreaOfInterest, EmptyArea
from imagery.base import DateCertainty
from imagery.catalogue import capture_layers, mosaic_layers, wayback_layers
from imagery.errors import DisplayOnly, ImageryError
from imagery.keys import BadImageKey, ImageKey
from imagery.local import LocalSource
from imagery.mosaics import EoxMosaics
from imagery.session import Catalogue, ImagerySession
from imagery.stac import Sentinel2Source
from imagery.wayback import LocalChanges, Wayback

PLANT = box(127.6530, 39.9160, 127.6610, 39.9240)  # about 700 m x 900 m


# -- AreaOfInterest ---------------------------------------------------------------------------------


def test_the_area_is_the_outline_padded_by_150_m_on_every_side():
    aoi = AreaOfInterest.of(PLANT)
    w, s, e, n = PLANT.bounds
    aw, as_, ae, an = aoi.bbox
    metres_per_lon = 111_320.0 * math.cos(math.radians((s + n) / 2))
    assert (s - as_) * 111_320.0 == pytest.approx(PAD_M) and (an - n) * 111_320.0 == pytest.approx(PAD_M)
    assert (w - aw) * metres_per_lon == pytest.approx(PAD_M, rel=1e-3)
    assert (ae - e) * metres_per_lon == pytest.approx(PAD_M, rel=1e-3)
    assert aoi.outline is PLANT and aoi.pad_m == PAD_M and aoi.px == CHIP_PX
    assert shapely.geometry.shape(aoi).equals(PLANT)  # __geo_interface__: the outline


def test_the_grid_keeps_the_ground_aspect_with_768_px_on_the_long_side():
    tall = AreaOfInterest.of(PLANT)
    wide = AreaOfInterest.of(box(127.60, 39.91, 127.70, 39.92))
    assert tall.grid_size[1] == CHIP_PX and tall.grid_size[0] < CHIP_PX
    assert wide.grid_size[0] == CHIP_PX and wide.grid_size[1] < CHIP_PX
    w, s, e, n = tall.bbox
    ground = (e - w) * math.cos(math.radians((s + n) / 2)) / (n - s)
    assert tall.grid_size[0] / tall.grid_size[1] == pytest.approx(ground, abs=2 / CHIP_PX)


def test_one_key_per_outline_padding_and_size():
    a = AreaOfInterest.of(PLANT)
    assert AreaOfInterest.of(shapely.from_wkb(PLANT.wkb)).key == a.key  # stable: same outline, same key
    assert AreaOfInterest.of(PLANT) == a
    others = {AreaOfInterest.of(PLANT.buffer(0.0001, join_style="mitre")).key, AreaOfInterest.of(PLANT, pad_m=50).key,
              AreaOfInterest.of(PLANT, px=512).key}
    assert a.key not in others and len(others) == 3


def test_a_point_site_still_has_an_area_and_an_empty_outline_is_refused():
    aoi = AreaOfInterest.of(shapely.Point(127.657, 39.92))
    w, s, e, n = aoi.bbox
    assert w < 127.657 < e and s < 39.92 < n and aoi.grid_size[0] > 1
    with pytest.raises(EmptyArea, match="outline is empty"):
        AreaOfInterest.of(shapely.Polygon())
    assert issubclass(EmptyArea, ImageryError)


# -- ImageKey -----------------------------------------------------------------------------------------


providers = st.text(st.characters(exclude_characters=":", exclude_categories=("Cs",)), min_size=1, max_size=20)
ids = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=40)


@given(providers, ids)
def test_image_keys_round_trip_through_text(provider, image_id):
    key = ImageKey(provider, image_id)
    assert ImageKey.parse(str(key)) == key


def test_bad_image_keys_are_refused():
    for text in ("no-colon", ":id", "provider:", ""):
        with pytest.raises(BadImageKey):
            ImageKey.parse(text)
    with pytest.raises(BadImageKey):
        ImageKey("a:b", "1")


# -- layers are named by their image key ----------------------------------------------------------------


def test_layers_are_named_by_image_keys_eox_by_year():
    eox = {layer.key: layer for layer in mosaic_layers()}
    layer = eox["eox-s2cloudless:2020"]
    assert layer.image == ImageKey("eox-s2cloudless", "2020")
    assert (layer.provider, layer.image_id) == ("eox-s2cloudless", "2020")
    assert layer.certainty is DateCertainty.COMPOSITE and layer.readable


def test_eox_captures_carry_the_same_key(client):
    caps = {c.capture_id: c for c in EoxMosaics(client).captures((127.6, 39.9, 127.7, 40.0))}
    assert {c.provider for c in caps.values()} == {"eox-s2cloudless"} and "2020" in caps and "2017" not in caps
    assert ImageKey(caps["2020"].provider, caps["2020"].capture_id) == mosaic_layers()[3].image  # 2016, 18, 19, 20


def test_wayback_local_and_scene_layers_keep_their_keys(client, server, endpoints, cache):
    wb = Wayback(client, cache, endpoints)
    releases = wb.releases()
    layers = wayback_layers(releases, [45134], endpoints=endpoints)
    assert [layer.key for layer in layers] == ["esri-wayback:45134"] and layers[0].provider == "esri-wayback"
    from imagery.base import Capture

    local = Capture(provider="local", capture_id="ab" * 32, date=dt.date(2020, 5, 1), certainty=DateCertainty.STATED)
    scene = Capture(provider="sentinel-2-l2a", capture_id="S2A_52SCG_20240517_0_L2A", date=dt.date(2024, 5, 17),
                    certainty=DateCertainty.CAPTURED)
    keys = [layer.key for layer in capture_layers([local, scene], "x")]
    assert keys == ["local:" + "ab" * 32, "sentinel-2-l2a:S2A_52SCG_20240517_0_L2A"]


# -- the session ----------------------------------------------------------------------------------------


class Recorder:
    """Stands in for a source and records the area each call was given."""

    def __init__(self, key: str, inner=None) -> None:
        self.key, self.inner, self.areas = key, inner, []

    def captures(self, bbox, *args, **kwargs):
        self.areas.append(("captures", bbox))
        return []

    def local_changes(self, area, zoom=None, releases=None, **hooks):  # progress, cancelled
        self.areas.append(("local_changes", area))
        return self.inner.local_changes(area, zoom, releases, **hooks)

    def capture_metadata(self, release, area, *args, **kwargs):
        self.areas.append(("capture_metadata", area))
        return self.inner.capture_metadata(release, area, *args, **kwargs)

    def release_capture(self, release, area, *args, **kwargs):  # the session dates releases through this
        self.areas.append(("capture_metadata", area))
        return self.inner.release_capture(release, area, *args, **kwargs)

    def releases(self):
        return self.inner.releases()


def make_session(client, cache, endpoints, tmp_path, **parts) -> ImagerySession:
    defaults = dict(client=client, cache=cache, wayback=Wayback(client, cache, endpoints),
                    eox=EoxMosaics(client, cache), local=LocalSource(tmp_path / "data"), sentinel2=Sentinel2Source(),
                    endpoints=endpoints, overlay_dir=tmp_path / "overlays")
    return ImagerySession(**{**defaults, **parts})


def test_every_source_is_asked_about_the_same_padded_area(client, cache, endpoints, server, tmp_path):
    aoi = AreaOfInterest.of(PLANT)
    wayback = Recorder("esri-wayback", Wayback(client, cache, endpoints))
    local, scenes = Recorder("local"), Recorder("sentinel-2-l2a")
    session = make_session(client, cache, endpoints, tmp_path, wayback=wayback, local=local, sentinel2=scenes)
    cat = session.catalogue(aoi, wayback=True, mosaics=True, local=True, scenes=True)
    assert isinstance(cat, Catalogue) and not cat.problems, cat.problems
    assert cat.wayback_scanned and cat.wayback_changed == 5 and cat.wayback_total == 16
    # the change scan reads the padded box, not the outline
    assert [area for name, area in wayback.areas if name == "local_changes"] == [aoi.bbox]
    assert local.areas == [("captures", aoi.bbox)] and scenes.areas == [("captures", aoi.bbox)]
    # capture dates are sampled inside the outline: the date of the site's own pixels
    assert {area for name, area in wayback.areas if name == "capture_metadata"} == {aoi.outline}
    keys = [layer.key for layer in cat.layers]
    assert "eox-s2cloudless:2020" in keys and "esri-wayback:64001" in keys and len(keys) == len(set(keys))


def test_a_failing_change_scan_lists_every_release_and_says_why(client, cache, endpoints, server, tmp_path):
    class Failing(Recorder):
        def local_changes(self, area, zoom=None, releases=None, **hooks) -> LocalChanges:
            raise ImageryError("tilemap broke")

    session = make_session(client, cache, endpoints, tmp_path, wayback=Failing("esri-wayback",
                                                                                 Wayback(client, cache, endpoints)))
    cat = session.catalogue(AreaOfInterest.of(PLANT), mosaics=False, local=False)
    assert cat.problems == {"Wayback": "change scan failed (tilemap broke); every release is listed"}
    assert not cat.wayback_scanned and len(cat.layers) == 16


def test_a_failing_wayback_scan_leaves_log_records(client, cache, endpoints, server, tmp_path, caplog):
    """More than an on-screen message: the HTTP client logs each failed call, the scan the tiles
    that failed, the session the scan it gave up on (the app's TRACKER_LOG_LEVEL decides what shows)."""
    from imagery.tiles import tiles_for_area

    session = make_session(client, cache, endpoints, tmp_path)
    aoi = AreaOfInterest.of(PLANT)
    server.scenario.failing_tilemaps = {(t.z, t.x, t.y) for t in tiles_for_area(aoi.bbox, session.wayback.zoom)}
    with caplog.at_level(logging.WARNING, logger="imagery"):
        cat = session.catalogue(aoi, mosaics=False, local=False)
    assert cat.problems["Wayback"].startswith("change scan failed")
    by_logger = {r.name for r in caplog.records if r.levelno >= logging.WARNING}
    assert {"imagery.http", "imagery.wayback", "imagery.session"} <= by_logger
    scan = next(r for r in caplog.records if r.name == "imagery.session")
    assert "Wayback change scan failed" in scan.getMessage() and "HTTP 500" in scan.getMessage()


def test_offline_scenes_and_mosaics_are_not_asked(make_client, cache, endpoints, server, tmp_path):
    session = make_session(make_client(offline=True), cache, endpoints, tmp_path)
    cat = session.catalogue(AreaOfInterest.of(PLANT), wayback=False, scenes=True)
    assert cat.problems == {"Sentinel-2 scenes": "offline mode: scenes are searched online"}
    assert cat.layers == ()
    assert server.counts["total"] == 0


def test_an_eox_overlay_is_rendered_once_and_wayback_pixels_are_never_read(client, cache, endpoints, server,
                                                                            tmp_path):
    eox = EoxMosaics(client, cache, url_template=f"{server.base}/xyz/{{z}}/{{x}}/{{y}}.png")
    session = make_session(client, cache, endpoints, tmp_path, eox=eox)
    aoi = AreaOfInterest.of(PLANT)
    layers = {layer.key: layer for layer in mosaic_layers()}
    ov = session.overlay(layers["eox-s2cloudless:2020"], aoi)
    assert ov.path.is_file() and ov.path.parent == tmp_path / "overlays" and ov.path.suffix == ".png"
    (s, w), (n, e) = ov.bounds
    assert s < PLANT.bounds[1] and n > PLANT.bounds[3] and w < PLANT.bounds[0] and e > PLANT.bounds[2]
    fetched = server.counts["xyz"]
    assert fetched > 0
    assert session.overlay(layers["eox-s2cloudless:2020"], aoi) == ov and server.counts["xyz"] == fetched
    assert not list((tmp_path / "overlays").glob(".*"))  # no temporary files left behind
    diff = session.difference(layers["eox-s2cloudless:2016"], layers["eox-s2cloudless:2020"], aoi)
    assert diff.result.grid.width == aoi.grid_size[0] and diff.result.grid.height == aoi.grid_size[1]
    assert diff.overlay.path.is_file()
    wb = wayback_layers(Wayback(client, cache, endpoints).releases(), [45134], endpoints=endpoints)[0]
    before = server.counts["total"]
    with pytest.raises(DisplayOnly, match="display only"):
        session.overlay(wb, aoi)
    with pytest.raises(DisplayOnly, match="its terms allow display only"):
        session.difference(wb, layers["eox-s2cloudless:2020"], aoi)
    assert server.counts["total"] == before  # refused before any request


def test_status_says_what_answers_and_what_is_kept(client, cache, endpoints, server, tmp_path):
    eox = EoxMosaics(client, cache, url_template=f"{server.base}/xyz/{{z}}/{{x}}/{{y}}.png")
    session = make_session(client, cache, endpoints, tmp_path, eox=eox)
    Wayback(client, cache, endpoints).releases()  # one catalogue answer cached
    cache.put("https://tiles.example/2020/1/2/3.jpg", b"\xff\xd8 tile", provider="eox-s2cloudless-2020", kind="tile")
    rows = {row["service"]: row for row in session.status()}
    assert rows["Esri Wayback"]["status"] == "reachable"
    assert rows["Sentinel-2 cloudless (EOX)"]["status"] == "reachable"
    assert server.counts["xyz"] == 1  # the probe read the newest year's tile 0/0/0 from the mirror
    assert rows["Esri Wayback"]["on this machine"].startswith("1 catalogue/metadata answers")
    assert rows["Sentinel-2 cloudless (EOX)"]["on this machine"] == "1 tiles cached"
    assert rows["Local images"]["on this machine"] == "0 imported images"


# -- reading one image by its key onto a grid -------------------------------------------------------


def test_an_image_key_is_read_onto_any_grid_and_wayback_keys_are_refused_before_a_request(
        client, cache, endpoints, server, tmp_path):
    from rasterio.transform import from_origin

    from imagery.chips import grid_bbox, grid_for_bbox, utm_crs_for
    from imagery.local import import_image
    from tests.support.rasters import scene, write_tif

    crs = utm_crs_for(127.657, 39.92)
    grid0 = grid_for_bbox(PLANT.bounds, pixel_size=2.0, crs=crs)
    x0, y0 = grid0.transform.c, grid0.transform.f
    data = scene(grid0.height, grid0.width)
    tif = write_tif(tmp_path / "mine.tif", data, crs, from_origin(x0, y0, 2.0, 2.0))
    cap = import_image(tif, tmp_path / "data", dt.date(2024, 5, 1))
    session = make_session(client, cache, endpoints, tmp_path)
    key = ImageKey("local", cap.capture_id)
    assert session.capture_for(key, PLANT.bounds).capture_id == cap.capture_id
    half = grid_for_bbox(grid_bbox(grid0), pixel_size=4.0, crs=crs)  # another pixel size: warped onto it
    chip = session.read_image(key, half)
    assert chip.data.shape == (3, half.height, half.width) and chip.crs == crs
    same = session.read_image(key, grid0)
    assert (same.data == data).all()  # the image's own grid: its own pixels, unchanged
    before = server.counts["total"]
    with pytest.raises(DisplayOnly, match="not the server read it"):
        session.read_image(ImageKey("esri-wayback", "45134"), grid0)
    with pytest.raises(DisplayOnly, match="no reader for provider"):
        session.capture_for(ImageKey("mystery", "1"), PLANT.bounds)
    with pytest.raises(ImageryError, match="does not list this image"):
        session.capture_for(ImageKey("local", "0" * 64), PLANT.bounds)
    # a shortened id as outputs print it names the one image it starts; too short names none
    assert session.capture_for(ImageKey("local", cap.capture_id[:14] + "…"), PLANT.bounds).capture_id == \
        cap.capture_id
    with pytest.raises(ImageryError, match="does not list this image"):
        session.capture_for(ImageKey("local", cap.capture_id[:7]), PLANT.bounds)
    assert server.counts["total"] == before


def test_a_scene_key_names_its_day():
    from imagery.session import _scene_day

    assert _scene_day("S2A_52SCG_20240105_0_L2A") == dt.date(2024, 1, 5)
    assert _scene_day("S2A_52SCG_20240105_0_L2A+S2B_52SDG_20240105_0_L2A") == dt.date(2024, 1, 5)
    assert _scene_day("S2A_52SCG_20241345_0_L2A") is None and _scene_day("no-date") is None
