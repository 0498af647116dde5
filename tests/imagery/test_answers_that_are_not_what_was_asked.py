"""A service answering 200 with something other than what was asked for (a maintenance page, a captive portal's
HTML, an error page that lies about its type) never becomes a tile, a tile hash or a cached answer: the reader
gets the typed error that names it. And the zoom and the number of sample points a caller asks Wayback's capture
metadata for are the ones used. Against the fake services on 127.0.0.1 (tests/support/fake_wayback.py)."""

from __future__ import annotations

import dataclasses
import re

import pytest

from imagery.errors import BadResponse
from imagery.mosaics import fetch_tiles
from imagery.providers import EOX_MOSAICS
from imagery.tiles import Tile
from imagery.wayback import Wayback
from tests.imagery.test_wayback import site_bbox

TILE = Tile(17, 112014, 49659)


@pytest.mark.parametrize("fault", ["html", "html-as-png"])
def test_a_wayback_tile_that_is_a_web_page_is_no_tile_hash(server, client, cache, endpoints, fault):
    page = f"{server.base}/fault/{fault}?z={{z}}&y={{y}}&x={{x}}&r={{release}}"
    wrong = dataclasses.replace(endpoints, tile_url=page)
    wayback = Wayback(client, cache, wrong)
    with pytest.raises(BadResponse, match=r"^127\.0\.0\.1:\d+: not an image \((text/html|image/png), \d+ bytes\)$"):
        wayback._tile_hash(64001, TILE)
    assert not [key for key, *_ in cache.entries() if "tilehash" in key]  # a page's hash would pass for the tile's


@pytest.mark.parametrize("fault", ["html", "html-as-png"])
def test_an_eox_tile_that_is_a_web_page_is_an_error_and_is_not_cached(server, client, cache, fault):
    layer = EOX_MOSAICS[0]
    got = fetch_tiles(client, cache, layer, [TILE], f"{server.base}/fault/{fault}?z={{z}}&y={{y}}&x={{x}}")
    assert isinstance(got[TILE], BadResponse) and "not an image" in str(got[TILE])
    assert cache.entries() == []


def test_capture_metadata_asks_at_the_zoom_and_with_the_points_it_is_given(server, wayback_at_17):
    release = next(r for r in wayback_at_17.releases() if r.number == 64001)
    wayback_at_17.capture_metadata(release, site_bbox(), zoom=12, max_points=16)
    # z12 is sublayer 11 (z23 is 0): the caller's zoom, not the Wayback's own (17 -> sublayer 6)
    assert {re.search(r"/MapServer/(\d+)/query", p)[1] for p in server.paths if "/query" in p} == {"11"}


def test_release_capture_passes_its_zoom_and_points_down(server, wayback_at_17):
    release = next(r for r in wayback_at_17.releases() if r.number == 64001)
    wayback_at_17.release_capture(release, site_bbox(), zoom=17, max_points=1)
    queries = [p for p in server.paths if "/query" in p]
    assert len(queries) == 1  # the site's four z17 tiles, sampled once: the caller's one point, not the default 16
    server.paths.clear()
    wayback_at_17.release_capture(release, site_bbox(), zoom=12, max_points=16)
    assert {re.search(r"/MapServer/(\d+)/query", p)[1] for p in server.paths if "/query" in p} == {"11"}


@pytest.fixture
def wayback_at_17(client, endpoints):  # no cache: every call asks the fake again
    return Wayback(client, None, endpoints, zoom=17)
