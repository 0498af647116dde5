"""Registry benchmarks: figures and ratios against baselines measured in the same run.

    .venv/bin/python -m bench.registry_bench                      # 100,000 facilities, 300,000 observations
    .venv/bin/python -m bench.registry_bench --quick              # 2,000 facilities, one round (make bench)
    .venv/bin/python -m bench.registry_bench --facilities 10000   # a mid-sized check

Prints a table and writes it as JSON to bench/out/registry-<date>.json (bench.harness). Targets are
reported as PASS/MISS and never change the exit status: timings on a shared machine are information.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import json
import os
import platform
import pstats
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from bench import harness
from bench.harness import Report, once, summary
from facilities.geojson_io import read_registry, write_export
from facilities.geometry import rfc7946
from facilities.store import Filter, gpkg_binary, open_store
from facilities.store.tables import FACILITIES
from tests.support import generate

# Every facility and an empty observation window: write_export's own path for a facilities-only export.
FACILITIES_ONLY = Filter(date_from=dt.date(9999, 12, 31))
BATCH = 5000  # the baseline's batch, equal to the store's and the exporter's default

TARGET_BBOX_MS = 2.0
TARGET_BBOX_VS_PYOGRIO = 5.0
TARGET_EXPORT_VS_SHAPELY = 1.5
TARGET_IMPORT_VS_PYOGRIO = 0.8  # issue 12: read + import at most 0.8x pyogrio's read + GeoPackage write
TARGET_MEMORY_GROWTH = 1.25  # peak at N over peak at N/4: flat while the registry quadruples


def worker(*args: object) -> dict[str, Any]:
    """One command of bench/workers.py in its own process (`python -m bench.workers`): its JSON answer."""
    proc = subprocess.run([sys.executable, "-m", "bench.workers", *map(str, args)], capture_output=True, text=True,
                          cwd=harness.ROOT, env=harness.child_env())
    if proc.returncode:
        raise RuntimeError(f"worker {args[0]} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


@contextmanager
def profiled(enabled: bool, label: str, top: int = 18) -> Iterator[None]:
    """cProfile one of our timed operations when --profile is given (then its timing is inflated)."""
    if not enabled:
        yield
        return
    prof = cProfile.Profile()
    prof.enable()
    try:
        yield
    finally:
        prof.disable()
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(top)
        print(f"\n--- profile: {label} (sorted by own time) ---\n{buf.getvalue()}", file=sys.stderr)


# ---------------------------------------------------------------- bbox query

def pick_bboxes(path: Path, count: int, per_box: int, seed: int) -> list[tuple[float, float, float, float]]:
    """Square boxes around random facilities, each sized to hold `per_box` facility centres."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        centres = np.array(con.execute("SELECT (minx + maxx) / 2, (miny + maxy) / 2 FROM rtree_facilities_geom")
                           .fetchall())
    finally:
        con.close()
    rng = np.random.default_rng(seed)
    boxes = []
    for i in rng.choice(len(centres), size=min(count, len(centres)), replace=False):
        # Chebyshev distance: a square of half-side h holds exactly the centres with d <= h
        d = np.abs(centres - centres[i]).max(axis=1)
        h = float(np.partition(d, per_box - 1)[per_box - 1])
        x, y = centres[i]
        boxes.append((float(x - h), float(y - h), float(x + h), float(y + h)))
    return boxes


_RAW_SQL = (f"SELECT {', '.join('f.' + c for c in FACILITIES.names)} FROM rtree_facilities_geom r "
            "JOIN facilities f ON f.fid = r.id WHERE r.minx <= ? AND r.maxx >= ? AND r.miny <= ? AND r.maxy >= ?")
_ENVELOPE_BYTES = (0, 32, 48, 48, 64)


def raw_bbox(con: sqlite3.Connection, bbox: tuple[float, float, float, float]) -> np.ndarray:
    """The floor: R-tree join, every column fetched, geometries decoded, no domain objects."""
    w, s, e, n = bbox
    rows = con.execute(_RAW_SQL, (e, w, n, s)).fetchall()
    return shapely.from_wkb([r[0][8 + _ENVELOPE_BYTES[(r[0][3] >> 1) & 7]:] for r in rows])


