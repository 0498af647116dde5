"""The edit panel (ui.edit_panel) in a running script: edit, refuse bad input, delete, undo."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from facilities.model import Observation
from facilities.store import Filter, GeoPackageStore
from tracker.edits import facility_history, plan_edits
from tracker.seeding import ensure_seeded
from ui.edit_panel import editor_keys, observations_frame

PLANT = "february-11-plant"


def _panel() -> None:
    # AppTest runs this function's source as the script: imports live inside it
    import os

    from facilities.store import open_store
    from tracker.settings import load_settings
    from ui.edit_panel import show_edit_panel

    settings = load_settings()
    store = open_store(os.environ["TRACKER_DATABASE"])
    show_edit_panel(store, settings, store.get_facility("february-11-plant"))


def _seeded(tmp_path, monkeypatch) -> GeoPackageStore:
    path = tmp_path / "r.gpkg"
    monkeypatch.setenv("TRACKER_DATABASE", str(path))
    monkeypatch.setenv("TRACKER_ACTOR", "ana")
    store = GeoPackageStore(path)
    ensure_seeded(store)
    return store


def _app() -> AppTest:
    at = AppTest.from_function(_panel, default_timeout=60).run()
    assert not at.exception, at.exception
    return at


def _observations(store) -> list[Observation]:
    return store.list_observations(Filter(facility_ids=(PLANT,)))


def _row(store, obs_id: str) -> int:
    return [o.id for o in _observations(store)].index(obs_id)


def _edit(at: AppTest, rows: dict, generation: int = 0) -> AppTest:
    at.session_state[editor_keys(PLANT, generation)[0]] = {"edited_rows": rows, "added_rows": [],
                                                            "deleted_rows": []}
    return at.button(key=f"edit_save_{PLANT}").click().run()


def _plain(element) -> str:
    """A message as the analyst reads it: markdown_text escapes every punctuation mark."""
    return element.value.replace("\\", "")


def _button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def test_editing_a_date_saves_it_with_history(tmp_path, monkeypatch):
    store = _seeded(tmp_path, monkeypatch)
    target = "feb11-2023-building-a-reroofed"
    at = _app()
    assert len(at.data_editor) == 2 and len(at.data_editor[0].value) == 13
    at = _edit(at, {_row(store, target): {"date": "2023-06"}})
    assert not at.exception and not at.error
    assert str(store.get_observation(target).date) == "2023-06"
    entry = store.history(target)[0]
    assert (entry.action, entry.actor) == ("update", "ana")
    assert (entry.before["date"], entry.after["date"]) == ("2023", "2023-06")
    assert [_plain(s) for s in at.success] == ["Saved: 1 record(s) updated, 0 deleted."]
    assert "update: date" in set(at.dataframe[-1].value["what"])  # recent changes


def test_a_bad_date_is_refused_and_nothing_changes(tmp_path, monkeypatch):
    store = _seeded(tmp_path, monkeypatch)
    before = store.counts(), [(o.id, str(o.date), o.version) for o in _observations(store)]
    target = "feb11-2023-building-a-reroofed"
    at = _edit(_app(), {_row(store, target): {"date": "2023-13"}, 0: {"summary": "fine edit"}})
    assert not at.exception
    assert len(at.error) == 1 and "Nothing was saved" in _plain(at.error[0])
    row = _row(store, target) + 1
    assert f"row {row} ({target}): date '2023-13' does not exist" in _plain(at.error[0])
    assert (store.counts(), [(o.id, str(o.date), o.version) for o in _observations(store)]) == before


def test_delete_then_undo_brings_it_back(tmp_path, monkeypatch):
    store = _seeded(tmp_path, monkeypatch)
    target = "feb11-2011-visit-kji"
    at = _edit(_app(), {_row(store, target): {"delete": True}})
    assert not at.exception and not at.error
    assert target not in {o.id for o in _observations(store)}
    assert any("Re-create observation" in t.value for t in at.text)  # what the undo will do
    at = _button(at, "Undo my last change").click().run()
    assert not at.exception and not at.error
    back = store.get_observation(target)
    assert back.summary == "Kim Jong Il visits the plant." and str(back.date) == "2011"
    assert [(h.action, h.actor) for h in store.history(target)][:2] == [("create", "ana (undo)"), ("delete", "ana")]
    assert any("re-created observation" in _plain(s) for s in at.success)
    assert len(at.data_editor[0].value) == 13  # the tables were reloaded


def test_a_record_changed_by_someone_else_is_not_overwritten(tmp_path, monkeypatch):
    store = _seeded(tmp_path, monkeypatch)
    target = "feb11-2023-building-a-reroofed"
    at = _app()  # the analyst opens the panel ...
    o = store.get_observation(target)
    store.update_observation(o.evolve(summary="bob's words"), actor="bob")  # ... bob edits meanwhile
    at = _edit(at, {_row(store, target): {"confidence": "high"}})
    assert not at.exception
    assert "someone else since you opened it; reload" in _plain(at.error[0])
    now = store.get_observation(target)
    assert (now.summary, now.confidence.value) == ("bob's words", "medium")


def test_plan_edits_names_each_bad_row(seeded):
    obs = _observations(seeded)
    frame = observations_frame(obs)
    edited = frame.copy()
    edited.loc[1, "date"] = "soon"
    edited.loc[2, "summary"] = "  "
    edited.loc[3, "kind"] = "reroofed"
    plan = plan_edits(obs, frame, edited, ("date", "kind", "confidence", "summary", "notes"), "observation")
    assert [u.id for u in plan.updates] == [obs[3].id] and plan.updates[0].kind.value == "reroofed"
    assert [p.split(":")[0] for p in plan.problems] == [f"observation row 2 ({obs[1].id})",
                                                       f"observation row 3 ({obs[2].id})"]


def test_facility_history_keeps_deleted_records(seeded):
    o = _observations(seeded)[0]
    seeded.delete_observation(o.id, actor="ana")
    seeded.update_facility(seeded.get_facility("february-8-vinalon-complex").evolve(notes="x"), actor="ana")
    mine = facility_history(seeded.history(limit=50), PLANT)
    assert [(h.entity_id, h.action) for h in mine] == [(o.id, "delete")]


def test_structure_dates_are_checked_and_a_cited_structure_is_not_deleted(tmp_path, monkeypatch):
    store = _seeded(tmp_path, monkeypatch)
    at = _app()
    names = list(at.data_editor[1].value["name"])
    b = names.index("Building B")
    key = editor_keys(PLANT)[1]
    at.session_state[key] = {"edited_rows": {b: {"removed": "20x4"}}, "added_rows": [], "deleted_rows": []}
    at = at.button(key=f"edit_save_{PLANT}").click().run()
    assert "removed '20x4'" in _plain(at.error[0]) or "date '20x4'" in _plain(at.error[0])
    at.session_state[key] = {"edited_rows": {b: {"delete": True}}, "added_rows": [], "deleted_rows": []}
    at = at.button(key=f"edit_save_{PLANT}").click().run()
    assert "cannot be deleted: observations" in _plain(at.error[0])
    at.session_state[key] = {"edited_rows": {b: {"built": "2020-05"}}, "added_rows": [], "deleted_rows": []}
    at = at.button(key=f"edit_save_{PLANT}").click().run()
    assert not at.error and not at.exception
    built = {s.name: str(s.built) for s in store.list_structures(Filter(facility_ids=(PLANT,)))}
    assert built["Building B"] == "2020-05"
