"""Units of work on both dialects: several changes written all or none as one history group, undone
by one undo; the callers that go through them (a drawing with its new source, an edit table,
accepted article proposals); one error contract; and a registry made before issue 12 migrated
on both dialects with nothing lost."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
import shapely

from facilities import geojson_codec as codec
from facilities.errors import ConflictError, FacilitiesError, StoreError, ValidationError
from facilities.model import Observation, Source
from facilities.store import Add, Delete, GeoPackageStore, Update, migrations, open_store
from tests.support.registry import readable_digest
from tracker import edits
from tracker import undo as undo

DATA = Path(__file__).resolve().parent / "data"



def content(store) -> tuple:
    """The records as an analyst reads them: no history (an undo adds to it) and no bookkeeping
    (an undo writes a new version)."""
    counts, _records, _hist = readable_digest(store)
    stamps = {"version", "updated_at"}
    records = [{k: v for k, v in codec.properties(o).items() if k not in stamps}
               for o in (*store.list_facilities(), *store.list_structures(), *store.list_observations(),
                         *store.list_sources())]
    return {k: n for k, n in counts.items() if k != "history"}, json.dumps(records, sort_keys=True)


def _obs(id="obs-2", **kw) -> Observation:
    return Observation(id=id, facility_id="site-1", date=kw.pop("date", "2024-11"), kind="activity",
                       summary=kw.pop("summary", "trucks"), **kw)


def test_apply_writes_all_changes_as_one_group(any_populated):
    src = Source(id="src-new", title="New report")
    o = any_populated.get_observation("obs-1")
    out = any_populated.apply([Add(src), Add(_obs(source_ids=("src-new",))), Update(o.evolve(summary="roof done"))],
                     actor="ana")
    assert [type(r).__name__ for r in out] == ["Source", "Observation", "Observation"]
    top = any_populated.history(limit=3)
    assert {h.group for h in top} == {top[0].group} and top[0].group
    assert [(h.entity, h.entity_id, h.action) for h in top] == [
        ("observation", "obs-1", "update"), ("observation", "obs-2", "create"), ("source", "src-new", "create")]
    assert any_populated.history(limit=4)[3].group != top[0].group  # the fixture's writes are units of their own


def test_apply_is_all_or_nothing(any_populated):
    stale = any_populated.get_observation("obs-1")
    any_populated.update_observation(stale.evolve(notes="bob"), actor="bob")
    before = readable_digest(any_populated)
    with pytest.raises(ConflictError):
        any_populated.apply([Add(Source(id="src-new", title="x")), Add(_obs()), Update(stale.evolve(summary="late"))],
                   actor="ana")
    assert readable_digest(any_populated) == before
    with pytest.raises(ValidationError, match="unknown source"):
        any_populated.apply([Add(_obs()), Add(_obs("obs-3", source_ids=("nowhere",)))], actor="ana")
    assert readable_digest(any_populated) == before
    with pytest.raises(StoreError, match="referenced by observations"):
        any_populated.apply([Add(_obs()), Delete("structure", "site-1.a")], actor="ana")
    assert readable_digest(any_populated) == before


def test_add_if_absent_keeps_the_stored_record(any_populated):
    again = Source(id="src-1", title="a different title")
    out = any_populated.apply([Add(again, if_absent=True), Add(_obs(source_ids=("src-1",)))], actor="ana")
    assert out[0].title == "A report" and any_populated.get_source("src-1").title == "A report"
    assert [h.entity for h in any_populated.history(limit=1)] == ["observation"]


def test_a_drawing_and_its_new_source_are_saved_and_undone_together(any_populated):
    before = content(any_populated)
    src = Source(id="src-drawn", title="Typed with the drawing")
    edits.record_drawing(any_populated, _obs(geometry=shapely.box(127.651, 39.921, 127.652, 39.922),
                                    source_ids=("src-drawn",)), [src], "ana")
    assert any_populated.get_source("src-drawn") and any_populated.get_observation("obs-2").source_ids == ("src-drawn",)
    plan = undo.plan_last(any_populated, "ana")
    assert plan.action == "group" and len(plan.parts) == 2
    assert "2 records together" in undo.describe(plan)
    undo.undo_last(any_populated, "ana", expected=plan.entry)  # one undo: the observation, then its source
    assert content(any_populated) == before
    assert [(h.entity, h.action, h.actor) for h in any_populated.history(limit=2)] == [
        ("source", "delete", "ana (undo)"), ("observation", "delete", "ana (undo)")]
    with pytest.raises(undo.NothingToUndo):
        undo.undo_last(any_populated, "ana")  # the undo itself is not undone, and nothing else is left


def test_a_drawing_that_cannot_be_saved_leaves_no_source_behind(any_populated):
    before = readable_digest(any_populated)
    with pytest.raises(FacilitiesError):
        edits.record_drawing(any_populated, _obs(structure_id="no-such-structure", source_ids=("src-drawn",)),
                             [Source(id="src-drawn", title="x")], "ana")
    assert readable_digest(any_populated) == before


def test_a_saved_edit_table_is_one_undo(any_populated):
    any_populated.add_observation(_obs(), actor="t")
    o1, o2 = any_populated.get_observation("obs-1"), any_populated.get_observation("obs-2")
    plan = edits.EditPlan(updates=[o1.evolve(summary="edited")], deletes=[o2])
    before = content(any_populated)
    edits.apply_plans(any_populated, plan, edits.EditPlan(), "ana")
    assert any_populated.get_observation("obs-1").summary == "edited" and any_populated.counts()["observations"] == 1
    undo.undo_last(any_populated, "ana")
    assert content(any_populated) == before


def test_an_undo_group_stops_whole_when_a_part_changed_since(any_populated):
    any_populated.apply([Add(_obs()), Update(any_populated.get_observation("obs-1").evolve(summary="ana's"))],
                        actor="ana")
    any_populated.update_observation(any_populated.get_observation("obs-2").evolve(summary="bob's"), actor="bob")
    before = readable_digest(any_populated)
    with pytest.raises(undo.UndoConflict):
        undo.undo_last(any_populated, "ana")
    assert readable_digest(any_populated) == before


def test_a_cascading_delete_is_undone_whole(any_populated):
    before = content(any_populated)
    any_populated.delete_facility("site-1", actor="ana", cascade=True)
    assert any_populated.counts()["facilities"] == 0
    undo.undo_last(any_populated, "ana")
    assert content(any_populated) == before


def test_accepted_proposals_are_all_or_nothing(tmp_path):
    from tracker.articles import Reader, load_resources
    from tracker.articles.ingest import Accepted, write_accepted
    from tracker.seeding import ensure_seeded

    store = GeoPackageStore(tmp_path / "r.gpkg")
    ensure_seeded(store)
    text = ("Satellite imagery from October 2024 shows a new roof at the February 11 Plant. "
            "Construction started in 2023 at the February 11 Plant.")
    results = Reader(load_resources(), store.list_facilities()).read(text, published="2024-11-25")
    proposals = [p for r in results for p in r.proposals]
    assert len(proposals) >= 2
    before, before_content = readable_digest(store), content(store)
    bad = [Accepted(proposals[0], "progress", "medium", "2024-10"), Accepted(proposals[1], "progress", "medium", "")]
    written, problems = write_accepted(store, bad, "tester")
    assert written == 0 and any("give a date" in p for p in problems) and readable_digest(store) == before
    good = [Accepted(p, "progress", "medium", "2024-10") for p in proposals]
    written, problems = write_accepted(store, good, "tester")
    assert (written, problems) == (len(proposals), [])
    group = {h.group for h in store.history(limit=len(proposals))}
    assert len(group) == 1
    undo.undo_last(store, "tester")  # one undo takes every accepted proposal back
    assert content(store) == before_content
    store.close()


# ---------------------------------------------------------------- one error contract


def test_a_damaged_geopackage_raises_store_errors_not_sqlite3(tmp_path, populated):
    path = populated.path
    con = sqlite3.connect(path)
    con.execute("DROP TABLE sources")
    con.close()
    with pytest.raises(StoreError):
        populated.list_sources()
    with pytest.raises(StoreError):
        populated.add_source(Source(id="s9", title="x"), actor="t")
    with pytest.raises(StoreError):
        edits.record_drawing(populated, Observation(id="o9", facility_id="site-1", date="2024", kind="visit",
                                                    summary="x"), [Source(id="s9", title="x")], "t")


def test_the_ui_imports_no_database_or_http_driver():
    import ast

    root = Path(__file__).resolve().parents[2] / "ui"
    banned = {"sqlite3", "psycopg", "requests", "rasterio", "pystac_client"}
    for path in root.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not {n.split(".")[0] for n in names} & banned, path


# ---------------------------------------------------------------- a registry made before issue 12


def _what(store) -> dict:
    objs = (*store.list_facilities(), *store.list_structures(), *store.list_observations(), *store.list_sources())
    return {"records": {f"{type(o).__name__}:{o.id}": {
                "properties": codec.properties(o),
                "geometry": None if getattr(o, "geometry", None) is None
                else shapely.to_wkt(o.geometry, rounding_precision=-1)} for o in objs},
            "history": [[h.entity, h.entity_id, h.action, h.actor, h.at.isoformat(), h.before, h.after]
                        for h in store.history(limit=1000)],
            "seed_version": store.get_meta("seed_version")}


def _holds(ours: dict, want: dict) -> bool:
    """Everything the old registry held is there, unchanged; a field added since reads as null."""
    ours, want = json.loads(json.dumps(ours)), json.loads(json.dumps(want))
    if set(ours["records"]) != set(want["records"]) or ours["history"] != want["history"]:
        return False
    for key, record in want["records"].items():
        got = ours["records"][key]
        added = set(got["properties"]) - set(record["properties"])
        if got["geometry"] != record["geometry"] or any(got["properties"][k] is not None for k in added) or any(
                got["properties"].get(k) != v for k, v in record["properties"].items()):
            return False
    return ours["seed_version"] == want["seed_version"]


def _expected(backend: str) -> dict:
    made = json.loads((DATA / "registry-v2.json").read_text())[backend]
    assert made.pop("schema_version") == "2"
    return json.loads(json.dumps(made))


def test_a_version_2_geopackage_opens_migrated_with_nothing_lost(tmp_path):
    path = tmp_path / "old.gpkg"
    shutil.copy(DATA / "registry-v2.gpkg", path)
    s = GeoPackageStore(path)
    try:
        assert s.get_meta("schema_version") == str(migrations.schema_version())
        assert _holds(_what(s), _expected("gpkg"))
        assert s.check() == []
        s.apply([Add(Source(id="src-3", title="after")), Update(s.get_facility("site-2").evolve(notes="x"))],
                actor="ana")
        undo.undo_last(s, "ana")  # a unit of work on the migrated file is undone whole
        assert s.get_facility("site-2").notes == "" and s.counts()["sources"] == 2
    finally:
        s.close()


def test_a_version_2_postgis_database_opens_migrated_with_nothing_lost(pg_url):
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute((DATA / "registry-v2-postgis.sql").read_text())
    s = open_store(pg_url)
    try:
        assert s.get_meta("schema_version") == str(migrations.schema_version())
        assert _holds(_what(s), _expected("postgis"))
        assert s.check() == []
        s.add_observation(_obs("obs-new"), actor="ana")
        assert s.history(limit=1)[0].group
    finally:
        s.close()


def test_a_version_2_geopackage_moves_to_postgis_with_nothing_lost(tmp_path, pg_url):
    from tracker.migrate import copy_registry

    path = tmp_path / "old.gpkg"
    shutil.copy(DATA / "registry-v2.gpkg", path)
    src, dst = GeoPackageStore(path), open_store(pg_url)
    try:
        copy_registry(src, dst, actor="migrator")
        ours = _what(dst)
        assert ours["history"][0][2:4] == ["import", "migrator"]  # the copy's own entry, then theirs
        ours["history"] = ours["history"][1:]
        assert _holds(ours, _expected("gpkg"))
    finally:
        src.close()
        dst.close()

