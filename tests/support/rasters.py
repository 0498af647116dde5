"""Rasters made by the tests, and a loopback HTTP server with Range support that logs every request."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import rasterio.shutil
from affine import Affine
from rasterio.io import MemoryFile

# A UTM 52N origin near 127.66 E, 39.92 N (the briefs' example site)
UTM52_ORIGIN = (385_000.0, 4_420_000.0)


def scene(height: int, width: int, bands: int = 3, seed: int = 0, dtype: str = "uint8") -> np.ndarray:
    """Textured imagery: smooth gradients plus blocks, so resampling and matching have structure."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    base = (np.sin(xx / 37.0) + np.cos(yy / 23.0)) * 40 + 110
    out = np.empty((bands, height, width), dtype="float64")
    for b in range(bands):
        out[b] = base + b * 15 + rng.normal(0, 6, (height, width))
    out = np.clip(out, 1, 254)
    if dtype == "uint16":
        return (out * 40).astype("uint16")
    return out.astype(dtype)


def write_tif(path: Path, data: np.ndarray, crs: str | None, transform: Affine | None,
              nodata: float | None = None, **profile: Any) -> Path:
    kwargs: dict[str, Any] = {"driver": "GTiff", "width": data.shape[2], "height": data.shape[1],
                              "count": data.shape[0], "dtype": data.dtype.name, "nodata": nodata}
    if crs is not None:
        kwargs["crs"] = crs
    if transform is not None:
        kwargs["transform"] = transform
    kwargs.update(profile)
    with rasterio.open(path, "w", **kwargs) as dst:
        dst.write(data)
    return path


def write_cog(path: Path, data: np.ndarray, crs: str, transform: Affine, nodata: float | None = None,
              **creation: Any) -> Path:
    """A real COG (GDAL COG driver), via an in-memory GeoTIFF."""
    with MemoryFile() as mem:
        with mem.open(driver="GTiff", width=data.shape[2], height=data.shape[1], count=data.shape[0],
                      dtype=data.dtype.name, crs=crs, transform=transform, nodata=nodata) as tmp:
            tmp.write(data)
        with mem.open() as tmp:
            opts = {"COMPRESS": "DEFLATE", "BLOCKSIZE": 256, "OVERVIEWS": "AUTO", **creation}
            rasterio.shutil.copy(tmp, path, driver="COG", **opts)
    return path


def write_jpeg_tiled_with_overviews(path: Path, data: np.ndarray, crs: str, transform: Affine) -> Path:
    write_tif(path, data, crs, transform, tiled=True, blockxsize=256, blockysize=256,
              compress="jpeg", photometric="ycbcr")
    with rasterio.open(path, "r+") as dst:
        dst.build_overviews([2, 4], rasterio.enums.Resampling.average)
    return path


def write_sparse(path: Path, width: int, height: int, count: int, crs: str = "EPSG:32652",
                 transform: Affine | None = None) -> Path:
    """A tiled, deflate, sparse GeoTIFF: tiny on disk, huge declared size (the decompression bomb)."""
    transform = transform or Affine(0.5, 0, UTM52_ORIGIN[0], 0, -0.5, UTM52_ORIGIN[1])
    with rasterio.open(path, "w", driver="GTiff", width=width, height=height, count=count, dtype="uint8",
                       crs=crs, transform=transform, tiled=True, blockxsize=512, blockysize=512,
                       compress="deflate", sparse_ok=True, nodata=0, bigtiff="yes"):
        pass
    return path


def write_vrt_disguised(path: Path, url: str, local_file: str) -> Path:
    """A VRT XML named .tif whose bands read a URL (SSRF) and a local file (disclosure)."""
    path.write_text(f"""<VRTDataset rasterXSize="16" rasterYSize="16">
  <VRTRasterBand dataType="Byte" band="1">
    <SimpleSource><SourceFilename relativeToVRT="0">/vsicurl/{url}</SourceFilename>
      <SourceBand>1</SourceBand></SimpleSource>
  </VRTRasterBand>
  <VRTRasterBand dataType="Byte" band="2" subClass="VRTRawRasterBand">
    <SourceFilename relativetoVRT="0">{local_file}</SourceFilename>
    <ImageOffset>0</ImageOffset><PixelOffset>1</PixelOffset><LineOffset>16</LineOffset>
  </VRTRasterBand>
</VRTDataset>
""", encoding="utf-8")
    return path


