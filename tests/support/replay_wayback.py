"""The real Wayback answers replayed from 127.0.0.1, and wayback-core's request pattern as a baseline.

The answers are Esri's own recordings (tests/imagery/data/real-services/wayback/, see its
PROVENANCE.md): the full release catalogue (194 releases), one tile's whole tilemap chain with
`size`, and metadata answers with nulls. Only the hosts in absolute URLs are rewritten, as a
mirror would. The recorded chain is replayed for every tile asked for (so a site's outline
covering many tiles walks the real chain at each), answering a tilemap request for release R
with the newest recorded change not newer than R, or `{"data":[0],"select":[R]}` before the
first: for the recorded tile this reproduces the recording request for request.

`wayback_core_scan` is Esri/wayback-core's change scan (1.0.x: the tilemap walk, then one tile
download per candidate to remove duplicates) written with urllib, counting its requests: the
baseline a scan's request count is compared with (tests and bench/wayback_scan_bench.py).
"""

from __future__ import annotations

import json
import re
import threading
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from imagery.wayback import Endpoints

DATA = Path(__file__).resolve().parents[1] / "imagery" / "data" / "real-services" / "wayback"
TILE_HOST = "https://wayback.maptiles.arcgis.com/arcgis/rest/services/World_Imagery"
METADATA_HOST = "https://metadata.maptiles.arcgis.com/arcgis/rest/services"
RECORDED_TILE = (20, 182935, 418669)  # z, x, y of tilemaps.json (Redlands, CA)
TITLE_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def load(name: str) -> object:
    """One recorded answer, parsed."""
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def release_dates(config: dict) -> dict[int, str]:
    """Release number -> its date, from the catalogue's titles."""
    return {int(k): m.group(0) for k, v in config.items() if (m := TITLE_DATE.search(v.get("itemTitle", "")))}


@dataclass
class Replay:
    """What the replay serves; tests change it between requests."""

    sizes: bool = True  # False: the tilemap answers lose `size` (as older services and fakes answered)
    missing_metadata: set[str] = field(default_factory=set)  # metadata service names answering 404
    null_metadata: set[str] = field(default_factory=set)  # service names answering every attribute null


class ReplayServer(ThreadingHTTPServer):
    """The recorded Wayback answers on 127.0.0.1; requests counted by kind (config, tilemap, tile, metadata)."""

    daemon_threads = True
    block_on_close = False

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.replay = Replay()
        self.counts: Counter[str] = Counter()
        self.paths: list[str] = []
        self.lock = threading.Lock()
        config = load("waybackconfig.json")
        assert isinstance(config, dict)
        self.config: dict = config
        self.dates = release_dates(self.config)
        chain = load("tilemaps.json")
        assert isinstance(chain, list)
        self.chain = chain  # newest first
        self.metadata = load("metadata.json")
        self.full_metadata = load("metadata-query-full-release-13161.json")
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        """http://127.0.0.1:<port>."""
        return f"http://127.0.0.1:{self.server_address[1]}"

    def endpoints(self, **overrides: object) -> Endpoints:
        """Endpoints pointing at this replay (the catalogue's metadata URLs are rewritten to it as well)."""
        base: dict[str, object] = dict(config_url=f"{self.base}/config/waybackconfig.json",
                    service_root=f"{self.base}/wayback/MapServer",
                    tile_url=f"{self.base}/wayback/WMTS/1.0.0/default028mm/MapServer/tile/{{release}}/{{z}}/{{y}}/{{x}}",
                    subdomains=())
        base.update(overrides)
        return Endpoints(**base)  # type: ignore[arg-type]

    def start(self) -> ReplayServer:
        """Serve in a daemon thread."""
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving and close the socket."""
        self.shutdown()
        self.server_close()

    def reset(self) -> None:
        """Default answers, counts cleared."""
        with self.lock:
            self.replay = Replay()
            self.counts.clear()
            self.paths.clear()

    def count(self, kind: str, path: str) -> None:
        """Count one request."""
        with self.lock:
            self.counts[kind] += 1
            self.counts["total"] += 1
            self.paths.append(path)

    def rewritten_config(self) -> bytes:
        """The catalogue with Esri's hosts replaced by this server (a mirror's rewrite, nothing else)."""
        text = (DATA / "waybackconfig.json").read_text(encoding="utf-8")
        text = text.replace(TILE_HOST, f"{self.base}/wayback").replace(METADATA_HOST, f"{self.base}/metadata")
        return text.encode()

    def tilemap(self, release: int, z: int, y: int, x: int) -> dict:
        """The recorded chain's answer for a request of `release`."""
        loc = {"height": 1, "left": x, "top": y, "width": 1}
        asked = self.dates.get(release, "")
        for answer in self.chain:
            if answer["data"][0] and self.dates.get(answer["select"][0], "9999") <= asked:
                out = {**answer, "location": loc}
                if not self.replay.sizes:
                    out.pop("size", None)
                return out
        return {"data": [0], "location": loc, "select": [release], "valid": True}

    def tile(self, release: int) -> bytes | None:
        """Tile bytes standing in for Esri's: as long as the recorded size, different per changed release."""
        answer = self.tilemap(release, 0, 0, 0)
        if not answer["data"][0]:
            return None
        shown = answer["select"][0]
        size = next(a["size"][0] for a in self.chain if a["data"][0] and a["select"][0] == shown)
        head = b"\xff\xd8\xff\xe0" + str(shown).encode()
        return head + bytes((shown + i) % 251 for i in range(size - len(head) - 2)) + b"\xff\xd9"

    def metadata_answer(self, service: str) -> tuple[int, object]:
        """(status, body) of a metadata query to this service."""
        if service in self.replay.missing_metadata:
            return 404, {"error": {"code": 404, "message": "Service not found", "details": []}}
        m = re.fullmatch(r"World_Imagery_Metadata_(\d{4})_r(\d+)", service)
        key = f"r{m.group(1)}_{m.group(2)}" if m else "default"
        assert isinstance(self.metadata, dict)
        doc = self.metadata.get(key) or self.metadata["default"]
        if service == "World_Imagery_Metadata_2017_r21":  # release 13161's service: the whole ArcGIS answer
            doc = self.full_metadata
        if service in self.replay.null_metadata:
            doc = {"features": [{"attributes": {k: None for k in ("SRC_DATE2", "NICE_DESC", "SRC_DESC", "SAMP_RES",
                                                                   "SRC_ACC")}}]}
        return 200, doc


