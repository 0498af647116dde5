"""The watch scan at scale (issue 20): N generated sites (each in a Wayback z17 tile of its own) against the fake
Wayback and a fake STAC API on 127.0.0.1, every answer `latency` seconds late (a distant service), 1 % of sites with
news.

    .venv/bin/python -m bench.watch_bench              # 10,000 sites (memory at 10,000 and 20,000)
    .venv/bin/python -m bench.watch_bench --quick      # 1,000 sites (memory at 1,000 and 2,000): make bench

Phases, each on a fresh registry run (and a fresh imagery cache unless said):
1. quiet: no Wayback release and no scene newer than the sites' review. Requests per site (target <= 2, the
   Wayback catalogue being cached: one STAC search a site), sites per minute, and the latency floor of those
   requests at the client's concurrency: requests x latency / concurrency.
2. new release: the tilemap chains cached by an earlier scan, then one new Wayback release in which 1 % of the
   sites' tiles changed. Tilemap requests per tile (target <= 1), the sites found (exactly the 1 %).
3. the quiet phase on a two-worker LocalCluster (processes, 4 threads each, the cluster budget = the local
   client's concurrency) against the local pool of 4 threads: the speed-up.
4. memory: tracemalloc's peak in the driver for the quiet scan of N and of 2N sites (flat: bytes a site alike).
Timings are information on a shared machine: the exit status never depends on them.
"""

from __future__ import annotations

import datetime as dt
import math
import tempfile
import tracemalloc
from pathlib import Path
from typing import Any

from shapely.geometry import box

from bench import harness
from bench.harness import Report, once
from facilities.model import Facility
from facilities.store import open_store
from imagery.wayback import Endpoints
from tests.support.fake_wayback import FakeServer, Scenario
from tests.support.stac_replay import StacReplay
from tests.support.watch_cluster import fake_session, recipe
from tracker.watch.run import ScanReport, scan_watchlist, watch_tables

Z = 17
X0, Y0 = 112_300, 49_600  # z17 tiles over North Korea
CONCURRENCY = 8
WORKERS = 4
HTTP: dict[str, Any] = {"concurrency": CONCURRENCY, "read_timeout": 5.0, "deadline": 15.0, "connect_timeout": 2.0}


def _tile_center(x: int, y: int) -> tuple[float, float]:
    n = 2 ** Z
    lon = (x + 0.5) / n * 360.0 - 180.0
    lat = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * (y + 0.5) / n))))
    return lon, lat


