"""The registry's GeoPackage schema: OGC core tables, our feature and attribute tables, the
R-tree spatial index with the spec's triggers, and numbered migrations.

Written for GeoPackage 1.3 (application_id 'GPKG', user_version 10300) so that GDAL, QGIS and
validate_gpkg open the file as it is. Our own schema version lives in `tracker_meta`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

APPLICATION_ID = 0x47504B47
GPKG_VERSION = 10300
SCHEMA_VERSION = 2

CORE = """
CREATE TABLE gpkg_spatial_ref_sys (
  srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY, organization TEXT NOT NULL,
  organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT);
INSERT INTO gpkg_spatial_ref_sys VALUES
 ('Undefined cartesian SRS', -1, 'NONE', -1, 'undefined', 'undefined cartesian coordinate reference system'),
 ('Undefined geographic SRS', 0, 'NONE', 0, 'undefined', 'undefined geographic coordinate reference system'),
 ('WGS 84 geodetic', 4326, 'EPSG', 4326,
  'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AXIS["Latitude",NORTH],AXIS["Longitude",EAST],AUTHORITY["EPSG","4326"]]',
  'longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid');
CREATE TABLE gpkg_contents (
  table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT UNIQUE,
  description TEXT DEFAULT '',
  last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
  CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id));
CREATE TABLE gpkg_geometry_columns (
  table_name TEXT NOT NULL, column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL,
  srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
  CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
  CONSTRAINT uk_gc_table_name UNIQUE (table_name),
  CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
  CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id));
CREATE TABLE gpkg_extensions (
  table_name TEXT, column_name TEXT, extension_name TEXT NOT NULL, definition TEXT NOT NULL,
  scope TEXT NOT NULL,
  CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name));
"""

# Feature tables: (name, geometry type, description, column DDL)
FEATURE_TABLES = {
    "facilities": ("MULTIPOLYGON", "Tracked facilities: outlines with precision, aliases and sources", """
      id TEXT NOT NULL UNIQUE, name TEXT NOT NULL, aliases TEXT NOT NULL DEFAULT '[]',
      country TEXT, category TEXT NOT NULL DEFAULT '', status TEXT NOT NULL,
      location_precision TEXT NOT NULL, parents TEXT NOT NULL DEFAULT '[]',
      systems TEXT NOT NULL DEFAULT '[]', notes TEXT NOT NULL DEFAULT '',
      source_ids TEXT NOT NULL DEFAULT '[]', extra TEXT NOT NULL DEFAULT '{}', area_m2 DOUBLE,
      version INTEGER NOT NULL DEFAULT 1, created_at DATETIME, updated_at DATETIME"""),
    "structures": ("GEOMETRY", "Named parts of facilities (buildings, housing, entrances)", """
      id TEXT NOT NULL UNIQUE,
      facility_id TEXT NOT NULL REFERENCES facilities(id) ON UPDATE CASCADE,
      name TEXT NOT NULL, kind TEXT NOT NULL DEFAULT '', location_precision TEXT NOT NULL,
      status TEXT NOT NULL, built TEXT, removed TEXT, notes TEXT NOT NULL DEFAULT '',
      source_ids TEXT NOT NULL DEFAULT '[]', footprint_m2 DOUBLE,
      version INTEGER NOT NULL DEFAULT 1, created_at DATETIME, updated_at DATETIME"""),
    "observations": ("GEOMETRY", "Dated observations, each tied to an image and to sources", """
      id TEXT NOT NULL UNIQUE,
      facility_id TEXT NOT NULL REFERENCES facilities(id) ON UPDATE CASCADE,
      structure_id TEXT REFERENCES structures(id) ON UPDATE CASCADE,
      date TEXT NOT NULL, date_precision TEXT NOT NULL, date_start DATE NOT NULL, date_end DATE NOT NULL,
      kind TEXT NOT NULL, summary TEXT NOT NULL, image_provider TEXT, image_id TEXT, image_acquired TEXT,
      confidence TEXT NOT NULL, analyst TEXT NOT NULL DEFAULT '', source_ids TEXT NOT NULL DEFAULT '[]',
      notes TEXT NOT NULL DEFAULT '', version INTEGER NOT NULL DEFAULT 1,
      created_at DATETIME, updated_at DATETIME"""),
}

ATTRIBUTE_TABLES = {
    "sources": ("Sources cited by facilities, structures and observations", """
      id TEXT NOT NULL UNIQUE, title TEXT NOT NULL, publisher TEXT NOT NULL DEFAULT '', url TEXT,
      published TEXT, language TEXT, excerpt TEXT NOT NULL DEFAULT '', retrieved_at DATETIME,
      notes TEXT NOT NULL DEFAULT '', version INTEGER NOT NULL DEFAULT 1"""),
    "history": ("Every create, update and delete: who, when, before and after", """
      at DATETIME NOT NULL, actor TEXT NOT NULL, entity TEXT NOT NULL, entity_id TEXT NOT NULL,
      action TEXT NOT NULL, before TEXT, after TEXT"""),
    "tracker_meta": ("Facility tracker settings: schema version, seed state", """
      key TEXT NOT NULL UNIQUE, value TEXT"""),
}

INDEXES = """
CREATE INDEX idx_structures_facility ON structures(facility_id);
CREATE INDEX idx_observations_facility ON observations(facility_id, date_start);
CREATE INDEX idx_observations_dates ON observations(date_start, date_end);
CREATE INDEX idx_history_entity ON history(entity, entity_id);
"""

RTREE_EXTENSION = "http://www.geopackage.org/spec120/#extension_rtree"


def rtree_sql(t: str, c: str = "geom", i: str = "fid") -> str:
    """The spec's R-tree table and triggers (GeoPackage 1.2/1.3 Annex F.3), filled in."""
    r = f"rtree_{t}_{c}"
    return f"""
CREATE VIRTUAL TABLE {r} USING rtree(id, minx, maxx, miny, maxy);
CREATE TRIGGER {r}_insert AFTER INSERT ON {t}
  WHEN (new.{c} NOT NULL AND NOT ST_IsEmpty(NEW.{c}))
BEGIN
  INSERT OR REPLACE INTO {r} VALUES (NEW.{i}, ST_MinX(NEW.{c}), ST_MaxX(NEW.{c}), ST_MinY(NEW.{c}), ST_MaxY(NEW.{c}));
END;
CREATE TRIGGER {r}_update1 AFTER UPDATE OF {c} ON {t}
  WHEN OLD.{i} = NEW.{i} AND (NEW.{c} NOTNULL AND NOT ST_IsEmpty(NEW.{c}))
BEGIN
  INSERT OR REPLACE INTO {r} VALUES (NEW.{i}, ST_MinX(NEW.{c}), ST_MaxX(NEW.{c}), ST_MinY(NEW.{c}), ST_MaxY(NEW.{c}));
END;
CREATE TRIGGER {r}_update2 AFTER UPDATE OF {c} ON {t}
  WHEN OLD.{i} = NEW.{i} AND (NEW.{c} ISNULL OR ST_IsEmpty(NEW.{c}))
BEGIN
  DELETE FROM {r} WHERE id = OLD.{i};
END;
CREATE TRIGGER {r}_update3 AFTER UPDATE OF {c} ON {t}
  WHEN OLD.{i} != NEW.{i} AND (NEW.{c} NOTNULL AND NOT ST_IsEmpty(NEW.{c}))
BEGIN
  DELETE FROM {r} WHERE id = OLD.{i};
  INSERT OR REPLACE INTO {r} VALUES (NEW.{i}, ST_MinX(NEW.{c}), ST_MaxX(NEW.{c}), ST_MinY(NEW.{c}), ST_MaxY(NEW.{c}));
END;
CREATE TRIGGER {r}_update4 AFTER UPDATE ON {t}
  WHEN OLD.{i} != NEW.{i} AND (NEW.{c} ISNULL OR ST_IsEmpty(NEW.{c}))
BEGIN
  DELETE FROM {r} WHERE id IN (OLD.{i}, NEW.{i});
END;
CREATE TRIGGER {r}_delete AFTER DELETE ON {t}
  WHEN old.{c} NOT NULL
BEGIN
  DELETE FROM {r} WHERE id = OLD.{i};
END;
"""