class _Handler(BaseHTTPRequestHandler):
    server: ReplayServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _send(self, status: int, body: bytes, ctype: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        path = urlsplit(self.path).path
        srv = self.server
        if path == "/config/waybackconfig.json":
            srv.count("config", path)
            return self._send(200, srv.rewritten_config())
        if m := re.fullmatch(r"/wayback/MapServer/tilemap/(\d+)/(\d+)/(\d+)/(\d+)", path):
            srv.count("tilemap", path)
            return self._send(200, json.dumps(srv.tilemap(*map(int, m.groups()))).encode())
        if m := re.fullmatch(r"/wayback/WMTS/1\.0\.0/default028mm/MapServer/tile/(\d+)/(\d+)/(\d+)/(\d+)", path):
            srv.count("tile", path)
            body = srv.tile(int(m.group(1)))
            return self._send(404, b"no tile", "text/plain") if body is None else self._send(200, body, "image/jpeg")
        if m := re.fullmatch(r"/(?:metadata|mirror)/(\w+)/MapServer/(\d+)/query", path):
            srv.count("metadata", path)
            status, doc = srv.metadata_answer(m.group(1))
            return self._send(status, json.dumps(doc).encode())
        srv.count("unserved", path)
        return self._send(404, b"unknown path", "text/plain")


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # 127.0.0.1 directly, never a proxy


def _get(url: str) -> bytes:
    with _OPENER.open(url, timeout=10) as resp:
        return resp.read()


def wayback_core_scan(base: str, config: dict, tile: tuple[int, int, int]) -> tuple[list[int], int]:
    """Esri/wayback-core's getWaybackItemsWithLocalChanges for one tile (z, x, y) against `base`: the tilemap walk
    from the newest release, then every candidate's tile downloaded, oldest first, dropping bytes equal to the
    previous kept. Returns (release numbers kept, newest first; requests made)."""
    z, x, y = tile
    dates = release_dates(config)
    ordered = sorted(dates, key=lambda n: (dates[n], n), reverse=True)
    pos = {n: i for i, n in enumerate(ordered)}
    requests, found = 0, []
    release: int | None = ordered[0]
    while release is not None:
        doc = json.loads(_get(f"{base}/wayback/MapServer/tilemap/{release}/{z}/{y}/{x}"))
        requests += 1
        if not doc["data"][0]:
            break
        last = int(doc["select"][0]) if doc.get("select") else release
        found.append(last)
        i = pos[last] + 1
        release = ordered[i] if i < len(ordered) else None
    kept: list[int] = []
    previous: bytes | None = None
    for number in reversed(found):
        try:
            body = _get(f"{base}/wayback/WMTS/1.0.0/default028mm/MapServer/tile/{number}/{z}/{y}/{x}")
        except urllib.error.HTTPError:
            body = b""
        requests += 1
        if previous is None or body != previous:
            kept.append(number)
            previous = body
    return kept[::-1], requests
