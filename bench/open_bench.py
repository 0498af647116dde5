"""What finding edits made outside the app costs when a registry is opened (issue 14, part C2).

    .venv/bin/python -m bench.open_bench            # 100,000 facilities, 300,000 observations
    .venv/bin/python -m bench.open_bench --quick    # 2,000 facilities

Figures, on a copy of the cached bench registry (tests.support.generate.build_store):
- the upgrade to row checksums (migration 4: every row read and checksummed once);
- a writable open with nothing edited outside, against the same open with the check turned off (the
  baseline, same run): the cheap signal only (gpkg_contents.last_change against the store's own);
- a writable open after one facility was changed outside the app (the facilities table compared row by
  row, the edit recorded): what the first open after a QGIS session pays;
- the full comparison `facilities validate` runs (every record table).
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from pathlib import Path

from bench import harness
from bench.harness import Report, once, timed
from facilities.store import GeoPackageStore, gpkg_binary
from facilities.store.geopackage import GeoPackageDialect
from tests.support import generate


def outside_edit(path: Path, n: int) -> None:
    """Change one facility's notes as QGIS would: SQL with the ST_* functions, then last_change."""
    con = sqlite3.connect(path, isolation_level=None)
    for name, fn in gpkg_binary.SQL_FUNCTIONS.items():
        con.create_function(name, 1, fn, deterministic=True)
    con.execute("UPDATE facilities SET notes = ? WHERE fid = (SELECT max(fid) FROM facilities)", (f"edit {n}",))
    con.execute("UPDATE gpkg_contents SET last_change = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') "
                "WHERE table_name = 'facilities'")
    con.close()


def main() -> None:
    args = harness.parser(__doc__, "2,000 facilities").parse_args()
    n = 2_000 if args.quick else 100_000
    repeat = 3 if args.quick else 5
    report = Report("open")
    source = generate.build_store(n)
    with tempfile.TemporaryDirectory(dir=harness.OUT_DIR) as tmp:
        path = Path(tmp) / "registry.gpkg"
        shutil.copy(source, path)
        report.section(f"Opening a registry of {n:,} facilities")
        t, store = once(lambda: GeoPackageStore(path))
        store.close()
        report.row("upgrade to row checksums (migration 4, once)", f"{t:,.2f} s")
        report.data["migration_s"] = t

        def open_close() -> None:
            GeoPackageStore(path).close()

        ours = report.timing("open", "writable open, nothing edited outside", timed(open_close, repeat))
        signal = GeoPackageDialect.written_elsewhere
        GeoPackageDialect.written_elsewhere = lambda self, tables: []  # type: ignore[method-assign]
        try:
            base = report.timing("open_unchecked", "the same open without the check (baseline)",
                                 timed(open_close, repeat))
        finally:
            GeoPackageDialect.written_elsewhere = signal  # type: ignore[method-assign]
        report.compare("open_ratio", "open with the check / without", ours, base)

        samples = []
        for k in range(repeat):
            outside_edit(path, k)
            t, _ = once(open_close)
            samples.append(t)
        report.timing("open_after_edit", "first open after one facility changed outside (recorded)", samples)

        store = GeoPackageStore(path)
        try:
            report.timing("full_compare", "full comparison, every record table (validate)",
                          timed(store.outside_edits, max(1, repeat // 2), warmup=0))
        finally:
            store.close()
    report.write(facilities=n)


if __name__ == "__main__":
    main()
