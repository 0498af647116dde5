"""Undo of an analyst's last change, written as new history: nothing is erased.

Planning is pure (`last_undoable`, `plan_undo`, `describe`): it takes history entries and the
record as it is stored now and decides what to write. `plan_last` reads the store and
`undo_last` writes, through the `Store` protocol only, so both backends behave alike.

How undo entries are told apart: the undo is written under the actor name with the suffix
`UNDO_SUFFIX` ("ana" -> "ana (undo)"). The history table has no note column, and the record
itself must not carry bookkeeping, so the actor is the one free field every backend (and
`facilities migrate`) keeps as it is. Walking an actor's history from newest to oldest, each
undo entry cancels the next earlier change of that actor that it is the inverse of (same record;
create <-> delete, update <-> update), like closing brackets: so undoing twice undoes the change
before the last, and an undo is never itself undone by the next undo.

Units of work: the entries written by one `Store.apply` (an observation saved with its new source,
a saved edit table, accepted article proposals, a cascading delete) share a history group, and
one undo reverts the whole group in one unit of its own, newest entry first. Pairing then works
on groups as it does on single entries. Within a group, undo may remove a source the group
created (the records citing it go in the same unit).

Geometry: history entries carry the record's GeoJSON `geometry` (store.base.history_state), so
reshapes are undone and deleted records come back where they were. Entries written before that
(properties only) are still honoured: an update is then undone on the current geometry and
refused when it reshaped an outline or footprint; a delete of a facility or structure is refused.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import shapely

from facilities import geojson_codec as codec
from facilities.errors import NotFound
from facilities.model import RECORD_TYPES, HistoryEntry
from facilities.store import Add, Delete, Filter, Store, Update

from .errors import NothingToUndo, UndoConflict, UndoError  # defined with the services' errors; importable here

UNDO_SUFFIX = " (undo)"
_INVERSE = {"create": "delete", "update": "update", "delete": "create"}
# properties that are bookkeeping or derived, not what an analyst changes
_NOT_CHANGES = {"version", "updated_at", "created_at", "feature_type", "area_m2", "footprint_m2",
                "date_precision", "date_start", "date_end"}
_AREA_KEY = {"facility": "area_m2", "structure": "footprint_m2"}


@dataclass(frozen=True)
class UndoPlan:
    """What undoing one history entry writes back (delete, update, create, or a group of plans) and what the user
    should know first."""

    entry: HistoryEntry  # the change being undone
    action: str  # what the undo writes: delete / update / create
    record: Any = None  # the value to write back (update, create); None for delete
    caveats: tuple[str, ...] = field(default=())
    parts: tuple[UndoPlan, ...] = ()  # a group's plans, newest entry first (action "group")


@dataclass(frozen=True)
class UndoResult:
    """What an undo did, for the message shown to the user."""

    entry: HistoryEntry
    action: str
    entity: str
    entity_id: str
    message: str


# ---------------------------------------------------------------- pure planning


def undo_actor(actor: str) -> str:
    """The name an undo by `actor` is recorded under."""
    return f"{actor}{UNDO_SUFFIX}"


def is_undo(entry: HistoryEntry) -> bool:
    """Whether the history entry was itself written by an undo."""
    return entry.actor.endswith(UNDO_SUFFIX)


def _check_actor(actor: str) -> None:
    if not actor or not actor.strip():
        raise UndoError("no actor name: set TRACKER_ACTOR or pass --actor to say whose change to undo")
    if actor.endswith(UNDO_SUFFIX):
        raise UndoError(f"actor {actor!r} ends with {UNDO_SUFFIX.strip()!r}, which marks undo entries; "
                        "give the analyst's own name")


def _changes(entries: Iterable[HistoryEntry]) -> Iterable[list[HistoryEntry]]:
    """Entries (newest first) as changes: one list per history group, a lone entry without one."""
    current: list[HistoryEntry] = []
    for h in entries:
        if current and h.group is not None and h.group == current[0].group and h.actor == current[0].actor:
            current.append(h)
            continue
        if current:
            yield current
        current = [h]
    if current:
        yield current


def _inverse(undo: list[HistoryEntry], change: list[HistoryEntry]) -> bool:
    done = sorted((h.entity, h.entity_id, _INVERSE.get(h.action, "")) for h in change)
    return done == sorted((u.entity, u.entity_id, u.action) for u in undo)


def last_undoable_group(entries: Iterable[HistoryEntry], actor: str) -> list[HistoryEntry] | None:
    """The actor's latest change not yet undone, as its entries (newest first), from history entries
    newest first (any actors). None when the entries run out first."""
    _check_actor(actor)
    mine, undo_name = actor, undo_actor(actor)
    pending: list[list[HistoryEntry]] = []  # undo changes still looking for the change they undid
    for change in _changes(entries):
        who = change[0].actor
        if who == undo_name:
            pending.append(change)
        elif who == mine:
            if not pending:
                return change
            u = pending.pop()
            if not _inverse(u, change):
                u0, h = u[0], change[0]
                raise UndoError(
                    f"the history of {actor!r} does not pair up: the undo of {u0.entity} {u0.entity_id!r} "
                    f"({u0.action}, {_when(u0.at)}) does not follow from the {h.action} of {h.entity} "
                    f"{h.entity_id!r} ({_when(h.at)}); undo by hand from the Recent changes list")
    return None


def last_undoable(entries: Iterable[HistoryEntry], actor: str) -> HistoryEntry | None:
    """The newest entry of the actor's latest change not yet undone (see `last_undoable_group`)."""
    group = last_undoable_group(entries, actor)
    return None if group is None else group[0]


