"""What really differs between the GeoPackage file and the PostGIS server, and nothing else.

`SqlStore` (store/sql.py) holds the registry's logic once and speaks SQL written with `?`
placeholders; a `Dialect` supplies transactions and locking (BEGIN IMMEDIATE vs FOR UPDATE),
geometry in and out (GeoPackage binary vs EWKB), JSON for the export fast path (json_object vs
json_build_object), bulk insert (executemany with the R-tree filled at once vs COPY), the spatial
filter (R-tree join vs GiST &&), error mapping into the facilities family, after-write
maintenance (gpkg_contents extents vs planner statistics), and the schema's DDL from the table
declarations in store/tables.py.

Every method that touches the driver raises only `facilities.errors` exceptions, so no caller,
the UI included, ever needs to know sqlite3 or psycopg.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

import numpy as np

from ..bbox import BBox
from .tables import Column, Table


class Tx(Protocol):
    """A transaction's handle: `execute` takes SQL with `?` placeholders."""

    def execute(self, sql: str, params: Sequence | tuple = ()) -> Any:
        """Run one statement; returns the engine's cursor."""

    def executemany(self, sql: str, rows: Sequence[Sequence]) -> Any:
        """Run one statement once per row of parameters."""


class Dialect(ABC):
    """One database engine under the store. Instances own their connections (one per thread)."""

    location: str  # where the registry is, as shown to a user (passwords hidden)
    name: str
    types: dict[str, str]  # logical column type -> SQL type
    # SQL forms that differ only in spelling: name_order, text_order, geom_select, geom_param,
    # json_object, json_raw, rounded, id_column ({} is the column or the content)
    sql: dict[str, str]
    max_params: int = 900  # bound parameters per statement, for chunked id lists

    # ---------------------------------------------------------------- connections and transactions

    @abstractmethod
    def open(self) -> None:
        """Connect, create the schema on first use or migrate it (store/migrations.py)."""

    @abstractmethod
    def write(self) -> AbstractContextManager[Tx]:
        """One write transaction, taking the write lock at once; errors mapped, rolled back on failure."""

    @abstractmethod
    def query(self, sql: str, params: Sequence = ()) -> list[tuple]:
        """A read outside any transaction; errors mapped."""

    @abstractmethod
    def close(self) -> None:
        """Close every connection this dialect opened."""

    @abstractmethod
    def has_table(self, tx: Tx, name: str) -> bool:
        """Whether the database has a table of this name."""

    @abstractmethod
    def column_names(self, tx: Tx, table: str) -> set[str]:
        """The names of a table's columns as the database has them (migrations compare them with the declared ones)."""

    # ---------------------------------------------------------------- SQL that differs

    def lock(self, mode: str) -> str:
        """Row-lock suffix for a SELECT in a write ('update' or 'share'); GeoPackage locks the file."""
        return ""

    @abstractmethod
    def in_ids(self, column: str, ids: Sequence[str]) -> tuple[str, list]:
        """`column` is one of `ids` (a short list: callers chunk by `max_params`)."""

    @abstractmethod
    def bbox_clause(self, table: Table, boxes: list[BBox]) -> tuple[str, list]:
        """Rows whose geometry's envelope meets any of the boxes, through the spatial index."""

    def name_order(self, column: str) -> str:
        """ORDER BY text for an ASCII-case-insensitive, byte-wise order that both engines agree on."""
        return self.sql["name_order"].format(column)

    def text_order(self, column: str) -> str:
        """ORDER BY text for a byte-wise order."""
        return self.sql["text_order"].format(column)

    def geom_select(self) -> str:
        """The SELECT expression for the geometry column."""
        return self.sql["geom_select"]

    @abstractmethod
    def encode_geoms(self, geoms: list) -> list:
        """Shapely geometries (None allowed) -> parameters for the geometry column."""

    @abstractmethod
    def decode_geoms(self, values: list) -> np.ndarray:
        """Selected geometry values -> shapely geometries."""

    def geom_param(self) -> str:
        """The placeholder expression that takes one `encode_geoms` value."""
        return self.sql["geom_param"]

    def json_object(self, pairs: list[tuple[str, str]]) -> str:
        """SQL building one JSON object text from (key, SQL expression) pairs, in order."""
        return self.sql["json_object"].format(", ".join(f"'{k}', {v}" for k, v in pairs))

    def json_raw(self, column: str) -> str:
        """A JSON text column embedded as JSON (not as a string) in `json_object`."""
        return self.sql["json_raw"].format(column)

    def rounded(self, column: str) -> str:
        """A number shown to one decimal."""
        return self.sql["rounded"].format(column)

    @abstractmethod
    def insert_rows(self, tx: Tx, table: Table, rows: list[tuple], geoms: Sequence | None = None) -> None:
        """Insert many rows of `table.names` (geometry already encoded); `geoms`, the rows' shapely
        geometries, lets a bulk insert fill the spatial index at once."""

    def after_write(self, tx: Tx, tables: Sequence[str]) -> None:  # noqa: B027 - most dialects need none
        """Maintenance after a write commits its rows (GeoPackage: gpkg_contents)."""

    def written_elsewhere(self, tables: Sequence[str]) -> list[str]:
        """Of `tables`, those a cheap signal says another program wrote since the store's last write (their
        rows are then compared with their checksums: store/outside.py); none where there is no such signal."""
        return []

    @abstractmethod
    def check(self) -> list[str]:
        """Engine-specific integrity problems (geometry validity, SRIDs, foreign keys); empty means healthy."""

    # ---------------------------------------------------------------- DDL from the declarations

    @abstractmethod
    def geometry_type(self, table: Table) -> str:
        """The SQL type of a table's geometry column."""

    def id_column(self) -> str:
        """The DDL of the integer primary key column, fid."""
        return self.sql["id_column"]

    def column_ddl(self, c: Column) -> str:
        """The DDL of one declared column: name, SQL type, constraints."""
        return f"{c.name} {self.types[c.type]}{' ' + c.constraints if c.constraints else ''}"

    def table_ddl(self, table: Table) -> str:
        """CREATE TABLE for a declared table: fid, the geometry column if it has one, then its columns."""
        parts = [self.id_column()]
        if table.geometry:
            parts.append(f"geom {self.geometry_type(table)}{' NOT NULL' if table.geometry_required else ''}")
        parts += [self.column_ddl(c) for c in table.columns]
        return f"CREATE TABLE {table.name} ({', '.join(parts)})"

    def index_ddl(self, table: Table) -> Iterator[str]:
        """CREATE INDEX statements for a table's declared indexes."""
        for name, cols in table.indexes:
            yield f"CREATE INDEX {name} ON {table.name}({cols})"

    def add_column(self, tx: Tx, table: Table, column: str) -> None:
        """Migration step: add a declared column to an existing table (kept if it is there already)."""
        if column not in self.column_names(tx, table.name):
            tx.execute(f"ALTER TABLE {table.name} ADD COLUMN {self.column_ddl(table.column(column))}")


