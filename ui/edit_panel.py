"""Edit panel for one facility: edit or delete its observations and structures, undo your last
change, and see its recent changes. Every write goes through the store with the analyst's name,
so the history keeps who changed what and the before and after of each record.

The tables are a snapshot taken when the panel is opened (kept in the session): saving checks
each edited record's version against that snapshot, so a change someone else made in between is
refused ("reload"), not overwritten. All rows are checked before anything is written; one bad
row means nothing is saved. User text is shown only in dataframes and st.text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd
import streamlit as st

from facilities.errors import ConflictError, FacilitiesError, NotFound
from facilities.model import Confidence, Facility, FacilityStatus, HistoryEntry, Observation, ObservationKind, Structure
from facilities.store import Filter, Store
from tracker.settings import Settings
from tracker.undo import NothingToUndo, UndoError, describe, plan_last, summarise, undo_last

from . import state
from .safe import markdown_text

DELETE = "delete"
# editable columns of each table; the rest are shown read-only
OBSERVATION_FIELDS = ("date", "kind", "confidence", "summary", "notes")
STRUCTURE_FIELDS = ("name", "kind", "status", "built", "removed", "notes")
HISTORY_ROWS = 20


def _text(value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    return str(value)


def observations_frame(observations: Sequence[Observation]) -> pd.DataFrame:
    rows = [{DELETE: False, "id": o.id, "date": str(o.date), "kind": o.kind.value,
             "confidence": o.confidence.value, "summary": o.summary, "notes": o.notes,
             "image": " · ".join(str(x) for x in (o.image.provider, o.image.image_id, o.image.acquired) if x)
             if o.image else "", "structure": o.structure_id or "", "version": o.version} for o in observations]
    return pd.DataFrame(rows, columns=[DELETE, "id", *OBSERVATION_FIELDS, "image", "structure", "version"])


def structures_frame(structures: Sequence[Structure]) -> pd.DataFrame:
    rows = [{DELETE: False, "id": s.id, "name": s.name, "kind": s.kind, "status": s.status.value,
             "built": _text(s.built), "removed": _text(s.removed), "notes": s.notes,
             "geometry": s.geometry.geom_type, "version": s.version} for s in structures]
    return pd.DataFrame(rows, columns=[DELETE, "id", *STRUCTURE_FIELDS, "geometry", "version"])


@dataclass
class EditPlan:
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
            new, old = _text(row[name]).strip(), _text(original.loc[i, name])
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
    """Write the plans: versions are checked first, so a record changed by someone else since the
    table was shown stops the save before anything is written. Returns what was done."""
    for rec in [*observations.updates, *observations.deletes, *structures.updates, *structures.deletes]:
        stored = _stored(store, rec)
        if stored is None or stored.version != rec.version:
            raise ConflictError(f"{type(rec).__name__.lower()} {rec.id} was changed by someone else since you "
                                "opened it; reload")
    for o in observations.updates:
        store.update_observation(o, actor=actor)
    for s in structures.updates:
        store.update_structure(s, actor=actor)
    for o in observations.deletes:
        store.delete_observation(o.id, actor=actor)
    for s in structures.deletes:
        store.delete_structure(s.id, actor=actor)
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


def facility_history(entries: Sequence[HistoryEntry], facility_id: str) -> list[HistoryEntry]:
    """The entries about this facility or any of its records (deleted ones included)."""
    def about(h: HistoryEntry) -> bool:
        if h.entity == "facility":
            return h.entity_id == facility_id
        return any((d or {}).get("facility_id") == facility_id for d in (h.before, h.after))

    return [h for h in entries if about(h)]


def history_frame(entries: Sequence[HistoryEntry]) -> pd.DataFrame:
    return pd.DataFrame(
        [(h.at.strftime("%Y-%m-%d %H:%M UTC"), h.actor, h.entity, h.entity_id, summarise(h)) for h in entries],
        columns=["when", "who", "record", "id", "what"])


# ---------------------------------------------------------------- Streamlit


def _snapshot(store: Store, facility: Facility, key: str) -> tuple[list[Observation], list[Structure]]:
    if state.get(key) is None:
        flt = Filter(facility_ids=(facility.id,))
        state.put(key, (store.list_observations(flt), store.list_structures(flt)))
    return state.get(key)


def editor_keys(facility_id: str, generation: int = 0) -> tuple[str, str]:
    """The data_editor keys of the observation and structure tables."""
    return f"edit_observations_{facility_id}_{generation}", f"edit_structures_{facility_id}_{generation}"


def _reset(facility_id: str, message: str | None) -> None:
    gen_key = state.edit_generation_key(facility_id)
    state.put(gen_key, state.get(gen_key, 0) + 1)  # fresh editors, no stale edits
    state.drop(state.edit_snapshot_key(facility_id))
    if message:
        state.flash(state.EDIT_FLASH, message)
    st.rerun()


def show_edit_panel(store: Store, settings: Settings, facility: Facility) -> None:
    """Edit or delete this facility's observations and structures; undo; recent changes."""
    flash = state.pop_flash(state.EDIT_FLASH)
    if flash:
        st.success(markdown_text(flash))
    generation = state.get(state.edit_generation_key(facility.id), 0)
    obs_key, str_key = editor_keys(facility.id, generation)
    try:
        observations, structures = _snapshot(store, facility, state.edit_snapshot_key(facility.id))
    except FacilitiesError as err:
        st.error(markdown_text(f"Cannot read this facility's records: {err}"))
        return

    st.markdown(f"**Observations** ({len(observations)}): edit cells, tick *delete*, then save. "
                "Dates: 2024-11-25, 2024-10, 2011 or ~2020-06.")
    obs_frame = observations_frame(observations)
    obs_edited = st.data_editor(
        obs_frame, hide_index=True, key=obs_key, disabled=["id", "image", "structure", "version"],
        column_order=[DELETE, "id", *OBSERVATION_FIELDS, "image", "structure"],
        column_config={
            DELETE: st.column_config.CheckboxColumn(DELETE),
            "date": st.column_config.TextColumn("date"),
            "kind": st.column_config.SelectboxColumn("kind", options=[k.value for k in ObservationKind]),
            "confidence": st.column_config.SelectboxColumn("confidence", options=[c.value for c in Confidence]),
            "summary": st.column_config.TextColumn("summary", width="large"),
        })
    st.markdown(f"**Structures** ({len(structures)})")
    str_frame = structures_frame(structures)
    str_edited = st.data_editor(
        str_frame, hide_index=True, key=str_key, disabled=["id", "geometry", "version"],
        column_order=[DELETE, "id", *STRUCTURE_FIELDS, "geometry"],
        column_config={
            DELETE: st.column_config.CheckboxColumn(DELETE),
            "status": st.column_config.SelectboxColumn("status", options=[s.value for s in FacilityStatus]),
            "built": st.column_config.TextColumn("built"),
            "removed": st.column_config.TextColumn("removed"),
        })
    save, reload = st.columns(2)
    if save.button("Save changes", key=f"edit_save_{facility.id}"):
        _save(store, settings, facility, observations, structures, (obs_frame, obs_edited),
              (str_frame, str_edited))
    if reload.button("Reload", key=f"edit_reload_{facility.id}"):
        _reset(facility.id, None)

    _show_undo(store, settings, facility)
    _show_recent(store, facility)


