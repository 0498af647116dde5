"""The embedded registry: one GeoPackage file that GDAL and QGIS open as it is.

Written through Python's sqlite3 only (one SQLite library per file and process: SQLite warns
that several copies in one process can corrupt a database). Every connection comes from
`_connect`, which sets WAL, the busy timeout and foreign keys, and registers the ST_* functions
the R-tree triggers need. Every write is one `BEGIN IMMEDIATE` transaction: a deferred BEGIN
that reads and then writes fails with "database is locked" under concurrency whatever the
timeout.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import shapely

from .. import geojson_codec as codec
from ..dates import format_timestamp, parse_timestamp, utcnow
from ..errors import ConflictError, DuplicateId, NotFound, StoreError, ValidationError
from ..geometry import ANY_GEOMETRY, POLYGONAL, check_geometry
from ..model import Facility, HistoryEntry, Observation, Registry, Source, Structure
from . import gpkg_binary, gpkg_features
from . import gpkg_rows as row_codec
from . import gpkg_schema as schema
from .base import BBox, Filter, ImportReport, OnConflict, RecordMethods, history_state, raise_reference_problems

_KINDS = {
    # kind: (class, table, columns, to_rows, from_rows)
    "facility": (Facility, "facilities", row_codec.FACILITY_COLUMNS, row_codec.facility_rows,
                 row_codec.facilities_from_rows),
    "structure": (Structure, "structures", row_codec.STRUCTURE_COLUMNS, row_codec.structure_rows,
                  row_codec.structures_from_rows),
    "observation": (Observation, "observations", row_codec.OBSERVATION_COLUMNS, row_codec.observation_rows,
                    row_codec.observations_from_rows),
    "source": (Source, "sources", row_codec.SOURCE_COLUMNS, row_codec.source_rows, row_codec.sources_from_rows),
}
BULK_ROWS = 500  # from this many rows an import fills the R-tree itself
_KIND_OF = {cls: kind for kind, (cls, *_rest) in _KINDS.items()}


class GeoPackageStore(RecordMethods):
    """A facility registry in one GeoPackage file (created on first use)."""

    def __init__(self, path: str | os.PathLike, *, busy_timeout_s: float = 10.0, synchronous: str = "NORMAL"):
        self.path = Path(path).expanduser()
        self.location = str(self.path)
        self._busy_timeout_s = busy_timeout_s
        self._synchronous = synchronous
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._open_or_create()

    # ------------------------------------------------------------------ connections

    def _connect(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is not None:
            return con
        try:
            con = sqlite3.connect(self.path, timeout=self._busy_timeout_s, isolation_level=None,
                                  check_same_thread=False)
        except sqlite3.Error as err:
            raise StoreError(f"cannot open the registry {self.path}: {err}") from err
        for name, fn in gpkg_binary.SQL_FUNCTIONS.items():
            con.create_function(name, 1, fn, deterministic=True)
        con.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_s * 1000)}")
        con.execute("PRAGMA foreign_keys = ON")
        self._local.con = con
        with self._lock:
            self._all.append(con)
        return con

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        con = self._connect()
        try:
            con.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as err:
            raise StoreError(f"the registry {self.path} is busy or read-only: {err}") from err
        try:
            yield con
            con.execute("COMMIT")
        except BaseException as err:
            con.execute("ROLLBACK")
            if isinstance(err, sqlite3.IntegrityError):
                raise StoreError(f"the registry refused the change: {err}") from err
            if isinstance(err, sqlite3.OperationalError):
                raise StoreError(f"writing to {self.path} failed, nothing was changed: {err}") from err
            raise

    def close(self) -> None:
        with self._lock:
            for con in self._all:
                with contextlib.suppress(sqlite3.Error):
                    con.close()
            self._all.clear()
        self._local = threading.local()

    # ------------------------------------------------------------------ schema

    def _open_or_create(self) -> None:
        new = not self.path.exists() or self.path.stat().st_size == 0
        if new:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        elif self.path.read_bytes()[:16] != b"SQLite format 3\x00":
            raise StoreError(f"{self.path} is not a GeoPackage (not an SQLite file)")
        con = self._connect()
        if new:
            # The GeoPackage header fields live in the file's first page; set them before WAL so that
            # readers of the raw header (validate_gpkg, `file`) see them without a checkpoint.
            con.execute(f"PRAGMA application_id = {schema.APPLICATION_ID}")
            con.execute(f"PRAGMA user_version = {schema.GPKG_VERSION}")
        try:
            con.execute("PRAGMA journal_mode = WAL")
            con.execute(f"PRAGMA synchronous = {self._synchronous}")
        except sqlite3.DatabaseError as err:
            raise StoreError(f"{self.path} is not a usable GeoPackage: {err}") from err
        with self._write() as con:
            app_id = con.execute("PRAGMA application_id").fetchone()[0]
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if not tables:
                schema.create_v1(con)
                con.execute("INSERT INTO tracker_meta (key, value) VALUES ('schema_version', ?)",
                            (str(schema.SCHEMA_VERSION),))
                return
            if app_id != schema.APPLICATION_ID:
                raise StoreError(f"{self.path} is an SQLite file but not a GeoPackage (application_id {app_id:#x})")
            if "tracker_meta" not in tables:
                raise StoreError(f"{self.path} is a GeoPackage but not a facility registry (no tracker_meta table)")
            version = int(con.execute("SELECT value FROM tracker_meta WHERE key='schema_version'").fetchone()[0])
            if version > schema.SCHEMA_VERSION:
                raise StoreError(f"{self.path} has schema version {version}, newer than this software "
                                 f"({schema.SCHEMA_VERSION}); upgrade facility-tracker")
            for step in range(version + 1, schema.SCHEMA_VERSION + 1):
                schema.MIGRATIONS[step](con)
                con.execute("UPDATE tracker_meta SET value=? WHERE key='schema_version'", (str(step),))

    # ------------------------------------------------------------------ generic helpers

    def _select(self, kind: str, where: str = "", params: tuple = (), con=None) -> list:
        _cls, table, cols, _to, from_rows = _KINDS[kind]
        con = con or self._connect()
        result = con.execute(f"SELECT {', '.join(cols)} FROM {table} {where}", params).fetchall()
        return from_rows(result) if result else []

    def _get(self, kind: str, ident: str, con=None):
        found = self._select(kind, "WHERE id = ?", (ident,), con)
        if not found:
            raise NotFound(f"no {kind} with id {ident!r} in {self.path.name}")
        return found[0]

    def _insert(self, con, kind: str, items: list) -> None:
        _cls, table, cols, to_rows, _from = _KINDS[kind]
        marks = ", ".join("?" * len(cols))
        insert = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks})"
        if table not in schema.FEATURE_TABLES or len(items) < BULK_ROWS:
            con.executemany(insert, to_rows(items))
            return
        # Bulk: the R-tree insert trigger calls five Python SQL functions per row, over half the
        # cost of an import. Drop it for this transaction, fill the index from bounds computed in
        # one vectorised call, and put the spec's trigger back verbatim; a rollback undoes all.
        trigger = f"rtree_{table}_geom_insert"
        (ddl,) = con.execute("SELECT sql FROM sqlite_master WHERE type='trigger' AND name=?", (trigger,)).fetchone()
        (last,) = con.execute(f"SELECT coalesce(max(fid), 0) FROM {table}").fetchone()
        con.execute(f"DROP TRIGGER {trigger}")
        con.executemany(insert, to_rows(items))
        geoms = np.array([o.geometry for o in items], dtype=object)
        bounds = dict(zip((o.id for o in items), shapely.bounds(geoms).tolist(), strict=True))
        index = []
        for fid, ident in con.execute(f"SELECT fid, id FROM {table} WHERE fid > ?", (last,)):
            minx, miny, maxx, maxy = bounds[ident]
            if minx == minx:  # NaN bounds: no geometry or an empty one, which the spec leaves unindexed
                index.append((fid, minx, maxx, miny, maxy))
        con.executemany(f"INSERT INTO rtree_{table}_geom VALUES (?, ?, ?, ?, ?)", index)
        con.execute(ddl)

    def _update_row(self, con, kind: str, item) -> None:
        _cls, table, cols, to_rows, _from = _KINDS[kind]
        sets = ", ".join(f"{c} = ?" for c in cols)
        con.execute(f"UPDATE {table} SET {sets} WHERE id = ?", (*to_rows([item])[0], item.id))

    def _record(self, con, entity: str, entity_id: str, action: str, actor: str, before, after) -> None:
        con.execute(
            "INSERT INTO history (at, actor, entity, entity_id, action, before, after) VALUES (?,?,?,?,?,?,?)",
            (format_timestamp(utcnow()), actor or "unknown", entity, entity_id, action,
             None if before is None else json.dumps(before, ensure_ascii=False),
             None if after is None else json.dumps(after, ensure_ascii=False)))

    def _touch(self, con, tables: tuple[str, ...]) -> None:
        """Keep gpkg_contents' extent and last_change true, as GDAL and QGIS read them."""
        now = format_timestamp(utcnow())
        for table in tables:
            if table in schema.FEATURE_TABLES:
                ext = _exact_extent(con, table)
                con.execute("UPDATE gpkg_contents SET last_change=?, min_x=?, min_y=?, max_x=?, max_y=? "
                            "WHERE table_name=?", (now, *ext, table))
            else:
                con.execute("UPDATE gpkg_contents SET last_change=? WHERE table_name=?", (now, table))

    def _check_refs(self, con, obj, pending_sources: set[str] = frozenset()) -> None:
        missing = [s for s in getattr(obj, "source_ids", ()) if s not in pending_sources
                   and not con.execute("SELECT 1 FROM sources WHERE id=?", (s,)).fetchone()]
        for p in getattr(obj, "parents", ()):
            missing += [s for s in p.source_ids if s not in pending_sources
                        and not con.execute("SELECT 1 FROM sources WHERE id=?", (s,)).fetchone()]
        if missing:
            raise ValidationError(f"{_KIND_OF[type(obj)]} {obj.id}: unknown source ids {sorted(set(missing))}")
        fac = getattr(obj, "facility_id", None)
        if fac and not con.execute("SELECT 1 FROM facilities WHERE id=?", (fac,)).fetchone():
            raise ValidationError(f"{_KIND_OF[type(obj)]} {obj.id}: facility {fac!r} does not exist")
        sid = getattr(obj, "structure_id", None)
        if sid:
            row = con.execute("SELECT facility_id FROM structures WHERE id=?", (sid,)).fetchone()
            if row is None or row[0] != fac:
                raise ValidationError(f"observation {obj.id}: structure {sid!r} is not a structure of {fac!r}")

    @staticmethod
    def _checked(obj):
        """Validate geometry at the store boundary (API and CLI writes); repairs are never silent."""
        geom = getattr(obj, "geometry", None)
        if geom is None:
            return obj
        allowed = POLYGONAL if isinstance(obj, Facility) else ANY_GEOMETRY
        return obj.evolve(geometry=check_geometry(geom, allowed=allowed).geometry)

    # ------------------------------------------------------------------ single-record writes

    def _add(self, obj, actor: str):
        kind = _KIND_OF[type(obj)]
        now = utcnow()
        obj = self._checked(obj)
        obj = obj.evolve(version=1, **({"created_at": obj.__dict__.get("created_at") or now, "updated_at": now}
                                       if kind != "source" else {}))
        with self._write() as con:
            if con.execute(f"SELECT 1 FROM {_KINDS[kind][1]} WHERE id=?", (obj.id,)).fetchone():
                raise DuplicateId(f"a {kind} with id {obj.id!r} already exists")
            self._check_refs(con, obj)
            self._insert(con, kind, [obj])
            self._record(con, kind, obj.id, "create", actor, None, history_state(obj))
            self._touch(con, (_KINDS[kind][1],))
        return obj

    def _update(self, obj, actor: str):
        """Replace a record; `obj.version` must be the version that was read (optimistic locking)."""
        kind = _KIND_OF[type(obj)]
        obj = self._checked(obj)
        with self._write() as con:
            stored = self._get(kind, obj.id, con)
            if stored.version != obj.version:
                raise ConflictError(
                    f"{kind} {obj.id!r} was changed by someone else (stored version {stored.version}, "
                    f"you edited version {obj.version}); reload it and apply your change again",
                    stored=stored, attempted=obj)
            changes = {"version": stored.version + 1}
            if kind != "source":
                changes.update(updated_at=utcnow(), created_at=stored.created_at)
            new = obj.evolve(**changes)
            self._check_refs(con, new)
            self._update_row(con, kind, new)
            self._record(con, kind, obj.id, "update", actor, history_state(stored), history_state(new))
            self._touch(con, (_KINDS[kind][1],))
        return new

    def _delete(self, kind: str, ident: str, actor: str, con) -> None:
        stored = self._get(kind, ident, con)
        con.execute(f"DELETE FROM {_KINDS[kind][1]} WHERE id=?", (ident,))
        self._record(con, kind, ident, "delete", actor, history_state(stored), None)



    def delete_facility(self, facility_id: str, *, actor: str, cascade: bool = False) -> None:
        with self._write() as con:
            self._get("facility", facility_id, con)
            n_obs = con.execute("SELECT count(*) FROM observations WHERE facility_id=?", (facility_id,)).fetchone()[0]
            n_str = con.execute("SELECT count(*) FROM structures WHERE facility_id=?", (facility_id,)).fetchone()[0]
            if (n_obs or n_str) and not cascade:
                raise StoreError(f"facility {facility_id!r} has {n_str} structures and {n_obs} observations; "
                                 "delete them first or ask for a cascading delete")
            for (oid,) in con.execute("SELECT id FROM observations WHERE facility_id=?", (facility_id,)).fetchall():
                self._delete("observation", oid, actor, con)
            for (sid,) in con.execute("SELECT id FROM structures WHERE facility_id=?", (facility_id,)).fetchall():
                self._delete("structure", sid, actor, con)
            self._delete("facility", facility_id, actor, con)
            self._touch(con, ("facilities", "structures", "observations"))



    def delete_structure(self, structure_id: str, *, actor: str) -> None:
        with self._write() as con:
            if con.execute("SELECT 1 FROM observations WHERE structure_id=?", (structure_id,)).fetchone():
                raise StoreError(f"structure {structure_id!r} is referenced by observations; delete those first")
            self._delete("structure", structure_id, actor, con)
            self._touch(con, ("structures",))



    def delete_observation(self, observation_id: str, *, actor: str) -> None:
        with self._write() as con:
            self._delete("observation", observation_id, actor, con)
            self._touch(con, ("observations",))



    # ------------------------------------------------------------------ reads




    def _where(self, table: str, flt: Filter, id_column: str) -> tuple[str, list]:
        clauses, params = [], []
        if flt.facility_ids is not None:
            clauses.append(f"{id_column} IN ({', '.join('?' * len(flt.facility_ids))})")
            params += list(flt.facility_ids)
        if flt.bbox is not None:
            boxes = _split_bbox(flt.bbox)
            sub = " OR ".join("(minx <= ? AND maxx >= ? AND miny <= ? AND maxy >= ?)" for _ in boxes)
            clauses.append(f"fid IN (SELECT id FROM rtree_{table}_geom WHERE {sub})")
            for w, s, e, n in boxes:
                params += [e, w, n, s]
        if table == "observations":
            if flt.date_from is not None:
                clauses.append("date_end >= ?")
                params.append(flt.date_from.isoformat())
            if flt.date_to is not None:
                clauses.append("date_start <= ?")
                params.append(flt.date_to.isoformat())
        return ("WHERE " + " AND ".join(clauses)) if clauses else "", params

    def _list(self, kind: str, flt: Filter, order: str) -> list:
        table = _KINDS[kind][1]
        where, params = self._where(table, flt, "id" if kind == "facility" else "facility_id")
        found = self._select(kind, f"{where} ORDER BY {order}", tuple(params))
        return _exact_bbox(found, flt.bbox)

    def list_facilities(self, flt: Filter = Filter()) -> list[Facility]:
        return self._list("facility", flt, "name COLLATE NOCASE")

    def facilities_in_bbox(self, bbox: BBox) -> list[Facility]:
        return self._list("facility", Filter(bbox=bbox), "fid")

    def iter_facilities(self, flt: Filter = Filter(), batch_size: int = 5000) -> Iterator[list[Facility]]:
        yield from self._iter("facility", flt, batch_size)

    def iter_observations(self, flt: Filter = Filter(), batch_size: int = 5000) -> Iterator[list[Observation]]:
        yield from self._iter("observation", flt, batch_size)

    def _iter_rows(self, kind: str, flt: Filter, batch_size: int, select: str | None = None,
                   ) -> Iterator[list[tuple]]:
        """Keyset pages in fid order, so memory holds one batch whatever the registry's size."""
        table = _KINDS[kind][1]
        where, params = self._where(table, flt, "id" if kind == "facility" else "facility_id")
        where = (where + " AND" if where else "WHERE") + " fid > ?"
        last = 0
        con = self._connect()
        select = select or ", ".join(_KINDS[kind][2])
        while True:
            result = con.execute(f"SELECT fid, {select} FROM {table} {where} ORDER BY fid LIMIT ?",
                                 (*params, last, batch_size)).fetchall()
            if not result:
                return
            last = result[-1][0]
            yield [r[1:] for r in result]

    def _iter(self, kind: str, flt: Filter, batch_size: int) -> Iterator[list]:
        from_rows = _KINDS[kind][4]
        for rows in self._iter_rows(kind, flt, batch_size):
            batch = _exact_bbox(from_rows(rows), flt.bbox)
            if batch:
                yield batch

    def iter_geojson_features(self, flt: Filter = Filter(), precision: int = 7,
                              batch_size: int = 5000) -> Iterator[str]:
        """Feature texts of the report: facilities chosen by ids/bbox, then their structures, then
        their observations in the date range, each with its sources embedded."""
        sources = gpkg_features.source_texts(self.list_sources())
        boxes = [shapely.box(*b) for b in _split_bbox(flt.bbox)] if flt.bbox else None
        selected: set[str] = set()
        for rows in self._iter_rows("facility", Filter(facility_ids=flt.facility_ids, bbox=flt.bbox), batch_size,
                                    _feature_select("facility")):
            for fid, text in gpkg_features.feature_texts("facilities", rows, sources, precision, boxes):
                selected.add(fid)
                yield text
        if not selected:
            return
        everything = flt.facility_ids is None and flt.bbox is None
        # a short id list goes to SQL; a long one would pass SQLite's parameter limit, so filter here
        ids = None if everything or len(selected) > 500 else tuple(sorted(selected))
        for kind, table, extra in (("structure", "structures", {}),
                                   ("observation", "observations", {"date_from": flt.date_from,
                                                                    "date_to": flt.date_to})):
            select = "facility_id, " + _feature_select(kind)
            for rows in self._iter_rows(kind, Filter(facility_ids=ids, **extra), batch_size, select):
                rows = [r[1:] for r in rows if everything or r[0] in selected]
                for _id, text in gpkg_features.feature_texts(table, rows, sources, precision):
                    yield text

    def list_structures(self, flt: Filter = Filter()) -> list[Structure]:
        return self._list("structure", flt, "facility_id, name")

    def list_observations(self, flt: Filter = Filter()) -> list[Observation]:
        return self._list("observation", flt, "date_start, id")

    def list_sources(self, ids: tuple[str, ...] | None = None) -> list[Source]:
        if ids is None:
            return self._select("source", "ORDER BY id")
        if not ids:
            return []
        return self._select("source", f"WHERE id IN ({', '.join('?' * len(ids))}) ORDER BY id", tuple(ids))

    def history(self, entity_id: str | None = None, limit: int = 100) -> list[HistoryEntry]:
        where, params = ("WHERE entity_id = ?", (entity_id,)) if entity_id else ("", ())
        result = self._connect().execute(
            f"SELECT entity, entity_id, action, at, actor, before, after FROM history {where} "
            "ORDER BY fid DESC LIMIT ?", (*params, limit)).fetchall()
        return [HistoryEntry(r[0], r[1], r[2], parse_timestamp(r[3]), r[4], r[5] and json.loads(r[5]),
                             r[6] and json.loads(r[6])) for r in result]

    def revision(self) -> int:
        """The last history entry's number: every write adds one, so readers can cache by it."""
        return self._connect().execute("SELECT COALESCE(max(fid), 0) FROM history").fetchone()[0]

    def counts(self) -> dict[str, int]:
        con = self._connect()
        return {table: con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                for table in ("facilities", "structures", "observations", "sources", "history")}

    def get_meta(self, key: str) -> str | None:
        row = self._connect().execute("SELECT value FROM tracker_meta WHERE key=?", (key,)).fetchone()
        return None if row is None else row[0]

    def set_meta(self, key: str, value: str) -> None:
        with self._write() as con:
            con.execute("INSERT INTO tracker_meta (key, value) VALUES (?, ?) "
                        "ON CONFLICT(key) DO UPDATE SET value=excluded.value", (key, value))

    def check(self) -> list[str]:
        """SQLite's own integrity and foreign-key checks; an empty list means healthy."""
        con = self._connect()
        problems = [r[0] for r in con.execute("PRAGMA integrity_check").fetchall() if r[0] != "ok"]
        problems += [f"foreign key: {r}" for r in con.execute("PRAGMA foreign_key_check").fetchall()]
        return problems

    # ------------------------------------------------------------------ bulk import

    def import_registry(self, registry: Registry, *, actor: str, on_conflict: OnConflict = OnConflict.ERROR,
                        note: str = "", history: Sequence[HistoryEntry] = ()) -> ImportReport:
        """Write a whole registry in one transaction: all of it, or (on any error) none of it.

        Values are expected to come from the GeoJSON codec or the seed loader, which have already
        checked their geometry; references (sources, facilities, structures) are checked here
        against the file and the store together.
        """
        on_conflict = OnConflict(on_conflict)
        now = utcnow()
        added, updated, skipped = {}, {}, {}
        with self._write() as con:
            plan = {}
            for kind, items in (("source", registry.sources), ("facility", registry.facilities),
                                ("structure", registry.structures), ("observation", registry.observations)):
                table = _KINDS[kind][1]
                existing = self._existing_ids(con, table, [o.id for o in items])
                new = [o for o in items if o.id not in existing]
                old = [o for o in items if o.id in existing]
                if old and on_conflict is OnConflict.ERROR:
                    ids = ", ".join(sorted(o.id for o in old)[:10])
                    raise DuplicateId(f"{len(old)} {kind} ids are already in the registry ({ids}"
                                      f"{', ...' if len(old) > 10 else ''}); import with on-conflict skip or update")
                plan[kind] = (new, old)
            self._check_import_refs(con, registry, plan)
            for kind in ("source", "facility", "structure", "observation"):
                new, old = plan[kind]
                if kind != "source":
                    new = [o if o.created_at and o.updated_at else
                           o.evolve(created_at=o.created_at or now, updated_at=o.updated_at or now) for o in new]
                self._insert(con, kind, new)
                added[kind] = len(new)
                if on_conflict is OnConflict.UPDATE:
                    for o in old:
                        stored = self._get(kind, o.id, con)
                        self._update_row(con, kind, o)
                        self._record(con, kind, o.id, "update", actor, history_state(stored),
                                     history_state(o))
                    updated[kind] = len(old)
                else:
                    skipped[kind] = len(old)
            report = ImportReport(added, updated, skipped)
            con.executemany(  # another registry's edit history, kept as it was (facilities migrate)
                "INSERT INTO history (at, actor, entity, entity_id, action, before, after) VALUES (?,?,?,?,?,?,?)",
                [(format_timestamp(h.at), h.actor, h.entity, h.entity_id, h.action,
                  None if h.before is None else json.dumps(h.before, ensure_ascii=False),
                  None if h.after is None else json.dumps(h.after, ensure_ascii=False)) for h in history])
            self._record(con, "registry", "*", "import", actor, None, {"summary": report.summary(), "note": note})
            self._touch(con, ("facilities", "structures", "observations", "sources"))
        return report

    @staticmethod
    def _existing_ids(con, table: str, ids: list[str]) -> set[str]:
        found: set[str] = set()
        for i in range(0, len(ids), 900):  # stay under SQLite's bound-parameter limit
            chunk = ids[i:i + 900]
            found.update(r[0] for r in con.execute(
                f"SELECT id FROM {table} WHERE id IN ({', '.join('?' * len(chunk))})", chunk))
        return found

    def _check_import_refs(self, con, registry: Registry, plan: dict) -> None:
        def known(kind: str, table: str, wanted: set[str]) -> set[str]:
            new_ids = {o.id for o in getattr(registry, table)}
            return new_ids | self._existing_ids(con, table, sorted(wanted - new_ids))

        objs = list(codec.iter_objects(registry))
        want_sources = {s for o in objs for s in o.source_ids} | {
            s for f in registry.facilities for p in f.parents for s in p.source_ids}
        sources = known("source", "sources", want_sources)
        facilities = known("facility", "facilities", {o.facility_id for o in objs if hasattr(o, "facility_id")})
        structures = {s.id: s.facility_id for s in registry.structures}
        missing_structs = sorted({o.structure_id for o in registry.observations if o.structure_id} - set(structures))
        for i in range(0, len(missing_structs), 900):
            chunk = missing_structs[i:i + 900]
            structures.update(con.execute(
                f"SELECT id, facility_id FROM structures WHERE id IN ({', '.join('?' * len(chunk))})", chunk))
        raise_reference_problems(objs, sources, facilities, structures)