def bench_bbox(rep: Report, path: Path, n: int, args: argparse.Namespace, workdir: Path) -> None:
    boxes = pick_bboxes(path, args.bboxes, 100, args.seed)
    rep.section(f"bbox query: {len(boxes)} boxes sized for ~100 of {n:,} facilities, "
                f"{args.rounds} rounds after a warm-up")

    store = open_store(path)
    counts = [len(store.facilities_in_bbox(b)) for b in boxes]  # warm-up: page cache, statements
    ours = []
    with profiled(args.profile, "facilities_in_bbox"):
        for _ in range(args.rounds):
            for b in boxes:
                t = time.perf_counter()
                store.facilities_in_bbox(b)
                ours.append((time.perf_counter() - t) * 1000)
    store.close()

    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    raw_counts = [len(raw_bbox(con, b)) for b in boxes]
    raw = []
    for _ in range(args.rounds):
        for b in boxes:
            t = time.perf_counter()
            raw_bbox(con, b)
            raw.append((time.perf_counter() - t) * 1000)
    con.close()

    boxes_file = workdir / "bboxes.json"
    boxes_file.write_text(json.dumps(boxes))
    ogr = worker("pyogrio-bbox", path, boxes_file, args.rounds)

    o, r, p = summary(ours), summary(raw), summary(ogr["samples_ms"])
    rep.row("features per box (ours / R-tree / pyogrio)",
            f"{np.mean(counts):.0f} / {np.mean(raw_counts):.0f} / {np.mean(ogr['counts']):.0f}",
            "mean; R-tree counts envelopes, the others exact hits")
    rep.row("ours: store.facilities_in_bbox -> Facility", f"{o['median']:.2f} ms", f"p95 {o['p95']:.2f} ms")
    rep.row("raw: sqlite3 R-tree join + shapely.from_wkb", f"{r['median']:.2f} ms", f"p95 {r['p95']:.2f} ms")
    rep.row("pyogrio.read_dataframe(bbox=...)", f"{p['median']:.2f} ms", f"p95 {p['p95']:.2f} ms")
    ratio = p["median"] / o["median"]
    rep.row("ratio ours / raw", f"{o['median'] / r['median']:.1f}x", "cost of domain objects over the floor")
    rep.verdict("target: median <= 2 ms", o["median"] <= TARGET_BBOX_MS, f"{o['median']:.2f} ms")
    rep.verdict(f"target: pyogrio / ours >= {TARGET_BBOX_VS_PYOGRIO:g}x", ratio >= TARGET_BBOX_VS_PYOGRIO,
                f"{ratio:.1f}x")
    rep.data["bbox"] = {"boxes": len(boxes), "rounds": args.rounds, "mean_features": float(np.mean(counts)),
                        "ours_ms": o, "raw_ms": r, "pyogrio_ms": p, "pyogrio_over_ours": ratio}


# ---------------------------------------------------------------- export

def load_facility_columns(path: Path) -> tuple[list[str], list[str], np.ndarray]:
    """ids, names and Polygons of every facility, read once for the baseline (untimed)."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = con.execute("SELECT id, name, geom FROM facilities ORDER BY fid").fetchall()
    finally:
        con.close()
    geoms = shapely.from_wkb([g[8 + _ENVELOPE_BYTES[(g[3] >> 1) & 7]:] for _i, _n, g in rows])
    parts = shapely.get_parts(geoms)  # stored as one-part MultiPolygons; exported as the Polygons they are
    if len(parts) == len(geoms):
        geoms = parts
    return [r[0] for r in rows], [r[1] for r in rows], geoms


def shapely_stream(out: Path, ids: list[str], names: list[str], geoms: np.ndarray) -> int:
    """The baseline: geometry JSON from one shapely.to_geojson call per batch, id and name as properties.

    Flushed and fsynced like write_export, so the ratio measures encoding, not durability.
    """
    written = 0
    with open(out, "w", encoding="utf-8", newline="\n", buffering=1 << 20) as f:
        written += f.write('{"type": "FeatureCollection", "features": [\n')
        for start in range(0, len(geoms), BATCH):
            geojson = shapely.to_geojson(geoms[start:start + BATCH])
            lines = [f'{{"type": "Feature", "properties": {{"id": {json.dumps(i)}, "name": {json.dumps(nm)}}}, '
                     f'"geometry": {g}}}'
                     for i, nm, g in zip(ids[start:start + BATCH], names[start:start + BATCH], geojson, strict=True)]
            written += f.write(("" if start == 0 else ",\n") + ",\n".join(lines))
        written += f.write("\n]}\n")
        f.flush()
        os.fsync(f.fileno())
    return written


def same_content_stream(out: Path, ids: list[str], props: list[str], geoms: np.ndarray) -> int:
    """A fairer baseline: the same stream, with each feature's full properties (what our export
    writes) already serialised before the clock starts, so only the vectorised geometry encoding,
    concatenation and the write are timed."""
    written = 0
    with open(out, "w", encoding="utf-8", newline="\n", buffering=1 << 20) as f:
        written += f.write('{"type":"FeatureCollection","features":[\n')
        for start in range(0, len(geoms), BATCH):
            geojson = shapely.to_geojson(rfc7946(geoms[start:start + BATCH]))
            lines = ['{"type":"Feature","id":' + json.dumps("facility:" + i) + ',"geometry":' + g
                     + ',"properties":' + p + "}"
                     for i, p, g in zip(ids[start:start + BATCH], props[start:start + BATCH], geojson, strict=True)]
            written += f.write(("" if start == 0 else ",\n") + ",\n".join(lines))
        written += f.write("\n]}\n")
        f.flush()
        os.fsync(f.fileno())
    return written


def full_properties(path: Path) -> list[str]:
    """Every facility's report properties as JSON text, made with the object codec (untimed)."""
    from facilities.geojson_codec import properties, source_properties

    store = open_store(path)
    sources = {s.id: source_properties(s) for s in store.list_sources()}
    out = []
    for batch in store.iter_facilities():
        for f in batch:
            p = properties(f)
            p["sources"] = [sources[i] for i in f.source_ids if i in sources]
            out.append(json.dumps(p, ensure_ascii=False, separators=(",", ":")))
    store.close()
    return out


