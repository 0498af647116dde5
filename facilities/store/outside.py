"""Rows changed by another program (QGIS, GDAL, SQL) since the store last wrote them.

Every row the store writes carries `row_hash`, a checksum of the row as written (tables.row_hash;
migration 4 adds it and fills it for the rows already there). A row whose values no longer give its
checksum, or that has none (a feature GDAL appended), was changed outside the app. No triggers: a
trigger would have to be kept in every copy QGIS or ogr2ogr makes of the file, and the SQLite shell
cannot fire the GeoPackage's own R-tree triggers anyway.

Comparing means reading every row (seconds at 100,000 facilities), so an open compares only the
tables a cheap signal says were written by someone else: in a GeoPackage, `gpkg_contents.last_change`
differing from the value the store itself wrote last (GDAL, and so QGIS, set it on every edit of a
layer). `facilities validate` compares every table whatever the signal says.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from .dialect import Dialect, Tx
from .tables import RECORD_TABLES, Table, row_hash


@dataclass(frozen=True)
class OutsideEdit:
    """A row whose checksum does not match its values: changed (or added) outside the app."""

    table: str
    fid: int
    id: str
    checksum: str  # what its values give now
    added: bool  # no checksum at all: inserted by another program

    def __str__(self) -> str:
        verb = "added" if self.added else "changed"
        return f"{self.table} {self.id!r}: {verb} outside the app since the app last wrote it"


def written_select(dialect: Dialect, table: Table, leave_out: Collection[str] = ()) -> str:
    """SELECT list: fid, id, then the row's values as the store wrote them (the checksum's input), then row_hash.
    `leave_out`: columns a later migration adds, which a checksum written before it does not cover."""
    cols = [dialect.sql.get("as_text", "{}").format(c.name) if c.type == "date" else c.name
            for c in table.columns if c.name != "row_hash" and c.name not in leave_out]
    geom = [dialect.sql.get("geom_written", "geom")] if table.geometry else []
    return ", ".join(["fid", "id", *geom, *cols, "row_hash"])


def changed_rows(dialect: Dialect, tables: Iterable[Table], tx: Tx | None = None) -> list[OutsideEdit]:
    """Every row of `tables` whose checksum does not match its values, in table and fid order."""
    found: list[OutsideEdit] = []
    for table in tables:
        sql = f"SELECT {written_select(dialect, table)} FROM {table.name} ORDER BY fid"
        rows = dialect.query(sql) if tx is None else tx.execute(sql).fetchall()
        for row in rows:
            now = row_hash(row[2:-1])
            if row[-1] != now:
                found.append(OutsideEdit(table.name, row[0], row[1], now, row[-1] is None))
    return found


def fill(tx: Tx, dialect: Dialect, leave_out: Mapping[str, Collection[str]] | None = None) -> None:
    """Migration 4: checksum every stored row as it is now (what the registry held when it was upgraded), over the
    columns it had then (`leave_out`: table -> the columns later migrations add)."""
    for table in RECORD_TABLES:
        skip = (leave_out or {}).get(table.name, ())
        rows = tx.execute(f"SELECT {written_select(dialect, table, skip)} FROM {table.name}").fetchall()
        tx.executemany(f"UPDATE {table.name} SET row_hash = ? WHERE fid = ?",
                       [(row_hash(r[2:-1]), r[0]) for r in rows])


def matching_fids(tx: Tx, dialect: Dialect, table: Table, leave_out: Collection[str] = ()) -> list[int]:
    """The fids of `table`'s rows whose checksum matches their values over the columns but `leave_out`: the rows the
    app wrote last, before a migration that adds those columns."""
    rows = tx.execute(f"SELECT {written_select(dialect, table, leave_out)} FROM {table.name}").fetchall()
    return [r[0] for r in rows if r[-1] == row_hash(r[2:-1])]


def rehash(tx: Tx, dialect: Dialect, table: Table, fids: Collection[int], leave_out: Collection[str] = ()) -> None:
    """Checksum the rows `fids` of `table` again over its columns now (but `leave_out`): after a migration added
    columns, a row the app wrote last still reads as the app's; a row changed outside the app stays reported."""
    if not fids:
        return
    wanted = set(fids)
    rows = tx.execute(f"SELECT {written_select(dialect, table, leave_out)} FROM {table.name}").fetchall()
    tx.executemany(f"UPDATE {table.name} SET row_hash = ? WHERE fid = ?",
                   [(row_hash(r[2:-1]), r[0]) for r in rows if r[0] in wanted])


def tables_written_elsewhere(dialect: Dialect) -> list[Table]:
    """The record tables another program wrote since the store's last write, by the dialect's cheap signal."""
    names = set(dialect.written_elsewhere([t.name for t in RECORD_TABLES]))
    return [t for t in RECORD_TABLES if t.name in names]
