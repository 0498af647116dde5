"""Imagery network benchmarks against the fake Wayback server on 127.0.0.1 (no internet needed).

    .venv/bin/python -m bench.imagery_network_bench
    .venv/bin/python -m bench.imagery_network_bench --quick     # 40 releases in the scan (make bench)
    .venv/bin/python -m bench.imagery_network_bench --latency 0.05 --concurrency 8 --releases 190

(a) Mosaic: fetch every z17 tile covering a ~2 km site (about 80-90 tiles) with `latency` seconds
    added per tile, through HttpClient.get_many with bounded concurrency. The floor set by latency
    and concurrency is tiles x latency / concurrency; the target is elapsed <= 2x that floor.
(b) Local changes: scan the same site over `releases` synthetic releases (numbers out of date
    order). Reports requests made against the naive way (one tile request per release per tile),
    then a second scan with a fresh client on the same cache, which should make no requests.

Prints figures and writes them as JSON to bench/out/imagery-network-<time>.json (bench.harness).
Timings are information on a shared machine: the exit status never depends on them.
"""

from __future__ import annotations

import sys
import tempfile

import numpy as np

from bench import harness
from bench.harness import Report, once
from imagery.cache import Cache
from imagery.errors import ImageryError
from imagery.http import HttpClient, HttpConfig
from imagery.mosaics import decode_tile
from imagery.tiles import Tile, tiles_for_area
from imagery.wayback import Endpoints, Wayback
from tests.support.fake_wayback import FakeServer, Scenario, synthetic_releases

SITE_CENTRE = (127.6571, 39.9202)  # the brief's test point, Hamhung
HALF_SIDE_DEG_LAT = 1.0 / 111.32  # 1 km


def site_bbox() -> tuple[float, float, float, float]:
    import math

    lon, lat = SITE_CENTRE
    dlon = HALF_SIDE_DEG_LAT / math.cos(math.radians(lat))
    return lon - dlon, lat - HALF_SIDE_DEG_LAT, lon + dlon, lat + HALF_SIDE_DEG_LAT


def config(concurrency: int) -> HttpConfig:
    return HttpConfig(concurrency=concurrency, allow_hosts=frozenset({"127.0.0.1"}), deadline=10.0)


def bench_mosaic(server: FakeServer, tiles: list[Tile], latency: float, concurrency: int) -> dict:
    """Fetch every tile through get_many with `latency` added per tile; decode them into one mosaic."""
    server.reset(Scenario(tile_latency=latency))
    urls = [f"{server.base}/xyz/{t.z}/{t.x}/{t.y}.png" for t in tiles]
    with HttpClient(config(concurrency)) as client:
        client.get(f"{server.base}/xyz/1/0/0.png")  # warm the connection pool's first socket
        elapsed, out = once(lambda: client.get_many(urls, expect="image"))
    failed = sum(isinstance(r, ImageryError) for r in out)

    def assemble_mosaic() -> np.ndarray | None:  # decode each tile into its slot
        x0, y0 = min(t.x for t in tiles), min(t.y for t in tiles)
        mosaic = None
        for t, r in zip(tiles, out, strict=True):
            if isinstance(r, ImageryError):
                continue
            px = decode_tile(r.body)
            size = px.shape[1]
            if mosaic is None:
                cols, rows = max(t.x for t in tiles) - x0 + 1, max(t.y for t in tiles) - y0 + 1
                mosaic = np.zeros((3, rows * size, cols * size), dtype=np.uint8)
            mosaic[:, (t.y - y0) * size:(t.y - y0 + 1) * size, (t.x - x0) * size:(t.x - x0 + 1) * size] = px
        return mosaic

    assemble, mosaic = once(assemble_mosaic)
    floor = len(tiles) * latency / concurrency
    return {"tiles": len(tiles), "latency_s": latency, "concurrency": concurrency, "elapsed_s": round(elapsed, 3),
            "floor_s": round(floor, 3), "ratio": round(elapsed / floor, 2) if floor else None, "failed": failed,
            "bytes": sum(len(r.body) for r in out if not isinstance(r, ImageryError)),
            "assemble_s": round(assemble, 3), "mosaic_shape": list(mosaic.shape) if mosaic is not None else None}