def create_v1(con: sqlite3.Connection) -> None:
    for stmt in _split(CORE):
        con.execute(stmt)
    for name, (gtype, desc, cols) in FEATURE_TABLES.items():
        nullable = "" if name == "observations" else " NOT NULL"
        con.execute(f"CREATE TABLE {name} (fid INTEGER PRIMARY KEY AUTOINCREMENT, geom {gtype}{nullable}, {cols})")
        con.execute(
            "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, srs_id) "
            "VALUES (?, 'features', ?, ?, 4326)", (name, name, desc))
        con.execute("INSERT INTO gpkg_geometry_columns VALUES (?, 'geom', ?, 4326, 0, 0)", (name, gtype))
        con.execute("INSERT INTO gpkg_extensions VALUES (?, 'geom', 'gpkg_rtree_index', ?, 'write-only')",
                    (name, RTREE_EXTENSION))
        for stmt in _split(rtree_sql(name)):
            con.execute(stmt)
    for name, (desc, cols) in ATTRIBUTE_TABLES.items():
        con.execute(f"CREATE TABLE {name} (fid INTEGER PRIMARY KEY AUTOINCREMENT, {cols})")
        con.execute(
            "INSERT INTO gpkg_contents (table_name, data_type, identifier, description) "
            "VALUES (?, 'attributes', ?, ?)", (name, name, desc))
    for stmt in _split(INDEXES):
        con.execute(stmt)


def _split(script: str) -> list[str]:
    """Split a script into statements, keeping trigger bodies (which contain ';') whole."""
    out, buf = [], []
    for line in script.strip().splitlines():
        buf.append(line)
        text = "\n".join(buf).strip()
        if text.endswith(";") and (not text.upper().startswith("CREATE TRIGGER") or text.upper().endswith("END;")):
            out.append(text)
            buf = []
    if "\n".join(buf).strip():
        out.append("\n".join(buf).strip())
    return out


# An EOX yearly mosaic's image was stored as provider = id = "eox-s2cloudless-2020"; its image key is
# provider "eox-s2cloudless", id "2020" (imagery.keys), which is what the compare view's layer is called.
EOX_PROVIDER = "eox-s2cloudless"
EOX_OLD_PROVIDER_GLOB = "eox-s2cloudless-[0-9][0-9][0-9][0-9]"


def eox_image_keys(con: sqlite3.Connection) -> None:
    """2: observations drawn on an EOX mosaic name it as its layer does, so their "open image" link
    finds it. Only the two image columns change: no version bump and no history entry (not an edit)."""
    con.execute("UPDATE observations SET image_provider = ?, image_id = substr(image_provider, ?) "
                "WHERE image_provider GLOB ?", (EOX_PROVIDER, len(EOX_PROVIDER) + 2, EOX_OLD_PROVIDER_GLOB))


# Migrations from version N-1 to N, applied in order inside one write transaction.
# Add the next number here when the schema changes; never edit a released step.
MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {2: eox_image_keys}
