"""EOX yearly mosaics: composite labels and licences; tiles read through the cache and again offline."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from imagery.base import DateCertainty
from imagery.errors import AntimeridianCrossing, BadResponse, OfflineError
from imagery.mosaics import EoxMosaics, decode_tile
from imagery.providers import EOX_MOSAICS, get_provider

pytest_plugins = ["net_fixtures"]  # fixtures for the fake server, client and cache

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
