"""Site report benchmark: a facility with 10 observations and 4 local image dates (imagery cached).

    .venv/bin/python bench/report_bench.py            # 3 timed runs after a warm-up
    .venv/bin/python bench/report_bench.py --runs 1

Times the whole report: chips from the local COG imports, print-resolution figures (grid, pair,
GIF), the HTML with embedded images and the WeasyPrint PDF. Target: under 10 s. Targets print
PASS/MISS and never change the exit status.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "reports"))  # the test suite's plant registry and scenes, defined once

from report_fixtures import make_imagery, make_store  # noqa: E402

from imagery.local import LocalSource  # noqa: E402
from tracker.reports.site_report import build_report  # noqa: E402

TARGET_S = 10.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    warnings.filterwarnings("ignore", message="Glyph")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        store = make_store(work / "registry.gpkg", observations=10)
        make_imagery(work, work / "data", ["2019-06-01", "2021-05-02", "2023-08-09", "2024-10-05"])
        source = LocalSource(work / "data")
        t0 = time.perf_counter()
        build_report(store, "february-11-plant", work / "warm", source)  # imports, fonts, GDAL caches
        cold = time.perf_counter() - t0
        times = []
        for i in range(args.runs):
            t0 = time.perf_counter()
            files = build_report(store, "february-11-plant", work / f"run-{i}", source)
            times.append(time.perf_counter() - t0)
        best, median = min(times), statistics.median(times)
        print(f"first run (cold process): {cold:.2f} s")
        print(f"report with PDF, 10 observations, 4 dates: median {median:.2f} s, best {best:.2f} s "
              f"over {args.runs} runs; PDF {files.pdf.stat().st_size / 1e6:.1f} MB, "
              f"HTML {files.html.stat().st_size / 1e6:.1f} MB")
        print(f"target < {TARGET_S:.0f} s: {'PASS' if median < TARGET_S else 'MISS'}")
        store.close()


if __name__ == "__main__":
    main()
