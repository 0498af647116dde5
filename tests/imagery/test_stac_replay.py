"""Sentinel-2 searches against the real recorded answers of Earth Search v1 and Planetary Computer, replayed from
127.0.0.1 (catalogue host rewritten, asset hosts kept): parsing, paging, asset names, signed hrefs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from rasterio.warp import transform_bounds

from imagery.base import DateCertainty
from imagery.errors import StacError
from imagery.stac import (
    ASSET_KEYS,
    LEGACY_COLLECTION,
    Sentinel2Source,
    StacConfig,
    planetary_computer_config,
)
from tests.support.rasters import RangeServer, write_cog
from tests.support.stac_replay import C1_BLOB, DATA, PC_BLOB, StacReplay, recorded

SHARED = Path("/work/shared/fixtures/real-services/stac")


@pytest.fixture
def replay():
    server = StacReplay()
    yield server
    server.close()


def _inside(item: dict) -> tuple[float, float, float, float]:
    """A 1 km box in the middle of an item's bbox."""
    w, s, e, n = item["bbox"]
    x, y = (w + e) / 2, (s + n) / 2
    return (x - 0.005, y - 0.005, x + 0.005, y + 0.005)


def test_recorded_files_are_verbatim_copies_with_provenance():
    assert (DATA / "PROVENANCE.md").is_file()
    names = sorted(p.name for p in DATA.glob("*.json"))
    assert len(names) == 5
    if SHARED.is_dir():  # the team's copy; a user's clone has only ours
        for name in names:
            assert (DATA / name).read_bytes() == (SHARED / name).read_bytes()


def test_earth_search_c1_items_of_the_real_answer(replay):
    """From the real mixed answer (sentinel-1, l1c, legacy l2a and c1 items) only the asked collection's items
    become captures, with their real asset names, hosts, dates and platforms."""
    url = replay.earth_search_recorded()
    page1 = recorded("earth-search-v1-search-page1.json")["response"]
    c1 = next(f for f in page1["features"] if f["collection"] == "sentinel-2-c1-l2a")
    source = Sentinel2Source(StacConfig(url=url), max_cloud=None, aoi_cloudiness=False)
    caps = source.captures(_inside(c1))
    assert [c.capture_id for c in caps] == [c1["id"]]
    cap = caps[0]
    assert cap.date == dt.date(2025, 7, 31) and cap.certainty is DateCertainty.CAPTURED
    assert cap.extra["assets"]["visual"].startswith(f"https://{C1_BLOB}/sentinel-2-c1-l2a/")
    assert cap.extra["assets"]["scl"].endswith("/SCL.tif") and cap.extra["collection"] == "sentinel-2-c1-l2a"
    assert cap.sensor == c1["properties"]["platform"] and cap.extra["scene_cloud_cover"] == pytest.approx(26.02542)
    assert cap.attribution == "Contains modified Copernicus Sentinel data 2025" and cap.resolution_m == 10
    # the search went out as pystac-client sends it: the collection, bbox and a page size
    sent = replay.searches[0]
    assert sent["collections"] == ["sentinel-2-c1-l2a"] and sent["limit"] == 100 and len(sent["bbox"]) == 4
    # page 2 was asked for with the real `next` token; page 3 was not recorded and failed: said, not dropped
    assert replay.searches[1] == recorded("earth-search-v1-search-page2.json")["request"]["body"]  # merge: false
    assert caps.problem and "page 3 of the search failed" in caps.problem and "20 items listed" in caps.problem
    assert caps.matched == 115912757 and caps.left_out == 115912757 - 20


def test_legacy_collection_still_readable(replay):
    url = replay.earth_search_recorded()
    page2 = recorded("earth-search-v1-search-page2.json")["response"]
    legacy = next(f for f in page2["features"] if f["collection"] == LEGACY_COLLECTION)
    source = Sentinel2Source(StacConfig(url=url, collection=LEGACY_COLLECTION), max_cloud=None, aoi_cloudiness=False)
    caps = source.captures(_inside(legacy))
    assert [c.capture_id for c in caps] == [legacy["id"]]
    assert caps[0].extra["assets"]["scl"].startswith("https://sentinel-cogs.s3.us-west-2.amazonaws.com/")
    assert any("not 'sentinel-2-l2a'" in s for s in caps.skipped)  # c1, l1c, s1 items named as skipped


def test_the_limit_is_said_with_the_count_left_out(replay):
    url = replay.earth_search_recorded()
    source = Sentinel2Source(StacConfig(url=url, max_items=15), max_cloud=None, aoi_cloudiness=False)
    found = source.search_scenes((-180 + 1, -80, 179, 80))
    assert len(found.items) == 15 and found.left_out == 115912757 - 15
    assert "limit of 15 scenes" in (found.problem or "") and str(115912757 - 15) in (found.problem or "")


def test_asset_key_table():
    assert ASSET_KEYS[("earth-search", "sentinel-2-c1-l2a")] == ("visual", "scl", "red", "nir")
    assert ASSET_KEYS[("planetary-computer", "sentinel-2-l2a")] == ("visual", "SCL", "B04", "B08")
    assert planetary_computer_config().asset_keys() == ("visual", "SCL")
    assert StacConfig(collection="sentinel-2-l2a").asset_keys() == ("visual", "scl")
    assert planetary_computer_config().band_asset_keys() == ("B04", "B08")  # NDVI for the change measure
    assert StacConfig().band_asset_keys() == ("red", "nir")


