"""The Watched sites page, headless (AppTest), over the watch tests' world (tests.support.watch: the seed sites plus
generated ones, local imports and the fake Wayback on 127.0.0.1) after a scan found its findings: the sites ranked as
the digest ranks them with thumbnails only from readable images and Wayback news said to be browser-only; Accept
writes one observation and moves the site's review date, Dismiss writes none; the last scan's failure is listed;
Scan now from the page finds the same news; an empty watchlist explains watching and how to start."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from streamlit.testing.v1 import AppTest

from facilities.store import open_store
from facilities.watchlist import FindingKind
from tests.support.fake_wayback import FakeServer
from tests.support.watch import EXPECTED_NEWS, FAILING, PLANT, SINCE, WatchWorld, watch_world
from tracker.seeding import ensure_seeded
from tracker.watch.run import scan_watchlist, watch_tables
from ui.watch_page import WHAT_WATCHING_IS

ACTOR = "page-analyst"


def _page() -> None:
    # AppTest runs this function's source as the script: imports live inside it
    from facilities.store import open_store
    from tracker.settings import load_settings
    from ui.watch_page import watch_page

    settings = load_settings()
    watch_page(open_store(settings.database), settings)


@dataclass
class Env:
    world: WatchWorld
    database: Path


def _point_app_at(monkeypatch: pytest.MonkeyPatch, database: Path, data_dir: Path, server: FakeServer) -> None:
    base = server.base
    monkeypatch.setenv("TRACKER_DATABASE", str(database))
    monkeypatch.setenv("TRACKER_DATA_DIR", str(data_dir))
    monkeypatch.setenv("TRACKER_SEED", "false")
    monkeypatch.setenv("TRACKER_ACTOR", ACTOR)
    monkeypatch.setenv("TRACKER_WAYBACK_CONFIG_URL", f"{base}/config/waybackconfig.json")
    monkeypatch.setenv("TRACKER_WAYBACK_SERVICE_ROOT", f"{base}/wayback/MapServer")
    monkeypatch.setenv("TRACKER_WAYBACK_TILE_URL", f"{base}/wayback/tile/{{release}}/{{z}}/{{y}}/{{x}}")
    monkeypatch.setenv("TRACKER_WAYBACK_SUBDOMAINS", "[]")
    monkeypatch.setenv("TRACKER_IMAGERY_ALLOW_HOSTS", json.dumps([base.split("//", 1)[1]]))
    monkeypatch.setenv("TRACKER_REQUEST_TIMEOUT", "3")
    monkeypatch.setenv("TRACKER_OFFLINE", "false")


def _world(tmp_path: Path, server: FakeServer, endpoints, monkeypatch: pytest.MonkeyPatch, scan: bool) -> Env:
    world = watch_world(tmp_path, server, endpoints)
    if scan:
        session = world.session()
        try:
            scan_watchlist(world.store, session, actor="tester", since=SINCE, sources=("wayback", "local"))
        finally:
            session.close()
    _point_app_at(monkeypatch, tmp_path / "r.gpkg", world.data_dir, server)
    return Env(world, tmp_path / "r.gpkg")


@pytest.fixture
def scanned(tmp_path, server, endpoints, monkeypatch) -> Iterator[Env]:
    yield _world(tmp_path, server, endpoints, monkeypatch, scan=True)


def run() -> AppTest:
    at = AppTest.from_function(_page, default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    return at


def _headings(at: AppTest) -> list[str]:
    return [m.value.replace("\\", "") for m in at.markdown if m.value.startswith("#### ")]


def _observations(database: Path) -> int:
    store = open_store(database)
    try:
        return store.counts()["observations"]
    finally:
        store.close()


def test_sites_are_ranked_with_thumbnails_figures_links_and_the_failure(scanned: Env):
    at = run()
    assert not at.error, [e.value for e in at.error]
    plant = scanned.world.store.get_facility(PLANT).name
    # the digest's ranking: the measured change first, then the newest imagery (depot 2026-04-02, plant 2026-02-26)
    assert _headings(at) == ["#### 1. Generated yard", "#### 2. Generated depot", f"#### 3. {plant}"]
    text = " ".join(m.value.replace("\\", "") for m in at.markdown)
    assert "Significant change: 7," in text and "between the 2025-06-01 and 2026-03-01 images" in text
    assert "New imagery (shown in the browser only): an Esri Wayback release of 2026-02-26" in text
    # thumbnails: yard's before and after, depot's after; none for the Wayback-only plant
    captions = [c for image in at.get("image") for c in image.captions]  # type: ignore[union-attr]
    assert captions == ["Before: 2025-06-01", "After: 2026-03-01", "New: 2026-04-02"], captions
    change = next(f for f in watch_tables(scanned.world.store).findings() if f.kind is FindingKind.CHANGE)
    links = [b.proto.url for b in at.get("link_button")]
    assert links[0].startswith("compare?")
    assert parse_qs(links[0].split("?", 1)[1]) == {"facility": ["yard"], "before": [change.before_key],
                                                   "image": [change.after_key], "view": ["Difference"]}
    assert parse_qs(links[2].split("?", 1)[1]) == {"facility": [PLANT], "image": ["esri-wayback:64001"]}
    warning = " ".join(w.value.replace("\\", "") for w in at.warning)
    assert "could not check 1 site" in warning and "Generated broken (broken): Esri Wayback failed" in warning
    assert "HTTP" not in warning  # a short reason, not the error text
    table = next(d.value for d in at.dataframe if "last reviewed" in d.value.columns).set_index("id")
    assert set(table.index) == {f.id for f in scanned.world.store.list_facilities()}
    assert table.loc["yard", "last reviewed"] == "never" and table.loc["yard", "unreviewed"] == 2


def test_accept_writes_one_observation_and_moves_the_review_date(scanned: Env):
    tables = watch_tables(scanned.world.store)
    change = next(f for f in tables.findings() if f.kind is FindingKind.CHANGE)
    before = _observations(scanned.database)
    at = run()
    at.button(key=f"watch_accept_{change.id}").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    decided = tables.finding(change.id)
    assert decided.status.value == "accepted" and decided.decided_by == ACTOR
    assert _observations(scanned.database) == before + 1
    entry = tables.watched(["yard"])[0]
    assert entry.reviewed_by == ACTOR and entry.reviewed_at is not None
    message = at.success[0].value.replace("\\", "")
    assert f"observation {decided.observation_id} recorded for Generated yard" in message
    assert f"marked reviewed {entry.reviewed_at:%Y-%m-%d %H:%M} UTC" in message
    assert f"watch_accept_{change.id}" not in [b.key for b in at.button]  # the list updated
    table = next(d.value for d in at.dataframe if "last reviewed" in d.value.columns).set_index("id")
    assert table.loc["yard", "reviewed by"] == ACTOR and table.loc["yard", "unreviewed"] == 1


def test_dismiss_writes_no_observation_and_moves_the_review_date(scanned: Env):
    tables = watch_tables(scanned.world.store)
    wayback = next(f for f in tables.findings() if f.facility_id == PLANT)
    before = _observations(scanned.database)
    at = run()
    at.button(key=f"watch_dismiss_{wayback.id}").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert tables.finding(wayback.id).status.value == "dismissed"
    assert _observations(scanned.database) == before
    assert tables.watched([PLANT])[0].reviewed_by == ACTOR
    assert "Dismissed: nothing recorded" in at.success[0].value.replace("\\", "")
    assert len(_headings(at)) == 2  # the plant had one finding: it left the list


def test_scan_now_finds_the_news_and_lists_the_failure(tmp_path, server, endpoints, monkeypatch):
    env = _world(tmp_path, server, endpoints, monkeypatch, scan=False)
    at = run()
    assert not _headings(at) and any("Nothing new" in s.value for s in at.success)
    at.date_input(key="watch_since").set_value(SINCE.replace(day=2))  # news from 2026-01-02 on, as the scan test
    at.multiselect(key="watch_sources").set_value(["wayback", "local"])
    at.button(key="watch_scan").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    found: dict[str, set[str]] = {}
    for f in watch_tables(env.world.store).findings():
        found.setdefault(f.facility_id, set()).add(f.kind.value)
    assert found == EXPECTED_NEWS
    message = at.success[0].value.replace("\\", "")
    assert "4 new finding(s) at 3 site(s); 1 could not be checked" in message, message
    assert [h.split(". ", 1)[1] for h in _headings(at)][:2] == ["Generated yard", "Generated depot"]
    assert FAILING in " ".join(w.value for w in at.warning)


def test_an_empty_watchlist_explains_watching_and_adding_starts_it(tmp_path, server, monkeypatch):
    database = tmp_path / "empty.gpkg"
    store = open_store(database)
    ensure_seeded(store)
    store.close()
    _point_app_at(monkeypatch, database, tmp_path / "data", server)
    at = run()
    assert [i.value for i in at.info] == [WHAT_WATCHING_IS]
    assert "What changed" not in " ".join(s.value for s in at.subheader)
    countries = at.multiselect(key="watch_add_country")
    assert countries.options == ["North Korea (KP)"]  # the seed's one country, by name (the code is what is stored)
    at.multiselect(key="watch_add").set_value([PLANT])
    at.button(key="FormSubmitter:watch_add_form-Watch").click().run()
    assert not at.exception and not at.error
    store = open_store(database)
    try:
        entries = watch_tables(store).watched()
    finally:
        store.close()
    assert [(e.facility_id, e.added_by) for e in entries] == [(PLANT, ACTOR)]
    assert "Now watching 1 more site" in at.success[0].value
    assert not at.info  # the explanation gives way to the page
