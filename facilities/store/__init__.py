"""Registry storage: one interface, chosen once from a database URL where the app or CLI starts."""

from __future__ import annotations

from pathlib import Path

from ..errors import StoreError
from .base import BBox, Filter, ImportReport, OnConflict, Store
from .gpkg import GeoPackageStore

__all__ = ["BBox", "Filter", "GeoPackageStore", "ImportReport", "OnConflict", "Store", "open_store"]


def open_store(url: str | Path) -> Store:
    """`gpkg:///path/registry.gpkg`, `gpkg:relative.gpkg` or a plain path -> GeoPackage store.

    `postgresql://user@host:port/db` (or `postgres://`) -> the PostGIS team store.
    """
    text = str(url)
    if text.startswith(("postgresql://", "postgres://")):
        from .postgis import PostGisStore  # imported here: psycopg is an optional dependency

        return PostGisStore(text)
    if text.startswith("gpkg://"):
        text = text[len("gpkg://"):]
    elif text.startswith("gpkg:"):
        text = text[len("gpkg:"):]
    if not text.endswith(".gpkg"):
        raise StoreError(f"registry path {text!r} must end in .gpkg (GeoPackage requirement 3)")
    return GeoPackageStore(text)
