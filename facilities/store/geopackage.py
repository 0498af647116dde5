"""The GeoPackage dialect: the registry as one file that GDAL and QGIS open as it is.

Written through Python's sqlite3 only (one SQLite library per file and process: SQLite warns
that several copies in one process can corrupt a database). Every connection comes from
`_connect`, which sets WAL, the busy timeout and foreign keys, and registers the ST_* functions
the R-tree triggers need. Every write is one `BEGIN IMMEDIATE` transaction: a deferred BEGIN
that reads and then writes fails with "database is locked" under concurrency whatever the
timeout. sqlite3 errors never leave this module: they become the facilities error family.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import shapely

from ..dates import format_timestamp, utcnow
from ..errors import DuplicateId, StoreError
from . import gpkg_binary, gpkg_faults, migrations
from . import gpkg_schema as spec
from .dialect import BBox, Dialect, Tx
from .tables import FEATURE_TABLES, TABLES, Table

BULK_ROWS = 500  # from this many rows an import fills the R-tree itself


class GeoPackageDialect(Dialect):
    """The registry in a GeoPackage file through sqlite3: one connection per thread, WAL, the R-tree spatial index
    the spec defines."""

    name = "gpkg"
    types = {"text": "TEXT", "int": "INTEGER", "real": "DOUBLE", "date": "DATE", "timestamp": "DATETIME",
             "json": "TEXT", "document": "TEXT"}
    sql = {"name_order": "{} COLLATE NOCASE", "text_order": "{}", "geom_select": "geom", "geom_param": "?",
           "json_object": "json_object({})", "json_raw": "json({})", "rounded": "round({},1)",
           "id_column": "fid INTEGER PRIMARY KEY AUTOINCREMENT"}

    def __init__(self, path: str | os.PathLike, *, busy_timeout_s: float = 10.0, synchronous: str = "NORMAL",
                 create: bool = True, read_only: bool = False):
        self.path = Path(path).expanduser()
        self.location = str(self.path)
        self._busy_timeout_s = busy_timeout_s
        self._synchronous = synchronous
        self.create = create  # False: a missing file is an error (reads), never created
        self.read_only: str | None = "opened read-only" if read_only else None  # why writes are refused
        self._checked = False  # quick_check before the first write of this instance
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    # ---------------------------------------------------------------- connections and transactions

    def connect(self) -> sqlite3.Connection:
        """This thread's connection, prepared once: ST_* functions, busy timeout, foreign keys."""
        con = getattr(self._local, "con", None)
        if con is not None:
            return con
        try:
            if self.read_only:
                con = sqlite3.connect(gpkg_faults.read_only_uri(self.path), uri=True, timeout=self._busy_timeout_s,
                                      isolation_level=None, check_same_thread=False)
            else:
                con = sqlite3.connect(self.path, timeout=self._busy_timeout_s, isolation_level=None,
                                      check_same_thread=False)
            for name, fn in gpkg_binary.SQL_FUNCTIONS.items():
                con.create_function(name, 1, fn, deterministic=True)
            con.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_s * 1000)}")
            con.execute("PRAGMA foreign_keys = ON")
            con.execute("PRAGMA cache_size = -32768")  # 32 MiB: a bulk import's id index stays in memory
        except sqlite3.Error as err:
            raise gpkg_faults.explain(err, self.path, "opening") from err
        self._local.con = con
        with self._lock:
            self._all.append(con)
        return con

    @contextmanager
    def write(self, *, check: bool = True) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE: the file's write lock at once); committed on success, rolled back
        and mapped to StoreError on failure."""
        if self.read_only:
            raise gpkg_faults.read_only(self.path, self.read_only)
        con = self.connect()
        try:
            con.execute("BEGIN IMMEDIATE")
            if check and not self._checked:  # never write into a damaged file: 0.5 s at 100,000 facilities, once
                bad = [r[0] for r in con.execute("PRAGMA quick_check(5)") if r[0] != "ok"]
                if bad:
                    con.execute("ROLLBACK")
                    raise gpkg_faults.damaged(self.path, " ".join(" ".join(bad).split()))
                self._checked = True
        except sqlite3.Error as err:
            with contextlib.suppress(sqlite3.Error):
                con.execute("ROLLBACK")
            if getattr(err, "sqlite_errorname", "").startswith("SQLITE_BUSY"):
                raise StoreError(f"the registry {self.path} is busy (another program is writing it): {err}") from err
            raise gpkg_faults.explain(err, self.path, "writing to") from err
        try:
            yield con
            con.execute("COMMIT")
        except BaseException as err:
            with contextlib.suppress(sqlite3.Error):
                con.execute("ROLLBACK")
            if isinstance(err, sqlite3.IntegrityError) and "UNIQUE" in str(err):
                raise DuplicateId(f"the registry refused a duplicate, nothing was changed: {err}") from err
            if isinstance(err, sqlite3.IntegrityError):
                raise StoreError(f"the registry refused the change: {err}") from err
            if isinstance(err, sqlite3.Error):
                raise gpkg_faults.explain(err, self.path, "writing to") from err
            raise

    def query(self, sql: str, params: Sequence = ()) -> list[tuple]:
        """A read on this thread's connection; sqlite3 errors become StoreError."""
        try:
            return self.connect().execute(sql, params).fetchall()
        except sqlite3.Error as err:
            raise gpkg_faults.explain(err, self.path, "reading the registry") from err

    def close(self) -> None:
        """Close every thread's connection."""
        with self._lock:
            for con in self._all:
                with contextlib.suppress(sqlite3.Error):
                    con.close()
            self._all.clear()
        self._local = threading.local()

    def has_table(self, tx, name: str) -> bool:
        """Whether sqlite_master lists a table of this name."""
        return tx.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (name,)).fetchone() is not None

    def column_names(self, tx, table: str) -> set[str]:
        """The table's column names, from PRAGMA table_info."""
        return {r[1] for r in tx.execute(f"PRAGMA table_info({table})")}

    # ---------------------------------------------------------------- schema

    def open(self) -> None:
        """Create the GeoPackage (header fields, WAL, schema) if the file is new or empty, otherwise check it is a
        registry and migrate it."""
        new = not self.path.exists() or self.path.stat().st_size == 0
        if new and not self.create:
            what = "is empty" if self.path.exists() else "does not exist"
            raise StoreError(f"the registry {self.path} {what}; nothing was created (`facilities init` creates it)")
        if new:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise StoreError(f"cannot create the registry {self.path}: {err.strerror or err}") from err
        elif _head(self.path) != b"SQLite format 3\x00":
            raise StoreError(f"{self.path} is not a GeoPackage (not an SQLite file)")
        else:
            self.read_only = self.read_only or gpkg_faults.access(self.path)
        if self.read_only:
            self._open_read_only()
            return
        con = self.connect()
        try:
            if new:
                # The GeoPackage header fields live in the file's first page; set them before WAL so that
                # readers of the raw header (validate_gpkg, `file`) see them without a checkpoint.
                con.execute(f"PRAGMA application_id = {spec.APPLICATION_ID}")
                con.execute(f"PRAGMA user_version = {spec.GPKG_VERSION}")
            con.execute("PRAGMA journal_mode = WAL")
            con.execute(f"PRAGMA synchronous = {self._synchronous}")
        except sqlite3.DatabaseError as err:
            raise gpkg_faults.explain(err, self.path, "opening") from err
        with self.write(check=False) as tx:  # reads never pay for the first write's quick_check
            self._check_kind(tx)
            migrations.create_or_migrate(tx, self, self._create)

    def _check_kind(self, tx) -> None:
        """StoreError unless the file is empty or a GeoPackage holding a facility registry."""
        tables = {r[0] for r in tx.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if tables:
            app_id = tx.execute("PRAGMA application_id").fetchone()[0]
            if app_id != spec.APPLICATION_ID:
                raise StoreError(f"{self.path} is an SQLite file but not a GeoPackage (application_id {app_id:#x})")
            if "tracker_meta" not in tables:
                raise StoreError(f"{self.path} is a GeoPackage but not a facility registry (no tracker_meta table)")

    def _open_read_only(self) -> None:
        """Open a registry that cannot be written: no WAL or pragma writes, no migration (an older schema is
        refused with what to do), every write refused with ReadOnlyRegistry."""
        try:
            con = self.connect()
            self._check_kind(con)
            row = con.execute("SELECT value FROM tracker_meta WHERE key = 'schema_version'").fetchone()
        except sqlite3.Error as err:
            raise gpkg_faults.explain(err, self.path, "opening") from err
        version, newest = int(row[0]) if row else 0, migrations.schema_version()
        if version != newest:
            raise StoreError(f"the registry {self.path} is read-only ({self.read_only}) and at schema version "
                             f"{version}, not {newest}; open it once where it can be written to upgrade it")

    def _create(self, tx: Tx) -> None:
        for stmt in spec.split_script(spec.CORE):
            tx.execute(stmt)
        for table in TABLES:
            tx.execute(self.table_ddl(table))
            if table.geometry:
                tx.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier, description, srs_id) "
                           "VALUES (?, 'features', ?, ?, 4326)", (table.name, table.name, table.description))
                tx.execute("INSERT INTO gpkg_geometry_columns VALUES (?, 'geom', ?, 4326, 0, 0)",
                           (table.name, table.geometry))
                tx.execute("INSERT INTO gpkg_extensions VALUES (?, 'geom', 'gpkg_rtree_index', ?, 'write-only')",
                           (table.name, spec.RTREE_EXTENSION))
                for stmt in spec.split_script(spec.rtree_sql(table.name)):
                    tx.execute(stmt)
            else:
                tx.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier, description) "
                           "VALUES (?, 'attributes', ?, ?)", (table.name, table.name, table.description))
            for stmt in self.index_ddl(table):
                tx.execute(stmt)

    def geometry_type(self, table: Table) -> str:
        """The GeoPackage geometry type name declared for the table (GEOMETRY if none)."""
        return table.geometry or "GEOMETRY"

    # ---------------------------------------------------------------- SQL that differs

    def in_ids(self, column: str, ids: Sequence[str]) -> tuple[str, list]:
        """`column IN (?, ?, ...)` with one parameter per id."""
        return f"{column} IN ({', '.join('?' * len(ids))})", list(ids)

    def bbox_clause(self, table: Table, boxes: list[BBox]) -> tuple[str, list]:
        """Rows whose envelope meets any box, looked up in the table's R-tree."""
        sub = " OR ".join("(minx <= ? AND maxx >= ? AND miny <= ? AND maxy >= ?)" for _ in boxes)
        params: list = []
        for w, s, e, n in boxes:
            params += [e, w, n, s]
        return f"fid IN (SELECT id FROM rtree_{table.name}_geom WHERE {sub})", params

    def encode_geoms(self, geoms: list) -> list:
        """Shapely geometries -> GeoPackage geometry blobs."""
        return gpkg_binary.encode(geoms)

    def decode_geoms(self, values: list) -> np.ndarray:
        """GeoPackage geometry blobs -> shapely geometries."""
        return gpkg_binary.decode(values)

    def insert_rows(self, tx, table: Table, rows: list[tuple], geoms: Sequence | None = None) -> None:
        """Insert rows; a large batch of features drops the R-tree trigger for the transaction and fills the index
        from bounds computed in one pass."""
        names = table.names
        insert = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
        if not table.geometry or len(rows) < BULK_ROWS or geoms is None:
            tx.executemany(insert, rows)
            return
        # Bulk: the R-tree insert trigger calls five Python SQL functions per row, over half the
        # cost of an import. Drop it for this transaction, fill the index from bounds computed in
        # one vectorised call, and put the spec's trigger back verbatim; a rollback undoes all.
        trigger = f"rtree_{table.name}_geom_insert"
        (ddl,) = tx.execute("SELECT sql FROM sqlite_master WHERE type='trigger' AND name=?", (trigger,)).fetchone()
        (last,) = tx.execute(f"SELECT coalesce(max(fid), 0) FROM {table.name}").fetchone()
        tx.execute(f"DROP TRIGGER {trigger}")
        tx.executemany(insert, rows)
        bounds = dict(zip((r[1] for r in rows), shapely.bounds(np.asarray(geoms, dtype=object)).tolist(),
                          strict=True))
        index = []
        for fid, ident in tx.execute(f"SELECT fid, id FROM {table.name} WHERE fid > ?", (last,)):
            minx, miny, maxx, maxy = bounds[ident]
            if minx == minx:  # NaN bounds: no geometry or an empty one, which the spec leaves unindexed
                index.append((fid, minx, maxx, miny, maxy))
        tx.executemany(f"INSERT INTO rtree_{table.name}_geom VALUES (?, ?, ?, ?, ?)", index)
        tx.execute(ddl)

    def after_write(self, tx, tables: Sequence[str]) -> None:
        """Keep gpkg_contents' extent and last_change true, as GDAL and QGIS read them; remember the last_change
        written, so that one written by another program shows (`written_elsewhere`)."""
        now = format_timestamp(utcnow())
        features = {t.name for t in FEATURE_TABLES}
        for table in tables:
            if table in features:
                ext = _exact_extent(tx, table)
                tx.execute("UPDATE gpkg_contents SET last_change=?, min_x=?, min_y=?, max_x=?, max_y=? "
                           "WHERE table_name=?", (now, *ext, table))
            else:
                tx.execute("UPDATE gpkg_contents SET last_change=? WHERE table_name=?", (now, table))
        self.remember_last_change(tx, tables)

    @staticmethod
    def remember_last_change(tx, tables: Sequence[str]) -> None:
        """Record gpkg_contents.last_change of `tables` as the store's own (tracker_meta 'last_change:<table>')."""
        for table in tables:
            tx.execute("INSERT INTO tracker_meta (key, value) SELECT 'last_change:' || table_name, last_change "
                       "FROM gpkg_contents WHERE table_name = ? "
                       "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (table,))

    def written_elsewhere(self, tables: Sequence[str]) -> list[str]:
        """Tables whose gpkg_contents.last_change is not the one the store wrote: GDAL (QGIS) sets it on every
        edit of a layer. A registry from before migration 4 has no record, so every table is compared once."""
        rows = self.query("SELECT c.table_name FROM gpkg_contents c LEFT JOIN tracker_meta m "
                          "ON m.key = 'last_change:' || c.table_name WHERE m.value IS NOT c.last_change")
        changed = {r[0] for r in rows}
        return [t for t in tables if t in changed]

    def check(self) -> list[str]:
        """SQLite's own integrity and foreign-key checks; an empty list means healthy."""
        problems = [r[0] for r in self.query("PRAGMA integrity_check") if r[0] != "ok"]
        if problems:  # pages that do not parse: the file is damaged, whatever rows can still be read
            raise gpkg_faults.damaged(self.path, " ".join(" ".join(problems[:3]).split()))
        return [f"foreign key: {r}" for r in self.query("PRAGMA foreign_key_check")]


def _head(path: Path) -> bytes:
    """The file's first 16 bytes (the SQLite signature), without reading the rest of it."""
    with open(path, "rb") as f:
        return f.read(16)


def _exact_extent(tx, table: str) -> tuple:
    """Layer extent from the R-tree, refined to exact values: the R-tree keeps float32 bounds
    rounded outwards, so only the few rows near each edge are decoded."""
    r = f"rtree_{table}_geom"
    minx, miny, maxx, maxy = tx.execute(f"SELECT min(minx), min(miny), max(maxx), max(maxy) FROM {r}").fetchone()
    if minx is None:
        return (None, None, None, None)
    eps = 1e-4

    def edge(fn: str, col: str, cmp: str, bound: float) -> float:
        # SQL function names are case-insensitive: ST_minx is the spec's ST_MinX
        return tx.execute(f"SELECT {fn}(ST_{col}(geom)) FROM {table} WHERE fid IN "
                          f"(SELECT id FROM {r} WHERE {col} {cmp} ?)", (bound,)).fetchone()[0]

    return (edge("min", "minx", "<=", minx + eps), edge("min", "miny", "<=", miny + eps),
            edge("max", "maxx", ">=", maxx - eps), edge("max", "maxy", ">=", maxy - eps))
