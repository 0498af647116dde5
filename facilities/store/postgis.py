"""The team registry: the same Store on PostgreSQL/PostGIS, safe under concurrent analysts.

Written with psycopg 3 directly (no ORM): the store already speaks SQL through a row codec shared
with the GeoPackage backend, so an ORM would add a second model of the same tables. Geometry
travels as WKB (EWKB with SRID 4326 on the way in, ST_AsBinary on the way out), decoded in
batches by shapely; no WKT or GeoJSON round trips, so coordinates are bit-for-bit what was written.

Every write is one transaction on the calling thread's connection. Edits use optimistic locking:
the row is read `FOR UPDATE` and its `version` compared with the version the caller edited, so
two analysts editing the same record cannot silently overwrite each other; the loser gets a
ConflictError carrying both versions. A lost server connection becomes a StoreError (the server
rolls back whatever was not committed) and the next call reconnects.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import shapely

from .. import geojson_codec as codec
from ..dates import format_timestamp, parse_timestamp, utcnow
from ..errors import ConflictError, DuplicateId, NotFound, StoreError, ValidationError
from ..model import Facility, HistoryEntry, Observation, Registry, Source, Structure
from . import gpkg_features
from . import postgis_schema as schema
from .base import BBox, Filter, ImportReport, OnConflict, RecordMethods, history_state, raise_reference_problems

# The GeoPackage backend's table map and bbox helpers: both backends share row codec and semantics.
from .gpkg import _KIND_OF, _KINDS, GeoPackageStore, _exact_bbox, _split_bbox

try:
    import psycopg
except ImportError:  # optional: only teams on PostgreSQL need it
    psycopg = None  # type: ignore[assignment]

def _hide_password(url: str) -> str:
    return re.sub(r"(//[^:/@]+:)[^@]*@", r"\1***@", url)


def _select_list(kind: str) -> str:
    return schema.select_list(_KINDS[kind][2])


def _feature_select(kind: str) -> str:
    return schema.feature_select(_KINDS[kind][1], _KINDS[kind][2])


class PostGisStore(RecordMethods):
    """A facility registry in a PostgreSQL database with PostGIS (schema created on first use)."""

    def __init__(self, url: str, *, connect_timeout_s: int = 10):
        if psycopg is None:
            raise StoreError("the PostGIS backend needs psycopg 3: pip install 'facility-tracker[postgis]'")
        self.url = url
        self.location = _hide_password(url)
        self._timeout = connect_timeout_s
        self._local = threading.local()
        self._all: list[Any] = []
        self._lock = threading.Lock()
        self._open_or_create()

    # ------------------------------------------------------------------ connections and transactions

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
    def _write(self) -> Iterator[Any]:
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
                    yield cur
            except BaseException:
                if not con.broken:
                    with contextlib.suppress(psycopg.Error):
                        con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    def _query(self, sql: str, params: tuple | list = ()) -> list[tuple]:
        """A read outside any transaction; retried once on a new connection, since reads are idempotent
        and the thread's connection may predate a server restart. Binary results: geometry arrives as
        raw WKB bytes instead of hex text, which halves the cost of an export."""
        with self._errors():
            try:
                return self._connect().execute(sql, params, binary=True).fetchall()
            except psycopg.OperationalError:
                self._drop_connection()
                return self._connect().execute(sql, params, binary=True).fetchall()

    def close(self) -> None:
        with self._lock:
            for con in self._all:
                with contextlib.suppress(Exception):
                    con.close()
            self._all.clear()
        self._local = threading.local()

    # ------------------------------------------------------------------ schema

    def _open_or_create(self) -> None:
        with self._write() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (schema.SCHEMA_LOCK,))
            cur.execute("SELECT 1 FROM pg_extension WHERE extname = 'postgis'")
            if cur.fetchone() is None:
                try:
                    cur.execute("CREATE EXTENSION postgis")
                except psycopg.Error as err:
                    raise StoreError(f"{self.location} has no PostGIS and it cannot be enabled here "
                                     f"(CREATE EXTENSION postgis: {_first_line(err)})") from err
            cur.execute("SELECT to_regclass('tracker_meta') IS NOT NULL, to_regclass('facilities') IS NOT NULL")
            has_meta, has_tables = cur.fetchone()
            if not has_meta:
                if has_tables:
                    raise StoreError(f"{self.location} has a facilities table but is not a facility registry "
                                     "(no tracker_meta table)")
                schema.create_v1(cur)
                return
            cur.execute("SELECT value FROM tracker_meta WHERE key = 'schema_version'")
            version = int(cur.fetchone()[0])
            if version > schema.SCHEMA_VERSION:
                raise StoreError(f"{self.location} has schema version {version}, newer than this software "
                                 f"({schema.SCHEMA_VERSION}); upgrade facility-tracker")
            for step in range(version + 1, schema.SCHEMA_VERSION + 1):
                schema.MIGRATIONS[step](cur)
                cur.execute("UPDATE tracker_meta SET value = %s WHERE key = 'schema_version'", (str(step),))

    # ------------------------------------------------------------------ generic helpers

    def _select(self, kind: str, where: str = "", params: tuple | list = (), cur: Any = None) -> list:
        table, from_rows = _KINDS[kind][1], _KINDS[kind][4]
        sql = f"SELECT {_select_list(kind)} FROM {table} {where}"
        rows = self._query(sql, params) if cur is None else cur.execute(sql, params).fetchall()
        return from_rows(schema.as_gpkg(rows) if table in schema.FEATURE_TABLES else rows) if rows else []

    def _get(self, kind: str, ident: str, cur: Any = None, lock: bool = False):
        found = self._select(kind, "WHERE id = %s" + (" FOR UPDATE" if lock else ""), (ident,), cur)
        if not found:
            raise NotFound(f"no {kind} with id {ident!r} in {self.location}")
        return found[0]

    def _insert(self, cur: Any, kind: str, items: list) -> None:
        if not items:
            return
        table, cols, to_rows = _KINDS[kind][1], _KINDS[kind][2], _KINDS[kind][3]
        feature = table in schema.FEATURE_TABLES
        # COPY: one round trip for a whole import instead of one per row
        with cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
            for row in to_rows(items):
                copy.write_row((schema.ewkb_hex(row[0]), *row[1:]) if feature else row)
        if len(items) >= 500:  # fresh planner statistics, or the first bbox query may scan the table
            cur.execute(f"ANALYZE {table}")

    def _update_row(self, cur: Any, kind: str, item) -> None:
        table, cols, to_rows = _KINDS[kind][1], _KINDS[kind][2], _KINDS[kind][3]
        row = to_rows([item])[0]
        sets = ", ".join(f"{c} = %s" if c != "geom" else "geom = ST_GeomFromEWKB(decode(%s, 'hex'))" for c in cols)
        values = (schema.ewkb_hex(row[0]), *row[1:]) if table in schema.FEATURE_TABLES else row
        cur.execute(f"UPDATE {table} SET {sets} WHERE id = %s", (*values, item.id))

    @staticmethod
    def _record(cur: Any, entity: str, entity_id: str, action: str, actor: str, before, after) -> None:
        cur.execute(
            "INSERT INTO history (at, actor, entity, entity_id, action, before, after) "
            "VALUES (%s, %s, %s, %s, %s, %s::json, %s::json)",
            (format_timestamp(utcnow()), actor or "unknown", entity, entity_id, action,
             None if before is None else json.dumps(before, ensure_ascii=False),
             None if after is None else json.dumps(after, ensure_ascii=False)))

    @staticmethod
    def _exists(cur: Any, table: str, ident: str, lock: str = "") -> bool:
        return cur.execute(f"SELECT 1 FROM {table} WHERE id = %s {lock}", (ident,)).fetchone() is not None

    def _check_refs(self, cur: Any, obj) -> None:
        wanted = list(getattr(obj, "source_ids", ())) + [s for p in getattr(obj, "parents", ()) for s in p.source_ids]
        missing = set(wanted) - self._existing_ids(cur, "sources", wanted)
        if missing:
            raise ValidationError(f"{_KIND_OF[type(obj)]} {obj.id}: unknown source ids {sorted(missing)}")
        fac = getattr(obj, "facility_id", None)
        # FOR SHARE: a concurrent delete of the facility waits for this write instead of racing it
        if fac and not self._exists(cur, "facilities", fac, "FOR SHARE"):
            raise ValidationError(f"{_KIND_OF[type(obj)]} {obj.id}: facility {fac!r} does not exist")
        sid = getattr(obj, "structure_id", None)
        if sid:
            row = cur.execute("SELECT facility_id FROM structures WHERE id = %s FOR SHARE", (sid,)).fetchone()
            if row is None or row[0] != fac:
                raise ValidationError(f"observation {obj.id}: structure {sid!r} is not a structure of {fac!r}")

    @staticmethod
    def _existing_ids(cur: Any, table: str, ids: list[str]) -> set[str]:
        if not ids:
            return set()
        return {r[0] for r in cur.execute(f"SELECT id FROM {table} WHERE id = ANY(%s)", (list(ids),))}

    # ------------------------------------------------------------------ single-record writes

    def _add(self, obj, actor: str):
        kind = _KIND_OF[type(obj)]
        now = utcnow()
        obj = GeoPackageStore._checked(obj)
        obj = obj.evolve(version=1, **({"created_at": obj.__dict__.get("created_at") or now, "updated_at": now}
                                       if kind != "source" else {}))
        with self._write() as cur:
            if self._exists(cur, _KINDS[kind][1], obj.id):
                raise DuplicateId(f"a {kind} with id {obj.id!r} already exists")
            self._check_refs(cur, obj)
            self._insert(cur, kind, [obj])
            self._record(cur, kind, obj.id, "create", actor, None, history_state(obj))
        return obj

    def _update(self, obj, actor: str):
        """Replace a record; `obj.version` must be the version that was read (optimistic locking)."""
        kind = _KIND_OF[type(obj)]
        obj = GeoPackageStore._checked(obj)
        with self._write() as cur:
            stored = self._get(kind, obj.id, cur, lock=True)  # row lock: concurrent editors queue here
            if stored.version != obj.version:
                raise ConflictError(
                    f"{kind} {obj.id!r} was changed by someone else (stored version {stored.version}, "
                    f"you edited version {obj.version}); reload it and apply your change again",
                    stored=stored, attempted=obj)
            changes: dict[str, Any] = {"version": stored.version + 1}
            if kind != "source":
                changes.update(updated_at=utcnow(), created_at=stored.created_at)
            new = obj.evolve(**changes)
            self._check_refs(cur, new)
            self._update_row(cur, kind, new)
            self._record(cur, kind, obj.id, "update", actor, history_state(stored), history_state(new))
        return new

    def _delete(self, kind: str, ident: str, actor: str, cur: Any) -> None:
        stored = self._get(kind, ident, cur, lock=True)
        cur.execute(f"DELETE FROM {_KINDS[kind][1]} WHERE id = %s", (ident,))
        self._record(cur, kind, ident, "delete", actor, history_state(stored), None)



    def delete_facility(self, facility_id: str, *, actor: str, cascade: bool = False) -> None:
        with self._write() as cur:
            self._get("facility", facility_id, cur, lock=True)
            obs = [r[0] for r in cur.execute("SELECT id FROM observations WHERE facility_id = %s ORDER BY fid",
                                             (facility_id,))]
            structs = [r[0] for r in cur.execute("SELECT id FROM structures WHERE facility_id = %s ORDER BY fid",
                                                 (facility_id,))]
            if (obs or structs) and not cascade:
                raise StoreError(f"facility {facility_id!r} has {len(structs)} structures and {len(obs)} "
                                 "observations; delete them first or ask for a cascading delete")
            for oid in obs:
                self._delete("observation", oid, actor, cur)
            for sid in structs:
                self._delete("structure", sid, actor, cur)
            self._delete("facility", facility_id, actor, cur)



    def delete_structure(self, structure_id: str, *, actor: str) -> None:
        with self._write() as cur:
            if cur.execute("SELECT 1 FROM observations WHERE structure_id = %s LIMIT 1", (structure_id,)).fetchone():
                raise StoreError(f"structure {structure_id!r} is referenced by observations; delete those first")
            self._delete("structure", structure_id, actor, cur)



    def delete_observation(self, observation_id: str, *, actor: str) -> None:
        with self._write() as cur:
            self._delete("observation", observation_id, actor, cur)



    # ------------------------------------------------------------------ reads




    @staticmethod
    def _where(table: str, flt: Filter, id_column: str) -> tuple[list[str], list]:
        clauses: list[str] = []
        params: list = []
        if flt.facility_ids is not None:
            clauses.append(f"{id_column} = ANY(%s)")
            params.append(list(flt.facility_ids))
        if flt.bbox is not None:
            # `&&` compares envelopes through the GiST index; _exact_bbox then keeps exact hits
            boxes = _split_bbox(flt.bbox)
            clauses.append("(" + " OR ".join("geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326)" for _ in boxes) + ")")
            for b in boxes:
                params += list(b)
        if table == "observations":
            if flt.date_from is not None:
                clauses.append("date_end >= %s")
                params.append(flt.date_from)
            if flt.date_to is not None:
                clauses.append("date_start <= %s")
                params.append(flt.date_to)
        return clauses, params

    def _list(self, kind: str, flt: Filter, order: str) -> list:
        table = _KINDS[kind][1]
        clauses, params = self._where(table, flt, "id" if kind == "facility" else "facility_id")
        where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        return _exact_bbox(self._select(kind, f"{where} ORDER BY {order}", params), flt.bbox)

    def list_facilities(self, flt: Filter = Filter()) -> list[Facility]:
        # lower() COLLATE "C": the GeoPackage backend's ASCII-case-insensitive NOCASE order
        return self._list("facility", flt, 'lower(name) COLLATE "C", fid')

    def facilities_in_bbox(self, bbox: BBox) -> list[Facility]:
        return self._list("facility", Filter(bbox=bbox), "fid")

    def list_structures(self, flt: Filter = Filter()) -> list[Structure]:
        return self._list("structure", flt, 'facility_id COLLATE "C", name COLLATE "C", fid')

    def list_observations(self, flt: Filter = Filter()) -> list[Observation]:
        return self._list("observation", flt, 'date_start, id COLLATE "C"')

    def list_sources(self, ids: tuple[str, ...] | None = None) -> list[Source]:
        if ids is None:
            return self._select("source", 'ORDER BY id COLLATE "C"')
        return self._select("source", 'WHERE id = ANY(%s) ORDER BY id COLLATE "C"', (list(ids),)) if ids else []

    def _iter_rows(self, kind: str, flt: Filter, batch_size: int, select: str) -> Iterator[list[tuple]]:
        """Keyset pages in fid order, so memory holds one batch whatever the registry's size."""
        table = _KINDS[kind][1]
        clauses, params = self._where(table, flt, "id" if kind == "facility" else "facility_id")
        where = "WHERE " + " AND ".join([*clauses, "fid > %s"])
        last = 0
        while True:
            rows = self._query(f"SELECT fid, {select} FROM {table} {where} ORDER BY fid LIMIT %s",
                               (*params, last, batch_size))
            if not rows:
                return
            last = rows[-1][0]
            yield schema.as_gpkg([r[1:] for r in rows])

    def iter_facilities(self, flt: Filter = Filter(), batch_size: int = 5000) -> Iterator[list[Facility]]:
        for rows in self._iter_rows("facility", flt, batch_size, _select_list("facility")):
            batch = _exact_bbox(_KINDS["facility"][4](rows), flt.bbox)
            if batch:
                yield batch

    def iter_geojson_features(self, flt: Filter = Filter(), precision: int = 7,
                              batch_size: int = 5000) -> Iterator[str]:
        """The GeoPackage backend's report, feature for feature: facilities chosen by ids/bbox, then
        their structures, then their observations in the date range, each with its sources."""
        sources = gpkg_features.source_texts(self.list_sources())
        boxes = [shapely.box(*b) for b in _split_bbox(flt.bbox)] if flt.bbox else None
        selected: list[str] = []
        for rows in self._iter_rows("facility", Filter(facility_ids=flt.facility_ids, bbox=flt.bbox), batch_size,
                                    _feature_select("facility")):
            for fid, text in gpkg_features.feature_texts("facilities", rows, sources, precision, boxes):
                selected.append(fid)
                yield text
        if not selected:
            return
        ids = None if flt.facility_ids is None and flt.bbox is None else tuple(selected)
        for kind, extra in (("structure", {}), ("observation", {"date_from": flt.date_from, "date_to": flt.date_to})):
            for rows in self._iter_rows(kind, Filter(facility_ids=ids, **extra), batch_size, _feature_select(kind)):
                for _id, text in gpkg_features.feature_texts(_KINDS[kind][1], rows, sources, precision):
                    yield text

    def history(self, entity_id: str | None = None, limit: int = 100) -> list[HistoryEntry]:
        where, params = ("WHERE entity_id = %s", (entity_id,)) if entity_id else ("", ())
        rows = self._query(f"SELECT entity, entity_id, action, at, actor, before, after FROM history {where} "
                           "ORDER BY fid DESC LIMIT %s", (*params, limit))
        return [HistoryEntry(r[0], r[1], r[2], parse_timestamp(r[3]), r[4], r[5], r[6]) for r in rows]

    def revision(self) -> int:
        """The last history entry's number: every write adds one, so readers can cache by it."""
        return int(self._query("SELECT COALESCE(max(fid), 0) FROM history")[0][0])

    def counts(self) -> dict[str, int]:
        tables = ("facilities", "structures", "observations", "sources", "history")
        row = self._query("SELECT " + ", ".join(f"(SELECT count(*) FROM {t})" for t in tables))[0]
        return dict(zip(tables, row, strict=True))

    def get_meta(self, key: str) -> str | None:
        rows = self._query("SELECT value FROM tracker_meta WHERE key = %s", (key,))
        return rows[0][0] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        with self._write() as cur:
            cur.execute("INSERT INTO tracker_meta (key, value) VALUES (%s, %s) "
                        "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value))

    def check(self) -> list[str]:
        """Geometry validity and SRIDs (foreign keys are enforced by the server); empty means healthy."""
        problems = []
        for table in schema.FEATURE_TABLES:
            bad, srids = self._query(f"SELECT count(*) FILTER (WHERE NOT ST_IsValid(geom)), "
                                     f"count(*) FILTER (WHERE ST_SRID(geom) <> {schema.SRID}) FROM {table}")[0]
            if bad:
                problems.append(f"{table}: {bad} invalid geometries")
            if srids:
                problems.append(f"{table}: {srids} geometries not in EPSG:{schema.SRID}")
        return problems

    # ------------------------------------------------------------------ bulk import

    def import_registry(self, registry: Registry, *, actor: str, on_conflict: OnConflict = OnConflict.ERROR,
                        note: str = "", history: Sequence[HistoryEntry] = ()) -> ImportReport:
        """Write a whole registry in one transaction: all of it, or (on any error) none of it."""
        on_conflict = OnConflict(on_conflict)
        now = utcnow()
        added: dict[str, int] = {}
        updated: dict[str, int] = {}
        skipped: dict[str, int] = {}
        with self._write() as cur:
            plan = {}
            for kind, items in (("source", registry.sources), ("facility", registry.facilities),
                                ("structure", registry.structures), ("observation", registry.observations)):
                existing = self._existing_ids(cur, _KINDS[kind][1], [o.id for o in items])
                new = [o for o in items if o.id not in existing]
                old = [o for o in items if o.id in existing]
                if old and on_conflict is OnConflict.ERROR:
                    ids = ", ".join(sorted(o.id for o in old)[:10])
                    raise DuplicateId(f"{len(old)} {kind} ids are already in the registry ({ids}"
                                      f"{', ...' if len(old) > 10 else ''}); import with on-conflict skip or update")
                plan[kind] = (new, old)
            self._check_import_refs(cur, registry)
            for kind in ("source", "facility", "structure", "observation"):
                new, old = plan[kind]
                if kind != "source":
                    new = [o if o.created_at and o.updated_at else
                           o.evolve(created_at=o.created_at or now, updated_at=o.updated_at or now) for o in new]
                self._insert(cur, kind, new)
                added[kind] = len(new)
                if on_conflict is OnConflict.UPDATE:
                    for o in old:
                        stored = self._get(kind, o.id, cur, lock=True)
                        self._update_row(cur, kind, o)
                        self._record(cur, kind, o.id, "update", actor, history_state(stored),
                                     history_state(o))
                    updated[kind] = len(old)
                else:
                    skipped[kind] = len(old)
            report = ImportReport(added, updated, skipped)
            for h in history:  # another registry's edit history, kept as it was (facilities migrate)
                cur.execute(
                    "INSERT INTO history (at, actor, entity, entity_id, action, before, after) "
                    "VALUES (%s, %s, %s, %s, %s, %s::json, %s::json)",
                    (format_timestamp(h.at), h.actor, h.entity, h.entity_id, h.action,
                     None if h.before is None else json.dumps(h.before, ensure_ascii=False),
                     None if h.after is None else json.dumps(h.after, ensure_ascii=False)))
            self._record(cur, "registry", "*", "import", actor, None, {"summary": report.summary(), "note": note})
        return report

    def _check_import_refs(self, cur: Any, registry: Registry) -> None:
        def known(table: str, wanted: set[str]) -> set[str]:
            new_ids = {o.id for o in getattr(registry, table)}
            return new_ids | self._existing_ids(cur, table, sorted(wanted - new_ids))

        objs = list(codec.iter_objects(registry))
        want_sources = {s for o in objs for s in o.source_ids} | {
            s for f in registry.facilities for p in f.parents for s in p.source_ids}
        sources = known("sources", want_sources)
        facilities = known("facilities", {o.facility_id for o in objs if hasattr(o, "facility_id")})
        structures = {s.id: s.facility_id for s in registry.structures}
        missing = sorted({o.structure_id for o in registry.observations if o.structure_id} - set(structures))
        if missing:
            structures.update(cur.execute("SELECT id, facility_id FROM structures WHERE id = ANY(%s)", (missing,)))
        raise_reference_problems(objs, sources, facilities, structures)


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