def export_floor(path: Path) -> float:
    """What geometry alone costs any exporter of this store: every column fetched in keyset pages,
    decoded, put in RFC 7946 form and serialised by GEOS; no properties, nothing written."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    t = time.perf_counter()
    last = 0
    while rows := con.execute(f"SELECT fid, {', '.join(FACILITIES.names)} FROM facilities WHERE fid > ? "
                              "ORDER BY fid LIMIT ?", (last, BATCH)).fetchall():
        last = rows[-1][0]
        geoms = gpkg_binary.decode([r[1] for r in rows])
        one = shapely.get_num_geometries(geoms) == 1
        geoms[one] = shapely.get_geometry(geoms[one], 0)
        shapely.to_geojson(rfc7946(geoms))
    elapsed = time.perf_counter() - t
    con.close()
    return elapsed


def bench_export(rep: Report, path: Path, small: Path, n: int, args: argparse.Namespace, workdir: Path) -> Path:
    rep.section(f"GeoJSON export of {n:,} facilities")
    fac_out, full_out = workdir / "export-facilities.geojson", workdir / "export-full.geojson"

    store = open_store(path)
    store.counts()
    with profiled(args.profile, "write_export (facilities only)"):
        ours_s, ours_bytes = once(lambda: write_export(store, fac_out, FACILITIES_ONLY))
    # The empty date window still makes the exporter look for observations; show what that costs.
    scan_s, _ = once(lambda: sum(len(b) for b in store.iter_observations(FACILITIES_ONLY)))
    with profiled(args.profile, "write_export (everything)"):
        full_s, full_bytes = once(lambda: write_export(store, full_out))
    n_obs = store.counts()["observations"]
    store.close()

    ids, names, geoms = load_facility_columns(path)
    # Median of 3: the baseline is short, so one scheduler hiccup on a shared machine would skew the ratio.
    base_runs = [once(lambda: shapely_stream(workdir / "baseline.geojson", ids, names, geoms)) for _ in range(3)]
    base_s, base_bytes = harness.median([s for s, _b in base_runs]), base_runs[0][1]
    floor_s = harness.median([export_floor(path) for _ in range(3)])
    props = full_properties(path)
    same_runs = [once(lambda: same_content_stream(workdir / "baseline.geojson", ids, props, geoms))
                 for _ in range(3)]
    same_s, same_bytes = harness.median([s for s, _b in same_runs]), same_runs[0][1]
    ogr = worker("pyogrio-write-geojson", path, workdir / "pyogrio.geojson")

    ratio = ours_s / base_s
    rep.row("ours: write_export, facilities only", f"{ours_s:.2f} s",
            f"{ours_bytes / 2**20:,.0f} MB; of which {scan_s:.2f} s finding no observations")
    rep.row("baseline: shapely.to_geojson stream", f"{base_s:.2f} s",
            f"{base_bytes / 2**20:,.0f} MB; id+name only, batches of {BATCH}, fsync; median of 3")
    rep.row("baseline: same stream, full properties", f"{same_s:.2f} s",
            f"{same_bytes / 2**20:,.0f} MB; properties pre-serialised (untimed); median of 3")
    rep.row("floor: fetch + decode + RFC 7946 + to_geojson", f"{floor_s:.2f} s",
            "no properties, no write; median of 3")
    rep.row("pyogrio.write_dataframe(GeoJSON, RFC7946)", f"{ogr['write_s']:.2f} s",
            f"{ogr['bytes'] / 2**20:,.0f} MB; all columns")
    rep.row("ours: write_export, everything", f"{full_s:.2f} s",
            f"{full_bytes / 2**20:,.0f} MB; + {n_obs:,} observations")
    rep.row("ratio pyogrio / ours", f"{ogr['write_s'] / ours_s:.1f}x")
    rep.row("ratio ours / floor", f"{ours_s / floor_s:.1f}x", "what properties and domain objects add")
    rep.verdict(f"target: ours / shapely stream <= {TARGET_EXPORT_VS_SHAPELY:g}x",
                ratio <= TARGET_EXPORT_VS_SHAPELY, f"{ratio:.2f}x")
    rep.verdict(f"same content: ours / full-properties stream <= {TARGET_EXPORT_VS_SHAPELY:g}x",
                ours_s / same_s <= TARGET_EXPORT_VS_SHAPELY, f"{ours_s / same_s:.2f}x")
    rep.data["export"] = {
        "ours_facilities_s": ours_s, "ours_facilities_bytes": ours_bytes, "empty_observation_scan_s": scan_s,
        "ours_full_s": full_s, "ours_full_bytes": full_bytes, "observations": n_obs,
        "shapely_stream_s": base_s, "same_content_stream_s": same_s, "geometry_floor_s": floor_s,
        "shapely_stream_bytes": base_bytes,
        "pyogrio_s": ogr["write_s"], "pyogrio_bytes": ogr["bytes"], "ours_over_shapely": ratio}
    (workdir / "baseline.geojson").unlink()
    (workdir / "pyogrio.geojson").unlink()
    full_out.unlink()

    if not args.skip_memory:
        bench_export_memory(rep, path, small, n, workdir)
    return fac_out


def bench_export_memory(rep: Report, path: Path, small: Path, n: int, workdir: Path) -> None:
    out = workdir / "memory.geojson"
    mem: dict[str, Any] = {}
    for mode in ("facilities", "full"):
        big_run = worker("export-memory", path, out, mode)
        small_run = worker("export-memory", small, out, mode)
        growth = big_run["delta_mb"] / max(small_run["delta_mb"], 1e-9)
        mem[mode] = {"n": big_run, "n_quarter": small_run, "growth": growth}
        what = "facilities only" if mode == "facilities" else "everything"
        rep.row(f"export peak RSS added, {what}: N/4 -> N",
                f"{small_run['delta_mb']:.0f} -> {big_run['delta_mb']:.0f} MB",
                f"{n // 4:,} -> {n:,} facilities; x{growth:.2f}")
    out.unlink(missing_ok=True)
    worst = max(m["growth"] for m in mem.values())
    rep.verdict(f"target: peak does not grow with N (<= x{TARGET_MEMORY_GROWTH:g})", worst <= TARGET_MEMORY_GROWTH,
                f"worst x{worst:.2f} while N grows x4")
    rep.data["export_memory"] = mem


# ---------------------------------------------------------------- import

def bench_import(rep: Report, export: Path, n: int, args: argparse.Namespace, workdir: Path) -> None:
    rep.section(f"import of the facilities-only export ({export.stat().st_size / 2**20:,.0f} MB) into an empty store")
    target = workdir / "imported.gpkg"
    limit = max(export.stat().st_size + 1, 200 * 2**20)  # read_registry refuses files over 200 MB by default
    with profiled(args.profile, "read_registry"):
        read_s, (registry, problems, _notes) = once(lambda: read_registry(export, max_bytes=limit))
    store = open_store(target)
    with profiled(args.profile, "import_registry"):
        write_s, report = once(lambda: store.import_registry(registry, actor="bench"))
    store.close()
    ours_s = read_s + write_s
    ogr = worker("pyogrio-import", export, workdir / "pyogrio-import.gpkg")
    rep.row("ours: read_registry", f"{read_s:.2f} s", f"{len(problems)} problems")
    rep.row("ours: store.import_registry", f"{write_s:.2f} s", report.summary())
    rep.row("ours: total", f"{ours_s:.2f} s")
    rep.row("pyogrio: read_dataframe(GeoJSON)", f"{ogr['read_s']:.2f} s")
    rep.row("pyogrio: write_dataframe(GPKG)", f"{ogr['write_s']:.2f} s")
    rep.row("pyogrio: total", f"{ogr['total_s']:.2f} s", f"{ogr['features']:,} features")
    rep.verdict(f"target: ours <= {TARGET_IMPORT_VS_PYOGRIO}x pyogrio",
                ours_s <= TARGET_IMPORT_VS_PYOGRIO * ogr["total_s"], f"{ours_s / ogr['total_s']:.2f}x pyogrio")
    rep.data["import"] = {"ours_read_s": read_s, "ours_write_s": write_s, "ours_s": ours_s,
                          "pyogrio_read_s": ogr["read_s"], "pyogrio_write_s": ogr["write_s"],
                          "pyogrio_s": ogr["total_s"], "ours_over_pyogrio": ours_s / ogr["total_s"]}


# ---------------------------------------------------------------- main

def environment() -> dict[str, Any]:
    """What the registry figures depend on beyond the harness's record: GEOS, SQLite, GDAL, the CPU, the load."""
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return {"python": platform.python_version(), "shapely": shapely.__version__,
            "geos": shapely.geos_version_string, "numpy": np.__version__, "sqlite": sqlite3.sqlite_version,
            **worker("versions"), "nproc": len(os.sched_getaffinity(0)), "cpu": cpu,
            "loadavg": os.getloadavg(), "code": harness.code_state()}