def _save(store: Store, settings: Settings, facility: Facility, observations, structures, obs_tables,
          str_tables) -> None:
    obs_plan = plan_edits(observations, *obs_tables, OBSERVATION_FIELDS, "observation")
    str_plan = plan_edits(structures, *str_tables, STRUCTURE_FIELDS, "structure")
    problems = obs_plan.problems + str_plan.problems + check_plan(obs_plan, str_plan, observations)
    if problems:
        st.error("Nothing was saved:\n\n" + "\n".join(f"- {markdown_text(p)}" for p in problems))
        return
    if not obs_plan and not str_plan:
        st.info("No changes to save.")
        return
    try:
        message = apply_plans(store, obs_plan, str_plan, settings.actor)
    except ConflictError as err:
        st.error(markdown_text(f"Nothing was saved: {err}"))
        return
    except FacilitiesError as err:
        st.error(markdown_text(f"Saving stopped: {err}"))
        return
    _reset(facility.id, message)


def _show_undo(store: Store, settings: Settings, facility: Facility) -> None:
    st.markdown("**Undo my last change** (anywhere in the registry)")
    try:
        plan = plan_last(store, settings.actor)
    except NothingToUndo:
        st.caption("Nothing of yours to undo.")
        return
    except UndoError as err:
        st.warning(markdown_text(f"Your last change cannot be undone: {err}"))
        return
    except FacilitiesError as err:
        st.error(markdown_text(f"Cannot read the history: {err}"))
        return
    st.text(describe(plan.entry))
    if st.button("Undo my last change", key=f"edit_undo_{facility.id}"):
        try:
            result = undo_last(store, settings.actor, expected=plan.entry)
        except FacilitiesError as err:
            st.error(markdown_text(f"Nothing was undone: {err}"))
            return
        _reset(facility.id, result.message[:1].upper() + result.message[1:])


def _show_recent(store: Store, facility: Facility) -> None:
    try:
        entries = facility_history(store.history(limit=500), facility.id)[:HISTORY_ROWS]
    except FacilitiesError as err:
        st.error(markdown_text(f"Cannot read the history: {err}"))
        return
    st.markdown("**Recent changes**")
    if not entries:
        st.caption("No changes recorded for this facility.")
        return
    st.dataframe(history_frame(entries), hide_index=True)
