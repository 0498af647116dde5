"""A fake Wayback (catalogue, tilemap, tiles, metadata) and a fault zoo on 127.0.0.1, stdlib only.

Used by the tests and by the imagery and compare benches. The catalogue copies real release numbers
and dates from the research brief (§1.6): numbers are not in date order, on purpose. Tiles change
at scripted releases; some changes repeat the previous bytes, as Esri's reprocessed releases do,
so duplicate removal has something to remove. Every request is counted by kind.

The answers have the real services' shape (tests/imagery/data/real-services/wayback/, recorded
from Esri): tilemap answers carry the tile's byte `size` (and `select` even when `data` is [0]),
metadata answers carry `displayFieldName`, `fieldAliases` and `fields[]` and may hold nulls, and a
release's metadata service name is the catalogue's URL, which need not match its layer identifier
(`Scenario.metadata_names`). `Scenario.tilemap_sizes=False` answers as older fakes did (no size),
`missing_metadata` answers 404 for those releases' metadata services.

The end of the file holds the pytest fixtures (server, client, cache, endpoints), loaded for the
whole suite by tests/conftest.py's `pytest_plugins`; helpers are imported from `tests.support`.
"""

from __future__ import annotations

import datetime as dt
import functools
import gzip
import json
import random
import re
import struct
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from imagery.cache import Cache
from imagery.http import HttpClient, HttpConfig
from imagery.wayback import Endpoints

# (release, date, layerIdentifier) from the brief's table of real entries
REAL_RELEASES: list[tuple[int, str, str]] = [
    (32246, "2026-06-30", "WB_2026_R06"), (10842, "2026-05-28", "WB_2026_R05"),
    (49059, "2026-04-30", "WB_2026_R04"), (64001, "2026-02-26", "WB_2026_R02"),
    (13192, "2025-12-18", "WB_2025_R12"), (36557, "2025-01-30", "WB_2025_R01"),
    (16453, "2024-12-12", "WB_2024_R13"), (39767, "2024-06-27", "WB_2024_R07"),
    (56102, "2023-12-07", "WB_2023_R11"), (45134, "2022-12-14", "WB_2022_R15"),
    (26120, "2021-12-21", "WB_2021_R17"), (29260, "2020-12-16", "WB_2020_R16"),
    (4756, "2019-12-12", "WB_2019_R16"), (23448, "2018-12-14", "WB_2018_R17"),
    (6678, "2016-12-07", "WB_2016_R21"), (10, "2014-02-20", "WB_2014_R01"),
]

TileKey = tuple[int, int, int]  # z, x, y


@functools.lru_cache(maxsize=256)
def png(seed: int, size: int = 16) -> bytes:
    """A small valid RGB PNG whose pixels depend on seed (zlib + struct: no imaging library)."""
    rows = b"".join(b"\x00" + bytes((seed * 37 + x * 11 + y * 7 + c * 53) % 256 for x in range(size)
                                      for c in range(3)) for y in range(size))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def tile_png(seed: int) -> bytes:
    """A Wayback tile for a content seed: a PNG whose byte size differs for every seed (a tEXt chunk of seed
    bytes), as the real service's JPEG sizes differ between images; a repeated seed is identical bytes."""
    body = png(seed)
    text = b"seed\x00" + b"x" * seed
    chunk = struct.pack(">I", len(text)) + b"tEXt" + text + struct.pack(">I", zlib.crc32(b"tEXt" + text) & 0xFFFFFFFF)
    return body[:-12] + chunk + body[-12:]  # before IEND


# The real answer's field list (metadata-query-full-release-13161.json)
METADATA_FIELDS_DOC = {
    "displayFieldName": "NICE_NAME",
    "fieldAliases": {f: f for f in ("SRC_DATE2", "NICE_DESC", "SRC_DESC", "SAMP_RES", "SRC_ACC")},
    "fields": [
        {"name": "SRC_DATE2", "type": "esriFieldTypeDate", "alias": "SRC_DATE2", "length": 8},
        {"name": "NICE_DESC", "type": "esriFieldTypeString", "alias": "NICE_DESC", "length": 25},
        {"name": "SRC_DESC", "type": "esriFieldTypeString", "alias": "SRC_DESC", "length": 25},
        {"name": "SAMP_RES", "type": "esriFieldTypeDouble", "alias": "SAMP_RES"},
        {"name": "SRC_ACC", "type": "esriFieldTypeDouble", "alias": "SRC_ACC"},
    ],
}


