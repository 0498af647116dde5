"""The registry store, written once over a `Dialect` (GeoPackage through sqlite3, PostGIS through
psycopg): records, units of work, imports, listings, the export fast path and history.

Every write is one transaction of the dialect's. `apply` takes several changes and writes them
all or none, their history entries sharing one group so that one undo reverts them together;
the single-record methods are one-change units. Edits use optimistic locking: the stored row is
read (`FOR UPDATE` on PostGIS) and its `version` compared with the version the caller edited.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import shapely

from .. import geojson_codec as codec
from ..bbox import split_antimeridian as split_bbox
from ..bulk import gc_paused
from ..dates import format_timestamp, parse_timestamp, utcnow
from ..errors import ConflictError, DuplicateId, FacilitiesError, NotFound, StoreError, ValidationError
from ..geometry import ANY_GEOMETRY, POLYGONAL, check_geometry
from ..model import Facility, HistoryEntry, Observation, Registry, Source, Structure
from . import features, outside, tolerant
from .base import (
    Add,
    BBox,
    Change,
    Delete,
    Filter,
    ImportReport,
    OnConflict,
    Update,
    history_state,
    raise_reference_problems,
)
from .dialect import Dialect, Tx
from .gpkg_faults import DamagedRegistry
from .skipped import Collectors, SkippedRecord
from .tables import BY_KIND, BY_NAME, HISTORY, KIND_OF, RECORD_TABLES, Table

_HISTORY_INSERT = (f"INSERT INTO history ({', '.join(HISTORY.names)}) "
                   f"VALUES ({', '.join('?' * len(HISTORY.names))})")
_dumps = json.JSONEncoder(ensure_ascii=False).encode
log = logging.getLogger(__name__)
OUTSIDE_ACTOR = "outside the app"


def _document(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def checked(obj):
    """Validate geometry at the store boundary (API and CLI writes); repairs are never silent."""
    geom = getattr(obj, "geometry", None)
    if geom is None:
        return obj
    allowed = POLYGONAL if isinstance(obj, Facility) else ANY_GEOMETRY
    return obj.evolve(geometry=check_geometry(geom, allowed=allowed).geometry)


class SqlStore:
    """A facility registry in whatever the dialect reaches (created or migrated on first use)."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self.location = dialect.location
        self._skips = Collectors()
        self.outside_tables: list[str] = []  # a read-only open: tables another program wrote, not yet recorded
        dialect.open()
        self._outside_edits_at_open()

    def close(self) -> None:
        """Close the dialect's connections."""
        self.dialect.close()

    def collect_skipped(self):
        """A context manager giving the list of records that reads inside it (on this thread) left out because
        the model refuses a stored value (edited outside the app); each names table, id and column.

            with store.collect_skipped() as skipped:
                facilities = store.list_facilities()
        """
        return self._skips.collect()

    # ------------------------------------------------------------------ edits made outside the app

    def _outside_edits_at_open(self) -> None:
        tables = outside.tables_written_elsewhere(self.dialect)
        if not tables:
            return
        if getattr(self.dialect, "read_only", None):  # only reported; the next writable open records them
            self.outside_tables = [t.name for t in tables]
            log.warning("%s: %s written by another program since the app last wrote it; open it where it can be "
                        "written to record the edits", self.location, ", ".join(self.outside_tables))
            return
        self.record_outside_edits(tables)

    def record_outside_edits(self, tables: Sequence[Table] | None = None) -> list[outside.OutsideEdit]:
        """Find the rows of `tables` (default: every record table) another program changed or added since the
        store wrote them (store/outside.py) and record each as one "outside-edit" history entry (actor
        OUTSIDE_ACTOR, before: the last state the history knows, after: the row now). A row the model accepts is
        written back as the store writes it: version bumped, area recomputed from the geometry, checksum renewed.
        One the model refuses stays as it is (reads skip it, `validate` names it), its checksum renewed so it is
        recorded once. One unit of work; returns what was found."""
        tables = list(RECORD_TABLES) if tables is None else list(tables)
        group = uuid.uuid4().hex[:16]
        with self.dialect.write() as tx:
            edits = outside.changed_rows(self.dialect, tables, tx)
            for edit in edits:
                self._record_outside_edit(tx, edit, group)
            self.dialect.after_write(tx, [t.name for t in tables])
        for edit in edits:
            log.info("%s: %s; recorded in the history", self.location, edit)
        return edits

    def outside_edits(self) -> list[outside.OutsideEdit]:
        """Every row another program changed or added that the history does not record yet (compares every row:
        seconds at 100,000 facilities; `facilities validate` names them)."""
        return outside.changed_rows(self.dialect, RECORD_TABLES)

    def _record_outside_edit(self, tx: Tx, edit: outside.OutsideEdit, group: str) -> None:
        table = BY_NAME[edit.table]
        kind = table.record_kind
        row = tx.execute("SELECT after FROM history WHERE entity = ? AND entity_id = ? ORDER BY fid DESC LIMIT 1",
                         (kind, edit.id)).fetchone()
        before = _document(row[0]) if row else None
        with self._skips.collect() as skipped:
            found = self._select(table, "WHERE fid = ?", (edit.fid,), tx)
        after: Any = None
        refused = [str(p) for p in skipped]
        if found:
            obj = found[0]
            now = utcnow()
            changes: dict[str, Any] = {"version": (obj.version or 0) + 1}
            if kind != "source":
                changes.update(updated_at=now, created_at=obj.created_at or now)
            try:
                new = checked(obj).evolve(**changes)
                self._update_row(tx, table, new)
                after = history_state(new)
            except FacilitiesError as err:
                refused.append(f"{edit.table} {edit.id!r}: {err}")
        if after is None:
            tx.execute(f"UPDATE {table.name} SET row_hash = ? WHERE fid = ?", (edit.checksum, edit.fid))
            after = {"refused": refused}
        self._record(tx, kind, edit.id, "outside-edit", OUTSIDE_ACTOR, before, after, group)

    # ------------------------------------------------------------------ rows <-> records

    def _select(self, table: Table, where: str = "", params: Sequence = (), tx: Tx | None = None) -> list:
        d = self.dialect
        cols = ", ".join(c.name for c in table.columns)
        sql = f"SELECT {d.geom_select() + ', ' if table.geometry else ''}{cols} FROM {table.name} {where}"
        rows = d.query(sql, params) if tx is None else tx.execute(sql, params).fetchall()
        return self._records(table, rows)

    def _records(self, table: Table, rows: list) -> list:
        """Rows -> records; a row the model refuses is left out and reported (store/tolerant.py)."""
        return tolerant.decode_rows(self.dialect, table, rows, self._skips.report)

    def _get(self, kind: str, ident: str, tx: Tx | None = None, lock: bool = False):
        table = BY_KIND[kind]
        with self._skips.collect() as skipped:
            found = self._select(table, "WHERE id = ?" + (self.dialect.lock("update") if lock else ""), (ident,), tx)
        if not found and skipped:
            raise StoreError(f"the {kind} {ident!r} in {self.location} cannot be read: "
                             + "; ".join(f"{p.column}: {p.detail}" for p in skipped)
                             + " (edited outside the app; `facilities validate` lists every such value)")
        if not found:
            raise NotFound(f"no {kind} with id {ident!r} in {self.location}")
        return found[0]

    def _insert(self, tx: Tx, table: Table, items: list) -> None:
        if items:
            rows = table.rows(items, self.dialect.encode_geoms)
            geoms = [o.geometry for o in items] if table.geometry else None
            self.dialect.insert_rows(tx, table, rows, geoms)

    def _update_row(self, tx: Tx, table: Table, item) -> None:
        sets = ([f"geom = {self.dialect.geom_param()}"] if table.geometry else []) + [
            f"{c.name} = ?" for c in table.columns]
        tx.execute(f"UPDATE {table.name} SET {', '.join(sets)} WHERE id = ?",
                   (*table.rows([item], self.dialect.encode_geoms)[0], item.id))

    @staticmethod
    def _record(tx: Tx, entity: str, entity_id: str, action: str, actor: str, before, after,
                group: str | None = None) -> None:
        tx.execute(_HISTORY_INSERT, (format_timestamp(utcnow()), actor or "unknown", entity, entity_id, action,
                                     None if before is None else _dumps(before),
                                     None if after is None else _dumps(after), group))

    def _exists(self, tx: Tx, table: str, ident: str, lock: str = "") -> bool:
        return tx.execute(f"SELECT 1 FROM {table} WHERE id = ?{lock and self.dialect.lock(lock)}",
                          (ident,)).fetchone() is not None

    def _existing_ids(self, tx: Tx, table: str, ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        step = self.dialect.max_params
        for i in range(0, len(ids), step):
            clause, params = self.dialect.in_ids("id", ids[i:i + step])
            found.update(r[0] for r in tx.execute(f"SELECT id FROM {table} WHERE {clause}", params))
        return found

    def _check_refs(self, tx: Tx, obj) -> None:
        kind = KIND_OF[type(obj)]
        wanted = list(getattr(obj, "source_ids", ())) + [s for p in getattr(obj, "parents", ()) for s in p.source_ids]
        missing = set(wanted) - self._existing_ids(tx, "sources", sorted(set(wanted)))
        if missing:
            raise ValidationError(f"{kind} {obj.id}: unknown source ids {sorted(missing)}")
        fac = getattr(obj, "facility_id", None)
        # FOR SHARE (PostGIS): a concurrent delete of the facility waits for this write instead of racing it
        if fac and not self._exists(tx, "facilities", fac, "share"):
            raise ValidationError(f"{kind} {obj.id}: facility {fac!r} does not exist")
        sid = getattr(obj, "structure_id", None)
        if sid:
            row = tx.execute("SELECT facility_id FROM structures WHERE id = ?" + self.dialect.lock("share"),
                             (sid,)).fetchone()
            if row is None or row[0] != fac:
                raise ValidationError(f"observation {obj.id}: structure {sid!r} is not a structure of {fac!r}")

    # ------------------------------------------------------------------ units of work

    def apply(self, changes: Sequence[Change], *, actor: str) -> list:
        """Write `changes` in order, all or none, as one history group. Returns, per change, the
        record as stored (None for a delete)."""
        group = uuid.uuid4().hex[:16]
        touched: set[str] = set()
        out = []
        with self.dialect.write() as tx:
            for change in changes:
                out.append(self._apply_one(tx, change, actor, group, touched))
            self.dialect.after_write(tx, [t.name for t in RECORD_TABLES if t.name in touched])
        return out

    def _apply_one(self, tx: Tx, change: Change, actor: str, group: str, touched: set[str]):
        if isinstance(change, Add):
            return self._add(tx, change.record, actor, group, touched, change.if_absent)
        if isinstance(change, Update):
            return self._update(tx, change.record, actor, group, touched)
        if isinstance(change, Delete):
            self._delete_checked(tx, change, actor, group, touched)
            return None
        raise TypeError(f"not a change: {change!r}")

    def _add(self, tx: Tx, obj, actor: str, group: str, touched: set[str], if_absent: bool = False):
        kind = KIND_OF[type(obj)]
        table = BY_KIND[kind]
        if self._exists(tx, table.name, obj.id):
            if if_absent:
                return self._get(kind, obj.id, tx)
            raise DuplicateId(f"a {kind} with id {obj.id!r} already exists")
        now = utcnow()
        obj = checked(obj)
        obj = obj.evolve(version=1, **({"created_at": obj.__dict__.get("created_at") or now, "updated_at": now}
                                       if kind != "source" else {}))
        self._check_refs(tx, obj)
        self._insert(tx, table, [obj])
        self._record(tx, kind, obj.id, "create", actor, None, history_state(obj), group)
        touched.add(table.name)
        return obj

    def _update(self, tx: Tx, obj, actor: str, group: str, touched: set[str]):
        kind = KIND_OF[type(obj)]
        table = BY_KIND[kind]
        obj = checked(obj)
        stored = self._get(kind, obj.id, tx, lock=True)  # PostGIS row lock: concurrent editors queue here
        if stored.version != obj.version:
            raise ConflictError(
                f"{kind} {obj.id!r} was changed by someone else (stored version {stored.version}, "
                f"you edited version {obj.version}); reload it and apply your change again",
                stored=stored, attempted=obj)
        changes: dict[str, Any] = {"version": stored.version + 1}
        if kind != "source":
            changes.update(updated_at=utcnow(), created_at=stored.created_at)
        new = obj.evolve(**changes)
        self._check_refs(tx, new)
        self._update_row(tx, table, new)
        self._record(tx, kind, obj.id, "update", actor, history_state(stored), history_state(new), group)
        touched.add(table.name)
        return new

    def _delete(self, tx: Tx, kind: str, ident: str, actor: str, group: str, touched: set[str],
                version: int | None = None) -> None:
        table = BY_KIND[kind]
        stored = self._get(kind, ident, tx, lock=True)
        if version is not None and stored.version != version:
            raise ConflictError(f"{kind} {ident!r} was changed by someone else (stored version {stored.version}, "
                                f"you saw version {version}); reload it before deleting", stored=stored)
        tx.execute(f"DELETE FROM {table.name} WHERE id = ?", (ident,))
        self._record(tx, kind, ident, "delete", actor, history_state(stored), None, group)
        touched.add(table.name)

    def _delete_checked(self, tx: Tx, change: Delete, actor: str, group: str, touched: set[str]) -> None:
        kind, ident = change.kind, change.id
        if kind == "facility":
            self._get("facility", ident, tx, lock=True)
            obs = [r[0] for r in tx.execute("SELECT id FROM observations WHERE facility_id = ? ORDER BY fid", (ident,))]
            structs = [r[0] for r in tx.execute("SELECT id FROM structures WHERE facility_id = ? ORDER BY fid",
                                                (ident,))]
            if (obs or structs) and not change.cascade:
                raise StoreError(f"facility {ident!r} has {len(structs)} structures and {len(obs)} observations; "
                                 "delete them first or ask for a cascading delete")
            for oid in obs:
                self._delete(tx, "observation", oid, actor, group, touched)
            for sid in structs:
                self._delete(tx, "structure", sid, actor, group, touched)
        elif kind == "structure":
            if tx.execute("SELECT 1 FROM observations WHERE structure_id = ? LIMIT 1", (ident,)).fetchone():
                raise StoreError(f"structure {ident!r} is referenced by observations; delete those first")
        elif kind == "source":
            cited = f'%"{ident}"%'
            for t in ("facilities", "structures", "observations"):
                extra = " OR parents LIKE ?" if t == "facilities" else ""
                row = tx.execute(f"SELECT id FROM {t} WHERE source_ids LIKE ?{extra} LIMIT 1",
                                 (cited, cited) if extra else (cited,)).fetchone()
                if row:
                    raise StoreError(f"source {ident!r} is cited by {BY_NAME[t].kind} {row[0]!r}; "
                                     "the registry keeps cited sources")
        self._delete(tx, kind, ident, actor, group, touched, change.version)

    # ------------------------------------------------------------------ the Store's record methods

    def _one(self, change: Change, actor: str):
        return self.apply([change], actor=actor)[0]

    def add_facility(self, facility: Facility, *, actor: str) -> Facility:
        """Store a new facility (one-change unit of work); returns it as stored."""
        return self._one(Add(facility), actor)

    def update_facility(self, facility: Facility, *, actor: str) -> Facility:
        """Replace a stored facility, checking its version; returns the new version."""
        return self._one(Update(facility), actor)

    def delete_facility(self, facility_id: str, *, actor: str, cascade: bool = False) -> None:
        """Delete a facility; `cascade` also deletes its structures and observations."""
        self._one(Delete("facility", facility_id, cascade), actor)

    def add_structure(self, structure: Structure, *, actor: str) -> Structure:
        """Store a new structure; returns it as stored."""
        return self._one(Add(structure), actor)

    def update_structure(self, structure: Structure, *, actor: str) -> Structure:
        """Replace a stored structure, checking its version; returns the new version."""
        return self._one(Update(structure), actor)

    def delete_structure(self, structure_id: str, *, actor: str) -> None:
        """Delete a structure."""
        self._one(Delete("structure", structure_id), actor)

    def add_observation(self, observation: Observation, *, actor: str) -> Observation:
        """Store a new observation; returns it as stored."""
        return self._one(Add(observation), actor)

    def update_observation(self, observation: Observation, *, actor: str) -> Observation:
        """Replace a stored observation, checking its version; returns the new version."""
        return self._one(Update(observation), actor)

    def delete_observation(self, observation_id: str, *, actor: str) -> None:
        """Delete an observation."""
        self._one(Delete("observation", observation_id), actor)

    def add_source(self, source: Source, *, actor: str) -> Source:
        """Store a new source; returns it as stored."""
        return self._one(Add(source), actor)

    def update_source(self, source: Source, *, actor: str) -> Source:
        """Replace a stored source, checking its version; returns the new version."""
        return self._one(Update(source), actor)

    def get_facility(self, facility_id: str) -> Facility:
        """The facility with this id; NotFound if there is none."""
        return self._get("facility", facility_id)

    def get_observation(self, observation_id: str) -> Observation:
        """The observation with this id; NotFound if there is none."""
        return self._get("observation", observation_id)

    def get_source(self, source_id: str) -> Source:
        """The source with this id; NotFound if there is none."""
        return self._get("source", source_id)

    # ------------------------------------------------------------------ reads

    def _where(self, table: Table, flt: Filter) -> tuple[list[str], list]:
        clauses: list[str] = []
        params: list = []
        if flt.facility_ids is not None:
            clause, p = self.dialect.in_ids("id" if table.name == "facilities" else "facility_id", flt.facility_ids)
            clauses.append(clause)
            params += p
        if flt.bbox is not None:
            clause, p = self.dialect.bbox_clause(table, split_bbox(flt.bbox))
            clauses.append(clause)
            params += p
        if table.name == "observations":
            window, p = date_window(flt.date_from, flt.date_to)
            clauses += window
            params += p
        return clauses, params

    def _list(self, kind: str, flt: Filter, order: str) -> list:
        table = BY_KIND[kind]
        clauses, params = self._where(table, flt)
        where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        return _exact_bbox(self._select(table, f"{where} ORDER BY {order}", params), flt.bbox)

    def list_facilities(self, flt: Filter = Filter()) -> list[Facility]:
        """Facilities matching `flt`, ordered by name."""
        return self._list("facility", flt, f"{self.dialect.name_order('name')}, fid")

    def facilities_in_bbox(self, bbox: BBox) -> list[Facility]:
        """Facilities whose geometry meets the box, in storage order."""
        return self._list("facility", Filter(bbox=bbox), "fid")

    def list_structures(self, flt: Filter = Filter()) -> list[Structure]:
        """Structures matching `flt`, ordered by facility id and name."""
        d = self.dialect
        return self._list("structure", flt, f"{d.text_order('facility_id')}, {d.text_order('name')}, fid")

    def list_observations(self, flt: Filter = Filter()) -> list[Observation]:
        """Observations matching `flt`, by date, then id."""
        return self._list("observation", flt, f"date_start, {self.dialect.text_order('id')}")

    def list_sources(self, ids: tuple[str, ...] | None = None) -> list[Source]:
        """All sources or those with the given ids, ordered by id; long id lists are queried in chunks under the
        engine's parameter limit."""
        order = f"ORDER BY {self.dialect.text_order('id')}"
        if ids is None:
            return self._select(BY_KIND["source"], order)
        found = []
        step = self.dialect.max_params
        for i in range(0, len(ids), step):
            clause, params = self.dialect.in_ids("id", ids[i:i + step])
            found += self._select(BY_KIND["source"], f"WHERE {clause} {order}", params)
        return sorted(found, key=lambda s: s.id.encode()) if len(ids) > step else found

    def _iter_rows(self, table: Table, flt: Filter, batch_size: int, select: str) -> Iterator[list[tuple]]:
        """Keyset pages in fid order, so memory holds one batch whatever the registry's size."""
        clauses, params = self._where(table, flt)
        where = "WHERE " + " AND ".join([*clauses, "fid > ?"])
        last = 0
        while True:
            rows = self.dialect.query(f"SELECT fid, {select} FROM {table.name} {where} ORDER BY fid LIMIT ?",
                                      (*params, last, batch_size))
            if not rows:
                return
            last = rows[-1][0]
            yield [r[1:] for r in rows]

    def _iter(self, kind: str, flt: Filter, batch_size: int) -> Iterator[list]:
        table = BY_KIND[kind]
        select = ", ".join([self.dialect.geom_select(), *(c.name for c in table.columns)])
        for rows in self._iter_rows(table, flt, batch_size, select):
            batch = _exact_bbox(self._records(table, rows), flt.bbox)
            if batch:
                yield batch

    def iter_facilities(self, flt: Filter = Filter(), batch_size: int = 5000) -> Iterator[list[Facility]]:
        """Facilities matching `flt`, in batches of up to `batch_size`."""
        yield from self._iter("facility", flt, batch_size)

    def iter_observations(self, flt: Filter = Filter(), batch_size: int = 5000) -> Iterator[list[Observation]]:
        """Observations matching `flt`, in batches of up to `batch_size`."""
        yield from self._iter("observation", flt, batch_size)

    def iter_geojson_features(self, flt: Filter = Filter(), precision: int = 7,
                              batch_size: int = 5000) -> Iterator[str]:
        """Feature texts of the report: facilities chosen by ids/bbox, then their structures, then
        their observations in the date range, each with its sources embedded."""
        d = self.dialect
        sources = features.source_texts(self.list_sources())
        boxes = [shapely.box(*b) for b in split_bbox(flt.bbox)] if flt.bbox else None
        selected: set[str] = set()
        facilities = BY_KIND["facility"]
        refused: list[str] = []
        for rows in self._feature_rows(facilities, Filter(facility_ids=flt.facility_ids, bbox=flt.bbox), batch_size,
                                       features.select_list(facilities, d), refused):
            for fid, text in features.feature_texts(facilities, d, rows, sources, precision, boxes, refused):
                selected.add(fid)
                yield text
        skipped_facilities = self._report_refused(facilities, refused)
        if not selected:
            return
        everything = flt.facility_ids is None and flt.bbox is None
        # a short id list goes to SQL; a long one would pass the parameter limit, so filter here
        ids = None if everything or len(selected) > min(500, d.max_params) else tuple(sorted(selected))
        for kind, kind_filter in (("structure", Filter(facility_ids=ids)),
                                  ("observation", Filter(facility_ids=ids, date_from=flt.date_from,
                                                         date_to=flt.date_to))):
            table = BY_KIND[kind]
            select = "facility_id, " + features.select_list(table, d)
            refused = []
            orphans: list[SkippedRecord] = []
            for rows in self._feature_rows(table, kind_filter, batch_size, select, refused):
                orphans += [SkippedRecord(table.name, r[2], "facility_id", f"its facility {r[0]!r} was skipped")
                            for r in rows if r[0] in skipped_facilities]
                rows = [r[1:] for r in rows if (everything or r[0] in selected) and r[0] not in skipped_facilities]
                for _id, text in features.feature_texts(table, d, rows, sources, precision, None, refused):
                    yield text
            self._report_refused(table, refused)
            self._skips.report(orphans)

    def _feature_rows(self, table: Table, flt: Filter, batch_size: int, select: str,
                      refused: list[str]) -> Iterator[list[tuple]]:
        """`_iter_rows` for the export, surviving a row whose JSON text the database's JSON function refuses
        (edited outside the app): that batch is read again row by row and the failing rows' ids are added to
        `refused`. A row that fails with nothing wrong in it (real damage) raises as before."""
        clauses, params = self._where(table, flt)
        where = "WHERE " + " AND ".join([*clauses, "fid > ?"])
        last = 0
        while True:
            try:
                rows = self.dialect.query(f"SELECT fid, {select} FROM {table.name} {where} ORDER BY fid LIMIT ?",
                                          (*params, last, batch_size))
            except StoreError as err:
                if isinstance(err, DamagedRegistry):
                    raise
                rows, after = self._rows_one_by_one(table, where, (*params, last, batch_size), select, refused, err)
                if after is None:
                    return
                last = after
            else:
                if not rows:
                    return
                last = rows[-1][0]
            yield [r[1:] for r in rows]

    def _rows_one_by_one(self, table: Table, where: str, params: tuple, select: str, refused: list[str],
                         err: StoreError) -> tuple[list[tuple], int | None]:
        page = self.dialect.query(f"SELECT fid, id FROM {table.name} {where} ORDER BY fid LIMIT ?", params)
        if not page:
            return [], None
        rows, failed = [], []
        for fid, ident in page:
            try:
                rows += self.dialect.query(f"SELECT fid, {select} FROM {table.name} WHERE fid = ?", (fid,))
            except StoreError:
                failed.append(ident)
        if failed:
            from .row_checks import row_problems

            found = row_problems(self.dialect, table, failed)
            if any(i not in found for i in failed):
                raise err  # not a value edited outside the app: the read's own error stands
            refused += failed
        return rows, page[-1][0]

    def _report_refused(self, table: Table, ids: list[str]) -> set[str]:
        """Report the export's refused rows of `table` by table, id and column; returns their ids."""
        unique = list(dict.fromkeys(ids))
        if None in unique:  # no edit can write a row without its id (NOT NULL): the file's pages are damaged
            raise StoreError(f"the registry {self.location} is damaged (a row of {table.name} without an id); "
                             "nothing was written to it")
        if unique:
            self._skips.report(tolerant.refused(self.dialect, table, unique,
                                                lambda _i: "not as the model writes it (not exported)"))
        return set(unique)

    def history(self, entity_id: str | None = None, limit: int = 100) -> list[HistoryEntry]:
        """The newest `limit` history entries, of the record `entity_id` or of all."""
        where, params = ("WHERE entity_id = ?", (entity_id,)) if entity_id else ("", ())
        rows = self.dialect.query(f"SELECT entity, entity_id, action, at, actor, before, after, change_group "
                                  f"FROM history {where} ORDER BY fid DESC LIMIT ?", (*params, limit))
        return [HistoryEntry(r[0], r[1], r[2], parse_timestamp(r[3]), r[4], _document(r[5]), _document(r[6]), r[7])
                for r in rows]

    def revision(self) -> int:
        """The last history entry's number: every write adds one, so readers can cache by it."""
        return int(self.dialect.query("SELECT COALESCE(max(fid), 0) FROM history")[0][0])

    def counts(self) -> dict[str, int]:
        """Rows per table, in one query."""
        tables = ("facilities", "structures", "observations", "sources", "history")
        row = self.dialect.query("SELECT " + ", ".join(f"(SELECT count(*) FROM {t})" for t in tables))[0]
        return {t: int(n) for t, n in zip(tables, row, strict=True)}

    def get_meta(self, key: str) -> str | None:
        """A tracker_meta value, or None if the key is not set."""
        rows = self.dialect.query("SELECT value FROM tracker_meta WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        """Set (insert or replace) a tracker_meta value."""
        with self.dialect.write() as tx:
            tx.execute("INSERT INTO tracker_meta (key, value) VALUES (?, ?) "
                       "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value))

    def check(self) -> list[str]:
        """The dialect's integrity check, then every stored value a read would refuse (edits made outside the
        app), each named by table, id and column; empty means healthy."""
        from .row_checks import record_problems

        return self.dialect.check() or record_problems(self.dialect)

    # ------------------------------------------------------------------ bulk import

    def import_registry(self, registry: Registry, *, actor: str, on_conflict: OnConflict = OnConflict.ERROR,
                        note: str = "", history: Sequence[HistoryEntry] = (),
                        verify: Callable[[ImportReport, dict[str, int], Callable[[str], list]], list[str]]
                        | None = None) -> ImportReport:
        """Write a whole registry in one transaction: all of it, or (on any error) none of it.

        `verify`, if given, runs inside that transaction before it commits, with the report, the row counts
        and a reader of records (by kind) as the transaction sees them; any problem it returns rolls the
        whole import back (StoreError naming them), so a copy that does not add up leaves the target as it was.

        Values are expected to come from the GeoJSON codec or the seed loader, which have already
        checked their geometry; references (sources, facilities, structures) are checked here
        against the file and the store together.
        """
        on_conflict = OnConflict(on_conflict)
        now = utcnow()
        added: dict[str, int] = {}
        updated: dict[str, int] = {}
        skipped: dict[str, int] = {}
        with gc_paused(), self.dialect.write() as tx:  # facilities/bulk.py: rows of a big import
            plan = {}
            for table in RECORD_TABLES:
                items = getattr(registry, table.name)
                existing = self._existing_ids(tx, table.name, [o.id for o in items])
                new = [o for o in items if o.id not in existing]
                old = [o for o in items if o.id in existing]
                if old and on_conflict is OnConflict.ERROR:
                    ids = ", ".join(sorted(o.id for o in old)[:10])
                    raise DuplicateId(f"{len(old)} {table.kind} ids are already in the registry ({ids}"
                                      f"{', ...' if len(old) > 10 else ''}); import with on-conflict skip or update")
                plan[table.record_kind] = (new, old)
            self._check_import_refs(tx, registry)
            for table in RECORD_TABLES:
                kind = table.record_kind
                new, old = plan[kind]
                if kind != "source":
                    new = [o if o.created_at and o.updated_at else
                           o.evolve(created_at=o.created_at or now, updated_at=o.updated_at or now) for o in new]
                self._insert(tx, table, new)
                added[kind] = len(new)
                if on_conflict is OnConflict.UPDATE:
                    for o in old:
                        stored = self._get(kind, o.id, tx, lock=True)
                        self._update_row(tx, table, o)
                        self._record(tx, kind, o.id, "update", actor, history_state(stored), history_state(o))
                    updated[kind] = len(old)
                else:
                    skipped[kind] = len(old)
            report = ImportReport(added, updated, skipped)
            tx.executemany(  # another registry's edit history, kept as it was (facilities migrate)
                _HISTORY_INSERT,
                [(format_timestamp(h.at), h.actor, h.entity, h.entity_id, h.action,
                  None if h.before is None else _dumps(h.before),
                  None if h.after is None else _dumps(h.after), h.group) for h in history])
            self._record(tx, "registry", "*", "import", actor, None, {"summary": report.summary(), "note": note})
            self.dialect.after_write(tx, [t.name for t in RECORD_TABLES])
            if verify is not None:
                problems = verify(report, self._counts(tx), lambda kind: self._select(
                    BY_KIND[kind], "ORDER BY fid", (), tx))
                if problems:
                    raise StoreError(f"the import into {self.location} does not add up, nothing was written: "
                                     + "; ".join(problems[:10]))
        return report

    @staticmethod
    def _counts(tx: Tx) -> dict[str, int]:
        tables = ("facilities", "structures", "observations", "sources", "history")
        row = tx.execute("SELECT " + ", ".join(f"(SELECT count(*) FROM {t})" for t in tables)).fetchone()
        return {t: int(n) for t, n in zip(tables, row, strict=True)}

    def _check_import_refs(self, tx: Tx, registry: Registry) -> None:
        def known(table: str, wanted: set[str]) -> set[str]:
            new_ids = {o.id for o in getattr(registry, table)}
            return new_ids | self._existing_ids(tx, table, sorted(wanted - new_ids))

        objs = list(codec.iter_objects(registry))
        want_sources = {s for o in objs for s in o.source_ids} | {
            s for f in registry.facilities for p in f.parents for s in p.source_ids}
        sources = known("sources", want_sources)
        facilities = known("facilities", {o.facility_id for o in objs if hasattr(o, "facility_id")})
        structures = {s.id: s.facility_id for s in registry.structures}
        missing = sorted({o.structure_id for o in registry.observations if o.structure_id} - set(structures))
        step = self.dialect.max_params
        for i in range(0, len(missing), step):
            clause, params = self.dialect.in_ids("id", missing[i:i + step])
            structures.update((r[0], r[1]) for r in tx.execute(
                f"SELECT id, facility_id FROM structures WHERE {clause}", params))
        raise_reference_problems(objs, sources, facilities, structures)


def date_window(date_from: dt.date | None, date_to: dt.date | None) -> tuple[list[str], list]:
    """WHERE clauses choosing observations whose date interval overlaps [date_from, date_to] (either end
    open): the one rule for a date filter, used by the store's reads and exports and by the frames."""
    clauses: list[str] = []
    params: list = []
    if date_from is not None:
        clauses.append("date_end >= ?")
        params.append(date_from.isoformat())
    if date_to is not None:
        clauses.append("date_start <= ?")
        params.append(date_to.isoformat())
    return clauses, params


def _exact_bbox(items: list, bbox: BBox | None) -> list:
    """The spatial index compares envelopes; keep only geometries that really meet the box."""
    if bbox is None or not items:
        return items
    boxes = [shapely.box(*b) for b in split_bbox(bbox)]
    geoms = np.array([getattr(o, "geometry", None) for o in items], dtype=object)
    keep = np.zeros(len(items), dtype=bool)
    present = np.array([g is not None for g in geoms])
    for b in boxes:
        keep[present] |= shapely.intersects(geoms[present], b)
    return [o for o, k in zip(items, keep, strict=True) if k]