def scan_scenario(tiles: list[Tile], n_releases: int, latency: float) -> Scenario:
    """`n_releases` synthetic releases; each tile changes every ~19 of them, some changes repeating bytes."""
    rels = synthetic_releases(n_releases)
    oldest_first = [n for n, _, _ in reversed(rels)]
    changes = {}
    for i, t in enumerate(tiles):
        # each tile changes every ~19 releases, offset per tile; every third change repeats the bytes
        steps = list(range(i % 7, n_releases, 19))
        seq, seed = [], 0
        for k, idx in enumerate(steps):
            if k % 3 != 2:
                seed += 1
            seq.append((oldest_first[idx], seed * 1000 + i))
        if steps[0] != 0:
            seq.insert(0, (oldest_first[0], i))
        changes[(t.z, t.x, t.y)] = seq
    return Scenario(releases=rels, changes=changes, tile_latency=latency)


def bench_scan(server: FakeServer, tiles: list[Tile], n_releases: int, latency: float, concurrency: int) -> dict:
    """Scan the site for local changes twice, the second time with a fresh client on the same cache."""
    server.reset(scan_scenario(tiles, n_releases, latency))
    endpoints = Endpoints(config_url=f"{server.base}/config/waybackconfig.json",
                          service_root=f"{server.base}/wayback/MapServer",
                          tile_url=f"{server.base}/wayback/tile/{{release}}/{{z}}/{{y}}/{{x}}", subdomains=())
    with tempfile.TemporaryDirectory() as tmp:
        cache = Cache(tmp)
        with HttpClient(config(concurrency)) as client:
            t1, first = once(lambda: Wayback(client, cache, endpoints, max_tiles=1024).local_changes(site_bbox(), 17))
        counts1 = dict(server.counts)
        server.counts.clear()
        with HttpClient(config(concurrency)) as client:
            t2, second = once(lambda: Wayback(client, cache, endpoints, max_tiles=1024).local_changes(site_bbox(), 17))
        counts2 = dict(server.counts)
        cache.close()
    assert [r.number for r in first.releases] == [r.number for r in second.releases]
    return {
        "releases": n_releases, "tiles": len(first.tiles), "changed_releases": len(first.releases),
        "requests": first.requests, "naive_requests": first.naive_requests,
        "ratio_vs_naive": round(first.requests / first.naive_requests, 3),
        "by_kind": {k: v for k, v in counts1.items() if k != "total"}, "elapsed_s": round(t1, 3),
        "second_scan_requests": second.requests, "second_scan_server_hits": counts2.get("total", 0),
        "second_scan_elapsed_s": round(t2, 3), "tile_errors": len(first.errors),
    }


def main(argv: list[str] | None = None) -> int:
    """Start the fake server, run both benches, print and save the figures."""
    ap = harness.parser(__doc__, "40 releases in the local-changes scan")
    ap.add_argument("--latency", type=float, default=0.05)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--releases", type=int, help="releases in the scan (default 190)")
    args = ap.parse_args(argv)
    args.releases = args.releases or (40 if args.quick else 190)
    tiles = tiles_for_area(site_bbox(), 17)
    server = FakeServer().start()
    try:
        mosaic = bench_mosaic(server, tiles, args.latency, args.concurrency)
        scan = bench_scan(server, tiles, args.releases, args.latency, args.concurrency)
    finally:
        server.close()
    rep = Report("imagery-network")
    rep.data.update(mosaic=mosaic, scan=scan)
    rep.out(f"(a) mosaic: {mosaic['tiles']} tiles at z17, {args.latency * 1000:.0f} ms each, {args.concurrency} in "
            f"flight: {mosaic['elapsed_s']:.3f} s vs floor {mosaic['floor_s']:.3f} s = {mosaic['ratio']}x; "
            f"failed {mosaic['failed']}; decoded into {mosaic['mosaic_shape']} in {mosaic['assemble_s']:.3f} s")
    rep.verdict("(a) mosaic: elapsed / latency floor <= 2x", mosaic["ratio"] is not None and mosaic["ratio"] <= 2,
                f"{mosaic['ratio']}x")
    rep.out(f"(b) local changes: {scan['tiles']} tiles x {scan['releases']} releases: {scan['requests']} requests "
            f"vs naive {scan['naive_requests']} ({scan['ratio_vs_naive']:.1%}); {scan['by_kind']}; "
            f"{scan['changed_releases']} releases with changes; {scan['elapsed_s']:.2f} s")
    rep.out(f"    second scan: {scan['second_scan_requests']} requests ({scan['second_scan_server_hits']} at the "
            f"server), {scan['second_scan_elapsed_s']:.2f} s")
    rep.write(quick=args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
