"""read_facilities against pyogrio's read_dataframe of the same GeoPackage layer, in one run.

    .venv/bin/python -m bench.frames_bench                      # 100,000 facilities
    .venv/bin/python -m bench.frames_bench --facilities 10000   # quick check

The registry comes from tests/support/generate.py (cached under bench/out/). Each read runs in
a fresh subprocess, alternating ours and pyogrio's, so neither warms the other's page cache
alone and GDAL's SQLite never shares a process with ours. Prints the medians and their ratio
(target: at most 1.2x pyogrio's default read) and writes them as JSON to
bench/out/frames-<date>.json. Never fails on time: figures on a shared machine are information.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import statistics
import subprocess
import sys
from pathlib import Path

from tests.support.generate import build_store

OUT = Path(__file__).resolve().parent / "out"
TARGET = 1.2

READERS = {
    # each prints the seconds of the read alone (imports done first) and the row count
    "read_facilities": (
        "import sys, time; from facilities.frames import read_facilities\n"
        "t = time.perf_counter(); df = read_facilities(sys.argv[1]); t = time.perf_counter() - t\n"
        "print(t, len(df))"),
    "pyogrio": (
        "import sys, time, warnings; warnings.simplefilter('ignore'); import pyogrio\n"
        "t = time.perf_counter(); df = pyogrio.read_dataframe(sys.argv[1], layer='facilities')\n"
        "t = time.perf_counter() - t; print(t, len(df))"),
    "pyogrio_arrow": (
        "import sys, time, warnings; warnings.simplefilter('ignore'); import pyogrio\n"
        "t = time.perf_counter(); df = pyogrio.read_dataframe(sys.argv[1], layer='facilities', use_arrow=True)\n"
        "t = time.perf_counter() - t; print(t, len(df))"),
}


def run(reader: str, path: Path) -> tuple[float, int]:
    """One read in a fresh process: (seconds, rows)."""
    done = subprocess.run([sys.executable, "-c", READERS[reader], str(path)], capture_output=True, text=True,
                          check=True, timeout=600)
    seconds, rows = done.stdout.split()[-2:]
    return float(seconds), int(rows)


def main(argv: list[str] | None = None) -> int:
    """Build (or reuse) the registry, time the readers alternately, print and save the medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--facilities", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    path = build_store(args.facilities)
    samples: dict[str, list[float]] = {name: [] for name in READERS}
    for _ in range(args.repeats):
        for name in READERS:
            seconds, rows = run(name, path)
            if rows != args.facilities:
                raise SystemExit(f"{name} read {rows} rows, expected {args.facilities}")
            samples[name].append(seconds)
    median = {name: statistics.median(s) for name, s in samples.items()}
    ratio = median["read_facilities"] / median["pyogrio"]
    ratio_arrow = median["read_facilities"] / median["pyogrio_arrow"]
    print(f"{args.facilities:,} facilities, median of {args.repeats} (each read in a fresh process)")
    for name, value in median.items():
        print(f"  {name:16} {value * 1000:8.0f} ms   {' '.join(f'{s * 1000:.0f}' for s in samples[name])}")
    print(f"  read_facilities / pyogrio.read_dataframe          {ratio:.2f}x  "
          f"({'PASS' if ratio <= TARGET else 'MISS'}: target <= {TARGET}x)")
    print(f"  read_facilities / read_dataframe(use_arrow=True)  {ratio_arrow:.2f}x  (information)")
    OUT.mkdir(exist_ok=True)
    out = OUT / f"frames-{dt.datetime.now():%Y-%m-%dT%H%M%S}.json"
    out.write_text(json.dumps({"facilities": args.facilities, "repeats": args.repeats, "samples_s": samples,
                               "median_s": median, "ratio_vs_pyogrio": ratio, "ratio_vs_pyogrio_arrow": ratio_arrow,
                               "target": TARGET, "python": platform.python_version(),
                               "machine": platform.machine()}, indent=1))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
