"""The registry's PostgreSQL/PostGIS schema, its numbered migrations, and the SQL and bytes that
carry rows between the shared row codec and the server.

The tables mirror the GeoPackage ones column for column (same names, same order, JSON columns
stored as the same JSON text), so both backends share the row codec in `gpkg_rows` and a registry
moves between them losslessly. Geometry columns are `geometry(Geometry, 4326)` with GiST indexes;
the schema version in `tracker_meta` is the GeoPackage one, and a schema change adds a migration
with the same number to both `gpkg_schema.MIGRATIONS` and `MIGRATIONS` here.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from . import gpkg_schema
from .gpkg_features import FEATURE_TYPE

SCHEMA_VERSION = gpkg_schema.SCHEMA_VERSION
SRID = 4326
# A fixed key for pg_advisory_xact_lock: two processes opening a new database create it once.
SCHEMA_LOCK = 0x46_54_52_4B  # "FTRK"

_TIMESTAMP = "TEXT"  # ISO 8601 text as the row codec writes it: sorts correctly and round-trips exactly

TABLES = f"""
CREATE TABLE tracker_meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE sources (
  fid BIGSERIAL PRIMARY KEY,
  id TEXT NOT NULL UNIQUE, title TEXT NOT NULL, publisher TEXT NOT NULL DEFAULT '', url TEXT,
  published TEXT, language TEXT, excerpt TEXT NOT NULL DEFAULT '', retrieved_at {_TIMESTAMP},
  notes TEXT NOT NULL DEFAULT '', version INTEGER NOT NULL DEFAULT 1);
CREATE TABLE facilities (
  fid BIGSERIAL PRIMARY KEY, geom geometry(Geometry, {SRID}) NOT NULL,
  id TEXT NOT NULL UNIQUE, name TEXT NOT NULL, aliases TEXT NOT NULL DEFAULT '[]',
  country TEXT, category TEXT NOT NULL DEFAULT '', status TEXT NOT NULL,
  location_precision TEXT NOT NULL, parents TEXT NOT NULL DEFAULT '[]',
  systems TEXT NOT NULL DEFAULT '[]', notes TEXT NOT NULL DEFAULT '',
  source_ids TEXT NOT NULL DEFAULT '[]', extra TEXT NOT NULL DEFAULT '{{}}', area_m2 DOUBLE PRECISION,
  version INTEGER NOT NULL DEFAULT 1, created_at {_TIMESTAMP}, updated_at {_TIMESTAMP});
CREATE TABLE structures (
  fid BIGSERIAL PRIMARY KEY, geom geometry(Geometry, {SRID}) NOT NULL,
  id TEXT NOT NULL UNIQUE,
  facility_id TEXT NOT NULL REFERENCES facilities(id) ON UPDATE CASCADE,
  name TEXT NOT NULL, kind TEXT NOT NULL DEFAULT '', location_precision TEXT NOT NULL,
  status TEXT NOT NULL, built TEXT, removed TEXT, notes TEXT NOT NULL DEFAULT '',
  source_ids TEXT NOT NULL DEFAULT '[]', footprint_m2 DOUBLE PRECISION,
  version INTEGER NOT NULL DEFAULT 1, created_at {_TIMESTAMP}, updated_at {_TIMESTAMP});
CREATE TABLE observations (
  fid BIGSERIAL PRIMARY KEY, geom geometry(Geometry, {SRID}),
  id TEXT NOT NULL UNIQUE,
  facility_id TEXT NOT NULL REFERENCES facilities(id) ON UPDATE CASCADE,
  structure_id TEXT REFERENCES structures(id) ON UPDATE CASCADE,
  date TEXT NOT NULL, date_precision TEXT NOT NULL, date_start DATE NOT NULL, date_end DATE NOT NULL,
  kind TEXT NOT NULL, summary TEXT NOT NULL, image_provider TEXT, image_id TEXT, image_acquired TEXT,
  confidence TEXT NOT NULL, analyst TEXT NOT NULL DEFAULT '', source_ids TEXT NOT NULL DEFAULT '[]',
  notes TEXT NOT NULL DEFAULT '', version INTEGER NOT NULL DEFAULT 1,
  created_at {_TIMESTAMP}, updated_at {_TIMESTAMP});
CREATE TABLE history (
  fid BIGSERIAL PRIMARY KEY,
  at {_TIMESTAMP} NOT NULL, actor TEXT NOT NULL, entity TEXT NOT NULL, entity_id TEXT NOT NULL,
  action TEXT NOT NULL, before JSON, after JSON);
