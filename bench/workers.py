"""Subprocess halves of registry_bench.py; each command prints one JSON object as its last line.

    .venv/bin/python -m bench.workers <command> <args...>   # as bench.registry_bench.worker runs it

pyogrio runs here, never in the benchmark's own process: GDAL brings its own SQLite library, and
SQLite warns that two copies of the library opening one file in one process can lose locks and
corrupt it. The export memory probe runs here too, so that its peak RSS is its own.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

warnings.filterwarnings("ignore", category=DeprecationWarning)  # pyogrio/pandas deprecations are not ours


def versions() -> dict[str, Any]:
    import geopandas
    import pyogrio

    return {"pyogrio": pyogrio.__version__, "gdal": pyogrio.__gdal_version_string__,
            "geopandas": geopandas.__version__}


def pyogrio_bbox(gpkg: str, bboxes_json: str, rounds: str) -> dict[str, Any]:
    """Time pyogrio.read_dataframe(bbox=...) over every box, `rounds` times, after one warm-up pass."""
    import pyogrio

    bboxes = [tuple(b) for b in json.loads(Path(bboxes_json).read_text())]
    counts = [len(pyogrio.read_dataframe(gpkg, layer="facilities", bbox=b)) for b in bboxes]  # warm-up
    samples = []
    for _ in range(int(rounds)):
        for b in bboxes:
            t = time.perf_counter()
            pyogrio.read_dataframe(gpkg, layer="facilities", bbox=b)
            samples.append((time.perf_counter() - t) * 1000)
    return {"samples_ms": samples, "counts": counts}


def pyogrio_write_geojson(gpkg: str, out: str) -> dict[str, Any]:
    """Read the facilities layer (untimed), then time writing it as RFC 7946 GeoJSON."""
    import pyogrio

    df = pyogrio.read_dataframe(gpkg, layer="facilities")
    t = time.perf_counter()
    pyogrio.write_dataframe(df, out, driver="GeoJSON", layer_options={"RFC7946": "YES"})
    return {"write_s": time.perf_counter() - t, "features": len(df), "bytes": os.path.getsize(out)}


def pyogrio_import(geojson: str, out: str) -> dict[str, Any]:
    """Time reading a GeoJSON file into a GeoDataFrame and writing it as a GeoPackage layer."""
    import pyogrio

    t0 = time.perf_counter()
    df = pyogrio.read_dataframe(geojson)
    t1 = time.perf_counter()
    pyogrio.write_dataframe(df, out, layer="facilities", driver="GPKG")
    t2 = time.perf_counter()
    return {"read_s": t1 - t0, "write_s": t2 - t1, "total_s": t2 - t0, "features": len(df)}


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def export_memory(gpkg: str, out: str, mode: str) -> dict[str, Any]:
    """Peak RSS that write_export adds on top of a process that has imported everything it needs."""
    import datetime as dt

    from facilities.geojson_io import write_export
    from facilities.store import Filter, open_store

    flt = Filter(date_from=dt.date(9999, 12, 31)) if mode == "facilities" else Filter()
    store = open_store(gpkg)
    store.counts()  # open the connection and read the schema before the baseline
    with contextlib.suppress(OSError):  # reset VmHWM to the current RSS (Linux >= 4.0): imports' peaks don't count
        Path("/proc/self/clear_refs").write_text("5")
    before = _status_kb("VmRSS")
    t = time.perf_counter()
    written = write_export(store, out, flt)
    seconds = time.perf_counter() - t
    peak = _status_kb("VmHWM")
    store.close()
    return {"seconds": seconds, "bytes": written, "rss_before_mb": before / 1024, "peak_mb": peak / 1024,
            "delta_mb": (peak - before) / 1024}


COMMANDS: dict[str, Callable[..., dict[str, Any]]] = {
    "versions": versions,
    "pyogrio-bbox": pyogrio_bbox,
    "pyogrio-write-geojson": pyogrio_write_geojson,
    "pyogrio-import": pyogrio_import,
    "export-memory": export_memory,
}

if __name__ == "__main__":
    print(json.dumps(COMMANDS[sys.argv[1]](*sys.argv[2:])))
