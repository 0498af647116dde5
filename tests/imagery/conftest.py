"""Fixtures for the network side of imagery/: a fake Wayback on 127.0.0.1, a client, a cache.

The server is started once per session and reset before each test; the client has small timeouts
and allow-lists 127.0.0.1 (production refuses plain http and loopback hosts).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator

import pytest
from fake_wayback import REAL_RELEASES, FakeServer, Scenario

from imagery.cache import Cache
from imagery.http import HttpClient, HttpConfig
from imagery.wayback import Endpoints

# The test site: the brief's test point (z17 tile x=112014, y=49659) and its east and south neighbours.
SITE_TILES = [(17, 112014, 49659), (17, 112015, 49659), (17, 112014, 49660), (17, 112015, 49660)]
SPECIAL_TILE = SITE_TILES[0]
SPLIT_LON = 127.658386  # the x boundary between tiles 112014 and 112015 at z17
MIXED_RELEASE = 45134
NO_METADATA_RELEASE = 10

# Every tile: base 2014, new 2018, new 2022, identical bytes again 2024-06 (a duplicate), new 2025.
DEFAULT_CHANGES = [(10, 1), (23448, 2), (45134, 3), (39767, 3), (13192, 4)]
# The first tile also changed in 2026-02.
SPECIAL_CHANGES = [*DEFAULT_CHANGES, (64001, 5)]


def _metadata(release: int, lon: float, lat: float) -> dict | None:
    """Capture date a month or so before the release; the mixed release differs west and east."""
    if release == NO_METADATA_RELEASE or release == 0:
        return None
    rdate = dt.date.fromisoformat(dict((n, d) for n, d, _ in REAL_RELEASES)[release])
    captured = rdate - dt.timedelta(days=40)
    if release == MIXED_RELEASE and lon >= SPLIT_LON:
        captured = dt.date(2022, 5, 1)
    ms = int(dt.datetime(captured.year, captured.month, captured.day, tzinfo=dt.UTC).timestamp() * 1000)
    return {"SRC_DATE2": ms, "NICE_DESC": "Maxar", "SRC_DESC": "WV03", "SAMP_RES": 0.31, "SRC_ACC": 4.1}


def site_scenario() -> Scenario:
    changes = {(z, x, y): list(DEFAULT_CHANGES) for z, x, y in SITE_TILES}
    changes[SPECIAL_TILE] = list(SPECIAL_CHANGES)
    return Scenario(changes=changes, default_changes=[], metadata=_metadata)


@pytest.fixture(scope="session")
def fake_server() -> Iterator[FakeServer]:
    srv = FakeServer().start()
    yield srv
    srv.close()


@pytest.fixture
def server(fake_server: FakeServer) -> FakeServer:
    fake_server.reset(site_scenario())
    return fake_server


def small_config(**overrides: object) -> HttpConfig:
    base = dict(connect_timeout=0.5, read_timeout=0.5, deadline=1.5, retries=2, backoff=0.05, backoff_max=0.2,
                retry_after_max=0.3, concurrency=4, allow_hosts=frozenset({"127.0.0.1"}))
    base.update(overrides)
    return HttpConfig(**base)  # type: ignore[arg-type]


@pytest.fixture
def client() -> Iterator[HttpClient]:
    with HttpClient(small_config(), rng=random.Random(0)) as c:
        yield c


@pytest.fixture
def cache(tmp_path) -> Iterator[Cache]:
    c = Cache(tmp_path / "cache")
    yield c
    c.close()


@pytest.fixture
def endpoints(server: FakeServer) -> Endpoints:
    return Endpoints(config_url=f"{server.base}/config/waybackconfig.json",
                     service_root=f"{server.base}/wayback/MapServer",
                     tile_url=f"{server.base}/wayback/tile/{{release}}/{{z}}/{{y}}/{{x}}", subdomains=())


@pytest.fixture
def make_client() -> Iterator:
    """A factory for clients with other settings (offline, other timeouts); closes them afterwards."""
    made: list[HttpClient] = []

    def make(offline: bool = False, **overrides: object) -> HttpClient:
        c = HttpClient(small_config(**overrides), offline=offline, rng=random.Random(0))
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()
