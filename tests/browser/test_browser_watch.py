"""The Watched sites page in a real Chromium, after a scan of the watch tests' world (tests.support.watch: the seed
sites plus generated ones, local imports, the fake Wayback on 127.0.0.1): the sites are listed in the digest's
order with before/after thumbnails that load, and the first site's Compare link lands on the Compare page in the
Difference view of that very pair, with the change measured; Accept on the page names the observation it recorded
and the site, still holding a finding, moves down the list. Screenshots go to the test's tmp dir."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from facilities.watchlist import FindingKind
from imagery.wayback import Endpoints
from tests.support.browser import Recorder, launch_chromium, serve_app
from tests.support.fake_wayback import FakeServer
from tests.support.watch import PLANT, SINCE, watch_world
from tracker.watch.run import scan_watchlist, watch_tables

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@dataclass
class App:
    url: str
    before: str | None  # the change finding's pair (image keys)
    after: str
    plant: str  # the seed plant's name


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    srv = FakeServer().start()
    tmp = tmp_path_factory.mktemp("watch")
    endpoints = Endpoints(config_url=f"{srv.base}/config/waybackconfig.json",
                          service_root=f"{srv.base}/wayback/MapServer",
                          tile_url=f"{srv.base}/wayback/tile/{{release}}/{{z}}/{{y}}/{{x}}", subdomains=())
    world = watch_world(tmp, srv, endpoints)
    session = world.session()
    try:
        scan_watchlist(world.store, session, actor="tester", since=SINCE, sources=("wayback", "local"))
    finally:
        session.close()
    change = next(f for f in watch_tables(world.store).findings() if f.kind is FindingKind.CHANGE)
    plant = world.store.get_facility(PLANT).name
    world.store.close()
    env = {"TRACKER_WAYBACK_CONFIG_URL": f"{srv.base}/config/waybackconfig.json",
           "TRACKER_WAYBACK_SERVICE_ROOT": f"{srv.base}/wayback/MapServer",
           "TRACKER_WAYBACK_TILE_URL": f"{srv.base}/wayback/tile/{{release}}/{{z}}/{{y}}/{{x}}",
           "TRACKER_WAYBACK_SUBDOMAINS": "[]", "TRACKER_IMAGERY_ALLOW_HOSTS": json.dumps([urlsplit(srv.base).netloc]),
           "TRACKER_EOX_TILE_URL": f"{srv.base}/xyz/{{z}}/{{x}}/{{y}}.png", "TRACKER_REQUEST_TIMEOUT": "5",
           "TRACKER_SEED": "false", "TRACKER_ACTOR": "browser-analyst"}
    try:
        with serve_app(tmp / "r.gpkg", tmp, env) as url:  # the world's data dir is tmp/data, as serve_app's
            yield App(url, change.before_key, change.after_key, plant)
    finally:
        srv.close()


def _loaded_images(pg) -> int:
    return pg.evaluate("() => [...document.querySelectorAll('[data-testid=\"stImage\"] img')]"
                       ".filter(i => i.complete && i.naturalWidth > 0).length")


def test_ranked_findings_with_thumbnails_and_the_compare_link_opens_that_pair(app: App, tmp_path: Path):
    with launch_chromium() as chromium:
        browser: Any = chromium
        context = browser.new_context(viewport={"width": 1400, "height": 2400})  # Streamlit scrolls inside
        rec = Recorder()
        pg = context.new_page()
        rec.attach(pg)
        pg.goto(f"{app.url}/watch", wait_until="domcontentloaded")
        pg.get_by_role("heading", name="Watched sites").wait_for(timeout=60_000)
        pg.get_by_role("heading", name=f"3. {app.plant}").wait_for(timeout=60_000)
        pg.get_by_role("heading", name="Watchlist").wait_for(timeout=60_000)  # the page is drawn to its end
        titles = pg.locator("h4").all_inner_texts()
        assert [t.strip() for t in titles[:3]] == ["1. Generated yard", "2. Generated depot", f"3. {app.plant}"]
        pg.get_by_text("New imagery (shown in the browser only)").first.wait_for(timeout=30_000)
        for _ in range(60):  # yard's before and after, depot's after; none for the Wayback-only plant
            if _loaded_images(pg) >= 3:
                break
            pg.wait_for_timeout(500)
        assert _loaded_images(pg) == 3
        pg.get_by_test_id("stDataFrame").first.wait_for(timeout=30_000)  # the watchlist's table drawn
        pg.get_by_text("Generated broken (broken): Esri Wayback failed").wait_for(timeout=30_000)
        pg.wait_for_timeout(1500)
        pg.screenshot(path=str(tmp_path / "1-watched-sites.png"), full_page=True)

        link = pg.get_by_role("link", name="Compare these two images").first
        href = link.get_attribute("href") or ""
        assert f"before={(app.before or '').replace(':', '%3A')}" in href and "view=Difference" in href, href
        try:
            with context.expect_page(timeout=10_000) as opened:
                link.click()
            compare = opened.value
            rec.attach(compare)
        except Exception:  # noqa: BLE001 - the link opened in the same tab
            compare = pg
        compare.get_by_role("heading", name="Compare imagery").wait_for(timeout=60_000)
        compare.get_by_role("heading", name="Generated yard").wait_for(timeout=60_000)
        difference = compare.get_by_role("radio", name="Difference")
        difference.wait_for(state="attached", timeout=60_000)
        assert difference.is_checked()
        boxes = compare.get_by_test_id("stSelectbox")
        values = {label: boxes.filter(has_text=label).first.evaluate(
            "el => [...el.querySelectorAll('input')].map(i => i.value).join(' ') + ' ' + el.innerText")
            for label in ("Before", "After")}
        assert "2025-06-01" in values["Before"] and "2026-03-01" in values["After"], values
        headline = compare.locator("h4").filter(has_text="m² changed").first
        headline.wait_for(timeout=90_000)
        assert "between" in headline.inner_text()
        compare.wait_for_timeout(1500)
        compare.screenshot(path=str(tmp_path / "2-compare-difference.png"), full_page=True)

        # back on the page: Accept the change; the message names the observation and the site moves down
        pg.bring_to_front()
        pg.goto(f"{app.url}/watch", wait_until="domcontentloaded")
        pg.get_by_role("heading", name=f"3. {app.plant}").wait_for(timeout=60_000)
        pg.get_by_test_id("stDataFrame").first.wait_for(timeout=30_000)  # drawn to the end: the buttons are live
        pg.get_by_role("button", name="Accept").first.click()
        try:
            pg.get_by_text("recorded for Generated yard").wait_for(timeout=60_000)
        except Exception:
            pg.screenshot(path=str(tmp_path / "3-failed.png"), full_page=True)
            raise
        assert "Accepted: observation obs-" in pg.get_by_test_id("stAlert").first.inner_text()
        pg.get_by_role("heading", name="1. Generated depot").wait_for(timeout=60_000)
        pg.get_by_role("heading", name="2. Generated yard").wait_for(timeout=60_000)  # one finding left there
        pg.get_by_role("heading", name=f"3. {app.plant}").wait_for(timeout=60_000)
        pg.wait_for_function("() => !document.querySelector('[data-stale=\"true\"]')", timeout=60_000)
        pg.get_by_text("last reviewed 20").first.wait_for(timeout=30_000)
        pg.wait_for_timeout(1500)
        pg.screenshot(path=str(tmp_path / "3-after-accept.png"), full_page=True)
    assert not rec.dialogs
    assert not [u for t, u in rec.blocked if t not in ("image", "font")], rec.blocked
