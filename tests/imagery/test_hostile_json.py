"""Deeply nested JSON from a service: a clear ImageryError naming the service, never RecursionError.

Every place imagery parses network JSON goes through imagery.json_safe.parse_json: the HTTP
client's Response.json, the Wayback catalogue, tilemap and metadata, the disk cache's entries and
pystac-client's reads (ClientStacIO). Real servers on 127.0.0.1 answer `[` x 200,000.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imagery.errors import BadResponse, ImageryError, StacError
from imagery.http import HttpClient
from imagery.json_safe import MAX_DEPTH, nesting_depth, parse_json
from imagery.stac import ClientStacIO, Sentinel2Source, StacConfig
from imagery.wayback import Wayback
from tests.imagery.test_wayback import site_bbox
from tests.support.fake_wayback import DEEP_JSON, small_config
from tests.support.rasters import RangeServer

BOMBS = [b"[" * 200_000, b'{"a":' * 200_000, b"[{" * 100_000, b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1),
         b'{"a": ' + b"[" * 5_000 + b"1" + b"]" * 5_000 + b"}"]


def _depth(value) -> int:
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    return 0


@pytest.mark.parametrize("body", BOMBS, ids=["lists", "objects", "mixed", "limit+1", "inside"])
def test_deep_nesting_is_a_bad_response_not_a_recursion_error(body):
    with pytest.raises(BadResponse, match=r"tilemap: JSON nested [\d,]+ levels deep \(the limit is 100\)"):
        parse_json(body, "tilemap")


def test_nesting_at_the_limit_parses():
    body = b"[" * MAX_DEPTH + b"]" * MAX_DEPTH
    assert _depth(parse_json(body, "x")) == MAX_DEPTH


def test_other_faults_are_bad_responses_too():
    for body, match in ((b"\xff\xfe[", "malformed"), (b"[1,", "malformed"), (b"9" * 5000, "cannot be read")):
        with pytest.raises(BadResponse, match=match):
            parse_json(body, "svc")


_strings = st.text(alphabet=st.sampled_from(list('[]{}"\\ab,:')), max_size=8)
_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | _strings,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_strings, inner, max_size=4),
    max_leaves=30)


@settings(max_examples=300, deadline=None)
@given(_json_values, st.booleans())
def test_depth_scan_matches_the_parsed_document(value, pretty):
    """Brackets inside strings (escaped quotes included) never count; the scan agrees with the parse."""
    body = json.dumps(value, indent=1 if pretty else None).encode()
    assert nesting_depth(body) == _depth(value)
    assert parse_json(body, "x") == value


def test_http_client_json_from_a_deep_service(server):
    with HttpClient(small_config()) as client, pytest.raises(BadResponse, match="127.0.0.1.*nested 200,000 levels"):
        client.get(f"{server.base}/fault/deep-json", expect="json")


@pytest.fixture
def wayback(client, cache, endpoints) -> Wayback:
    return Wayback(client, cache, endpoints)


def test_wayback_catalogue_tilemap_and_metadata_from_a_deep_service(server, wayback, cache):
    server.scenario.config_mode = "deep"
    with pytest.raises(BadResponse, match="JSON nested 200,000 levels"):
        wayback.releases()
    assert cache.entries() == []  # a refused answer is not kept
    server.scenario.config_mode = "ok"
    releases = wayback.releases()
    server.scenario.tilemap_mode = "deep"
    server.scenario.metadata_mode = "deep"
    with pytest.raises(ImageryError, match="nested"):
        wayback.capture_metadata(releases[0], site_bbox(), 17)
    with pytest.raises(ImageryError, match="nested"):
        wayback.local_changes(site_bbox(), 17)


def test_stac_catalogue_answering_deep_json_is_a_stac_error():
    server = RangeServer(files={"/": DEEP_JSON})
    try:
        source = Sentinel2Source(StacConfig(url=server.url + "/", asset_hosts=("127.0.0.1",), timeout=(2, 2),
                                            max_retries=0))
        with pytest.raises(StacError, match="nested 200,000 levels"):
            source.captures((127.0, 39.0, 127.01, 39.01))
    finally:
        server.close()


def test_stac_io_parse_hook_is_the_safe_parse():
    from pystac_client.exceptions import APIError
    io = ClientStacIO(HttpClient(small_config()))
    assert io.json_loads('{"a": [1]}') == {"a": [1]}
    with pytest.raises(APIError, match="STAC catalogue: JSON nested"):
        io.json_loads("[" * 200_000)
