"""Undo of an analyst's last change (tracker.undo) on the GeoPackage store, and `facilities undo`."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys

import pytest
import shapely

from facilities import geojson_codec as codec
from facilities.errors import FacilitiesError
from facilities.model import HistoryEntry, Observation, Structure
from tests.support.registry import square
from tracker import undo as edits


def digest(store) -> tuple:
    records = [codec.properties(o) for o in (*store.list_facilities(), *store.list_structures(),
                                             *store.list_observations(), *store.list_sources())]
    hist = [(h.entity, h.entity_id, h.action, h.actor, h.before, h.after) for h in store.history(limit=10_000)]
    return store.counts(), json.dumps(records, sort_keys=True), hist


def _obs(id="obs-new", **kw) -> Observation:
    kw.setdefault("facility_id", "february-11-plant")
    return Observation(id=id, date=kw.pop("date", "2024-10"), kind=kw.pop("kind", "progress"),
                       summary=kw.pop("summary", "new roof"), **kw)


def test_undo_of_an_update_writes_the_before_state_as_a_new_entry(seeded):
    o = seeded.list_observations()[0]
    edited = seeded.update_observation(o.evolve(date="2023-05", summary="changed"), actor="ana")
    plan = edits.plan_last(seeded, "ana")
    assert plan.action == "update" and plan.entry.after["version"] == edited.version
    text = edits.describe(plan.entry)
    assert "date: '2023-05' -> '2011'" in text and "Put observation" in text
    result = edits.undo_last(seeded, "ana")
    back = seeded.get_observation(o.id)
    assert (back.date, back.summary, back.version) == (o.date, o.summary, 3)
    assert back.created_at == o.created_at
    hist = seeded.history(o.id)
    assert [(h.action, h.actor) for h in hist] == [("update", "ana (undo)"), ("update", "ana")]
    assert hist[0].after["date"] == "2011" and hist[0].before["date"] == "2023-05"  # nothing erased
    assert result.action == "update" and "undone ana's update" in result.message


def test_undo_of_a_create_deletes_the_record(seeded):
    seeded.add_observation(_obs(), actor="ana")
    assert edits.describe(edits.plan_last(seeded, "ana").entry).startswith("Delete observation 'obs-new'")
    edits.undo_last(seeded, "ana")
    assert "obs-new" not in {o.id for o in seeded.list_observations()}
    assert [(h.action, h.actor) for h in seeded.history("obs-new")] == [("delete", "ana (undo)"), ("create", "ana")]


def test_undo_of_a_delete_recreates_the_observation_as_it_was(seeded):
    o = seeded.list_observations()[3]
    seeded.delete_observation(o.id, actor="ana")
    plan = edits.plan_last(seeded, "ana")
    assert plan.action == "create" and "annotation" in edits.describe(plan.entry)
    edits.undo_last(seeded, "ana")
    back = seeded.get_observation(o.id)
    keep = ("date", "kind", "summary", "image", "confidence", "source_ids", "analyst", "notes", "created_at",
            "structure_id")
    assert {k: getattr(back, k) for k in keep} == {k: getattr(o, k) for k in keep}


def test_undoing_twice_undoes_the_change_before_and_never_an_undo(seeded):
    o = seeded.list_observations()[0]
    seeded.update_observation(o.evolve(summary="first"), actor="ana")
    seeded.add_observation(_obs(), actor="ana")
    seeded.update_observation(seeded.get_observation("obs-new").evolve(kind="completed"), actor="ana")
    edits.undo_last(seeded, "ana")  # the kind goes back
    assert seeded.get_observation("obs-new").kind.value == "progress"
    edits.undo_last(seeded, "ana")  # the create: deleted
    assert "obs-new" not in {x.id for x in seeded.list_observations()}
    edits.undo_last(seeded, "ana")  # the first summary edit
    assert seeded.get_observation(o.id).summary == o.summary
    with pytest.raises(edits.NothingToUndo, match="nothing to undo"):
        edits.undo_last(seeded, "ana")


def test_a_new_change_after_an_undo_is_undone_next(seeded):
    o = seeded.list_observations()[0]
    seeded.update_observation(o.evolve(summary="one"), actor="ana")
    edits.undo_last(seeded, "ana")
    seeded.update_observation(seeded.get_observation(o.id).evolve(summary="two"), actor="ana")
    entry = edits.plan_last(seeded, "ana").entry
    assert entry.after["summary"] == "two"
    edits.undo_last(seeded, "ana")
    assert seeded.get_observation(o.id).summary == o.summary
    with pytest.raises(edits.NothingToUndo):
        edits.plan_last(seeded, "ana")


def test_only_the_actors_own_changes_are_undone(seeded):
    o, p = seeded.list_observations()[:2]
    seeded.update_observation(o.evolve(summary="ana's"), actor="ana")
    seeded.update_observation(p.evolve(summary="bob's"), actor="bob")
    seeded.update_observation(seeded.get_observation(p.id).evolve(notes="anastasia's"), actor="anastasia")
    edits.undo_last(seeded, "ana")
    assert seeded.get_observation(o.id).summary == o.summary
    assert seeded.get_observation(p.id).summary == "bob's"
    assert seeded.get_observation(p.id).notes == "anastasia's"


def test_undo_is_refused_when_someone_else_edited_the_record_since(seeded):
    o = seeded.list_observations()[0]
    mine = seeded.update_observation(o.evolve(summary="mine"), actor="ana")
    seeded.update_observation(mine.evolve(confidence="high"), actor="bob")
    before = digest(seeded)
    with pytest.raises(edits.UndoConflict, match="changed after your update: bob's update"):
        edits.undo_last(seeded, "ana")
    assert digest(seeded) == before


def test_undo_of_a_create_is_refused_when_it_would_orphan_dependants(seeded):
    seeded.add_structure(Structure(id="feb11.c", facility_id="february-11-plant", name="Building C",
                                   geometry=shapely.Point(127.655, 39.925)), actor="ana")
    seeded.add_observation(_obs(structure_id="feb11.c"), actor="bob")
    before = digest(seeded)
    with pytest.raises(edits.UndoError, match="1 records added since depend on it .observation obs-new"):
        edits.undo_last(seeded, "ana")
    assert digest(seeded) == before
    seeded.delete_observation("obs-new", actor="bob")
    edits.undo_last(seeded, "ana")
    assert "feb11.c" not in {s.id for s in seeded.list_structures()}


def test_undo_of_a_record_deleted_since_is_refused(seeded):
    seeded.add_observation(_obs(), actor="ana")
    seeded.delete_observation("obs-new", actor="bob")
    with pytest.raises(edits.UndoConflict, match="changed after your create: bob's delete"):
        edits.undo_last(seeded, "ana")


def test_history_keeps_geometry_so_reshapes_and_deletes_are_undone(populated):
    f = populated.get_facility("site-1")
    populated.update_facility(f.evolve(geometry=square(d=0.02)), actor="ana")
    assert populated.history("site-1")[0].before["geometry"]["type"] == "Polygon"
    edits.undo_last(populated, "ana")
    assert populated.get_facility("site-1").geometry.equals(f.geometry)  # the outline as it was

    s = next(s for s in populated.list_structures() if s.id == "site-1.a")
    obs = populated.get_observation("obs-1")
    populated.delete_observation("obs-1", actor="bob")
    populated.delete_structure(s.id, actor="bob")
    edits.undo_last(populated, "bob")  # the structure comes back where it was
    back = next(x for x in populated.list_structures() if x.id == s.id)
    assert back.geometry.equals(s.geometry) and back.name == s.name
    edits.undo_last(populated, "bob")  # then the observation, with its drawn geometry
    again = populated.get_observation("obs-1")
    assert again.summary == obs.summary
    assert (again.geometry is None) == (obs.geometry is None)
    if obs.geometry is not None:
        assert again.geometry.equals(obs.geometry)


def test_a_bulk_import_is_not_undone(seeded):
    with pytest.raises(edits.UndoError, match="import"):
        edits.undo_last(seeded, "seed")


def test_nothing_to_undo_and_bad_actor_names(seeded):
    with pytest.raises(edits.NothingToUndo):
        edits.undo_last(seeded, "nobody")
    with pytest.raises(edits.UndoError, match="marks undo entries"):
        edits.undo_last(seeded, "ana (undo)")
    with pytest.raises(edits.UndoError, match="no actor"):
        edits.undo_last(seeded, " ")
    assert issubclass(edits.UndoError, FacilitiesError)


def test_the_confirmed_entry_must_still_be_the_last(seeded):
    o = seeded.list_observations()[0]
    seeded.update_observation(o.evolve(summary="one"), actor="ana")
    shown = edits.plan_last(seeded, "ana").entry
    seeded.add_observation(_obs(), actor="ana")  # e.g. in another tab
    before = digest(seeded)
    with pytest.raises(edits.UndoConflict, match="history changed"):
        edits.undo_last(seeded, "ana", expected=shown)
    assert digest(seeded) == before


T = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def _h(action, actor, ident="x", entity="observation") -> HistoryEntry:
    return HistoryEntry(entity, ident, action, T, actor, {"version": 1}, {"version": 2})


def test_last_undoable_pairs_undos_like_brackets():
    # oldest first: a1 (x), a2 (y), undo a2, a3 (z), undo a3  -> a1 is next
    entries = [_h("create", "ana", "x"), _h("update", "ana", "y"), _h("update", "ana (undo)", "y"),
               _h("update", "bob", "z"), _h("delete", "ana", "z"), _h("create", "ana (undo)", "z")]
    assert edits.last_undoable(reversed(entries), "ana") is entries[0]
    assert edits.last_undoable(reversed(entries[2:3]), "ana") is None  # ran out: look further back
    with pytest.raises(edits.UndoError, match="does not pair up"):
        edits.last_undoable(reversed([_h("update", "ana", "x"), _h("update", "ana (undo)", "y")]), "ana")


def test_summarise_names_changed_fields(seeded):
    o = seeded.list_observations()[0]
    seeded.update_observation(o.evolve(summary="s", confidence="low"), actor="ana")
    assert edits.summarise(seeded.history(o.id)[0]) == "update: confidence, summary"


@pytest.fixture
def cli(tmp_path):
    env = {**os.environ, "TRACKER_DATABASE": str(tmp_path / "r.gpkg"), "TRACKER_ACTOR": "tester"}

    def run(*args: str, ok: bool = True) -> subprocess.CompletedProcess:
        res = subprocess.run([sys.executable, "-m", "tracker", *args], capture_output=True, text=True, env=env,
                             timeout=120, cwd=tmp_path, stdin=subprocess.DEVNULL)
        assert (res.returncode == 0) == ok, f"{args}: rc={res.returncode}\n{res.stdout}\n{res.stderr}"
        return res

    return run


def test_cli_undo(cli):
    cli("init", "-q")
    obs = cli("observe", "february-11-plant", "--date", "2024-10", "--kind", "progress", "--summary", "roof").stdout
    oid = obs.split()[1].rstrip(":")
    asked = cli("undo", ok=False)  # no terminal: shows what it would do, does nothing
    assert f"Delete observation '{oid}'" in asked.stdout and "--yes" in asked.stderr
    done = cli("undo", "--yes")
    assert "undone tester's create" in done.stdout and oid in done.stdout
    refused = cli("undo", "--yes", ok=False)
    assert refused.stderr.startswith("error: nothing to undo") and "Traceback" not in refused.stderr
    assert "import" in cli("undo", "--actor", "seed", "--yes", ok=False).stderr


def test_undo_of_facility_and_structure_edits_keeps_their_geometry(populated):
    f = populated.get_facility("site-1")
    populated.update_facility(f.evolve(name="Renamed", aliases=({"name": "별칭", "lang": "ko"},)), actor="ana")
    s = next(s for s in populated.list_structures() if s.id == "site-1.a")
    populated.update_structure(s.evolve(built="~2019", name="A2"), actor="ana")
    edits.undo_last(populated, "ana")
    back = next(x for x in populated.list_structures() if x.id == "site-1.a")
    assert (back.name, back.built, back.geometry) == ("A", None, s.geometry)
    edits.undo_last(populated, "ana")
    g = populated.get_facility("site-1")
    assert (g.name, g.aliases, g.source_ids, g.version) == ("Site one", (), ("src-1",), 3)
    assert g.geometry.equals(f.geometry)