@dataclass
class Scenario:
    releases: list[tuple[int, str, str]] = field(default_factory=lambda: list(REAL_RELEASES))
    # per tile: [(release where it changed, content seed)]; a repeated seed = identical bytes
    changes: dict[TileKey, list[tuple[int, int]]] = field(default_factory=dict)
    default_changes: list[tuple[int, int]] = field(default_factory=list)
    # (release, lon, lat) -> metadata attributes, or None for "no features"
    metadata: Callable[[int, float, float], dict | None] = lambda release, lon, lat: None
    config_mode: str = "ok"  # "ok" | "malformed" | "not-object" | "deep" (`[` x 200,000)
    tile_latency: float = 0.0  # seconds added to every tile request (bench)
    latency: float = 0.0  # seconds added to every request of any kind (the watch bench: 50 ms)
    failing_tilemaps: set[TileKey] = field(default_factory=set)  # these tiles' tilemap answers HTTP 500
    metadata_mode: str = "ok"  # "ok" | "error" (ArcGIS error object) | "malformed" | "deep"
    tilemap_mode: str = "ok"  # "ok" | "deep"
    tilemap_sizes: bool = True  # the real service gives `size`; False answers without it (tiles must be fetched)
    # release -> its metadata service name when it is not built from the layer identifier (real: WB_2015_R14 is
    # served by World_Imagery_Metadata_2015_r04)
    metadata_names: dict[int, str] = field(default_factory=dict)
    missing_metadata: set[int] = field(default_factory=set)  # these releases' metadata services answer 404

    def dates(self) -> dict[int, str]:
        return {n: d for n, d, _ in self.releases}

    def metadata_service(self, number: int, ident: str) -> str:
        if number in self.metadata_names:
            return self.metadata_names[number]
        year, rnn = ident.split("_")[1], ident.split("_")[2].lower()
        return f"World_Imagery_Metadata_{year}_{rnn}"

    def state_at(self, release: int, tile: TileKey) -> tuple[int, int] | None:
        """(release of last change, seed) as of this release, or None when no imagery yet."""
        dates = self.dates()
        if release not in dates:
            return None
        past = [(dates[n], n, seed) for n, seed in self.changes.get(tile, self.default_changes)
                if dates[n] <= dates[release]]
        return max(past)[1:] if past else None


DEEP_JSON = b"[" * 200_000


class FakeServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.scenario = Scenario()
        self.counts: Counter[str] = Counter()
        self.paths: list[str] = []
        self.per_path: Counter[str] = Counter()
        self.in_flight = self.most_in_flight = 0  # /xyz/ requests being answered at once, and the most at once
        self.all_in_flight = self.most_all_in_flight = 0  # requests of any kind answered at once, and the most
        self.unserved: list[str] = []  # paths asked for that the fake does not serve (the fixtures fail on them)
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def start(self) -> FakeServer:
        self._thread.start()
        return self

    def close(self) -> None:
        self.stop.set()
        self.shutdown()
        self.server_close()

    def reset(self, scenario: Scenario | None = None) -> None:
        with self.lock:
            self.scenario = scenario or Scenario()
            self.counts.clear()
            self.paths.clear()
            self.per_path.clear()
            self.in_flight = self.most_in_flight = 0
            self.all_in_flight = self.most_all_in_flight = 0
            self.unserved.clear()

    def count(self, kind: str, path: str) -> int:
        with self.lock:
            self.counts[kind] += 1
            self.counts["total"] += 1
            self.paths.append(path)
            self.per_path[path] += 1
            return self.per_path[path]

    def config(self) -> dict:
        out = {}
        for n, d, ident in self.scenario.releases:
            out[str(n)] = {
                "itemID": f"item{n}", "itemTitle": f"World Imagery (Wayback {d})",
                "itemURL": f"{self.base}/wayback/tile/{n}/{{level}}/{{row}}/{{col}}",
                "metadataLayerUrl": f"{self.base}/metadata/{self.scenario.metadata_service(n, ident)}/MapServer",
                "metadataLayerItemID": f"meta{n}", "layerIdentifier": ident,
            }
        out["not-a-number"] = {"itemTitle": "ignored"}
        out["99999"] = {"itemTitle": "World Imagery (Wayback 2030-01-01)"}  # invalid: fields missing
        return out


