"""Values the model does not accept, written into the registry by another program (QGIS, GDAL, sqlite3):
found row by row, each named by table, id and column, so `facilities validate` reports every one."""

from __future__ import annotations

import shapely

from ..geometry import POLYGONAL
from .dialect import Dialect
from .tables import RECORD_TABLES, Table


def record_problems(dialect: Dialect, limit: int = 200) -> list[str]:
    """Every stored value a read would refuse: a column whose decoder fails (non-JSON text in a JSON
    column, an unknown status or precision, a malformed date), a missing, invalid or (for facilities)
    non-polygonal geometry. At most `limit` lines."""
    problems: list[str] = []
    for table in RECORD_TABLES:
        problems += _table_problems(dialect, table)
        if len(problems) >= limit:
            break
    return problems[:limit]


def row_problems(dialect: Dialect, table: Table, ids: list[str]) -> dict[str, list[str]]:
    """The problems of the records with these ids (a read that failed on them), by id; records the
    model accepts are absent."""
    found: dict[str, list[str]] = {}
    for k in range(0, len(ids), 500):
        clause, params = dialect.in_ids("id", ids[k:k + 500])
        for line_id, line in _table_problems(dialect, table, f"WHERE {clause}", params, with_ids=True):
            found.setdefault(line_id, []).append(line)
    return found


def _table_problems(dialect: Dialect, table: Table, where: str = "", params: list | None = None, *,
                    with_ids: bool = False) -> list:
    cols = [c for c in table.columns if c.decode is not None]
    select = ", ".join(["id", *(dialect.geom_select(),) * bool(table.geometry), *(c.name for c in cols)])
    out: list = []
    for row in dialect.query(f"SELECT {select} FROM {table.name} {where} ORDER BY fid", params or ()):
        before = len(out)
        ident, rest = row[0], row[1:]
        if table.geometry:
            geom, rest = rest[0], rest[1:]
            out += [f"{table.name} {ident!r} geom: {p}" for p in _geometry_problems(dialect, table, geom)]
        for c, value in zip(cols, rest, strict=True):
            if c.decode is None:  # stored as is: nothing to refuse
                continue
            try:
                c.decode(value)
            except Exception as err:  # noqa: BLE001 - any decoder failure is the finding, reported by name
                out.append(f"{table.name} {ident!r} {c.name}: {str(value)[:60]!r} is not accepted "
                           f"({type(err).__name__}: {str(err)[:80]})")
        if with_ids:
            out[before:] = [(ident, line) for line in out[before:]]
    return out


def _geometry_problems(dialect: Dialect, table: Table, value) -> list[str]:
    if value is None:
        return [] if not table.geometry_required else ["no geometry"]
    try:
        (geom,) = dialect.decode_geoms([value])
    except Exception as err:  # noqa: BLE001 - an undecodable blob is the finding
        return [f"not a readable geometry ({err})"]
    if geom is None or geom.is_empty:
        return ["empty geometry"] if table.geometry_required else []
    found = []
    if table.name == "facilities" and geom.geom_type not in POLYGONAL:
        found.append(f"a {geom.geom_type}, where a facility needs a Polygon or MultiPolygon")
    if not geom.is_valid:
        found.append(f"invalid geometry ({shapely.is_valid_reason(geom)})")
    return found

