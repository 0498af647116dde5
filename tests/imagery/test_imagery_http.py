"""The HTTP client against a real loopback server: every fault gives its typed error within its deadline."""

from __future__ import annotations

import time

import pytest

from imagery.errors import (
    BadResponse,
    ImageryError,
    NotFoundError,
    OfflineError,
    RateLimited,
    RefusedURL,
    ServiceTimeout,
    ServiceUnavailable,
)
from imagery.http import USER_AGENT, HttpClient, check_url, looks_like_image
from tests.support.timing import budget


def test_user_agent_names_the_project():
    assert USER_AGENT.startswith("facility-tracker/") and "+https://" in USER_AGENT


@pytest.fixture
def sleeps(monkeypatch) -> list[float]:
    """The client's waits between attempts, recorded (and still slept): what the retry rules decide, measured
    without a clock."""
    import types

    from imagery import http

    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)

    clock = types.SimpleNamespace(**{n: getattr(time, n) for n in dir(time) if not n.startswith("_")})
    clock.sleep = sleep
    monkeypatch.setattr(http, "time", clock)
    return waits


@pytest.mark.parametrize(
    ("fault", "error", "attempts", "waits"),
    [
        ("404", NotFoundError, 1, None),  # a definite answer: not retried
        ("500", ServiceUnavailable, 3, None),  # two retries with small backoff
        ("429", RateLimited, 3, [0.3, 0.3]),  # Retry-After: 1 is capped to retry_after_max, 0.3 s
        ("truncated", BadResponse, 1, []),  # answers that arrived but are unusable are not retried
        ("html", BadResponse, 1, []),
        ("html-as-png", BadResponse, 1, []),
        ("redirect-metadata", RefusedURL, 1, []),  # the redirect to the metadata address is never followed
    ],
)
def test_fault_gives_typed_error_after_bounded_attempts(server, client, sleeps, fault, error, attempts, waits):
    with pytest.raises(error) as info:
        client.get(f"{server.base}/fault/{fault}", expect="image")
    assert isinstance(info.value, ImageryError)
    assert "127.0.0.1" in str(info.value) or "169.254.169.254" in str(info.value)
    assert server.counts["fault"] == attempts
    assert len(sleeps) == attempts - 1
    if waits is not None:
        assert sleeps == waits
    assert all(s <= max(client.config.backoff_max, client.config.retry_after_max) for s in sleeps)


@pytest.mark.parametrize("fault", ["drip", "hang"])
def test_a_slow_service_is_cut_off_at_the_deadline(server, make_client, fault):
    # drip: a byte every 0.1 s (each read beats the 0.5 s read timeout, the 20 s body does not beat the deadline);
    # hang: nothing for 10 s. Both would run for 10 s or more if the 0.3 s deadline were not enforced.
    c = make_client(deadline=0.3)
    with budget(0.5, "the 0.3 s deadline (or the 0.5 s read timeout) cuts the request off"), \
            pytest.raises(ServiceTimeout) as info:
        c.get(f"{server.base}/fault/{fault}", expect="image")
    assert "127.0.0.1" in str(info.value)
    assert server.counts["fault"] == 1  # timeouts are not retried


def test_retries_are_bounded(server, client):
    with pytest.raises(ServiceUnavailable):
        client.get(f"{server.base}/fault/500")
    assert server.counts["fault"] == 1 + client.config.retries


def test_503_then_200_succeeds_after_one_retry(server, client):
    resp = client.get(f"{server.base}/fault/503-then-200?k=a", expect="json")
    assert resp.json() == {"ok": True}
    assert server.counts["fault"] == 2 and client.stats.retries == 1


def test_429_retry_after_is_honoured_and_capped(server, client, sleeps):
    assert client.get(f"{server.base}/fault/429-once?k=b").status == 200
    assert sleeps == [0.0]  # Retry-After: 0, not the default backoff
    with pytest.raises(RateLimited):
        client.get(f"{server.base}/fault/429")  # Retry-After: 1
    assert sleeps[1:] == [client.config.retry_after_max] * client.config.retries  # capped at 0.3 s


def test_retry_after_beyond_the_deadline_fails_at_once(server, make_client, sleeps):
    c = make_client(retry_after_max=5.0, deadline=1.0)
    with pytest.raises(RateLimited):
        c.get(f"{server.base}/fault/429")
    assert sleeps == []  # did not sleep into the deadline: Retry-After 1 s would end past it
    assert server.counts["fault"] == 1


def test_malformed_json_is_bad_response(server, client):
    with pytest.raises(BadResponse, match="malformed JSON"):
        client.get(f"{server.base}/fault/badjson", expect="json")


def test_service_down_is_unavailable(make_client):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    c = make_client()
    with budget(0.3, "two short backoffs (0.05 s, 0.1 s) between three refused connections; no timeout waited"), \
            pytest.raises(ServiceUnavailable, match="cannot connect"):
        c.get(f"http://127.0.0.1:{port}/x")
    assert c.stats.retries == c.config.retries


def test_redirect_to_same_allowed_host_is_followed(server, client):
    assert client.get(f"{server.base}/fault/redirect-ok", expect="json").json() == {"ok": True}


@pytest.mark.parametrize("url", [
    "http://example.org/x",  # plain http
    "https://169.254.169.254/latest/meta-data/",
    "https://127.0.0.1/x",
    "https://10.0.0.8/x",
    "https://[::1]/x",
    "https://localhost/x",
    "file:///etc/passwd",
])
def test_unsafe_urls_are_refused(url):
    with pytest.raises(RefusedURL):
        check_url(url)


def test_public_https_url_passes():
    check_url("https://wayback.maptiles.arcgis.com/arcgis/rest/services/World_Imagery/MapServer")


def test_offline_client_never_touches_the_network(server, make_client):
    c = make_client(offline=True)
    with pytest.raises(OfflineError):
        c.get(f"{server.base}/config/waybackconfig.json")
    assert server.counts["total"] == 0


def test_max_bytes_is_enforced(server, make_client):
    c = make_client(max_bytes=100)
    with pytest.raises(BadResponse, match="over"):
        c.get(f"{server.base}/config/waybackconfig.json")


def test_get_many_bounds_concurrency_and_returns_errors(server, make_client):
    server.scenario.tile_latency = 0.5  # long enough that the first four are in flight together, even on a busy box
    c = make_client(concurrency=4, deadline=10.0, read_timeout=5.0)
    urls = [f"{server.base}/xyz/17/{x}/1.png" for x in range(8)] + [f"{server.base}/fault/404"]
    out = c.get_many(urls, expect="image")
    assert all(not isinstance(r, ImageryError) for r in out[:8])
    assert isinstance(out[8], NotFoundError)
    assert server.most_in_flight == 4  # in parallel, and never more than the configured four at once


def test_image_check():
    from tests.support.fake_wayback import png

    good = png(3)
    assert looks_like_image(good)
    assert not looks_like_image(good[:-10])
    assert not looks_like_image(b"<html></html>")


def test_client_is_reusable_after_faults(server, client: HttpClient):
    with pytest.raises(ServiceTimeout):
        client.get(f"{server.base}/fault/hang")
    assert client.get(f"{server.base}/config/waybackconfig.json", expect="json").status == 200


def test_gzip_answers_are_decoded(server, client):
    assert client.get(f"{server.base}/fault/gzip", expect="json").json() == {"ok": True}


def test_retry_after_header_is_case_insensitive(server, client, sleeps):
    assert client.get(f"{server.base}/fault/lowercase-retry-after?k=c").status == 200
    assert sleeps == [0.0]  # "retry-after: 0" read, not the default backoff
