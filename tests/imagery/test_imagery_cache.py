"""The on-disk cache: provenance, content addressing, licence gate, LRU cap, nothing kept from a fault."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest

from imagery.cache import Cache, fetch, may_cache
from imagery.errors import BadResponse, NotCacheable, OfflineError, ServiceTimeout, ServiceUnavailable
from tests.support.fake_wayback import png


def blob_files(cache: Cache) -> list[Path]:
    return [p for p in cache.blobs.rglob("*") if p.is_file()]


def test_put_get_keeps_provenance(cache):
    body = b'{"a": 1}'
    cache.put("https://example.org/cfg.json", body, provider="esri-wayback", kind="catalogue",
              headers={"Content-Type": "application/json", "Set-Cookie": "secret", "ETag": "x1"})
    hit = cache.get("https://example.org/cfg.json")
    assert hit is not None and hit.body == body
    assert hit.sha256 == hashlib.sha256(body).hexdigest() and hit.size == len(body)
    assert hit.headers == {"content-type": "application/json", "etag": "x1"}  # cookies are not kept
    assert hit.provider == "esri-wayback" and hit.kind == "catalogue" and hit.fetched_at.endswith("+00:00")


def test_content_addressed_blobs_are_shared(cache):
    cache.put("https://a.example/1", b"same", provider="esri-wayback", kind="metadata")
    cache.put("https://a.example/2", b"same", provider="esri-wayback", kind="metadata")
    assert len(blob_files(cache)) == 1
    assert blob_files(cache)[0].name == hashlib.sha256(b"same").hexdigest()


@pytest.mark.parametrize(("provider", "kind", "allowed"), [
    ("esri-wayback", "tile", False),
    ("esri-world-imagery", "tile", False),
    ("openstreetmap", "tile", False),
    ("no-such-provider", "tile", False),
    ("eox-s2cloudless-2016", "tile", True),
    ("eox-s2cloudless-2024", "tile", True),
    ("esri-wayback", "tilemap", True),
    ("esri-wayback", "metadata", True),
    ("esri-wayback", "something-else", False),
])
def test_licence_gate(cache, provider, kind, allowed):
    assert may_cache(provider, kind) is allowed
    if allowed:
        cache.put("https://x.example/t", b"bytes", provider=provider, kind=kind)
    else:
        with pytest.raises(NotCacheable):
            cache.put("https://x.example/t", b"bytes", provider=provider, kind=kind)
        assert blob_files(cache) == [] and cache.entries() == []


def test_size_cap_evicts_least_recently_used(tmp_path):
    c = Cache(tmp_path / "c", max_bytes=250)
    for i in range(3):
        c.put(f"https://x.example/{i}", bytes([i]) * 100, provider="esri-wayback", kind="metadata")
        time.sleep(0.01)
    assert c.size() <= 250
    assert c.get("https://x.example/0") is None  # oldest went first
    assert c.get("https://x.example/1") is not None  # touched now: becomes the most recent
    c.put("https://x.example/3", b"z" * 100, provider="esri-wayback", kind="metadata")
    assert c.get("https://x.example/2") is None and c.get("https://x.example/1") is not None
    assert len(blob_files(c)) == 2
    c.close()


def test_damaged_blob_is_a_miss_not_bad_data(cache):
    e = cache.put("https://x.example/m", b"good bytes", provider="esri-wayback", kind="metadata")
    cache._blob(e.sha256).write_bytes(b"bad")
    assert cache.get("https://x.example/m") is None
    assert cache.entries() == []


def test_failed_write_leaves_no_entry_and_no_temp_file(cache, monkeypatch):
    def boom(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        cache.put("https://x.example/full", b"payload", provider="esri-wayback", kind="metadata")
    monkeypatch.undo()
    assert cache.entries() == [] and blob_files(cache) == []


@pytest.mark.parametrize(("fault", "error"), [
    ("truncated", BadResponse), ("badjson", BadResponse), ("500", ServiceUnavailable),
    ("drip", ServiceTimeout), ("html", BadResponse),
])
def test_nothing_cached_on_a_fault(server, client, cache, fault, error):
    expect = "json" if fault == "badjson" else "image"
    with pytest.raises(error):
        fetch(client, cache, f"{server.base}/fault/{fault}", provider="eox-s2cloudless-2016", kind="tile",
              expect=expect)
    assert cache.entries() == [] and blob_files(cache) == []


def test_fetch_caches_allowed_tiles_and_serves_them_offline(server, client, cache, make_client):
    url = f"{server.base}/xyz/14/1/2.png"
    body, hit = fetch(client, cache, url, provider="eox-s2cloudless-2016", kind="tile", expect="image")
    assert body == png(1 * 7 + 2, 256) and not hit  # the fake serves full 256-pixel tiles, as EOX does
    server.counts.clear()
    body2, hit2 = fetch(make_client(offline=True), cache, url, provider="eox-s2cloudless-2016", kind="tile")
    assert body2 == body and hit2 and server.counts["total"] == 0
    with pytest.raises(OfflineError):
        fetch(make_client(offline=True), cache, f"{server.base}/xyz/14/9/9.png", provider="eox-s2cloudless-2016",
              kind="tile")


def test_esri_tiles_are_fetched_but_never_stored(server, client, cache):
    body, hit = fetch(client, cache, f"{server.base}/xyz/17/3/4.png", provider="esri-wayback", kind="tile",
                      expect="image")
    assert body.startswith(b"\x89PNG") and not hit
    assert cache.entries() == [] and blob_files(cache) == []


def test_stale_entry_refetched_online_served_offline(server, client, cache, make_client):
    url = f"{server.base}/config/waybackconfig.json"
    fetch(client, cache, url, provider="esri-wayback", kind="catalogue")
    time.sleep(0.01)
    server.counts.clear()
    fetch(client, cache, url, provider="esri-wayback", kind="catalogue", max_age=0.0)
    assert server.counts["config"] == 1
    _, hit = fetch(make_client(offline=True), cache, url, provider="esri-wayback", kind="catalogue", max_age=0.0)
    assert hit


def test_cache_reopens_with_its_entries(tmp_path):
    c = Cache(tmp_path / "c")
    c.put("https://x.example/k", b"kept", provider="esri-wayback", kind="tilemap")
    c.close()
    again = Cache(tmp_path / "c")
    entry = again.get("https://x.example/k")
    assert entry is not None and entry.body == b"kept"
    again.close()