def _tiles(n: int) -> list[tuple[int, int, int]]:
    side = math.ceil(math.sqrt(n))
    return [(Z, X0 + 3 * (i % side), Y0 + 3 * (i // side)) for i in range(n)]


class Bench:
    """The fakes, and registries of generated sites."""

    def __init__(self, root: Path, latency: float) -> None:
        self.root = root
        self.wayback = FakeServer().start()
        self.stac = StacReplay(latency=latency)
        self.stac_url = self.stac.generated([], page_size=100)  # no scene anywhere: searches answer empty pages
        self.latency = latency
        base = Scenario()
        self.releases = sorted(base.releases, key=lambda r: r[1])
        self.newest = self.releases[-1]
        self.oldest = self.releases[0]

    def close(self) -> None:
        """Stop the fakes."""
        self.wayback.close()
        self.stac.close()

    def endpoints(self, version: str) -> Endpoints:
        """The fake Wayback; `version` in the catalogue's URL: a new catalogue is a new cache entry."""
        b = self.wayback.base
        return Endpoints(config_url=f"{b}/config/waybackconfig.json?v={version}", service_root=f"{b}/wayback/MapServer",
                         tile_url=f"{b}/wayback/tile/{{release}}/{{z}}/{{y}}/{{x}}", subdomains=())

    def scenario(self, n: int, news: set[int], with_newest: bool) -> Scenario:
        """Every site's tile imaged in the oldest release; the `news` sites' tiles changed in the newest."""
        changes = ({t: [(self.oldest[0], 1), (self.newest[0], 2)] for i, t in enumerate(_tiles(n)) if i in news}
                   if with_newest else {})
        releases = self.releases if with_newest else self.releases[:-1]
        return Scenario(releases=list(releases), changes=changes, default_changes=[(self.oldest[0], 1)],
                        latency=self.latency)

    def registry(self, name: str, n: int) -> tuple[object, Path]:
        """A registry of n watched sites (a 40 m square in the middle of its own z17 tile)."""
        path = self.root / name
        path.mkdir()
        store = open_store(str(path / "r.gpkg"))
        for i, (_z, x, y) in enumerate(_tiles(n)):
            lon, lat = _tile_center(x, y)
            d = 0.0002
            store.add_facility(Facility(id=f"site-{i:05d}", name=f"Site {i}", country="KP", category="bench",
                                        geometry=box(lon - d, lat - d, lon + d, lat + d)), actor="bench")
        watch_tables(store).add([f"site-{i:05d}" for i in range(n)], actor="bench")
        (path / "data").mkdir()
        return store, path

    def counts(self) -> tuple[int, int, int]:
        """(all requests, Wayback tilemap requests, STAC requests) so far."""
        stac = len(self.stac.server.hits)
        return self.wayback.counts["total"] + stac, self.wayback.counts["tilemap"], stac

    def scan(self, store: object, path: Path, since: dt.date, version: str, cache: str,
             executor: object = None) -> ScanReport:
        """One scan of the registry on a session of its own (the local pool unless an executor is given)."""
        session = fake_session(str(path), str(path / "data"), self.endpoints(version), cache_dir=cache,
                               stac_url=self.stac_url, **HTTP)
        try:
            return scan_watchlist(store, session, actor="bench", since=since, workers=WORKERS,  # type: ignore[arg-type]
                                  executor=executor)  # type: ignore[arg-type]
        finally:
            session.close()


def main() -> None:
    """Run the bench and print the figures."""
    ap = harness.parser(__doc__, "1,000 sites (2,000 for the memory figure)")
    ap.add_argument("--sites", type=int, default=0, help="sites (default 10,000; 1,000 with --quick)")
    ap.add_argument("--latency", type=float, default=0.05)
    ap.add_argument("--no-dask", action="store_true", help="leave out the LocalCluster phase")
    args = ap.parse_args()
    n = args.sites or (1000 if args.quick else 10_000)
    news = set(range(0, n, 100))  # 1 %
    rep = Report("watch")
    rep.out(f"{n:,} generated sites, each in a z17 tile of its own, {len(news)} ({len(news) / n:.0%}) with a new "
            f"Wayback release; every answer {args.latency * 1000:.0f} ms late; client concurrency {CONCURRENCY}, "
            f"{WORKERS} scan threads")
    with tempfile.TemporaryDirectory() as tmp:
        b = Bench(Path(tmp), args.latency)
        try:
            since_quiet = dt.date.fromisoformat(b.newest[1])  # nothing published after the newest release
            since_news = since_quiet - dt.timedelta(days=1)
            b.wayback.reset(b.scenario(n, news, with_newest=True))

            # 1. quiet
            rep.section("1. quiet: no new release, no new scene")
            store, path = b.registry("quiet", n)
            before = b.counts()
            secs, quiet = once(lambda: b.scan(store, path, since_quiet, "full", "cache"))
            total, _tm, stac = (a - c for a, c in zip(b.counts(), before, strict=True))
            per_site = total / n
            floor = total * args.latency / CONCURRENCY
            rep.row("requests", f"{total}", f"{stac} STAC searches, {total - stac} Wayback (the catalogue)")
            rep.row("requests a site", f"{per_site:.3f}", "target <= 2")
            rep.row("findings / failures", f"{len(quiet.findings)} / {len(quiet.failures)}")
            rep.row("seconds", f"{secs:.1f}", f"{n / secs * 60:,.0f} sites a minute")
            rep.row("latency floor", f"{floor:.1f}", "requests x latency / concurrency")
            rep.verdict("requests a site <= 2", per_site <= 2, f"{per_site:.3f}")
            rep.compare("quiet_vs_floor", "seconds / latency floor", secs, floor)
            rep.data.update({"sites": n, "quiet_requests": total, "quiet_requests_per_site": per_site,
                             "quiet_seconds": secs, "quiet_sites_per_minute": n / secs * 60, "quiet_floor": floor})

            # 2. a new release: the chains cached by a scan before it was published
            rep.section("2. a new Wayback release (1 % of tiles changed), tilemap chains cached before")
            store2, path2 = b.registry("release", n)
            b.wayback.reset(b.scenario(n, news, with_newest=False))
            warm_s, _warm = once(lambda: b.scan(store2, path2, dt.date(2000, 1, 1), "before", "cache"))
            b.wayback.reset(b.scenario(n, news, with_newest=True))
            before = b.counts()
            secs2, fresh = once(lambda: b.scan(store2, path2, since_news, "after", "cache"))
            total2, tilemaps, stac2 = (a - c for a, c in zip(b.counts(), before, strict=True))
            # (z, y, x) of every tile the scan asked about
            tiles = len({tuple(p.rsplit("/", 3)[1:]) for p in b.wayback.paths if "/tilemap/" in p})
            found = {int(f.facility_id.split("-")[1]) for f in fresh.findings}
            floor2 = total2 * args.latency / CONCURRENCY
            rep.row("warm-up scan (cold cache, before the release)", f"{warm_s:.1f} s")
            rep.row("tilemap requests a tile", f"{tilemaps / tiles:.3f}", f"{tilemaps} for {tiles} tiles (each "
                    f"site's outline and margin: {tiles / n:.0f} tiles); target <= 1")
            rep.row("requests a site", f"{total2 / n:.3f}", f"{stac2} STAC searches")
            rep.row("sites found", f"{len(found)}", f"exactly the {len(news)} with news: {found == news}")
            rep.row("seconds", f"{secs2:.1f}", f"{n / secs2 * 60:,.0f} sites a minute; floor {floor2:.1f} s")
            rep.verdict("tilemap requests a tile <= 1", tilemaps / tiles <= 1, f"{tilemaps / tiles:.3f}")
            rep.verdict("found exactly the sites with news", found == news and not fresh.failures,
                        f"{len(found)} found, {len(fresh.failures)} failed")
            rep.compare("release_vs_floor", "seconds / latency floor", secs2, floor2)
            rep.data.update({"release_tilemaps_per_tile": tilemaps / tiles, "release_tiles": tiles,
                             "release_requests": total2, "release_seconds": secs2,
                             "release_found_exact": found == news})
            b.wayback.reset(b.scenario(n, news, with_newest=True))

            # 3. the LocalCluster
            if not args.no_dask:
                rep.section("3. the quiet scan on a two-worker LocalCluster (4 threads each)")
                import distributed

                from tracker.watch.cluster import DaskSites

                cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=WORKERS, processes=True,
                                                   host="127.0.0.1", dashboard_address=None)
                client = distributed.Client(cluster, set_as_default=False)
                try:
                    store3, path3 = b.registry("dask", n)
                    runner = DaskSites(client, recipe(path3, path3 / "data", b.endpoints("full"), cache_dir="cache",
                                                      stac_url=b.stac_url, **HTTP), concurrency=CONCURRENCY)
                    before = b.counts()
                    secs3, on_cluster = once(lambda: b.scan(store3, path3, since_quiet, "full", "cache", runner))
                    total3 = b.counts()[0] - before[0]
                    runner.close()
                finally:
                    client.close()
                    cluster.close()
                rep.row("seconds", f"{secs3:.1f}", f"{n / secs3 * 60:,.0f} sites a minute, {total3} requests, "
                        f"{len(on_cluster.failures)} failed")
                rep.compare("dask_speedup", "local seconds / cluster seconds (the speed-up)", secs, secs3)
                rep.data.update({"dask_seconds": secs3, "dask_requests": total3})

            # 4. memory
            rep.section("4. driver memory (tracemalloc peak) of the quiet scan at N and 2N")
            peaks = {}
            for size in (n, 2 * n):
                b.wayback.reset(b.scenario(2 * n, set(), with_newest=True))
                s4, p4 = b.registry(f"mem{size}", size)
                tracemalloc.start()
                b.scan(s4, p4, since_quiet, "full", "cache")
                peaks[size] = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
                rep.row(f"peak at {size:,} sites", f"{peaks[size] / 1e6:.1f} MB", f"{peaks[size] / size:,.0f} B a site")
            rep.compare("memory_2n_vs_n", "peak at 2N / peak at N (flat: near 1; linear: 2)", peaks[2 * n], peaks[n])
            rep.data.update({"peak_n": peaks[n], "peak_2n": peaks[2 * n]})
        finally:
            b.close()
    rep.write(quick=args.quick)


if __name__ == "__main__":
    main()
