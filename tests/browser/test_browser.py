"""End to end in a real Chromium: the app served by `streamlit run`, every off-machine request blocked.

Proves what AppTest cannot: Leaflet really loads from the app itself (right MIME types, no CDN),
the map draws, the offline basemap takes over when tiles are unreachable, and a hostile facility
name runs no script. Screenshots of each step go to test-output/browser/.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from shapely.geometry import box

from facilities.model import Facility
from facilities.store import open_store
from tests.support.browser import MAP_FRAME, ROOT, Recorder, launch_chromium, serve_app
from tests.support.browser_sections import open_section
from tracker.seeding import ensure_seeded

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOTS = ROOT / "test-output" / "browser"
HOSTILE = "<img src=x onerror=alert(1)>"
SELECTED_OUTLINE = ".leaflet-overlay-pane path.leaflet-interactive[stroke-width='4']"
OFFLINE_NOTE = "Imagery service unreachable — offline basemap"


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real server on a free port, with its own registry: the seed plus a hostile facility."""
    tmp = tmp_path_factory.mktemp("browser-app")
    database = tmp / "registry.gpkg"
    store = open_store(database)
    ensure_seeded(store)
    store.add_facility(Facility(id="hostile", name=HOSTILE, geometry=box(127.60, 39.90, 127.61, 39.91),
                                location_precision="digitised", notes="`${alert(2)}`"), actor="test")
    store.close()
    with serve_app(database, tmp) as url:
        yield url


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    with launch_chromium() as browser:
        yield browser


@pytest.fixture
def browser_page(chromium) -> Iterator[tuple[object, Recorder]]:
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    recorder = Recorder()
    page = context.new_page()
    recorder.attach(page)
    yield page, recorder
    context.close()


def open_map(page, url: str):
    page.goto(url, wait_until="domcontentloaded")
    page.locator(MAP_FRAME).wait_for(state="attached", timeout=60_000)
    frame = page.frame_locator(MAP_FRAME)
    frame.locator(".leaflet-container").wait_for(timeout=60_000)
    # The selected facility's outline (drawn thicker) is in view; others may be off-screen.
    frame.locator(SELECTED_OUTLINE).wait_for(timeout=30_000)
    return frame


def test_map_draws_from_local_scripts_and_falls_back_offline(app_url: str, browser_page):
    page, rec = browser_page
    frame = open_map(page, f"{app_url}/?facility=february-11-plant")
    page.screenshot(path=str(SHOTS / "1-map-loaded.png"), full_page=True)

    # Online tiles are blocked, so after a few tile errors the offline basemap takes over.
    frame.get_by_text(OFFLINE_NOTE).wait_for(timeout=30_000)
    assert frame.locator(".leaflet-basemap-pane path").count() > 100  # Natural Earth land
    assert "Natural Earth" in frame.locator(".leaflet-control-attribution").first.inner_text()
    open_section(page, "Timeline")
    page.get_by_text("Observation timeline (13)").wait_for()
    page.screenshot(path=str(SHOTS / "2-offline-basemap.png"), full_page=True)

    # Facility outline and the two structures (circle markers) are drawn as SVG paths.
    assert frame.locator(".leaflet-overlay-pane path.leaflet-interactive").count() >= 3
    # Leaflet really runs: the layer control lists our layers.
    control = frame.locator(".leaflet-control-layers").inner_text()
    for name in ("Esri World Imagery", "OpenStreetMap", "Offline basemap", "Facilities", "Structures"):
        assert name in control

    # No script or style went off-machine; every one came from the app with a runnable MIME type.
    assert rec.blocked, "tiles should have been requested and blocked"
    assert not [u for kind, u in rec.blocked if kind in ("script", "stylesheet") or u.endswith((".js", ".css"))]
    assert all(kind == "image" for kind, _ in rec.blocked), rec.blocked
    leaflet = [a for a in rec.local_assets if "/component/ui.assets.leaflet_assets/leaflet." in a[2]]
    assert leaflet and all(status == 200 for status, _, _ in leaflet)
    for status, content_type, url in rec.local_assets:
        assert status in (200, 304), (status, url)
        wanted = "javascript" if url.endswith(".js") else "css" if url.endswith(".css") else ""
        assert wanted in content_type, (content_type, url)
    assert not rec.dialogs


def test_picker_switches_facility(app_url: str, browser_page):
    page, rec = browser_page
    open_map(page, f"{app_url}/?facility=february-11-plant")
    page.get_by_test_id("stSidebar").get_by_role("combobox").click()
    page.get_by_role("option", name="February 8 Vinalon Complex").click()
    page.get_by_role("heading", name="February 8 Vinalon Complex").wait_for(timeout=30_000)
    open_section(page, "Timeline")
    page.get_by_text("No observations recorded for this facility yet.").wait_for()
    frame = page.frame_locator(MAP_FRAME)
    frame.locator(SELECTED_OUTLINE).wait_for(timeout=30_000)
    page.screenshot(path=str(SHOTS / "3-vinalon.png"), full_page=True)
    assert "facility=february-8-vinalon-complex" in page.url


def test_hostile_name_runs_no_script(app_url: str, browser_page):
    page, rec = browser_page
    frame = open_map(page, f"{app_url}/?facility=hostile")
    page.get_by_role("heading", name=HOSTILE).wait_for(timeout=30_000)  # the name, as text

    # Open the selected facility's popup and tooltip on the map: text, not markup.
    outline = frame.locator(SELECTED_OUTLINE)
    outline.hover(force=True)
    frame.locator(".leaflet-tooltip").filter(has_text=HOSTILE).wait_for(timeout=10_000)
    outline.click(force=True)
    popup = frame.locator(".leaflet-popup-content")
    popup.wait_for(timeout=10_000)
    assert HOSTILE in popup.inner_text() and "`${alert(2)}`" in popup.inner_text()
    page.wait_for_timeout(1000)  # give a planted onerror handler time to fire
    page.screenshot(path=str(SHOTS / "4-hostile-name.png"), full_page=True)

    assert rec.dialogs == []
    assert frame.locator("img[src='x']").count() == 0
    assert page.locator("img[src='x']").count() == 0
