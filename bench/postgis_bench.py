"""PostGIS against GeoPackage on the generated registry: same machine, same run, ratios reported.

    .venv/bin/python -m bench.postgis_bench                        # 100,000 facilities
    .venv/bin/python -m bench.postgis_bench --quick                # 2,000 facilities, one round (make bench)
    .venv/bin/python -m bench.postgis_bench --facilities 25000     # a mid-sized check
    .venv/bin/python -m bench.postgis_bench --url postgresql://me@127.0.0.1:5432/bench   # an existing server

Without --url a temporary cluster is started on 127.0.0.1 (initdb/pg_ctl, as the tests do, with
fsync off: this measures queries, not disks). The cached GeoPackage from tests.support.generate is
copied into PostGIS with `facilities migrate`'s own copy, then both backends answer the same
bounding boxes (~100 hits each) and write the same GeoJSON exports. Results go to stdout and to
bench/out/postgis-<date>.json (bench.harness). Ratios are information: there is no target here.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from bench import harness
from bench.harness import Report, once, summary
from bench.registry_bench import FACILITIES_ONLY, pick_bboxes
from facilities.geojson_io import write_export
from facilities.store import Filter, Store, open_store
from tests.support import generate
from tracker.migrate import copy_registry


@contextlib.contextmanager
def temporary_server() -> Iterator[str]:
    """A throwaway PostgreSQL + PostGIS on 127.0.0.1 (the test suite's helper), removed afterwards."""
    from tests.support.postgis import running_cluster

    with running_cluster("facilities-pg-bench-") as server:
        yield server.new_database()


def time_bboxes(store: Store, boxes: list, rounds: int) -> tuple[dict[str, float], list[int]]:
    """Milliseconds per bbox query over every box, `rounds` times after a warm-up pass; the hit counts."""
    counts = [len(store.facilities_in_bbox(b)) for b in boxes]  # warm-up: caches, prepared statements
    samples = []
    for _ in range(rounds):
        for b in boxes:
            t = time.perf_counter()
            store.facilities_in_bbox(b)
            samples.append((time.perf_counter() - t) * 1000)
    return summary(samples), counts


def time_export(store: Store, out: Path, flt: Filter, runs: int) -> tuple[float, int]:
    """The best of `runs` exports, in seconds, and the bytes written."""
    best, size = float("inf"), 0
    for _ in range(runs):
        seconds, size = once(lambda: write_export(store, out, flt))
        best = min(best, seconds)
    return best, size


def same_features(a: Path, b: Path, sample: int = 2000) -> tuple[int, int, list[str]]:
    """Feature counts of both files and what differs in a spread sample of features, compared as JSON
    by id (a migrated registry keeps its facilities' order; its observations come in date order)."""
    fa = json.loads(a.read_text("utf-8"))["features"]
    fb = {f["id"]: f for f in json.loads(b.read_text("utf-8"))["features"]}
    differs: set[str] = set()
    for f in fa[::max(1, len(fa) // sample)]:
        other = fb.get(f["id"]) or {}
        differs.update(k for k in ("geometry", "type") if f[k] != other.get(k))
        differs.update(k for k, v in f["properties"].items() if v != other.get("properties", {}).get(k))
    # area_m2 and footprint_m2 are derived: computed from the geometry when a row is written, so a
    # GeoPackage built by an older area function differs there from its fresh copy.
    return len(fa), len(fb), sorted(differs)


def run(args: argparse.Namespace, url: str, rep: Report) -> dict[str, Any]:
    """Migrate the generated registry into `url`, then time both backends on the same queries and exports."""
    n = args.facilities
    built, path = once(lambda: generate.build_store(n, seed=args.seed))
    gpkg, pg = open_store(path), open_store(url)
    try:
        migrated, report = once(lambda: copy_registry(gpkg, pg, actor="bench", verify=False))  # counts still checked
        rep.out(f"registry: {n:,} facilities, {gpkg.counts()['observations']:,} observations "
              f"(GeoPackage ready in {built:.1f} s); migrate to PostGIS {migrated:.1f} s: {report.summary()}")
        boxes = pick_bboxes(path, args.bboxes, 100, args.seed)
        result: dict[str, Any] = {"facilities": n, "migrate_s": migrated, "boxes": len(boxes), "rounds": args.rounds}
        g_ms, g_counts = time_bboxes(gpkg, boxes, args.rounds)
        p_ms, p_counts = time_bboxes(pg, boxes, args.rounds)
        assert g_counts == p_counts, "the backends disagree on bbox hits"
        result["bbox"] = {"gpkg_ms": g_ms, "postgis_ms": p_ms, "mean_hits": float(np.mean(g_counts)),
                          "postgis_over_gpkg": p_ms["median"] / g_ms["median"]}
        rep.out(f"bbox query ({len(boxes)} boxes x {args.rounds} rounds, {np.mean(g_counts):.0f} hits on average, "
              f"same hits on both): GeoPackage median {g_ms['median']:.2f} ms (p95 {g_ms['p95']:.2f}), "
              f"PostGIS median {p_ms['median']:.2f} ms (p95 {p_ms['p95']:.2f}); "
              f"PostGIS / GeoPackage = {p_ms['median'] / g_ms['median']:.2f}x")
        work = Path(tempfile.mkdtemp(prefix="postgis-bench-"))
        try:
            for label, flt in (("facilities", FACILITIES_ONLY), ("full report", Filter())):
                g_s, g_size = time_export(gpkg, work / "g.geojson", flt, args.export_runs)
                p_s, p_size = time_export(pg, work / "p.geojson", flt, args.export_runs)
                n_g, n_p, differs = same_features(work / "g.geojson", work / "p.geojson")
                result[f"export_{label.replace(' ', '_')}"] = {
                    "gpkg_s": g_s, "postgis_s": p_s, "postgis_over_gpkg": p_s / g_s, "features": [n_g, n_p],
                    "bytes": [g_size, p_size], "sample_differs_in": differs}
                rep.out(f"GeoJSON export, {label} ({n_g:,} / {n_p:,} features; sampled features differ in: "
                      f"{differs or 'nothing'}): "
                      f"GeoPackage {g_s:.2f} s ({g_size / 2**20:.0f} MiB), PostGIS {p_s:.2f} s "
                      f"({p_size / 2**20:.0f} MiB); PostGIS / GeoPackage = {p_s / g_s:.2f}x")
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return result
    finally:
        gpkg.close()
        pg.close()


def main(argv: list[str] | None = None) -> int:
    """Start (or use) a PostGIS server, run the comparison, print it and save it as JSON."""
    parser = harness.parser(__doc__, "2,000 facilities, 20 boxes, one timed round")
    parser.add_argument("--facilities", type=int, help="registry size (3 observations each; default 100,000)")
    parser.add_argument("--bboxes", type=int, help="boxes to query (default 50)")
    parser.add_argument("--rounds", type=int, help="timed passes over the boxes (default 3)")
    parser.add_argument("--export-runs", type=int, default=1, help="exports per backend; the best is kept")
    parser.add_argument("--seed", type=int, default=generate.DEFAULT_SEED)
    parser.add_argument("--url", help="an existing, empty PostGIS database (default: a temporary cluster)")
    args = parser.parse_args(argv)
    args.facilities = args.facilities or (2000 if args.quick else 100_000)
    args.bboxes = args.bboxes or (20 if args.quick else 50)
    args.rounds = args.rounds or (1 if args.quick else 3)
    rep = Report("postgis")
    started_at = dt.datetime.now().isoformat(timespec="seconds")
    started = time.perf_counter()
    if args.url:
        result = run(args, args.url, rep)
    else:
        with temporary_server() as url:
            result = run(args, url, rep)
    rep.data.update(result)
    elapsed = time.perf_counter() - started
    rep.out(f"done in {elapsed:.0f} s")
    rep.write(quick=args.quick, elapsed_s=elapsed, loadavg=os.getloadavg(), nproc=len(os.sched_getaffinity(0)),
              started=started_at)
    return 0  # timings inform; they never fail the run


if __name__ == "__main__":
    sys.exit(main())
