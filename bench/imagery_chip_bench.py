"""Chip benchmark: a 2 km area (4000 x 4000 px) from a local 20,000 x 20,000 px COG.

    .venv/bin/python -m bench.imagery_chip_bench              # builds bench/out/chip-src-20000.tif once
    .venv/bin/python -m bench.imagery_chip_bench --quick      # a 4000 px source, 2 repeats (make bench)
    .venv/bin/python -m bench.imagery_chip_bench --size 8000  # a mid-sized check

Baselines measured in the same run: rio-tiler's Reader.part for the same bounds and size (its
defaults), and a bare rasterio window read with GDAL_NUM_THREADS=ALL_CPUS. Target: our make_chip
at most 0.7x rio-tiler's time, peak memory of a process making one chip under 300 MB. Targets
print PASS/MISS and never change the exit status; figures go to bench/out/imagery-chip-<date>.json.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import rasterio
import rasterio.shutil
from affine import Affine
from rasterio.windows import Window

from bench import harness
from bench.harness import ROOT, Report, once, timed
from imagery.chips import Grid, make_chip

OUT = harness.OUT_DIR

CRS = "EPSG:32652"
PIXEL = 0.5
ORIGIN = (380_000.0, 4_430_000.0)
CHIP_PX = 4000  # 2 km at 0.5 m


def build_source(size: int) -> Path:
    """A 3-band uint8 JPEG COG with overviews in UTM 52N; built once and cached."""
    path = OUT / f"chip-src-{size}.tif"
    if path.exists():
        return path
    OUT.mkdir(parents=True, exist_ok=True)
    tmp = OUT / f"chip-src-{size}.tmp.tif"
    rng = np.random.default_rng(0)
    grain = rng.integers(0, 24, (3, 512, 512), dtype=np.uint8)  # texture, repeated: cheap to generate
    transform = Affine(PIXEL, 0, ORIGIN[0], 0, -PIXEL, ORIGIN[1])
    profile = {"driver": "GTiff", "width": size, "height": size, "count": 3, "dtype": "uint8", "crs": CRS,
               "transform": transform, "tiled": True, "blockxsize": 512, "blockysize": 512,
               "compress": "deflate", "zlevel": 1, "bigtiff": "yes"}
    xx = np.arange(size)
    with rasterio.open(tmp, "w", **profile) as dst:
        for row in range(0, size, 512):
            h = min(512, size - row)
            yy = np.arange(row, row + h)[:, None]
            base = (np.sin(xx[None, :] / 53.0) * 50 + np.cos(yy / 41.0) * 40 + 120).astype(np.int16)
            block = np.empty((3, h, size), dtype=np.uint8)
            for b in range(3):
                tiled = np.tile(grain[b, :h], (1, size // 512 + 1))[:, :size]
                block[b] = np.clip(base + tiled + b * 10, 0, 255)
            dst.write(block, window=Window(0, row, size, h))
    with rasterio.Env(GDAL_NUM_THREADS="ALL_CPUS"):
        rasterio.shutil.copy(tmp, path, driver="COG", COMPRESS="JPEG", QUALITY=85, BLOCKSIZE=512,
                             OVERVIEWS="AUTO", NUM_THREADS="ALL_CPUS", BIGTIFF="IF_SAFER")
    tmp.unlink()
    return path


def chip_grid(size: int, shift: float = 0.0) -> Grid:
    """The 2 km area in the middle of the source; `shift` metres moves it off the source pixels."""
    x = ORIGIN[0] + (size // 2 - CHIP_PX // 2) * PIXEL + shift
    y = ORIGIN[1] - (size // 2 - CHIP_PX // 2) * PIXEL - shift
    return Grid(CRS, Affine(PIXEL, 0, x, 0, -PIXEL, y), CHIP_PX, CHIP_PX)


def peak_rss_mb(path: Path, size: int) -> float:
    """Peak RSS of a fresh process that makes one chip."""
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the forking parent, which is this process.
    code = (
        "from bench.imagery_chip_bench import chip_grid, make_chip\n"
        f"make_chip({str(path)!r}, chip_grid({size}))\n"
        "print([ln.split()[1] for ln in open('/proc/self/status') if ln.startswith('VmHWM')][0])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT,
                         env=harness.child_env())
    return int(out.stdout.strip().splitlines()[-1]) / 1024


def main(argv: list[str] | None = None) -> int:
    """Build (or reuse) the source, time ours and the baselines, measure one chip's memory, save it all."""
    parser = harness.parser(__doc__, "a 4000 x 4000 px source, 2 repeats")
    parser.add_argument("--size", type=int, help="source width and height in pixels (default 20,000)")
    parser.add_argument("--repeat", type=int, help="timed calls of each (default 5)")
    args = parser.parse_args(argv)
    args.size = args.size or (4000 if args.quick else 20_000)
    args.repeat = args.repeat or (2 if args.quick else 5)

    from rio_tiler.io import Reader

    build_s, path = once(lambda: build_source(args.size))
    grid = chip_grid(args.size)
    left, bottom, right, top = grid.bounds

    def rio_tiler_part() -> object:
        with Reader(str(path)) as r:
            return r.part((left, bottom, right, top), dst_crs=rasterio.crs.CRS.from_string(CRS),
                          bounds_crs=rasterio.crs.CRS.from_string(CRS), width=CHIP_PX, height=CHIP_PX)

    def rasterio_window() -> object:
        with rasterio.Env(GDAL_NUM_THREADS="ALL_CPUS"), rasterio.open(path) as src:
            return src.read(window=src.window(left, bottom, right, top))

    shifted = chip_grid(args.size, shift=0.25)
    # one warm-up call each (page cache, imports); every timed call opens the file again
    results = {
        "rio_tiler_part": timed(rio_tiler_part, args.repeat),
        "rasterio_window_all_cpus": timed(rasterio_window, args.repeat),
        "ours_make_chip": timed(lambda: make_chip(path, grid), args.repeat),
        "ours_make_chip_resampled_0.25m_shift": timed(lambda: make_chip(path, shifted), args.repeat),
    }
    medians = {k: harness.median(v) for k, v in results.items()}
    rss = peak_rss_mb(path, args.size)

    rep = Report("imagery-chip")
    rep.out(f"source {args.size}x{args.size} px, {path.stat().st_size / 1e6:.0f} MB, chip {CHIP_PX}x{CHIP_PX} px")
    for k, v in medians.items():
        rep.data[k] = harness.summary(results[k])
        rep.out(f"  {k:<36} median {v:.3f} s   (runs: {', '.join(f'{t:.3f}' for t in results[k])})")
    rep.compare("ours_vs_rio_tiler", "ours / rio-tiler (make_chip vs Reader.part)", medians["ours_make_chip"],
                medians["rio_tiler_part"], target=0.7)
    rep.data["peak_rss_mb_one_chip_process"] = round(rss, 1)
    rep.verdict("peak RSS (VmHWM) of a one-chip process", rss < 300, f"{rss:.0f} MB (target < 300 MB)")
    rep.write(quick=args.quick, gdal=rasterio.__gdal_version__,
              source={"path": str(path.relative_to(ROOT)), "px": args.size, "bytes": path.stat().st_size,
                      "build_s": round(build_s, 2)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
