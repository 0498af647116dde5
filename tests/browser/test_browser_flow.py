"""The analyst's day in a real Chromium: find the plant by its Italian name, open it, compare two
Wayback dates with the swipe (tiles from a fake Wayback on 127.0.0.1), switch the date without the
map reloading, draw a polygon and save it as an observation, then export the GeoJSON report and
find the observation in it. Hostile names and notes (imported from a GeoJSON file) run no script
anywhere they appear. A screenshot of each step goes to test-output/browser-flow/.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from facilities.geojson_io import read_registry
from facilities.store import open_store
from tests.support.browser import MAP_FRAME, ROOT, Recorder, launch_chromium, serve_app
from tests.support.browser_sections import open_section
from tests.support.fake_wayback import DEFAULT_CHANGES, FakeServer, site_scenario  # noqa: E402
from tracker.seeding import ensure_seeded

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOTS = ROOT / "test-output" / "browser-flow"
HOSTILE_NAME = "<img src=x onerror=alert(1)> `${alert(2)}`"
HOSTILE_ALIAS = "`${alert(3)}` \\`"
HOSTILE_NOTES = "<script>alert(4)</script> **bold** [x](javascript:alert(5))"
HOSTILE_SUMMARY = "Seen <img src=y onerror=alert(6)> `${alert(7)}`"
SUMMARY = "New hall on the east side, drawn in the browser test"


@pytest.fixture(scope="module")
def wayback() -> Iterator[FakeServer]:
    srv = FakeServer().start()
    scenario = site_scenario()
    scenario.default_changes = list(DEFAULT_CHANGES)  # every tile over the plant has imagery
    srv.reset(scenario)
    yield srv
    srv.close()


def _hostile_geojson(path: Path) -> Path:
    doc = {"type": "FeatureCollection", "features": [{
        "type": "Feature",
        "properties": {"feature_type": "facility", "id": "hostile-site", "name": HOSTILE_NAME,
                       "aliases": [{"name": HOSTILE_ALIAS}],
                       "notes": HOSTILE_NOTES, "location_precision": "digitised", "country": "KP"},
        "geometry": {"type": "Polygon", "coordinates": [[[127.60, 39.90], [127.61, 39.90], [127.61, 39.91],
                                                         [127.60, 39.91], [127.60, 39.90]]]}}, {
        "type": "Feature",
        "properties": {"feature_type": "observation", "id": "hostile-obs", "facility_id": "hostile-site",
                       "date": "2024-05", "kind": "activity", "summary": HOSTILE_SUMMARY, "notes": HOSTILE_NOTES},
        "geometry": {"type": "Point", "coordinates": [127.605, 39.905]}}]}
    path.write_text(json.dumps(doc), "utf-8")
    return path


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, wayback: FakeServer) -> Iterator[tuple[str, Path]]:
    tmp = tmp_path_factory.mktemp("browser-flow")
    database = tmp / "registry.gpkg"
    store = open_store(database)
    ensure_seeded(store)
    registry, problems, _warnings = read_registry(_hostile_geojson(tmp / "hostile.geojson"))
    assert not problems
    store.import_registry(registry, actor="test")
    store.close()
    host = urlsplit(wayback.base).netloc
    env = {"TRACKER_WAYBACK_CONFIG_URL": f"{wayback.base}/config/waybackconfig.json",
           "TRACKER_WAYBACK_SERVICE_ROOT": f"{wayback.base}/wayback/MapServer",
           "TRACKER_WAYBACK_TILE_URL": f"{wayback.base}/wayback/tile/{{release}}/{{z}}/{{y}}/{{x}}",
           "TRACKER_WAYBACK_SUBDOMAINS": "[]", "TRACKER_IMAGERY_ALLOW_HOSTS": json.dumps([host]),
           "TRACKER_EOX_TILE_URL": f"{wayback.base}/xyz/{{z}}/{{x}}/{{y}}.png",  # the status probe reads one
           "TRACKER_REQUEST_TIMEOUT": "5", "TRACKER_ACTOR": "e2e-analyst"}
    with serve_app(database, tmp, env) as url:
        yield url, database


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    with launch_chromium() as browser:
        yield browser


@pytest.fixture
def analyst_page(chromium) -> Iterator[tuple[object, Recorder]]:
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = chromium.new_context(viewport={"width": 1400, "height": 1100}, accept_downloads=True)
    rec = Recorder()
    pg = context.new_page()
    rec.attach(pg)
    yield pg, rec
    context.close()


def shot(pg, name: str) -> None:
    pg.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def tile_releases(requests: list[str]) -> set[str]:
    """Wayback release numbers of tiles the browser asked for."""
    return {u.split("/wayback/tile/")[1].split("/")[0] for u in requests if "/wayback/tile/" in u}


def test_find_compare_draw_record_export(app, analyst_page, wayback):
    url, database = app
    pg, rec = analyst_page
    browser_tiles: list[str] = []
    pg.on("request", lambda r: browser_tiles.append(r.url) if "/wayback/tile/" in r.url else None)

    # 1. Find the plant by its Italian name.
    pg.goto(f"{url}/", wait_until="domcontentloaded")
    sidebar = pg.get_by_test_id("stSidebar")
    search = sidebar.get_by_role("textbox", name="Search name or alias")
    search.wait_for(timeout=60_000)
    search.fill("11 Febbraio")
    search.press("Enter")
    pg.get_by_role("heading", name="February 11 Plant").wait_for(timeout=30_000)
    pg.wait_for_url("**facility=february-11-plant**", timeout=10_000)  # the picker chose it
    shot(pg, "1-found-by-italian-name")

    # 2. Its page: details and the timeline of 13 seed observations.
    open_section(pg, "Timeline")
    pg.get_by_text("Observation timeline (13)").wait_for(timeout=30_000)
    shot(pg, "2-facility-page")

    # 3. Compare: the swipe between the oldest and newest releases that changed here.
    sidebar.get_by_role("link", name="Compare imagery").click()
    pg.get_by_role("heading", name="Compare imagery").wait_for(timeout=30_000)
    frame = pg.frame_locator(MAP_FRAME).first
    swipe = frame.locator(".leaflet-sbs-range")
    swipe.wait_for(state="attached", timeout=60_000)
    pg.wait_for_function("() => true")
    frame.locator(".leaflet-tile-loaded").first.wait_for(state="attached", timeout=30_000)
    assert {"10", "64001"} <= tile_releases(browser_tiles), sorted(tile_releases(browser_tiles))
    assert "Wayback (2026-02-26)" in frame.locator(".leaflet-control-attribution").inner_text()
    swipe.evaluate("el => { el.value = 0.25; el.dispatchEvent(new Event('input')); }")
    clip = frame.locator(".leaflet-dated-imagery-pane .leaflet-layer").first.evaluate("el => el.style.clip")
    assert clip.startswith("rect("), clip
    shot(pg, "3-swipe")

    # 4. Another 'after' date: the imagery changes, the map is not reloaded.
    frame.locator("body").evaluate("() => { window.__sameMap = 'yes'; }")
    pg.get_by_test_id("stSelectbox").filter(has_text="After").get_by_role("combobox").click()
    pg.get_by_role("option", name="2022-12-14 Wayback release").first.click()
    pg.wait_for_function("() => true")
    frame.locator("img.leaflet-tile[src*='/wayback/tile/45134/']").first.wait_for(state="attached", timeout=30_000)
    assert frame.locator("body").evaluate("() => window.__sameMap") == "yes"
    assert swipe.count() == 1  # the swipe followed the new layer
    shot(pg, "4-other-date-same-map")

    # 5. Draw a polygon on the image.
    frame.locator(".leaflet-draw-draw-polygon").click()
    box = frame.locator(".leaflet-container").bounding_box()
    cx, cy = box["x"] + box["width"] * 0.55, box["y"] + box["height"] * 0.5
    for dx, dy in ((0, 0), (60, 0), (60, 50), (0, 50)):
        pg.mouse.click(cx + dx, cy + dy)
        pg.wait_for_timeout(150)
    pg.mouse.click(cx, cy)  # back on the first vertex closes the ring
    pg.get_by_text("Drawn: Polygon").wait_for(timeout=30_000)
    shot(pg, "5-drawn")

    # 6. Record it as an observation on the image it was drawn on.
    form = pg.get_by_test_id("stForm")
    form.get_by_label("Summary").fill(SUMMARY)
    form.get_by_label("…or a new source: title").fill("Own reading of Wayback imagery")
    form.get_by_role("button", name="Save observation").click()
    pg.get_by_text("Saved observation obs-").wait_for(timeout=30_000)
    shot(pg, "6-saved")

    # 7. Export the GeoJSON report from the registry page: the new observation is in it.
    sidebar.get_by_role("link", name="Registry").click()
    pg.get_by_text("Observation timeline (14)").wait_for(timeout=30_000)  # the Timeline section is kept
    open_section(pg, "Report")
    with pg.expect_download() as info:
        pg.get_by_role("button", name="Download GeoJSON report").click()
    report = json.loads(Path(info.value.path()).read_text("utf-8"))
    shot(pg, "7-exported")
    drawn = [f for f in report["features"] if f["properties"].get("summary") == SUMMARY]
    assert len(drawn) == 1
    props = drawn[0]["properties"]
    assert drawn[0]["geometry"]["type"] == "Polygon"
    assert props["image_provider"] == "esri-wayback" and props["image_id"] == "45134"
    assert props["analyst"] == "e2e-analyst"
    assert not rec.dialogs
    assert not [u for kind, u in rec.blocked if kind in ("script", "stylesheet")]


def test_hostile_text_shows_as_text_everywhere(app, analyst_page):
    url, _database = app
    pg, rec = analyst_page
    pg.goto(f"{url}/?facility=hostile-site", wait_until="domcontentloaded")
    pg.get_by_role("heading", name=HOSTILE_NAME).wait_for(timeout=60_000)  # heading: text, not markup
    frame = pg.frame_locator(MAP_FRAME).first
    outline = frame.locator(".leaflet-overlay-pane path.leaflet-interactive[stroke-width='4']")
    outline.wait_for(timeout=30_000)
    outline.hover(force=True)
    frame.locator(".leaflet-tooltip").filter(has_text=HOSTILE_NAME).wait_for(timeout=10_000)
    outline.click(force=True)
    popup = frame.locator(".leaflet-popup-content")
    popup.wait_for(timeout=10_000)
    for text in (HOSTILE_NAME, HOSTILE_ALIAS, "<script>alert(4)</script>"):
        assert text in popup.inner_text(), text
    open_section(pg, "Timeline")
    pg.get_by_text("Observation timeline (1)").wait_for()
    shot(pg, "8-hostile-registry")

    # Search by the hostile alias: the picker lists it, as text.
    search = pg.get_by_test_id("stSidebar").get_by_role("textbox", name="Search name or alias")
    search.fill("${alert(3)}")
    search.press("Enter")
    pg.get_by_role("heading", name=HOSTILE_NAME).wait_for(timeout=30_000)

    # The compare page: heading, and the annotation's tooltip with the hostile summary.
    pg.get_by_test_id("stSidebar").get_by_role("link", name="Compare imagery").click()
    pg.get_by_role("heading", name="Compare imagery").wait_for(timeout=30_000)
    pg.get_by_role("heading", name=HOSTILE_NAME).wait_for(timeout=30_000)
    frame = pg.frame_locator(MAP_FRAME).first
    mark = frame.locator(".leaflet-overlay-pane path.leaflet-interactive").last
    mark.wait_for(timeout=60_000)
    pg.get_by_text("Time slider", exact=True).click()  # the swipe bar sits over the site's centre
    pg.wait_for_timeout(500)
    frame.locator(".leaflet-sbs-range").wait_for(state="detached", timeout=30_000)
    mark.hover(force=True)
    frame.locator(".leaflet-tooltip").filter(has_text="Seen <img src=y").wait_for(timeout=10_000)
    pg.wait_for_timeout(1000)  # time for a planted handler to fire
    shot(pg, "9-hostile-compare")

    assert rec.dialogs == []
    for where in (pg, frame):
        assert where.locator("img[src='x']").count() == 0
        assert where.locator("img[src='y']").count() == 0
        assert where.locator("script:text('alert(4)')").count() == 0


def test_side_by_side_and_time_slider(app, analyst_page):
    url, _database = app
    pg, rec = analyst_page
    pg.goto(f"{url}/compare?facility=february-11-plant", wait_until="domcontentloaded")
    pg.get_by_role("heading", name="Compare imagery").wait_for(timeout=60_000)
    pg.frame_locator(MAP_FRAME).first.locator(".leaflet-sbs-range").wait_for(state="attached", timeout=60_000)

    pg.get_by_text("Side by side", exact=True).click()
    frame = pg.frame_locator(MAP_FRAME).first
    frame.locator(".leaflet-container").nth(1).wait_for(timeout=60_000)  # two synchronised maps
    for release in ("10", "64001"):  # one release per map
        frame.locator(f"img.leaflet-tile[src*='/wayback/tile/{release}/']").first.wait_for(
            state="attached", timeout=30_000)
    assert frame.locator(".leaflet-container").count() == 2
    assert frame.locator(".leaflet-sbs-range").count() == 0
    shot(pg, "10-side-by-side")

    pg.get_by_text("Time slider", exact=True).click()
    frame = pg.frame_locator(MAP_FRAME).first
    frame.locator(".leaflet-draw-draw-polygon").wait_for(timeout=60_000)
    frame.locator("img.leaflet-tile[src*='/wayback/tile/64001/']").first.wait_for(state="attached", timeout=30_000)
    assert frame.locator(".leaflet-container").count() == 1
    shot(pg, "11-time-slider")
    assert not rec.dialogs
