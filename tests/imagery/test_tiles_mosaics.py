"""Tile math (properties) and EOX yearly mosaics: composite labels, licences, reads through the cache."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from imagery.base import DateCertainty
from imagery.bbox import split_antimeridian as split_bbox
from imagery.errors import AntimeridianCrossing, BadResponse, OfflineError
from imagery.mosaics import EoxMosaics, decode_tile
from imagery.providers import EOX_MOSAICS, get_provider
from imagery.tiles import AreaTooLarge, Tile, tile_for, tiles_for_area

BBOX = (127.64, 39.91, 127.67, 39.93)


def test_captures_are_composites_with_licences(client):
    caps = EoxMosaics(client).captures(BBOX)
    years = [c.extra["year"] for c in caps]
    assert years == sorted(years, reverse=True) and 2016 in years and 2017 not in years and 2018 in years
    assert all(c.certainty is DateCertainty.COMPOSITE and c.date is None for c in caps)
    assert all("cannot date an event" in c.extra["label"] for c in caps)
    by_year = {c.extra["year"]: c for c in caps}
    assert by_year[2016].licence == "CC BY 4.0" and "2016 & 2017" in by_year[2016].attribution
    assert by_year[2020].licence.startswith("CC BY-NC-SA 4.0")
    assert by_year[2020].attribution.startswith("EOxCloudless https://cloudless.eox.at by EOX IT Services GmbH")


def test_captures_filtered_by_date_range(client):
    caps = EoxMosaics(client).captures(BBOX, start=dt.date(2017, 6, 1), end=dt.date(2019, 1, 1))
    assert [c.extra["year"] for c in caps] == [2019, 2018, 2016]  # 2016's mosaic holds 2016-2017 data


def test_provider_data():
    assert all(p.composite and p.server_fetch_allowed and p.max_native_zoom == 14 for p in EOX_MOSAICS)
    wb = get_provider("esri-wayback")
    assert not wb.server_fetch_allowed and wb.subdomains == ("wayback", "wayback-a", "wayback-b")
    assert wb.tile_url(17, 112014, 49659, release=56102).endswith("/tile/56102/17/49659/112014")


def test_read_goes_through_cache_and_reopens_offline(server, client, cache, make_client):
    template = f"{server.base}/xyz/{{z}}/{{x}}/{{y}}.png"
    src = EoxMosaics(client, cache, url_template=template)
    cap = next(c for c in src.captures(BBOX) if c.extra["year"] == 2016)
    chip = src.read(cap, BBOX, (64, 48))
    assert chip.data.shape == (3, 48, 64) and chip.data.dtype == np.uint8 and chip.crs == "EPSG:3857"
    assert len(np.unique(chip.data)) > 50  # the tiles' texture, not a blank chip two blank reads would match
    assert server.counts["xyz"] > 0
    assert {kind for _, kind, _ in cache.entries()} == {"tile"}
    server.counts.clear()
    again = EoxMosaics(make_client(offline=True), cache, url_template=template).read(cap, BBOX, (64, 48))
    assert server.counts["total"] == 0 and np.array_equal(again.data, chip.data)
    with pytest.raises(OfflineError):
        EoxMosaics(make_client(offline=True), cache, url_template=template).read(cap, (10.0, 10.0, 10.1, 10.1),
                                                                                 (8, 8))


def test_read_refuses_antimeridian_bbox(client):
    src = EoxMosaics(client)
    cap = src.captures(BBOX)[0]
    with pytest.raises(AntimeridianCrossing):
        src.read(cap, (179.9, -1, -179.9, 1), (8, 8))


def test_decode_rejects_non_images():
    with pytest.raises(BadResponse):
        decode_tile(b"<VRTDataset></VRTDataset>")


lons = st.floats(-180, 179.999999, allow_nan=False)
lats = st.floats(-85, 85, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(lons, lats, st.integers(0, 22))
def test_point_lies_in_its_tile(lon, lat, z):
    w, s, e, n = tile_for(lon, lat, z).bounds()
    assert w - 1e-9 <= lon <= e + 1e-9 and s - 1e-9 <= lat <= n + 1e-9


@settings(max_examples=100, deadline=None)
@given(lons, lats, st.floats(0.0001, 0.02), st.floats(0.0001, 0.02), st.integers(12, 17))
def test_covering_tiles_cover_the_bbox_and_nothing_more(lon, lat, dx, dy, z):
    bbox = (lon, lat, min(180.0, lon + dx), min(85.0, lat + dy))
    tiles = tiles_for_area(bbox, z, max_tiles=10_000)
    union = shapely.union_all([shapely.box(*t.bounds()) for t in tiles])
    area = shapely.box(*bbox)
    assert union.buffer(1e-9).covers(area)
    assert all(shapely.box(*t.bounds()).intersects(area) for t in tiles)


def test_brief_test_point_tile():
    assert tile_for(127.6571, 39.9202, 17) == Tile(17, 112014, 49659)


def test_split_bbox_and_invalid_bboxes():
    assert split_bbox((170.0, -1.0, -170.0, 1.0)) == [(170.0, -1.0, 180.0, 1.0), (-180.0, -1.0, -170.0, 1.0)]
    for bad in [(0.0, 1.0, 1.0, 0.0), (float("nan"), 0.0, 1.0, 1.0), (0.0, 0.0, 200.0, 1.0)]:
        with pytest.raises(ValueError):
            split_bbox(bad)


def test_area_too_large_is_refused_before_any_request():
    with pytest.raises(AreaTooLarge):
        tiles_for_area((120.0, 30.0, 130.0, 40.0), 17, max_tiles=256)