@dataclass
class Hit:
    method: str
    path: str
    range: str | None
    sent: int
    agent: str | None = None  # the User-Agent the server saw


@dataclass
class RangeServer:
    """Static files and JSON on 127.0.0.1; honours `Range: bytes=a-b` with 206 replies."""

    files: dict[str, bytes] = field(default_factory=dict)
    json_routes: dict[str, Any] = field(default_factory=dict)  # path -> object or callable(body) -> object
    hits: list[Hit] = field(default_factory=list)
    fail_next: dict[str, int] = field(default_factory=dict)  # path -> how many 503 replies before serving
    stall: dict[str, float] = field(default_factory=dict)  # path -> seconds to hang before replying
    redirects: dict[str, str] = field(default_factory=dict)  # path -> Location of a 302 reply
    latency: float = 0.0  # seconds every request waits before it is answered (benches: a distant service)
    # (path, query) -> a status to answer instead of serving (e.g. 403 for an expired signature), or None
    gate: Callable[[str, str], int | None] | None = None

    def __post_init__(self) -> None:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def _send(self, body: bytes, status: int = 200, ctype: str = "application/octet-stream",
                      extra: dict[str, str] | None = None, head: bool = False) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Accept-Ranges", "bytes")
                for k, v in (extra or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                if not head:
                    self.wfile.write(body)

            def _handle(self, head: bool = False) -> None:
                path, _, query = self.path.partition("?")
                if server.latency:
                    time.sleep(server.latency)
                rng = self.headers.get("Range")
                length = int(self.headers.get("Content-Length") or 0)
                body_in = self.rfile.read(length) if length else b""
                agent = self.headers.get("User-Agent")
                if path in server.redirects:
                    server.hits.append(Hit(self.command, path, rng, 0, agent))
                    return self._send(b"", 302, "text/plain", extra={"Location": server.redirects[path]}, head=head)
                if path in server.json_routes:
                    route = server.json_routes[path]
                    obj = route(body_in) if callable(route) else route
                    status = 200
                    if isinstance(obj, tuple):  # a callable may answer (status, object)
                        status, obj = obj
                    out = json.dumps(obj).encode()
                    server.hits.append(Hit(self.command, path, rng, len(out), agent))
                    return self._send(out, status, ctype="application/json", head=head)
                refused = server.gate(path, query) if server.gate else None
                if refused is not None:
                    server.hits.append(Hit(self.command, path, rng, 0, agent))
                    return self._send(b"refused", refused, "text/plain", head=head)
                if path in server.stall:
                    server.hits.append(Hit(self.command, path, rng, 0, agent))
                    time.sleep(server.stall[path])
                    return None
                if server.fail_next.get(path, 0) > 0:
                    server.fail_next[path] -= 1
                    server.hits.append(Hit(self.command, path, rng, 0, agent))
                    return self._send(b"busy", 503, "text/plain", head=head)
                data = server.files.get(path)
                if data is None:
                    server.hits.append(Hit(self.command, path, rng, 0, agent))
                    return self._send(b"not found", 404, "text/plain", head=head)
                if rng and rng.startswith("bytes="):
                    start_s, _, end_s = rng[6:].split(",")[0].partition("-")
                    start = int(start_s)
                    end = min(int(end_s) if end_s else len(data) - 1, len(data) - 1)
                    part = data[start:end + 1]
                    server.hits.append(Hit(self.command, path, rng, 0 if head else len(part), agent))
                    return self._send(part, 206, extra={"Content-Range": f"bytes {start}-{end}/{len(data)}"},
                                      head=head)
                server.hits.append(Hit(self.command, path, rng, 0 if head else len(data), agent))
                return self._send(data, head=head)

            def do_GET(self) -> None:  # noqa: N802 - http.server names
                self._handle()

            def do_HEAD(self) -> None:  # noqa: N802
                self._handle(head=True)

            def do_POST(self) -> None:  # noqa: N802
                self._handle()

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True  # a stalled handler must not block close()
        self._httpd.block_on_close = False
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def bytes_sent(self, path: str) -> int:
        return sum(h.sent for h in self.hits if h.path == path)
