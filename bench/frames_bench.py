"""read_facilities against pyogrio's read_dataframe of the same GeoPackage layer, in one run.

    .venv/bin/python -m bench.frames_bench                      # 100,000 facilities
    .venv/bin/python -m bench.frames_bench --quick              # 2,000 facilities, 2 repeats (make bench)
    .venv/bin/python -m bench.frames_bench --facilities 10000   # a mid-sized check

The registry comes from tests/support/generate.py (cached under bench/out/). Each read runs in
a fresh subprocess, alternating ours and pyogrio's, so neither warms the other's page cache
alone and GDAL's SQLite never shares a process with ours. Prints the medians and their ratio
(target: at most 1.2x pyogrio's default read) and writes them as JSON to
bench/out/frames-<date>.json (bench.harness). Never fails on time: figures on a shared machine
are information.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bench import harness
from bench.harness import Report
from tests.support.generate import build_store

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
                          check=True, timeout=600, cwd=harness.ROOT, env=harness.child_env())
    seconds, rows = done.stdout.split()[-2:]
    return float(seconds), int(rows)


def main(argv: list[str] | None = None) -> int:
    """Build (or reuse) the registry, time the readers alternately, print and save the medians."""
    parser = harness.parser(__doc__, "2,000 facilities, 2 repeats")
    parser.add_argument("--facilities", type=int, help="registry size (default 100,000)")
    parser.add_argument("--repeats", type=int, help="reads of each kind (default 5)")
    args = parser.parse_args(argv)
    facilities = args.facilities or (2000 if args.quick else 100_000)
    repeats = args.repeats or (2 if args.quick else 5)
    path = build_store(facilities)
    samples: dict[str, list[float]] = {name: [] for name in READERS}
    for _ in range(repeats):
        for name in READERS:
            seconds, rows = run(name, path)
            if rows != facilities:
                raise SystemExit(f"{name} read {rows} rows, expected {facilities}")
            samples[name].append(seconds)
    rep = Report("frames")
    rep.out(f"{facilities:,} facilities, median of {repeats} (each read in a fresh process)")
    median = {}
    for name, values in samples.items():
        rep.data[name] = harness.summary(values)
        median[name] = harness.median(values)
        rep.out(f"  {name:16} {median[name] * 1000:8.0f} ms   {' '.join(f'{s * 1000:.0f}' for s in values)}")
    rep.compare("vs_pyogrio", "read_facilities / pyogrio.read_dataframe", median["read_facilities"],
                median["pyogrio"], target=TARGET)
    rep.compare("vs_pyogrio_arrow", "read_facilities / pyogrio use_arrow=True (information)",
                median["read_facilities"], median["pyogrio_arrow"])
    rep.write(facilities=facilities, repeats=repeats, quick=args.quick, samples_s=samples)
    return 0


if __name__ == "__main__":
    sys.exit(main())
