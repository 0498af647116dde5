"""Fixtures for the network side of imagery/: a fake Wayback on 127.0.0.1, a client, a cache.

A module, not a conftest.py: tests/test_*.py import helpers with `from conftest import ...`, and a
second conftest module on sys.path would shadow the root one. Test modules import these fixtures.

The server is started once per session and reset before each test; the client has small timeouts
and allow-lists 127.0.0.1 (production refuses plain http and loopback hosts).
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
from fake_wayback import FakeServer, site_scenario

from imagery.cache import Cache
from imagery.http import HttpClient, HttpConfig
from imagery.wayback import Endpoints


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
