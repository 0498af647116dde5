"""Registry storage: one interface, one SQL implementation (store/sql.py) over two dialects
(store/geopackage.py, store/postgis.py), chosen once from a database URL where the app or CLI
starts. Tables are declared once in store/tables.py, migrations listed in store/migrations.py."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import StoreError
from .base import Add, BBox, Change, Delete, Filter, ImportReport, OnConflict, Store, Update
from .geopackage import GeoPackageDialect
from .sql import SqlStore

__all__ = ["Add", "BBox", "Change", "Delete", "Filter", "GeoPackageStore", "ImportReport", "OnConflict",
           "PostGisStore", "SqlStore", "Store", "Update", "open_store"]


class GeoPackageStore(SqlStore):
    """A facility registry in one GeoPackage file (created on first use)."""

    def __init__(self, path: str | os.PathLike, *, busy_timeout_s: float = 10.0, synchronous: str = "NORMAL",
                 create: bool = True, read_only: bool = False):
        dialect = GeoPackageDialect(path, busy_timeout_s=busy_timeout_s, synchronous=synchronous, create=create,
                                    read_only=read_only)
        self.path = dialect.path
        super().__init__(dialect)

    def _connect(self):
        """This thread's sqlite3 connection (for tests and tools that read the file's own tables)."""
        return self.dialect.connect()


class PostGisStore(SqlStore):
    """A facility registry in a PostgreSQL database with PostGIS (schema created on first use)."""

    def __init__(self, url: str, *, connect_timeout_s: int = 10):
        from .postgis import PostGisDialect  # imported here: psycopg is an optional dependency

        self.url = url
        super().__init__(PostGisDialect(url, connect_timeout_s=connect_timeout_s))


def open_store(url: str | Path, *, create: bool = True, read_only: bool = False) -> Store:
    """`gpkg:///path/registry.gpkg`, `gpkg:relative.gpkg` or a plain path -> GeoPackage store.

    `postgresql://user@host:port/db` (or `postgres://`) -> the PostGIS team store. A GeoPackage that does not exist
    is created unless `create` is False (reads: StoreError, nothing created); one that cannot be written (file,
    folder or mount read-only), or any with `read_only`, is opened for reading and refuses writes.
    """
    text = str(url)
    if text.startswith(("postgresql://", "postgres://")):
        return PostGisStore(text)
    if text.startswith("gpkg://"):
        text = text[len("gpkg://"):]
    elif text.startswith("gpkg:"):
        text = text[len("gpkg:"):]
    if not text.endswith(".gpkg"):
        raise StoreError(f"registry path {text!r} must end in .gpkg (GeoPackage requirement 3)")
    return GeoPackageStore(text, create=create, read_only=read_only)
