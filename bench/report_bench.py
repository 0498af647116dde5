"""Site report benchmark: a facility with 10 observations and 4 local image dates (imagery cached).

    .venv/bin/python -m bench.report_bench            # 3 timed runs after a warm-up
    .venv/bin/python -m bench.report_bench --quick    # 1 timed run after the warm-up (make bench)
    .venv/bin/python -m bench.report_bench --runs 5

Times the whole report: chips from the local COG imports, print-resolution figures (grid, pair,
GIF), the site map with its locator, the before/after figures and provenance through the imagery
session, the HTML with embedded images and the WeasyPrint PDF. Baseline, in the same run: WeasyPrint
rendering the same finished HTML alone (the floor no figure work can go below); the ratio says what
the report adds on top of it. Target: under 10 s. Targets print PASS/MISS and never change the exit
status; figures go to bench/out/report-<date>.json.
"""

from __future__ import annotations

import itertools
import sys
import tempfile
import warnings
from pathlib import Path

from bench import harness
from bench.harness import Report, once
from imagery.local import LocalSource
from tests.support.reports import make_imagery, make_store
from tracker.reports.site_report import build_report, write_pdf
from tracker.settings import load_settings
from tracker.wiring import imagery_session

TARGET_S = 10.0
FACILITY = "february-11-plant"


def main(argv: list[str] | None = None) -> int:
    """Build the plant's registry and scenes, time the report, print and save the figures."""
    parser = harness.parser(__doc__, "one timed run after the warm-up")
    parser.add_argument("--runs", type=int, help="timed runs after the warm-up (default 3)")
    args = parser.parse_args(argv)
    runs = args.runs or (1 if args.quick else 3)
    warnings.filterwarnings("ignore", message="Glyph")
    rep = Report("report")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        store = make_store(work / "registry.gpkg", observations=10)
        make_imagery(work, work / "data", ["2019-06-01", "2021-05-02", "2023-08-09", "2024-10-05"])
        source = LocalSource(work / "data")
        session = imagery_session(load_settings(database=str(work / "registry.gpkg"), data_dir=str(work / "data"),
                                                offline=True))

        def build(out: Path):
            return build_report(store, FACILITY, out, source, session=session, author="bench")

        # imports, fonts, GDAL caches: the first run of a process, reported on its own
        cold, _ = once(lambda: build(work / "warm"))
        run_dirs = (work / f"run-{i}" for i in itertools.count())
        built = []
        times = harness.timed(lambda: built.append(build(next(run_dirs))), repeat=runs, warmup=0)
        files = built[-1]
        median, best = harness.median(times), min(times)
        html = files.html.read_text("utf-8")
        pdf_only = harness.timed(lambda: write_pdf(html, work / "html-only.pdf"), repeat=runs, warmup=0)
        base = harness.median(pdf_only)
        rep.data.update(weasyprint_only=harness.summary(pdf_only), ratio_vs_weasyprint=round(median / base, 2))
        rep.out(f"baseline, the same HTML through WeasyPrint alone: median {base:.2f} s; whole report / baseline = "
                f"{median / base:.2f}x")
        session.close()
        rep.data.update(cold_s=cold, runs=harness.summary(times), pdf_bytes=files.pdf.stat().st_size,
                        html_bytes=files.html.stat().st_size)
        rep.out(f"first run (cold process): {cold:.2f} s")
        rep.out(f"report with PDF, 10 observations, 4 dates: median {median:.2f} s, best {best:.2f} s "
                f"over {runs} runs; PDF {files.pdf.stat().st_size / 1e6:.1f} MB, "
                f"HTML {files.html.stat().st_size / 1e6:.1f} MB")
        rep.verdict("report with PDF", median < TARGET_S, f"median {median:.2f} s (target < {TARGET_S:.0f} s)")
        store.close()
    rep.write(quick=args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
