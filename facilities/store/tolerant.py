"""Reads that survive a record the model refuses: rows decoded in one batch as before, and only when
that fails (or a facility's outline is not polygonal) one by one, each refused row left out and named
(table, id, column) through `skipped.Collectors`. The good path costs one type check per batch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import shapely

from ..geometry import POLYGONAL
from . import features
from .dialect import Dialect
from .row_checks import row_problems
from .skipped import SkippedRecord, parse_problem
from .tables import Table

_POLYGONAL_IDS = {shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON}


def refused(dialect: Dialect, table: Table, ids: Sequence[str], why: Callable[[str], str]) -> list[SkippedRecord]:
    """SkippedRecords for rows a read could not use: each named by the columns `row_checks` finds wrong,
    or, where it finds none, by `why(id)` (what the read itself saw)."""
    found = row_problems(dialect, table, list(ids)) if ids else {}
    out: list[SkippedRecord] = []
    for ident in ids:
        lines = found.get(ident)
        if lines:
            out += [parse_problem(table.name, ident, line) for line in lines]
        else:
            out.append(SkippedRecord(table.name, ident, "row", why(ident)))
    return out


def decode_rows(dialect: Dialect, table: Table, rows: list, report: Callable[[list[SkippedRecord]], None]) -> list:
    """Rows in `table.names` order -> records, leaving out (and reporting) those the model refuses."""
    if not rows:
        return []
    if not table.geometry:
        try:
            return table.records(rows)
        except Exception:  # noqa: BLE001 - any decoder failure: find the rows one by one
            return _one_by_one(dialect, table, rows, None, report)
    try:
        geoms = dialect.decode_geoms([r[0] for r in rows])
    except Exception:  # noqa: BLE001 - an unreadable blob: find it one by one
        return _one_by_one(dialect, table, rows, None, report)
    if table.name == "facilities":
        geoms = features.polygonal(geoms)
        if not np.isin(shapely.get_type_id(geoms), list(_POLYGONAL_IDS)).all():
            return _one_by_one(dialect, table, rows, geoms, report)
    try:
        return table.records(rows, geoms)
    except Exception:  # noqa: BLE001 - any decoder failure: find the rows one by one
        return _one_by_one(dialect, table, rows, geoms, report)


def _one_by_one(dialect: Dialect, table: Table, rows: list, geoms, report) -> list:
    at = table.names.index("id")
    good, bad, seen = [], [], {}
    for k, row in enumerate(rows):
        try:
            geom = None
            if table.geometry:
                geom = geoms[k] if geoms is not None else dialect.decode_geoms([row[0]])[0]
                if table.name == "facilities":
                    geom = features.polygonal(np.array([geom], dtype=object))[0]
                    if geom is None or geom.geom_type not in POLYGONAL:
                        raise ValueError(f"a {getattr(geom, 'geom_type', 'missing')} outline")
            good.append((table.records([row], np.array([geom], dtype=object)) if table.geometry
                         else table.records([row]))[0])
        except Exception as err:  # noqa: BLE001 - the row is refused; row_checks names the column
            bad.append(row[at])
            seen[row[at]] = f"not readable ({type(err).__name__}: {str(err)[:80]})"
    if bad:
        report(refused(dialect, table, bad, seen.__getitem__))
    return good
