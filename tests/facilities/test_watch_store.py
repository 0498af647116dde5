"""The watch tables on both backends (migration 6): watching and unwatching with history, a site's findings and
checkpoint written once per run, accept writing the observation and moving the review date in one unit, and a
registry at schema version 5 upgraded with the tables."""

from __future__ import annotations

import pytest
import shapely

from facilities.dates import PartialDate
from facilities.errors import InputError, NotFound
from facilities.model import Facility, Observation, ObservationKind
from facilities.store import migrations, open_store
from facilities.store.watch import WatchTables
from facilities.watchlist import Finding, FindingKind, FindingStatus


def _world(store):
    store.add_facility(Facility(id="a", name="A", geometry=shapely.box(127, 39, 127.01, 39.01)), actor="t")
    store.add_facility(Facility(id="b", name="B", geometry=shapely.box(128, 39, 128.01, 39.01)), actor="t")
    return WatchTables(store)


def test_watch_add_remove_and_findings_once_per_run(any_store):
    w = _world(any_store)
    assert w.add(["a", "b", "a"], actor="t") == ["a", "b"] and w.add(["a"], actor="t") == []
    with pytest.raises(NotFound, match="'zz'"):
        w.add(["zz"], actor="t")
    assert [e.facility_id for e in w.watched()] == ["a", "b"]
    new = Finding("f1", "a", FindingKind.NEW_SCENE, "sentinel-2:S2A_1", None)
    assert [f.id for f in w.record_site("r1", "a", [new], None, actor="t")] == ["f1"]
    assert w.record_site("r1", "a", [new], None, actor="t") == []  # the run did this site
    assert w.record_site("r2", "a", [Finding("f2", "a", FindingKind.NEW_SCENE, "sentinel-2:S2A_1", None)],
                         None, actor="t") == []  # the same image again is no new finding
    w.record_site("r1", "b", [], "wayback: HTTP 500", actor="t")
    assert w.done_sites("r1") == {"a", "b"}
    assert [(o[0], o[1]) for o in w.run_outcomes("r1")] == [("a", "news"), ("b", "failed")]
    assert w.remove(["b"], actor="t") == ["b"] and [e.facility_id for e in w.watched()] == ["a"]
    actions = [(h.entity, h.entity_id, h.action) for h in any_store.history(limit=10)]
    assert ("watch", "b", "watch-remove") in actions and ("finding", "f1", "found") in actions


def test_accept_writes_the_observation_and_moves_the_review_date(any_store):
    w = _world(any_store)
    w.add(["a"], actor="t")
    w.record_site("r1", "a", [Finding("f1", "a", FindingKind.NEW_LOCAL_IMAGE, "local:abc", None)], None, actor="t")
    obs = Observation(id="obs-1", facility_id="a", date=PartialDate.parse("2026-03-01"),
                      kind=ObservationKind.ACTIVITY, summary="new image reviewed")
    decided, stored = w.accept("f1", obs, actor="analyst")
    assert decided.status is FindingStatus.ACCEPTED and decided.observation_id == "obs-1"
    assert any_store.get_observation("obs-1").summary == "new image reviewed"
    entry = w.watched()[0]
    assert entry.reviewed_by == "analyst" and entry.reviewed_keys == ("local:abc",) and entry.reviewed_at
    with pytest.raises(InputError, match="already accepted"):
        w.dismiss("f1", actor="analyst")
    w.record_site("r2", "a", [Finding("f2", "a", FindingKind.NEW_LOCAL_IMAGE, "local:def", None)], None, actor="t")
    bad = Observation(id="obs-2", facility_id="a", date=PartialDate.parse("2026-03-01"),
                      kind=ObservationKind.ACTIVITY, summary="cites a missing source", source_ids=("nope",))
    with pytest.raises(Exception, match="nope"):
        w.accept("f2", bad, actor="analyst")
    assert w.finding("f2").status is FindingStatus.UNREVIEWED  # nothing stored changed on error
    assert w.watched()[0].reviewed_keys == ("local:abc",)


def test_a_version_5_registry_gets_the_watch_tables(tmp_path):
    path = tmp_path / "r.gpkg"
    store = open_store(str(path))
    with store.dialect.write() as tx:
        for t in ("watchlist", "watch_findings", "watch_runs"):
            tx.execute(f"DROP TABLE {t}")
            tx.execute("DELETE FROM gpkg_contents WHERE table_name = ?", (t,))
        tx.execute("UPDATE tracker_meta SET value = '5' WHERE key = 'schema_version'")
    store.close()
    again = open_store(str(path))
    try:
        assert again.get_meta("schema_version") == str(migrations.schema_version()) == "6"
        _world(again).add(["a"], actor="t")
        assert again.dialect.query("SELECT count(*) FROM gpkg_contents WHERE table_name = 'watchlist'")[0][0] == 1
    finally:
        again.close()