CREATE INDEX idx_facilities_geom ON facilities USING GIST (geom);
CREATE INDEX idx_structures_geom ON structures USING GIST (geom);
CREATE INDEX idx_observations_geom ON observations USING GIST (geom);
CREATE INDEX idx_structures_facility ON structures(facility_id);
CREATE INDEX idx_observations_facility ON observations(facility_id, date_start);
CREATE INDEX idx_observations_structure ON observations(structure_id);
CREATE INDEX idx_observations_dates ON observations(date_start, date_end);
CREATE INDEX idx_history_entity ON history(entity, entity_id);
"""

FEATURE_TABLES = ("facilities", "structures", "observations")


def create_v1(cur: Any) -> None:
    for stmt in TABLES.split(";"):
        if stmt.strip():
            cur.execute(stmt)
    cur.execute("INSERT INTO tracker_meta (key, value) VALUES ('schema_version', %s)", (str(SCHEMA_VERSION),))


def eox_image_keys(cur: Any) -> None:
    """2: as gpkg_schema.eox_image_keys: provider 'eox-s2cloudless-2020' becomes 'eox-s2cloudless', id '2020'."""
    provider = gpkg_schema.EOX_PROVIDER
    cur.execute("UPDATE observations SET image_provider = %s, image_id = substr(image_provider, %s) "
                "WHERE image_provider ~ %s", (provider, len(provider) + 2, f"^{provider}-[0-9]{{4}}$"))


# Migrations from version N-1 to N (a psycopg cursor inside the opening transaction), numbered
# like gpkg_schema.MIGRATIONS. Never edit a released step.
MIGRATIONS: dict[int, Callable[[Any], None]] = {2: eox_image_keys}


# ------------------------------------------------------------------ rows <-> server

# ST_AsBinary gives plain WKB; the shared row codec reads GeoPackage blobs, whose smallest form is
# an 8-byte header (no envelope) before the same WKB, so a prefix is all the conversion needed.
_GP_HEADER = b"GP\x00\x01" + struct.pack("<i", SRID)
_GP_ENVELOPE_BYTES = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}
_EWKB_SRID_FLAG = 0x20000000
_RAW_JSON = ("aliases", "parents", "systems", "source_ids", "extra")
_ROUNDED = ("area_m2", "footprint_m2")


def ewkb_hex(blob: bytes | None) -> str | None:
    """GeoPackage blob from the row codec -> hex EWKB with SRID 4326, what COPY and
    ST_GeomFromEWKB take (plain WKB would arrive with SRID 0 and be refused by the column)."""
    if blob is None:
        return None
    wkb = blob[8 + _GP_ENVELOPE_BYTES[(blob[3] >> 1) & 0x07]:]
    order = "<" if wkb[0] == 1 else ">"
    (gtype,) = struct.unpack_from(order + "I", wkb, 1)
    return (wkb[:1] + struct.pack(order + "Ii", gtype | _EWKB_SRID_FLAG, SRID) + wkb[5:]).hex()


def as_gpkg(rows: list[tuple]) -> list[tuple]:
    """Rows whose first value is WKB (or NULL) -> the same rows with GeoPackage blobs."""
    return [(None if r[0] is None else _GP_HEADER + bytes(r[0]), *r[1:]) for r in rows]


def select_list(columns: tuple[str, ...]) -> str:
    """SELECT expressions for a table's codec columns, geometry as little-endian WKB."""
    return ", ".join("ST_AsBinary(geom, 'NDR')" if c == "geom" else c for c in columns)


def feature_select(table: str, columns: tuple[str, ...]) -> str:
    """(geom, id, source_ids, properties JSON) per row for gpkg_features.feature_texts: the
    server writes each feature's properties, in the object codec's order, as the GeoPackage
    backend has SQLite do with json_object()."""
    parts = [f"'feature_type', '{FEATURE_TYPE[table]}'"]
    for c in columns[1:]:
        if c in _RAW_JSON:
            parts.append(f"'{c}', {c}::json")
        elif c in _ROUNDED:
            parts.append(f"'{c}', round({c}::numeric, 1)")
        else:
            parts.append(f"'{c}', {c}")
    return f"ST_AsBinary(geom, 'NDR'), id, source_ids, json_build_object({', '.join(parts)})::text"
