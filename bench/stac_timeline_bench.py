"""Sentinel-2 timeline of one site: eight years at the February 11 Plant from a 127.0.0.1 STAC API and asset
server with `latency` seconds added to every request (a distant service), generated in Earth Search's shape.

    .venv/bin/python -m bench.stac_timeline_bench                  # 2017-2024, a scene every 5 days, 50 ms
    .venv/bin/python -m bench.stac_timeline_bench --quick          # every 20 days (make bench)
    .venv/bin/python -m bench.stac_timeline_bench --latency 0.05 --concurrency 8 --stitched

The latency floor: one request per search page (pages follow each other) plus one request per SCL window, at
the client's concurrency: (pages + ceil(windows / concurrency)) x latency. Reported: requests made (search,
SCL), seconds, and the ratio to the floor; the target is within 2x. Timings are information on a shared
machine: the exit status never depends on them.
"""

from __future__ import annotations

import datetime as dt
import math
import tempfile
from pathlib import Path

from bench import harness
from bench.harness import Report, once
from imagery.http import HttpClient, HttpConfig
from imagery.stac import Sentinel2Source, StacConfig
from tests.support.stac_replay import C1_BLOB, PLANT, StacReplay, plant_timeline

START, END = dt.date(2017, 1, 3), dt.date(2024, 12, 31)


def main() -> None:
    """Run the bench and print the figures."""
    ap = harness.parser(__doc__, "a scene every 20 days")
    ap.add_argument("--latency", type=float, default=0.05)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--every", type=int, default=0, help="days between scenes (default 5, 20 with --quick)")
    ap.add_argument("--stitched", action="store_true", help="the site on a tile edge: two items a date")
    args = ap.parse_args()
    every = args.every or (20 if args.quick else 5)
    with tempfile.TemporaryDirectory() as tmp:
        items, files = plant_timeline(Path(tmp), START, END, every_days=every, stitched=args.stitched)
        server = StacReplay(latency=args.latency)
        server.server.files.update(files)
        try:
            url = server.generated(items, page_size=100)
            client = HttpClient(HttpConfig(concurrency=args.concurrency, allow_hosts=frozenset({"127.0.0.1"})))
            source = Sentinel2Source(StacConfig(url=url, asset_mirrors={C1_BLOB: server.url}, max_retries=0),
                                     max_cloud=None, client=client)
            seconds, caps = once(lambda: source.captures(PLANT, START, END))
        finally:
            server.close()
    hits = server.server.hits
    search = [h for h in hits if not h.path.endswith(".tif")]
    scl = [h for h in hits if h.path.endswith("SCL.tif")]
    pages = len([h for h in search if h.path.endswith("/search")])
    windows = sum(len(c.extra["items"]) for c in caps)
    floor = (pages + math.ceil(windows / args.concurrency)) * args.latency
    rep = Report("stac-timeline")
    rep.out(f"eight years ({START} to {END}) at the February 11 Plant, a scene every {every} days"
            f"{', two tiles a date' if args.stitched else ''}; {args.latency * 1000:.0f} ms a request, "
            f"concurrency {args.concurrency}")
    rep.row("captures (dates)", f"{len(caps)}", f"{caps.items} items, left out {caps.left_out}")
    rep.row("search requests (catalogue + pages)", f"{len(search)}", f"{pages} pages")
    rep.row("SCL requests", f"{len(scl)}", f"{len(scl) / max(windows, 1):.1f} a window, {windows} windows")
    rep.row("seconds", f"{seconds:.2f}")
    rep.row("latency floor", f"{floor:.2f}", "(pages + ceil(windows / concurrency)) x latency")
    rep.data.update({"captures": len(caps), "items": caps.items, "pages": pages, "windows": windows,
                     "search_requests": len(search), "scl_requests": len(scl), "seconds": seconds, "floor": floor})
    rep.compare("ratio", "seconds / floor", seconds, floor, target=2.0)
    rep.write(quick=args.quick)


if __name__ == "__main__":
    main()