class Handler(BaseHTTPRequestHandler):
    server: FakeServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes; Nagle would add 40 ms

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        pass

    def _send(self, status: int, body: bytes, ctype: str = "application/json", headers: dict | None = None) -> None:
        self._leave()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, doc: object, status: int = 200) -> None:
        self._send(status, json.dumps(doc).encode())

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        with self.server.lock:
            self.server.all_in_flight += 1
            self.server.most_all_in_flight = max(self.server.most_all_in_flight, self.server.all_in_flight)
        self._counted = True
        try:
            if self.server.scenario.latency:
                time.sleep(self.server.scenario.latency)
            self._get()
        finally:
            self._leave()

    def _leave(self) -> None:
        # before the answer is written: a client cannot start its next request before this one is counted out
        if getattr(self, "_counted", False):
            self._counted = False
            with self.server.lock:
                self.server.all_in_flight -= 1

    def _get(self) -> None:
        parts = urlsplit(self.path)
        path, query = parts.path, parse_qs(parts.query)
        sc = self.server.scenario
        if path == "/config/waybackconfig.json":
            self.server.count("config", path)
            if sc.config_mode == "malformed":
                return self._send(200, b'{"10": {"itemTitle": "World Imagery (Wayback 2014-02-20)"')
            if sc.config_mode == "not-object":
                return self._json([1, 2, 3])
            if sc.config_mode == "deep":
                return self._send(200, DEEP_JSON)
            return self._json(self.server.config())
        if m := re.fullmatch(r"/wayback/MapServer/tilemap/(\d+)/(\d+)/(\d+)/(\d+)", path):
            self.server.count("tilemap", path)
            release, z, y, x = map(int, m.groups())
            if (z, x, y) in sc.failing_tilemaps:
                return self._send(500, b"tilemap failure", "text/plain")
            if sc.tilemap_mode == "deep":
                return self._send(200, DEEP_JSON)
            state = sc.state_at(release, (z, x, y))
            loc = {"left": x, "top": y, "width": 1, "height": 1}
            if state is None:  # as the real service: `select` names the release asked for, and no size
                return self._json({"data": [0], "location": loc, "select": [release], "valid": True})
            answer = {"data": [1], "location": loc, "select": [state[0]], "valid": True}
            if sc.tilemap_sizes:
                answer["size"] = [len(tile_png(state[1]))]
            return self._json(answer)
        if m := re.fullmatch(r"/wayback/tile/(\d+)/(\d+)/(\d+)/(\d+)", path):
            self.server.count("tile", path)
            if sc.tile_latency:
                time.sleep(sc.tile_latency)
            release, z, y, x = map(int, m.groups())
            state = sc.state_at(release, (z, x, y))
            if state is None:
                return self._send(404, b"no tile", "text/plain")
            return self._send(200, tile_png(state[1]), "image/png")
        if m := re.fullmatch(r"/xyz/(\d+)/(\d+)/(\d+)\.png", path):
            self.server.count("xyz", path)
            with self.server.lock:
                self.server.in_flight += 1
                self.server.most_in_flight = max(self.server.most_in_flight, self.server.in_flight)
            try:
                if sc.tile_latency:
                    time.sleep(sc.tile_latency)
            finally:
                with self.server.lock:
                    self.server.in_flight -= 1
            z, x, y = map(int, m.groups())
            # full 256-pixel tiles, as EOX serves: a 16-pixel one fills a corner and leaves a read all black
            return self._send(200, png(x * 7 + y, 256), "image/png")
        if m := re.fullmatch(r"/metadata/(World_Imagery_Metadata_\w+)/MapServer/(\d+)/query", path):
            self.server.count("metadata", path)
            release = next((n for n, _, i in sc.releases if sc.metadata_service(n, i) == m.group(1)), None)
            if release is None:
                self.server.unserved.append(path)
                return self._send(404, b"no such service", "text/plain")
            if release in sc.missing_metadata:
                return self._json({"error": {"code": 404, "message": "Service not found", "details": []}}, 404)
            if sc.metadata_mode == "error":
                return self._json({"error": {"code": 400, "message": "Invalid query parameters"}})
            if sc.metadata_mode == "malformed":
                return self._send(200, b'{"features": [{"attributes": ')
            if sc.metadata_mode == "deep":
                return self._send(200, DEEP_JSON)
            geom = json.loads(query.get("geometry", ["{}"])[0])
            attrs = sc.metadata(release, float(geom.get("x", 0)), float(geom.get("y", 0)))
            return self._json({**METADATA_FIELDS_DOC, "features": [{"attributes": attrs}] if attrs else []})
        if path.startswith("/fault/"):
            return self._fault(path[len("/fault/"):], parts.query)
        self.server.unserved.append(path)
        self._send(404, b"unknown path", "text/plain")

    def _fault(self, name: str, query: str) -> None:
        n = self.server.count("fault", f"{name}?{query}")
        if name == "404":
            return self._send(404, b"not found", "text/plain")
        if name == "429":
            return self._send(429, b"slow down", "text/plain", {"Retry-After": "1"})
        if name == "429-once":
            if n == 1:
                return self._send(429, b"slow down", "text/plain", {"Retry-After": "0"})
            return self._json({"ok": True})
        if name == "500":
            return self._send(500, b"boom", "text/plain")
        if name == "deep-json":  # a service answering [ x 200,000 (Python's parser: RecursionError)
            return self._send(200, DEEP_JSON)
        if name == "503-then-200":
            return self._send(503, b"busy", "text/plain") if n == 1 else self._json({"ok": True})
        if name == "drip":  # one byte every 0.1 s: each read is quick, the whole body is not
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", "200")
            self.end_headers()
            for _ in range(200):
                if self.server.stop.wait(0.1):
                    break
                try:
                    self.wfile.write(b"x")
                    self.wfile.flush()
                except OSError:
                    break
            self.close_connection = True
            return None
        if name == "hang":
            for _ in range(100):
                if self.server.stop.wait(0.1):
                    break
            self.close_connection = True
            return None
        if name == "truncated":
            body = png(1)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(body) + 500))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.close_connection = True
            return None
        if name == "gzip":  # a compressed JSON answer, as S3 and ArcGIS send when asked
            return self._send(200, gzip.compress(b'{"ok": true}'), "application/json", {"Content-Encoding": "gzip"})
        if name == "lowercase-retry-after":
            if n == 1:
                return self._send(429, b"slow down", "text/plain", {"retry-after": "0"})
            return self._json({"ok": True})
        if name == "html":
            return self._send(200, b"<html><body>Service maintenance</body></html>", "text/html")
        if name == "html-as-png":  # a content type that lies
            return self._send(200, b"<html><body>error</body></html>", "image/png")
        if name == "badjson":
            return self._send(200, b'{"features": [', "application/json")
        if name == "redirect-metadata":
            return self._send(302, b"", "text/plain", {"Location": "http://169.254.169.254/latest/meta-data/"})
        if name == "redirect-ok":
            return self._send(302, b"", "text/plain", {"Location": "/fault/503-then-200?k=redirect"})
        if m := re.fullmatch(r"status-(\d{3})", name):  # any status, with a plain-text body
            return self._send(int(m.group(1)), f"status {m.group(1)}".encode(), "text/plain")
        # A fault the fake does not serve: a test asking for it would pass on this 404 whatever the code does
        self.server.unserved.append(f"/fault/{name}")
        return self._send(404, b"unknown fault", "text/plain")


