"""Writes that an analyst makes in several records at once, checked before the first write:
edits of a facility's observation and structure tables, and a drawn shape saved with a new source.

Planning is pure (tables in, records and problems out); `apply_plans` and `record_drawing` write
through the `Store` protocol as one unit of work each (`Store.apply`): all of it or nothing, one
history group, so one undo reverts the whole save. Versions are compared with what the analyst
saw: a record someone else changed in the meantime stops the save instead of being overwritten.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from facilities.errors import ConflictError, FacilitiesError, NotFound
from facilities.model import HistoryEntry, Observation, Source, Structure
from facilities.store import Add, Delete, Filter, Store, Update

DELETE = "delete"  # the tick-box column of an edit table


def cell_text(value: object) -> str:
    """A table cell as text: empty for None and NaN."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    return str(value)


@dataclass
class EditPlan:
    """The writes an edited table amounts to (updates with the versions read, deletes) and the problems that stop it;
    true when there is something to write."""

    updates: list = field(default_factory=list)  # records to write, each with the version that was read
    deletes: list = field(default_factory=list)  # records to delete, as they were read
    problems: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.updates or self.deletes)


def plan_edits(records: Sequence, original: pd.DataFrame, edited: pd.DataFrame, fields: Sequence[str],
               what: str) -> EditPlan:
    """Compare the edited table with the one shown and build the records to write. Pure: every
    row is checked (dates parsed, choices and required text validated) and each problem named."""
    by_id = {r.id: r for r in records}
    plan = EditPlan()
    for pos, (i, row) in enumerate(edited.iterrows()):
        ident = original.loc[i, "id"]
        record = by_id[ident]
        if bool(row[DELETE]):
            plan.deletes.append(record)
            continue
        changes = {}
        for name in fields:
            new, old = cell_text(row[name]).strip(), cell_text(original.loc[i, name])
            if new != old:
                changes[name] = new or (None if name in ("built", "removed") else "")
        if not changes:
            continue
        try:
            plan.updates.append(record.evolve(**changes))
        except FacilitiesError as err:
            plan.problems.append(f"{what} row {pos + 1} ({ident}): {err}")
    return plan


def check_plan(observations: EditPlan, structures: EditPlan, all_observations: Sequence[Observation]) -> list[str]:
    """Problems that involve several rows: a structure to delete that kept observations cite."""
    going = {o.id for o in observations.deletes}
    problems = []
    for s in structures.deletes:
        users = [o.id for o in all_observations if o.structure_id == s.id and o.id not in going]
        if users:
            problems.append(f"structure {s.id} cannot be deleted: observations {', '.join(users)} refer to it "
                            "(delete those too, or change them first)")
    return problems


def apply_plans(store: Store, observations: EditPlan, structures: EditPlan, actor: str) -> str:
    """Write the plans as one unit of work: a record changed by someone else since the table was
    shown stops the save and nothing is written (checked first for a plain message, and again by the
    store inside the transaction). Returns what was done."""
    for rec in [*observations.updates, *observations.deletes, *structures.updates, *structures.deletes]:
        stored = _stored(store, rec)
        if stored is None or stored.version != rec.version:
            raise ConflictError(f"{type(rec).__name__.lower()} {rec.id} was changed by someone else since you "
                                "opened it; reload")
    store.apply([*(Update(o) for o in observations.updates), *(Update(s) for s in structures.updates),
                 *(Delete("observation", o.id, version=o.version) for o in observations.deletes),
                 *(Delete("structure", s.id, version=s.version) for s in structures.deletes)], actor=actor)
    n_up = len(observations.updates) + len(structures.updates)
    n_del = len(observations.deletes) + len(structures.deletes)
    return f"Saved: {n_up} record(s) updated, {n_del} deleted."


def _stored(store: Store, rec):
    try:
        if isinstance(rec, Observation):
            return store.get_observation(rec.id)
    except NotFound:
        return None
    return next((s for s in store.list_structures(Filter(facility_ids=(rec.facility_id,))) if s.id == rec.id), None)


def record_drawing(store: Store, record: Observation | Structure, new_sources: Sequence[Source], actor: str) -> str:
    """Save what was drawn on the compare map with the sources typed for it, as one unit of work:
    sources first (the record cites them), then the record; all or nothing, undone together.
    Returns the record's id."""
    store.apply([*(Add(src) for src in new_sources), Add(record)], actor=actor)
    return record.id


def facility_history(entries: Sequence[HistoryEntry], facility_id: str) -> list[HistoryEntry]:
    """The entries about this facility or any of its records (deleted ones included)."""
    def about(h: HistoryEntry) -> bool:
        if h.entity == "facility":
            return h.entity_id == facility_id
        return any((d or {}).get("facility_id") == facility_id for d in (h.before, h.after))

    return [h for h in entries if about(h)]


def recent_changes(store: Store, facility_id: str, *, rows: int = 20, scan: int = 500) -> list[HistoryEntry]:
    """The newest `rows` changes to this facility among the registry's last `scan` history entries."""
    return facility_history(store.history(limit=scan), facility_id)[:rows]
