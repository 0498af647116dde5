"""The watch scan over the seed sites plus generated ones, against the fake Wayback and local imports: exactly the
sites given new imagery get findings, with change figures where the licence allows and none for Wayback; a site
whose service fails is listed while the others complete; an interrupted scan resumes without losing or repeating a
site; accept and dismiss write what they should and move the review date."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import shapely

from facilities.errors import InputError
from facilities.watchlist import FindingKind, FindingStatus
from tests.support.watch import EXPECTED_NEWS, FAILING, PLANT, ROOF_M2, SINCE, watch_world
from tracker.watch.review import accept_finding, dismiss_finding
from tracker.watch.run import scan_watchlist, watch_tables


@pytest.fixture
def world(tmp_path, server, endpoints):
    return watch_world(tmp_path, server, endpoints)


def _scan(world, **kw):
    session = world.session()
    try:
        return scan_watchlist(world.store, session, actor="tester", since=SINCE, sources=("wayback", "local"), **kw)
    finally:
        session.close()


def _kinds(findings) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for f in findings:
        out.setdefault(f.facility_id, set()).add(f.kind.value)
    return out


def test_scan_finds_exactly_the_sites_with_new_imagery_and_measures_only_readable_pairs(world):
    report = _scan(world)
    assert _kinds(report.findings) == EXPECTED_NEWS
    assert set(report.failures) == {FAILING} and "HTTP 500" in report.failures[FAILING]
    assert report.scanned == report.total == len(world.store.list_facilities())  # the failure stopped nothing
    stored = watch_tables(world.store).findings()
    assert sorted(f.id for f in stored) == sorted(f.id for f in report.findings)

    change = next(f for f in stored if f.kind is FindingKind.CHANGE)
    assert change.facility_id == "yard" and change.significant
    assert change.changed_m2 == pytest.approx(ROOF_M2, rel=0.10)
    low, high = change.changed_m2_range
    assert low <= ROOF_M2 <= high
    assert change.before_key.startswith("local:") and change.after_key.startswith("local:")
    assert str(change.before_date) == "2025-06-01" and str(change.after_date) == "2026-03-01"
    assert change.polygons["features"] and change.significance > 0

    wayback = next(f for f in stored if f.facility_id == PLANT)
    assert wayback.after_key == "esri-wayback:64001" and str(wayback.after_date) == "2026-02-26"
    assert wayback.changed_m2 is None and wayback.polygons == {} and "display only" in wayback.note
    assert world.server.counts["tile"] == 0  # no Esri pixel was fetched, let alone analysed
    outcomes = {fid: outcome for fid, outcome, *_ in watch_tables(world.store).run_outcomes(report.run_id)}
    assert outcomes[FAILING] == "failed" and outcomes["quiet"] == "nothing" and outcomes["yard"] == "news"


def test_a_second_scan_reports_nothing_again(world):
    first = _scan(world)
    again = _scan(world)
    assert first.findings and again.findings == []
    assert again.run_id != first.run_id and not again.resumed


def test_an_interrupted_scan_resumes_without_losing_or_repeating_a_site(world):
    ran: list[str] = []  # sites whose scan really ran (not just queued)

    def counting(fn):
        def run(site, *args, **kwargs):
            ran.append(site.facility.id)
            return fn(site, *args, **kwargs)
        return run

    def submitter():
        pool = ThreadPoolExecutor(max_workers=1)
        return lambda fn, site, *a, **k: pool.submit(counting(fn), site, *a, **k)

    class Stop(Exception):
        pass

    def stop_after_two(result, done=[]):  # noqa: B006 - a counter across calls
        done.append(result.facility_id)
        if len(done) == 2:
            raise Stop

    with pytest.raises(Stop):
        _scan(world, submit=submitter(), after_site=stop_after_two)
    tables = watch_tables(world.store)
    run = tables.open_run()
    everything = {f.id for f in world.store.list_facilities()}
    first = set(ran)
    assert run is not None and tables.done_sites(run) == first and 2 <= len(first) < len(everything)
    ran.clear()
    resumed = _scan(world, submit=submitter())
    assert resumed.resumed and resumed.run_id == run and tables.open_run() is None
    assert resumed.skipped == len(first) and resumed.scanned == len(everything) - len(first)
    assert not first & set(ran) and first | set(ran) == everything  # every site once: none lost, none repeated
    assert {fid for fid, *_ in tables.run_outcomes(run)} == everything
    stored = tables.findings()
    assert _kinds(stored) == EXPECTED_NEWS  # nothing lost
    assert len({(f.facility_id, f.kind, f.after_key) for f in stored}) == len(stored)  # nothing twice
    found = [h for h in world.store.history(limit=1000) if h.entity == "finding" and h.action == "found"]
    assert len(found) == len(stored)


def test_accept_records_the_change_with_its_regions_and_dismiss_only_moves_the_review(world):
    _scan(world)
    tables = watch_tables(world.store)
    change = next(f for f in tables.findings() if f.kind is FindingKind.CHANGE)
    before_counts = world.store.counts()
    decided, obs = accept_finding(world.store, change.id, actor="analyst")
    assert decided.status is FindingStatus.ACCEPTED and decided.observation_id == obs.id
    stored = world.store.get_observation(obs.id)
    assert stored.facility_id == "yard" and f"{stored.image.provider}:{stored.image.image_id}" == change.after_key
    assert str(stored.date) == "2026-03-01" and stored.kind.value == "progress"
    assert shapely.area(stored.geometry) > 0 and "7,2" in stored.summary
    entry = tables.watched(["yard"])[0]
    assert entry.reviewed_by == "analyst" and entry.reviewed_keys == (change.after_key, change.before_key)
    assert world.store.counts()["observations"] == before_counts["observations"] + 1
    with pytest.raises(InputError, match="already accepted"):
        accept_finding(world.store, change.id, actor="analyst")

    wb = next(f for f in tables.findings() if f.facility_id == PLANT)
    counts = world.store.counts()
    dismissed = dismiss_finding(world.store, wb.id, actor="analyst")
    assert dismissed.status is FindingStatus.DISMISSED and dismissed.observation_id is None
    assert world.store.counts()["observations"] == counts["observations"]  # a dismissal records no observation
    assert tables.watched([PLANT])[0].reviewed_at is not None
    actions = [(h.entity, h.action) for h in world.store.history(limit=8)]
    assert ("finding", "dismissed") in actions and ("watch", "review") in actions

    new_local = next(f for f in tables.findings() if f.facility_id == "depot")
    _f, plain = accept_finding(world.store, new_local.id, actor="analyst")
    assert plain.kind.value == "activity" and plain.geometry is None and "New local image" in plain.summary