def _feature_select(kind: str) -> str:
    _cls, table, cols, _to, _from = _KINDS[kind]
    return gpkg_features.select_list(table, cols)


def _exact_extent(con, table: str) -> tuple:
    """Layer extent from the R-tree, refined to exact values: the R-tree keeps float32 bounds
    rounded outwards, so only the few rows near each edge are decoded."""
    r = f"rtree_{table}_geom"
    minx, miny, maxx, maxy = con.execute(f"SELECT min(minx), min(miny), max(maxx), max(maxy) FROM {r}").fetchone()
    if minx is None:
        return (None, None, None, None)
    eps = 1e-4

    def edge(fn: str, col: str, cmp: str, bound: float) -> float:
        # SQL function names are case-insensitive: ST_minx is the spec's ST_MinX
        return con.execute(f"SELECT {fn}(ST_{col}(geom)) FROM {table} WHERE fid IN "
                           f"(SELECT id FROM {r} WHERE {col} {cmp} ?)", (bound,)).fetchone()[0]

    return (edge("min", "minx", "<=", minx + eps), edge("min", "miny", "<=", miny + eps),
            edge("max", "maxx", ">=", maxx - eps), edge("max", "maxy", ">=", maxy - eps))


def _split_bbox(bbox: BBox) -> list[BBox]:
    w, s, e, n = bbox
    if s > n:
        raise ValidationError(f"bbox south {s} is north of north {n}")
    if w > e:  # crosses the antimeridian (RFC 7946 §5.2)
        return [(w, s, 180.0, n), (-180.0, s, e, n)]
    return [bbox]


def _exact_bbox(items: list, bbox: BBox | None) -> list:
    """The R-tree compares envelopes; keep only geometries that really meet the box."""
    if bbox is None or not items:
        return items
    boxes = [shapely.box(*b) for b in _split_bbox(bbox)]
    geoms = np.array([getattr(o, "geometry", None) for o in items], dtype=object)
    keep = np.zeros(len(items), dtype=bool)
    present = np.array([g is not None for g in geoms])
    for b in boxes:
        keep[present] |= shapely.intersects(geoms[present], b)
    return [o for o, k in zip(items, keep, strict=True) if k]
