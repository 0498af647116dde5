"""Wayback change scan over the February 11 Plant's outline on the replayed real tilemap chain (issue 15B).

Every z17 tile over the plant's padded box answers with Esri's recorded chain (tests/support/
replay_wayback.py: 194 real releases, three changes with `size`, then no imagery). Our scan runs
once with sizes (the real service) and once without (older answers): requests made, Esri tile
bytes downloaded, and the same counts for wayback-core's request pattern (tilemap walk plus one
tile download per candidate) on the same replay. Targets: 0 tile bytes where sizes decide, and
requests at most 1.5x wayback-core's for the same set of tiles.

Run: python -m bench.wayback_scan_bench [--quick]
"""

from __future__ import annotations

import random
import tempfile

from facilities.store import open_store
from imagery.aoi import AreaOfInterest
from imagery.cache import Cache
from imagery.http import HttpClient, HttpConfig
from imagery.tiles import tiles_for_area
from imagery.wayback import Wayback
from tests.support.replay_wayback import ReplayServer, wayback_core_scan
from tracker.seeding import ensure_seeded

from . import harness
from .harness import Report, once

PLANT = "february-11-plant"


def plant_aoi(folder: str) -> AreaOfInterest:
    """The seed plant's outline, from a fresh seeded registry."""
    store = open_store(f"{folder}/registry.gpkg")
    ensure_seeded(store)
    try:
        return AreaOfInterest.of(store.get_facility(PLANT).geometry)
    finally:
        store.close()


def scan(srv: ReplayServer, folder: str, aoi: AreaOfInterest, sizes: bool, zoom: int) -> dict:
    """One cold scan (empty cache) of the plant: counts from the scan and from the replay."""
    srv.reset()
    srv.replay.sizes = sizes
    host = srv.base.split("//")[1]
    config = HttpConfig(connect_timeout=2, read_timeout=5, deadline=10, retries=1, concurrency=4,
                        allow_hosts=frozenset({host}))
    with HttpClient(config, rng=random.Random(0)) as client:
        cache = Cache(f"{folder}/cache-{sizes}-{zoom}")
        wb = Wayback(client, cache, srv.endpoints(), zoom=zoom)
        releases = wb.releases()
        srv.counts.clear()
        seconds, result = once(lambda: wb.local_changes(aoi.bbox, zoom, releases=releases))
        cache.close()
    return {"tiles": len(result.tiles), "changed": [r.number for r in result.releases], "requests": result.requests,
            "tilemap_requests": srv.counts["tilemap"], "tile_requests": srv.counts["tile"],
            "tile_fetches": result.tile_fetches, "tile_bytes": result.tile_bytes, "seconds": round(seconds, 3)}


def core_baseline(srv: ReplayServer, tiles: list) -> dict:
    """wayback-core's request pattern for every tile of the same set, on the same replay (sizes on: it ignores
    them and downloads every candidate)."""
    srv.reset()
    requests, kept = 0, set()
    for t in tiles:
        found, n = wayback_core_scan(srv.base, srv.config, (t.z, t.x, t.y))
        requests += n
        kept.update(found)
    return {"requests": requests, "tile_requests": srv.counts["tile"], "changed": sorted(kept, reverse=True)}


def main() -> None:
    """Scan the plant with and without sizes, count wayback-core's requests for the same tiles, print and write."""
    args = harness.parser(__doc__, "z16 only (fewer tiles)").parse_args()
    zoom = 16 if args.quick else 17
    rep = Report("wayback-scan")
    srv = ReplayServer().start()
    try:
        with tempfile.TemporaryDirectory(prefix="wayback-bench.") as folder:
            aoi = plant_aoi(folder)
            ours = scan(srv, folder, aoi, True, zoom)
            no_size = scan(srv, folder, aoi, False, zoom)
            core = core_baseline(srv, tiles_for_area(aoi.bbox, zoom, max_tiles=256))  # Wayback's max_tiles
    finally:
        srv.close()
    rep.data.update(zoom=zoom, ours=ours, without_sizes=no_size, wayback_core=core)
    rep.section(f"the plant's padded box at z{zoom}: {ours['tiles']} tiles, 194 real releases")
    for label, figures in (("ours, tilemap with size", ours), ("ours, tilemap without size", no_size)):
        rep.row(f"{label}: requests", f"{figures['requests']:,}",
                f"{figures['tile_requests']} tile requests, {figures['tile_bytes']:,} tile bytes, "
                f"{figures['seconds']} s")
    rep.row("wayback-core's pattern: requests", f"{core['requests']:,}", f"{core['tile_requests']} tile requests")
    rep.section("verdicts")
    rep.verdict("0 tile bytes where sizes decide", ours["tile_bytes"] == 0 and ours["tile_requests"] == 0,
                f"{ours['tile_bytes']} bytes in {ours['tile_requests']} tile requests")
    rep.compare("requests_vs_wayback_core", "requests vs wayback-core's (sizes)", ours["requests"], core["requests"],
                target=1.5)
    rep.compare("requests_vs_wayback_core_no_size", "requests vs wayback-core's (no sizes)", no_size["requests"],
                core["requests"], target=1.5)
    rep.verdict("same releases as wayback-core", ours["changed"] == core["changed"] == no_size["changed"],
                f"ours {ours['changed']}, wayback-core {core['changed']}")
    rep.write()


if __name__ == "__main__":
    main()