def main(argv: list[str] | None = None) -> int:
    """Build (or reuse) the generated registries, run the three benches, print and save the table."""
    parser = harness.parser(__doc__, "2,000 facilities, 20 boxes, one timed round")
    parser.add_argument("--facilities", type=int, help="registry size (3 observations each; default 100,000)")
    parser.add_argument("--bboxes", type=int, help="boxes to query (default 50)")
    parser.add_argument("--rounds", type=int, help="timed passes over the boxes (default 3)")
    parser.add_argument("--seed", type=int, default=generate.DEFAULT_SEED)
    parser.add_argument("--skip-memory", action="store_true", help="skip the N vs N/4 export memory probe")
    parser.add_argument("--profile", action="store_true", help="cProfile our operations (inflates their times)")
    parser.add_argument("--keep", action="store_true", help="keep the export and imported store in bench/out")
    args = parser.parse_args(argv)
    args.facilities = args.facilities or (2000 if args.quick else 100_000)
    args.bboxes = args.bboxes or (20 if args.quick else 50)
    args.rounds = args.rounds or (1 if args.quick else 3)
    n = args.facilities

    rep = Report("registry")
    started = time.perf_counter()
    path = generate.build_store(n, seed=args.seed)
    small = path if args.skip_memory else generate.build_store(n // 4, seed=args.seed)
    env = environment()
    started_at = dt.datetime.now().isoformat(timespec="seconds")
    rep.section(f"registry bench: {n:,} facilities (~{generate.VERTICES}-vertex polygons), "
                f"{n * generate.OBS_PER_FACILITY:,} observations, {path.stat().st_size / 2**20:,.0f} MB GeoPackage")
    rep.row("python / numpy", f"{env['python']} / {env['numpy']}")
    rep.row("shapely / GEOS", f"{env['shapely']} / {env['geos']}")
    rep.row("sqlite3.sqlite_version", env["sqlite"])
    rep.row("pyogrio / GDAL / geopandas", f"{env['pyogrio']} / {env['gdal']} / {env['geopandas']}")
    rep.row("machine", f"nproc {env['nproc']}", f"{env['cpu']}; load {env['loadavg'][0]:.1f}")
    rep.row("code", env["code"])

    workdir = generate.OUT_DIR / f"run-{n}"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    bench_bbox(rep, path, n, args, workdir)
    export = bench_export(rep, path, small, n, args, workdir)
    bench_import(rep, export, n, args, workdir)
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)

    elapsed = time.perf_counter() - started
    rep.section(f"done in {elapsed:.0f} s; load average now {os.getloadavg()[0]:.1f}")
    rep.write(facilities=n, quick=args.quick, libraries=env, started=started_at, elapsed_s=elapsed,
              loadavg_end=os.getloadavg())
    return 0  # timings inform; they never fail the run


if __name__ == "__main__":
    sys.exit(main())
