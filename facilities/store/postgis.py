"""The PostGIS dialect: the team registry on PostgreSQL, safe under concurrent analysts.

Written with psycopg 3 directly (no ORM): the store already speaks SQL from one set of table
declarations, so an ORM would add a second model of the same tables. Geometry travels as WKB
(EWKB with SRID 4326 on the way in, ST_AsBinary on the way out), decoded in batches by shapely;
no WKT or GeoJSON round trips, so coordinates are bit-for-bit what was written.

Every write is one transaction on the calling thread's connection; rows about to be changed are
read `FOR UPDATE` (references `FOR SHARE`), so concurrent editors queue and the optimistic
version check in the store sees the latest row. A lost server connection becomes a StoreError
(the server rolls back whatever was not committed) and the next call reconnects. psycopg errors
never leave this module.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, cast

import numpy as np
import shapely

from ..errors import DuplicateId, StoreError
from . import migrations
from .dialect import BBox, Dialect, Tx
from .tables import FEATURE_TABLES, TABLES, Table

try:
    import psycopg
except ImportError:  # optional: only teams on PostgreSQL need it
    psycopg = None  # type: ignore[assignment]

SRID = 4326
# A fixed key for pg_advisory_xact_lock: two processes opening a new database create it once.
SCHEMA_LOCK = 0x46_54_52_4B  # "FTRK"


@lru_cache(maxsize=512)
def _pg(sql: str) -> str:
    """The store's `?` placeholders as psycopg's `%s`."""
    return sql.replace("?", "%s")


class _Cursor:
    """A psycopg cursor that takes the store's `?` SQL."""

    def __init__(self, cur: Any) -> None:
        self.cur = cur

    def execute(self, sql: str, params: Sequence = ()) -> Any:
        return self.cur.execute(_pg(sql), params)

    def executemany(self, sql: str, rows: Sequence[Sequence]) -> None:
        self.cur.executemany(_pg(sql), rows)