def synthetic_releases(count: int, start: dt.date = dt.date(2014, 2, 20)) -> list[tuple[int, str, str]]:
    """`count` releases about three weeks apart, numbered out of date order (as Esri's are)."""
    out, per_year = [], Counter()
    for i in range(count):
        d = start + dt.timedelta(days=int(i * 22.5))
        per_year[d.year] += 1
        number = 10 + (i * 7919) % 65000  # a permutation-like spread, not monotonic in date
        out.append((number, d.isoformat(), f"WB_{d.year}_R{per_year[d.year]:02d}"))
    assert len({n for n, _, _ in out}) == count
    return out[::-1]


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


NULL_METADATA_RELEASE = 23448  # answers like the real r2018_05: a release note, SAMP_RES and SRC_ACC null
RENAMED_METADATA = {6678: "World_Imagery_Metadata_2016_r19"}  # not WB_2016_R21's name, as real WB_2015_R14


def _metadata(release: int, lon: float, lat: float) -> dict | None:
    """Capture date a month or so before the release; the mixed release differs west and east."""
    if release == NO_METADATA_RELEASE or release == 0:
        return None
    rdate = dt.date.fromisoformat(dict((n, d) for n, d, _ in REAL_RELEASES)[release])
    captured = rdate - dt.timedelta(days=40)
    if release == MIXED_RELEASE and lon >= SPLIT_LON:
        captured = dt.date(2022, 5, 1)
    ms = int(dt.datetime(captured.year, captured.month, captured.day, tzinfo=dt.UTC).timestamp() * 1000)
    if release == NULL_METADATA_RELEASE:
        return {"SRC_DATE2": ms, "NICE_DESC": "Maxar", "SRC_DESC": f"{rdate.isoformat()} Release", "SAMP_RES": None,
                "SRC_ACC": None}
    return {"SRC_DATE2": ms, "NICE_DESC": "Maxar", "SRC_DESC": "WV03", "SAMP_RES": 0.31, "SRC_ACC": 4.1}


def site_scenario() -> Scenario:
    changes = {(z, x, y): list(DEFAULT_CHANGES) for z, x, y in SITE_TILES}
    changes[SPECIAL_TILE] = list(SPECIAL_CHANGES)
    return Scenario(changes=changes, default_changes=[], metadata=_metadata, metadata_names=dict(RENAMED_METADATA))


# -- pytest fixtures: the server starts once per session and is reset before each test; the client
# has small timeouts and allow-lists 127.0.0.1 (production refuses plain http and loopback hosts).


@pytest.fixture(scope="session")
def fake_server() -> Iterator[FakeServer]:
    srv = FakeServer().start()
    yield srv
    srv.close()


@pytest.fixture
def server(fake_server: FakeServer) -> Iterator[FakeServer]:
    fake_server.reset(site_scenario())
    yield fake_server
    # a test of a fault the fake does not serve passes on the 404 whatever the code does: make it say so
    assert not fake_server.unserved, f"the test asked the fake for paths it does not serve: {fake_server.unserved}"


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