def _pc_source(replay: StacReplay, url: str, token_url: str, **kw) -> Sentinel2Source:
    config = planetary_computer_config(url=url, token_url=token_url, asset_mirrors={PC_BLOB: replay.url},
                                       timeout=(2, 5), max_retries=0, **kw)
    return Sentinel2Source(config, max_cloud=None)


@pytest.fixture
def pc(replay, tmp_path):
    """The recorded Planetary Computer search, its first item's SCL served at the real blob path (mirrored)."""
    url = replay.planetary_recorded()
    item = recorded("planetary-computer-search-s2-l2a.json")["response"]["features"][0]
    scl = item["assets"]["SCL"]
    epsg = item["properties"]["proj:epsg"]
    t = scl["proj:transform"]
    import numpy as np
    from affine import Affine

    box = _inside(item)
    left, bottom, right, top = transform_bounds("EPSG:4326", f"EPSG:{epsg}", *box)
    x0, y0 = left // 20 * 20 - 400, top // 20 * 20 + 400
    assert t[0] == 20
    data = np.full((1, 256, 256), 4, dtype=np.uint8)
    data[0, :, :40] = 8  # cloud in the west part of the window
    path = "/" + scl["href"].split("/", 3)[3]
    replay.server.files[path] = write_cog(tmp_path / "scl.tif", data, f"EPSG:{epsg}", Affine(20, 0, x0, 0, -20, y0),
                                          nodata=0, BLOCKSIZE=256).read_bytes()
    return url, item, box, path


def test_planetary_computer_signs_hrefs_with_its_token(replay, pc):
    url, item, box, path = pc
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    token_url = replay.token_endpoint([("st=2025&se=2099&sp=rl&sig=good", later)])
    seen: list[str] = []
    replay.server.gate = lambda p, q: (seen.append(q), None if "sig=good" in q else 403)[1] if p == path else None
    caps = _pc_source(replay, url, token_url).captures(box)
    assert [c.capture_id for c in caps] == [item["id"]]
    assert caps[0].cloud_fraction is not None and caps[0].extra["cloud_reason"] is None
    assert caps[0].extra["assets"]["scl"].startswith(f"https://{PC_BLOB}/")  # listed unsigned: tokens expire
    assert seen and all(parse_qs(q)["sig"] == ["good"] for q in seen)
    assert replay.tokens_served == ["st=2025&se=2099&sp=rl&sig=good"]
    assert replay.searches[0]["collections"] == ["sentinel-2-l2a"]


def test_an_expired_token_is_replaced_before_use(replay, pc):
    url, item, box, path = pc
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    token_url = replay.token_endpoint([("se=1&sig=first", soon), ("se=2&sig=second", soon + dt.timedelta(hours=2))])
    source = _pc_source(replay, url, token_url)
    href = item["assets"]["SCL"]["href"]
    assert "sig=first" in source.signer.sign(href) and "sig=first" in source.signer.sign(href)
    source.signer._now = lambda: soon + dt.timedelta(seconds=1)  # an hour later: the first token has expired
    assert "sig=second" in source.signer.sign(href)
    assert replay.tokens_served == ["se=1&sig=first", "se=2&sig=second"]
    assert urlsplit(source.signer.sign(href)).netloc == PC_BLOB


def test_a_refused_signature_is_renewed_once_then_said(replay, pc):
    """A 403 from the blob server (the token expired early or was revoked) gets one fresh token; refused again,
    the error names the file, the 403 and the token endpoint; the capture keeps its date with the reason."""
    url, item, box, path = pc
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    token_url = replay.token_endpoint([("sig=revoked", later), ("sig=good", later)])
    replay.server.gate = lambda p, q: 403 if p == path and "sig=revoked" in q else None
    caps = _pc_source(replay, url, token_url).captures(box)
    assert caps[0].cloud_fraction is not None and replay.tokens_served == ["sig=revoked", "sig=good"]

    replay.server.gate = lambda p, q: 403 if p == path else None
    source = _pc_source(replay, url, token_url)
    with pytest.raises(StacError, match=r"refused \(HTTP 403\) even with a new token from .*/api/sas/v1/token"):
        source.read_url(item["assets"]["SCL"]["href"])
    caps = source.captures(box)
    assert caps[0].cloud_fraction is None and "HTTP 403" in caps[0].extra["cloud_reason"]


def test_token_endpoint_faults_are_clear(replay, pc):
    url, item, box, path = pc
    replay.server.json_routes["/api/sas/v1/token/sentinel2l2a01/sentinel2-l2"] = {"nothing": "here"}
    source = _pc_source(replay, url, f"{replay.url}/api/sas/v1/token")
    with pytest.raises(StacError, match="without a usable token"):
        source.signer.sign(item["assets"]["SCL"]["href"])
    past = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    replay.token_endpoint([("sig=old", past)])
    with pytest.raises(StacError, match="expired at 2020-01-01"):
        _pc_source(replay, url, f"{replay.url}/api/sas/v1/token").signer.sign(item["assets"]["SCL"]["href"])


def test_asset_hosts_accept_host_and_port():
    server = RangeServer()
    try:
        port = int(server.url.rsplit(":", 1)[1])
        source = Sentinel2Source(StacConfig(url=server.url, asset_hosts=(f"127.0.0.1:{port}",)))
        source.check_host(f"{server.url}/a/SCL.tif")
        with pytest.raises(StacError, match="not allowed"):
            source.check_host(f"http://127.0.0.1:{port + 1}/a/SCL.tif")
        with pytest.raises(StacError, match="not allowed"):
            source.check_host(f"http://127.0.0.1:{port}x/a/SCL.tif")
    finally:
        server.close()
