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

import pandas as pd
import streamlit as st

from facilities.errors import ConflictError, FacilitiesError
from facilities.model import Confidence, Facility, FacilityStatus, HistoryEntry, Observation, ObservationKind, Structure
from facilities.store import Filter, Store
from tracker.edits import DELETE, apply_plans, cell_text, check_plan, plan_edits
from tracker.images import image_label
from tracker.settings import Settings
from tracker.undo import NothingToUndo, UndoError, describe, summarise, undo_last

from . import state
from .safe import markdown_text

# editable columns of each table; the rest are shown read-only
OBSERVATION_FIELDS = ("date", "kind", "confidence", "summary", "notes")
STRUCTURE_FIELDS = ("name", "kind", "status", "built", "removed", "notes")
HISTORY_ROWS = 20


def observations_frame(observations: Sequence[Observation]) -> pd.DataFrame:
    """The editable table of a facility's observations, one row each, with a delete column and the version read."""
    rows = [{DELETE: False, "id": o.id, "date": str(o.date), "kind": o.kind.value,
             "confidence": o.confidence.value, "summary": o.summary, "notes": o.notes,
             "image": image_label(o.image), "structure": o.structure_id or "", "version": o.version}
            for o in observations]
    return pd.DataFrame(rows, columns=[DELETE, "id", *OBSERVATION_FIELDS, "image", "structure", "version"])


def structures_frame(structures: Sequence[Structure]) -> pd.DataFrame:
    """The editable table of a facility's structures, one row each, with a delete column and the version read."""
    rows = [{DELETE: False, "id": s.id, "name": s.name, "kind": s.kind, "status": s.status.value,
             "built": cell_text(s.built), "removed": cell_text(s.removed), "notes": s.notes,
             "geometry": s.geometry.geom_type, "version": s.version} for s in structures]
    return pd.DataFrame(rows, columns=[DELETE, "id", *STRUCTURE_FIELDS, "geometry", "version"])


def history_frame(entries: Sequence[HistoryEntry]) -> pd.DataFrame:
    """Recent history entries as a table: when, who, which record, what changed."""
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

    try:  # one cheap query; the undo plan and the history below are read once per registry revision
        revision = store.revision()
    except FacilitiesError as err:
        st.error(markdown_text(f"Cannot read the history: {err}"))
        return
    _show_undo(store, settings, facility, revision)
    _show_recent(store, settings, facility, revision)


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
        message = apply_plans(store, obs_plan, str_plan, state.actor(settings))
    except ConflictError as err:
        st.error(markdown_text(f"Nothing was saved: {err}"))
        return
    except FacilitiesError as err:
        st.error(markdown_text(f"Saving stopped: {err}"))
        return
    _reset(facility.id, message)


def _show_undo(store: Store, settings: Settings, facility: Facility, revision: int) -> None:
    st.markdown("**Undo my last change** (anywhere in the registry)")
    try:
        plan = state.undo_plan(store, settings.database, revision, state.actor(settings))
    except NothingToUndo:
        st.caption("Nothing of yours to undo.")
        return
    except UndoError as err:
        st.warning(markdown_text(f"Your last change cannot be undone: {err}"))
        return
    except FacilitiesError as err:
        st.error(markdown_text(f"Cannot read the history: {err}"))
        return
    st.text(describe(plan))
    if st.button("Undo my last change", key=f"edit_undo_{facility.id}"):
        try:
            result = undo_last(store, state.actor(settings), expected=plan.entry)
        except FacilitiesError as err:
            st.error(markdown_text(f"Nothing was undone: {err}"))
            return
        _reset(facility.id, result.message[:1].upper() + result.message[1:])


def _show_recent(store: Store, settings: Settings, facility: Facility, revision: int) -> None:
    try:
        entries = state.recent_changes(store, settings.database, revision, facility.id, HISTORY_ROWS)
    except FacilitiesError as err:
        st.error(markdown_text(f"Cannot read the history: {err}"))
        return
    st.markdown("**Recent changes**")
    if not entries:
        st.caption("No changes recorded for this facility.")
        return
    st.dataframe(history_frame(entries), hide_index=True)