def _when(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _label(entry: HistoryEntry) -> str:
    props = entry.before or entry.after or {}
    for key in ("name", "summary", "title"):
        text = props.get(key)
        if isinstance(text, str) and text:
            short = text if len(text) <= 60 else text[:57] + "..."
            return f"{entry.entity} {entry.entity_id!r} ({short!r})"
    return f"{entry.entity} {entry.entity_id!r}"


def _show(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    if text is None or text == "":
        return "(empty)"
    return repr(text if len(text) <= 60 else text[:57] + "...") if isinstance(value, str) else text[:60]


def changed_fields(entry: HistoryEntry) -> list[str]:
    """Names of the properties an update changed (bookkeeping and derived values left out)."""
    before, after = entry.before or {}, entry.after or {}
    return [k for k in sorted(set(before) | set(after)) if k not in _NOT_CHANGES and before.get(k) != after.get(k)]


def summarise(entry: HistoryEntry) -> str:
    """One line for a list of recent changes: 'update: date, summary', 'create', 'delete'."""
    if entry.action == "update":
        fields_ = changed_fields(entry)
        return "update: " + (", ".join(fields_) if fields_ else "geometry or nothing visible")
    return entry.action


def describe(what: HistoryEntry | UndoPlan) -> str:
    """What undoing this change (an entry, or a plan that may hold a whole group) will do, in words."""
    if isinstance(what, UndoPlan):
        if not what.parts:
            return describe(what.entry)
        e = what.entry
        return (f"Undo {e.actor}'s change of {_when(e.at)}, {len(what.parts)} records together: "
                + " ".join(describe(p.entry) for p in what.parts))
    entry = what
    who = f"{entry.actor}'s {entry.action} on {_when(entry.at)}"
    if entry.entity not in RECORD_TYPES:
        return f"Cannot undo {who} ({entry.entity} {entry.entity_id}): only single-record changes can be undone."
    if entry.action == "create":
        return f"Delete {_label(entry)}, undoing {who}."
    if entry.action == "delete":
        text = f"Re-create {_label(entry)} as it was, undoing {who}."
        if entry.entity == "observation" and not (entry.before or {}).get("geometry"):
            text += " A drawn annotation, if it had one, is not kept in the history and does not come back."
        return text
    before, after = entry.before or {}, entry.after or {}
    changes = [f"{k}: {_show(after.get(k))} -> {_show(before.get(k))}" for k in changed_fields(entry)]
    return (f"Put {_label(entry)} back as it was before {who}"
            + (": " + "; ".join(changes) if changes else "") + ".")


def record_from_properties(entity: str, props: dict, geometry=None):
    """A registry value from a history before/after dict (the GeoJSON codec's properties)."""
    props = {k: v for k, v in props.items() if k != "geometry"}
    if entity == "source":
        return codec.source_from_dict(props)
    raw_geom = None if geometry is None else json.loads(shapely.to_geojson(geometry))
    feature = {"type": "Feature", "geometry": raw_geom, "properties": {**props, "feature_type": entity}}
    registry, _problems, _notes = codec.parse_feature_collection(feature, source=f"history of {entity}")
    return {"facility": registry.facilities, "structure": registry.structures,
            "observation": registry.observations}[entity][0]


def _history_geometry(props: dict | None):
    raw = (props or {}).get("geometry")
    return None if not raw else shapely.geometry.shape(raw)


def plan_undo(entry: HistoryEntry, current: Any, dependants: Sequence[str] = (),
              later: Sequence[HistoryEntry] = (), in_group: bool = False) -> UndoPlan:
    """Decide how to undo `entry`, given the record as stored now (None if absent), the history
    entries of the same record made after it (newest first) and, for a create, the records that
    depend on it. `in_group`: the entry is part of a group undone together (a source the group
    created may then go). Raises UndoError when it cannot be undone."""
    kind, ident = entry.entity, entry.entity_id
    if kind not in RECORD_TYPES:
        raise UndoError(f"your last change was an {entry.action} of {kind} ({_when(entry.at)}); "
                        "imports and other bulk changes cannot be undone here")
    mine = {entry.actor, undo_actor(entry.actor)}
    others = [h for h in later if h.actor not in mine]
    if others:
        h = others[-1]
        raise UndoConflict(
            f"{kind} {ident!r} was changed after your {entry.action}: {h.actor}'s {h.action} on "
            f"{_when(h.at)}; undo refused so that the later edit is not lost; edit it by hand")
    left_by = (later[0] if later else entry).after  # the state the record should be in now
    if entry.action == "create":
        if current is None:
            raise UndoConflict(f"{kind} {ident!r} has already been deleted since you created it; nothing to undo")
        _same_version(entry, current, left_by)
        if kind == "source" and not in_group:
            raise UndoError(f"source {ident!r} cannot be removed: the registry keeps sources once added")
        if dependants:
            shown = ", ".join(dependants[:5]) + (", ..." if len(dependants) > 5 else "")
            raise UndoError(f"undoing the creation of {kind} {ident!r} would delete it, but {len(dependants)} "
                            f"records added since depend on it ({shown}); delete or move those first")
        return UndoPlan(entry, "delete")
    if entry.action == "update":
        if current is None:
            raise UndoConflict(f"{kind} {ident!r} was deleted after your edit; nothing to put back")
        _same_version(entry, current, left_by)
        before, after = entry.before or {}, entry.after or {}
        geometry = _history_geometry(before)
        if geometry is None:
            geometry = getattr(current, "geometry", None)
            area = _AREA_KEY.get(kind)
            if area and before.get(area) != after.get(area):
                raise UndoError(f"your edit of {kind} {ident!r} reshaped its geometry, which the history does "
                                "not keep; redraw it by hand")
            if not changed_fields(entry):
                raise UndoError(f"your edit of {kind} {ident!r} changed only its geometry, which the history "
                                "does not keep; redraw it by hand")
        record = record_from_properties(kind, before, geometry)
        stamps = {} if kind == "source" else {"created_at": current.created_at}
        return UndoPlan(entry, "update", record.evolve(version=current.version, **stamps))
    if entry.action == "delete":
        if current is not None:
            raise UndoConflict(f"{kind} {ident!r} exists again (someone re-created it); nothing to re-create")
        before = entry.before or {}
        geometry = _history_geometry(before)
        caveats: tuple[str, ...] = ()
        if geometry is None and kind in ("facility", "structure"):
            raise UndoError(f"{kind} {ident!r} cannot be re-created: the history keeps its properties but not "
                            "its geometry; import it again from an export")
        if geometry is None and kind == "observation":
            caveats = ("a drawn annotation, if it had one, is not restored",)
        return UndoPlan(entry, "create", record_from_properties(kind, before, geometry), caveats)
    raise UndoError(f"unknown history action {entry.action!r} for {kind} {ident!r}")


def _same_version(entry: HistoryEntry, current: Any, expected: dict | None) -> None:
    want = (expected or {}).get("version")
    if want is not None and current.version != want:
        raise UndoConflict(
            f"{entry.entity} {entry.entity_id!r} was changed after your {entry.action} (now version "
            f"{current.version}, your change left version {want}); undo refused so that the later edit "
            "is not lost; see Recent changes and edit it by hand")


# ---------------------------------------------------------------- store reads and writes


def _actor_target(store: Store, actor: str) -> list[HistoryEntry]:
    limit = 200
    while True:
        entries = store.history(limit=limit)
        found = last_undoable_group(entries, actor)
        cut = len(entries) == limit and found is not None and found[-1] is entries[-1] and found[0].group
        if found is not None and not cut:  # (a group at the end of the page may go on before it)
            return found
        if found is None and len(entries) < limit:
            raise NothingToUndo(f"nothing to undo: {actor!r} has no change left in the history")
        limit *= 5


def _current(store: Store, entry: HistoryEntry):
    kind, ident = entry.entity, entry.entity_id
    try:
        if kind == "facility":
            return store.get_facility(ident)
        if kind == "observation":
            return store.get_observation(ident)
        if kind == "source":
            return store.get_source(ident)
    except NotFound:
        return None
    if kind == "structure":  # the protocol has no get_structure: look among its facility's structures
        fac = (entry.after or entry.before or {}).get("facility_id")
        flt = Filter(facility_ids=(fac,)) if fac else Filter()
        return next((s for s in store.list_structures(flt) if s.id == ident), None)
    return None


def _dependants(store: Store, entry: HistoryEntry) -> list[str]:
    kind, ident = entry.entity, entry.entity_id
    if entry.action != "create":
        return []
    if kind == "facility":
        flt = Filter(facility_ids=(ident,))
        return ([f"structure {s.id}" for s in store.list_structures(flt)]
                + [f"observation {o.id}" for o in store.list_observations(flt)])
    if kind == "structure":
        fac = (entry.after or {}).get("facility_id")
        if fac is None:  # a structure's recorded state always names its facility
            return []
        return [f"observation {o.id}" for o in store.list_observations(Filter(facility_ids=(fac,)))
                if o.structure_id == ident]
    return []


def _later(store: Store, entry: HistoryEntry) -> list[HistoryEntry]:
    """The history of the same record after `entry`, newest first."""
    limit = 50
    while True:
        found = store.history(entry.entity_id, limit=limit)
        entries = [h for h in found if h.entity == entry.entity]
        if entry in entries:
            return entries[:entries.index(entry)]
        if len(found) < limit:
            raise UndoError(f"the history of {entry.entity} {entry.entity_id!r} no longer holds the change "
                            "to undo; nothing was changed")
        limit *= 5


def _plan_one(store: Store, entry: HistoryEntry, in_group: frozenset = frozenset()) -> UndoPlan:
    if entry.entity not in RECORD_TYPES:
        return plan_undo(entry, None)  # raises: bulk changes cannot be undone
    dependants = [d for d in _dependants(store, entry) if d not in in_group]
    return plan_undo(entry, _current(store, entry), dependants, _later(store, entry), in_group=bool(in_group))


def plan_last(store: Store, actor: str) -> UndoPlan:
    """What `undo_last` would do now, without writing: show `describe(plan)` to confirm."""
    group = _actor_target(store, actor)
    if len(group) == 1:
        return _plan_one(store, group[0])
    created = frozenset(f"{h.entity} {h.entity_id}" for h in group if h.action == "create")
    parts = tuple(_plan_one(store, h, created) for h in group)
    return UndoPlan(group[0], "group", parts=parts, caveats=tuple(c for p in parts for c in p.caveats))


def _change(plan: UndoPlan):
    entry = plan.entry
    if plan.action == "delete":
        return Delete(entry.entity, entry.entity_id)
    return Update(plan.record) if plan.action == "update" else Add(plan.record)


def undo_last(store: Store, actor: str, *, expected: HistoryEntry | None = None) -> UndoResult:
    """Revert `actor`'s most recent change not yet undone, recorded as a new history entry by
    "<actor> (undo)". `expected`: the entry the analyst confirmed; if the history has moved on
    since, nothing is written."""
    plan = plan_last(store, actor)
    if expected is not None and plan.entry != expected:
        raise UndoConflict("your history changed since the undo was shown (another change was made); "
                           "look at it again before undoing")
    entry, who = plan.entry, undo_actor(actor)
    kind, ident = entry.entity, entry.entity_id
    store.apply([_change(p) for p in (plan.parts or (plan,))], actor=who)
    if plan.parts:
        done = f"{len(plan.parts)} records put back together (" + "; ".join(
            f"{p.action} {_label(p.entry)}" for p in plan.parts) + ")"
    elif plan.action == "delete":
        done = f"deleted {_label(entry)}"
    elif plan.action == "update":
        done = f"put {_label(entry)} back as it was before the {entry.action} of {_when(entry.at)}"
    else:
        done = f"re-created {_label(entry)}"
    message = f"undone {entry.actor}'s {entry.action} of {_when(entry.at)}: {done}"
    if plan.caveats:
        message += " (" + "; ".join(plan.caveats) + ")"
    return UndoResult(entry, plan.action, kind, ident, message)
