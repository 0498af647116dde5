"""The one bench harness: timing, medians, a ratio against a baseline timed in the same run, JSON out.

These machines are noisy, so no bench reports an absolute time as a verdict on its own: each
figure is the median of repeats, set beside a baseline measured in the same process (or the same
run) and read as a ratio. Every bench prints a table and writes the same figures as JSON to
bench/out/<name>-<timestamp>.json, with the code state and library versions they were taken on.

Benches run as modules from the checkout's root (`python -m bench.<name>`, `make bench`), so the
test-support package (`tests.support`) imports with no edits to the import path.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "bench" / "out"
T = TypeVar("T")


def timed(fn: Callable[[], object], repeat: int = 5, warmup: int = 1) -> list[float]:
    """Seconds per call of `fn` over `repeat` calls, after `warmup` untimed calls (imports, caches)."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return samples


def once(fn: Callable[[], T]) -> tuple[float, T]:
    """Seconds of one call of `fn`, and what it returned (for runs too long to repeat)."""
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


def median(samples: list[float]) -> float:
    """The median: what every verdict reads (robust to one slow run on a busy machine)."""
    return float(statistics.median(samples))


def summary(samples: list[float]) -> dict[str, float]:
    """Median, 95th percentile, minimum and count of a list of timings, for the JSON record."""
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"median": median(samples), "p95": p95, "min": ordered[0], "n": len(samples)}


def ratio(ours: float, baseline: float) -> float:
    """How many times the baseline's figure ours is (lower is better for times and bytes)."""
    return ours / baseline if baseline else float("inf")


def parser(doc: str | None, quick: str) -> argparse.ArgumentParser:
    """An argument parser with the flags every bench shares: `--quick` (what `make bench` runs)."""
    ap = argparse.ArgumentParser(description=(doc or "").strip().split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help=f"the quick variant: {quick}")
    return ap


def child_env(**extra: str) -> dict[str, str]:
    """Environment for a bench's child process (a baseline app, a worker): the checkout importable."""
    env = {**os.environ, **extra}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return env


def code_state() -> str:
    """The commit the figures were taken on, marked dirty when the work tree has changes."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    rev = git("rev-parse", "--short", "HEAD") or "unknown"
    return rev + ("-dirty" if git("status", "--porcelain", "--untracked-files=no") else "")


def environment() -> dict[str, Any]:
    """Python, machine and the versions of the libraries most benches measure."""
    versions: dict[str, str] = {}
    for name in ("shapely", "pyogrio", "rasterio", "geopandas", "streamlit", "folium"):
        try:
            versions[name] = __import__(name).__version__
        except Exception:  # noqa: BLE001 - a missing library is only left out of the record
            continue
    return {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
            "code": code_state(), "versions": versions}


class Report:
    """The table as it is printed, and the same figures as JSON under `data`."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.data: dict[str, Any] = {}
        self.lines: list[str] = []
        self.verdicts: dict[str, bool] = {}

    def out(self, line: str = "") -> None:
        """Print one line and keep it for the JSON record."""
        self.lines.append(line)
        print(line, flush=True)

    def section(self, title: str) -> None:
        """Start a titled block of rows."""
        self.out(f"\n{title}")

    def row(self, label: str, value: str, note: str = "") -> None:
        """One aligned row: label, value, optional note."""
        self.out(f"  {label:<50} {value:>14}  {note}".rstrip())

    def timing(self, key: str, label: str, samples: list[float]) -> float:
        """Record a list of timings under `key`, print its median, return the median."""
        self.data[key] = summary(samples)
        m = median(samples)
        self.row(label, f"{m * 1000:,.1f} ms" if m < 10 else f"{m:,.2f} s", f"median of {len(samples)}")
        return m

    def compare(self, key: str, label: str, ours: float, baseline: float, target: float | None = None) -> float:
        """Record and print ours/baseline (both from this run); a verdict when a target ratio is given."""
        r = ratio(ours, baseline)
        self.data[key] = {"ours": ours, "baseline": baseline, "ratio": r, "target": target}
        note = f"ours {ours:.4g} vs baseline {baseline:.4g}"
        if target is None:
            self.row(label, f"{r:.2f}x", note)
        else:
            self.verdict(label, r <= target, f"{r:.2f}x (target <= {target}x; {note})")
        return r

    def verdict(self, label: str, ok: bool, detail: str) -> bool:
        """PASS or MISS against a target named in the issue; kept in the JSON record."""
        self.verdicts[label] = ok
        self.row(label, "PASS" if ok else "MISS", detail)
        return ok

    def write(self, **extra: Any) -> Path:
        """Write bench/out/<name>-<timestamp>.json (figures, verdicts, printed lines, environment)."""
        OUT_DIR.mkdir(parents=True, exist_ok=True)
        path = OUT_DIR / f"{self.name}-{dt.datetime.now():%Y-%m-%dT%H%M%S}.json"
        record = {"bench": self.name, "argv": sys.argv[1:], "environment": environment(), **extra,
                  "results": self.data, "verdicts": self.verdicts, "lines": self.lines}
        path.write_text(json.dumps(record, indent=1, default=str))
        print(f"\nwrote {path.relative_to(ROOT)}", flush=True)
        return path