class PostGisDialect(Dialect):
    """The registry in a PostgreSQL database with PostGIS through psycopg: one connection per thread, GiST indexes,
    row locks for concurrent editors."""

    name = "postgis"
    types = {"text": "TEXT", "int": "INTEGER", "real": "DOUBLE PRECISION", "date": "DATE",
             "timestamp": "TEXT",  # ISO 8601 text as the codec writes it: sorts correctly, round-trips exactly
             "json": "TEXT", "document": "JSON"}
    # lower() COLLATE "C": GeoPackage's ASCII-case-insensitive NOCASE order; geometry out as little-endian WKB
    sql = {"name_order": 'lower({}) COLLATE "C"', "text_order": '{} COLLATE "C"',
           "geom_select": "ST_AsBinary(geom, 'NDR')", "geom_param": "?::geometry",
           "json_object": "json_build_object({})::text", "json_raw": "{}::json", "rounded": "round({}::numeric, 1)",
           "id_column": "fid BIGSERIAL PRIMARY KEY",
           # a row's values as the store wrote them (row checksums, store/outside.py): hex EWKB, dates as text
           "geom_written": "upper(encode(ST_AsEWKB(geom, 'NDR'), 'hex'))", "as_text": "{}::text"}
    max_params = 10**9  # id lists travel as one array parameter

    def __init__(self, url: str, *, connect_timeout_s: int = 10):
        if psycopg is None:
            raise StoreError("the PostGIS backend needs psycopg 3: pip install 'facility-tracker[postgis]'")
        self.url = url
        self.location = re.sub(r"(//[^:/@]+:)[^@]*@", r"\1***@", url)
        self._timeout = connect_timeout_s
        self._local = threading.local()
        self._all: list[Any] = []
        self._lock = threading.Lock()

    # ---------------------------------------------------------------- connections and transactions

    def _connect(self) -> Any:
        con = getattr(self._local, "con", None)
        if con is not None and not con.closed and not con.broken:
            return con
        try:
            con = psycopg.connect(self.url, autocommit=True, connect_timeout=self._timeout,
                                  application_name="facility-tracker")
        except psycopg.Error as err:
            raise StoreError(f"the PostGIS backend is not available at {self.location}: cannot connect "
                             f"({_first_line(err)})") from err
        self._local.con = con
        with self._lock:
            self._all.append(con)
        return con

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """Database errors -> the registry's own, with what happened to the data."""
        try:
            yield
        except psycopg.errors.UniqueViolation as err:
            raise DuplicateId(f"the registry refused a duplicate: {err.diag.message_detail or err}") from err
        except psycopg.IntegrityError as err:
            raise StoreError(f"the registry refused the change, nothing was changed: {err}") from err
        except psycopg.OperationalError as err:
            self._drop_connection()
            raise StoreError(f"lost the connection to the PostGIS registry {self.location} ({_first_line(err)}); "
                             "the server keeps a transaction whole or not at all, so nothing is half-written; "
                             "the next call reconnects") from err
        except psycopg.Error as err:
            raise StoreError(f"the PostGIS registry {self.location} failed: {_first_line(err)}") from err

    def _drop_connection(self) -> None:
        con = getattr(self._local, "con", None)
        self._local.con = None
        if con is not None:
            with contextlib.suppress(Exception):
                con.close()

    @contextmanager
    def write(self) -> Iterator[_Cursor]:
        """One transaction. BEGIN is sent by hand (the connection is in autocommit mode) so that a
        connection left dead by a server restart is replaced before anything was sent on it."""
        with self._errors():
            con = self._connect()
            try:
                con.execute("BEGIN")
            except psycopg.OperationalError:
                self._drop_connection()
                con = self._connect()
                con.execute("BEGIN")
            try:
                with con.cursor() as cur:
                    yield _Cursor(cur)
            except BaseException:
                if not con.broken:
                    with contextlib.suppress(psycopg.Error):
                        con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    def query(self, sql: str, params: Sequence = ()) -> list[tuple]:
        """Retried once on a new connection, since reads are idempotent and the thread's connection
        may predate a server restart. Binary results: geometry arrives as raw WKB bytes."""
        with self._errors():
            try:
                return self._connect().execute(_pg(sql), params, binary=True).fetchall()
            except psycopg.OperationalError:
                self._drop_connection()
                return self._connect().execute(_pg(sql), params, binary=True).fetchall()

    def close(self) -> None:
        """Close every thread's connection."""
        with self._lock:
            for con in self._all:
                with contextlib.suppress(Exception):
                    con.close()
            self._all.clear()
        self._local = threading.local()

    def has_table(self, tx, name: str) -> bool:
        """Whether a table of this name is on the search path."""
        return bool(tx.execute("SELECT to_regclass(?) IS NOT NULL", (name,)).fetchone()[0])

    def column_names(self, tx, table: str) -> set[str]:
        """The table's column names in the current schema."""
        return {r[0] for r in tx.execute("SELECT column_name FROM information_schema.columns "
                                         "WHERE table_schema = current_schema() AND table_name = ?", (table,))}

    # ---------------------------------------------------------------- schema

    def open(self) -> None:
        """Enable PostGIS if needed, then create or migrate the schema, holding an advisory lock so concurrent
        openers do it once."""
        with self.write() as tx:
            tx.execute("SELECT pg_advisory_xact_lock(?)", (SCHEMA_LOCK,))
            if tx.execute("SELECT 1 FROM pg_extension WHERE extname = 'postgis'").fetchone() is None:
                try:
                    tx.execute("CREATE EXTENSION postgis")
                except psycopg.Error as err:
                    raise StoreError(f"{self.location} has no PostGIS and it cannot be enabled here "
                                     f"(CREATE EXTENSION postgis: {_first_line(err)})") from err
            if not self.has_table(tx, "tracker_meta") and self.has_table(tx, "facilities"):
                raise StoreError(f"{self.location} has a facilities table but is not a facility registry "
                                 "(no tracker_meta table)")
            migrations.create_or_migrate(tx, self, self._create)

    def _create(self, tx: Tx) -> None:
        for table in TABLES:
            tx.execute(self.table_ddl(table))
            if table.geometry:
                tx.execute(f"CREATE INDEX idx_{table.name}_geom ON {table.name} USING GIST (geom)")
            for stmt in self.index_ddl(table):
                tx.execute(stmt)

    def geometry_type(self, table: Table) -> str:
        """Any geometry type, in EPSG:4326."""
        return f"geometry(Geometry, {SRID})"

    # ---------------------------------------------------------------- SQL that differs

    def lock(self, mode: str) -> str:
        """FOR UPDATE or FOR SHARE: row locks, so concurrent editors queue instead of overwriting each other."""
        return " FOR UPDATE" if mode == "update" else " FOR SHARE"

    def in_ids(self, column: str, ids: Sequence[str]) -> tuple[str, list]:
        """`column = ANY(?)` with the ids as one array parameter."""
        return f"{column} = ANY(?)", [list(ids)]

    def bbox_clause(self, table: Table, boxes: list[BBox]) -> tuple[str, list]:
        """Rows whose envelope meets any box (`&&`, through the GiST index)."""
        # `&&` compares envelopes through the GiST index; the store then keeps exact hits
        params: list = []
        for b in boxes:
            params += list(b)
        return "(" + " OR ".join(f"geom && ST_MakeEnvelope(?, ?, ?, ?, {SRID})" for _ in boxes) + ")", params

    def encode_geoms(self, geoms: list) -> list:
        """-> hex EWKB with SRID 4326, what COPY and a geometry cast take (plain WKB would arrive with
        SRID 0 and be refused by the column)."""
        arr = np.asarray(geoms, dtype=object)
        out = shapely.to_wkb(shapely.set_srid(arr, SRID), hex=True, include_srid=True, byte_order=1,
                             output_dimension=2)
        return out.tolist()

    def decode_geoms(self, values: list) -> np.ndarray:
        """WKB values -> shapely geometries."""
        return shapely.from_wkb([None if v is None else bytes(v) for v in values])

    def insert_rows(self, tx: Tx, table: Table, rows: list[tuple], geoms: Sequence | None = None) -> None:
        """Insert rows with COPY (one round trip), then ANALYZE after a large batch so the planner uses the spatial
        index."""
        if not rows:
            return
        # COPY: one round trip for a whole import instead of one per row. The tx is the _Cursor our own
        # write() yields; Dialect types it as the bare Tx protocol, which has no copy.
        cur = cast(_Cursor, tx).cur
        with cur.copy(f"COPY {table.name} ({', '.join(table.names)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        if len(rows) >= 500:  # fresh planner statistics, or the first bbox query may scan the table
            tx.execute(f"ANALYZE {table.name}")

    def check(self) -> list[str]:
        """Geometry validity and SRIDs (foreign keys are enforced by the server); empty means healthy."""
        problems = []
        for table in FEATURE_TABLES:
            bad, srids = self.query(f"SELECT count(*) FILTER (WHERE NOT ST_IsValid(geom)), "
                                    f"count(*) FILTER (WHERE ST_SRID(geom) <> {SRID}) FROM {table.name}")[0]
            if bad:
                problems.append(f"{table.name}: {bad} invalid geometries")
            if srids:
                problems.append(f"{table.name}: {srids} geometries not in EPSG:{SRID}")
        return problems


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
