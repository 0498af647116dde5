"""The registry map with a large registry, in a real Chromium: 2,000 generated facilities draw as
clustered sites, and switching facility in the sidebar moves the selected outline and the view
inside the same Leaflet map (no iframe reload). Screenshots go to test-output/browser/.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from shapely.geometry import box

from facilities.model import Facility
from facilities.store import open_store
from tests.support.browser import MAP_FRAME, ROOT, Recorder, launch_chromium, serve_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOTS = ROOT / "test-output" / "browser"
SELECTED_OUTLINE = ".leaflet-overlay-pane path.leaflet-interactive[stroke-width='4']"
N_FACILITIES = 2000
HOSTILE = "<img src=x onerror=alert(1)> `${alert(2)}`"


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory):
    from tests.support import generate
    data = generate.generate(N_FACILITIES)
    hostile = Facility(id="hostile", name=HOSTILE, geometry=box(127.60, 39.90, 127.61, 39.91),
                       location_precision="digitised")
    data = type(data)(facilities=(*data.facilities[:N_FACILITIES - 1], hostile), observations=(),
                      sources=data.sources)
    database = tmp_path_factory.mktemp("browser-map") / "registry.gpkg"
    store = open_store(database)
    store.import_registry(data, actor="test")
    store.close()
    return database, data.facilities


@pytest.fixture(scope="module")
def app_url(registry) -> Iterator[str]:
    database, _ = registry
    with serve_app(database, database.parent, {"TRACKER_SEED": "0", "TRACKER_OFFLINE": "1"}) as url:
        yield url


@pytest.fixture
def map_page() -> Iterator[object]:
    SHOTS.mkdir(parents=True, exist_ok=True)
    with launch_chromium() as browser:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        recorder = Recorder()
        recorder.attach(page)
        page.dialogs = recorder.dialogs
        yield page
        context.close()


def pick(page, name: str) -> None:
    """Choose a facility as an analyst does among thousands: type its name in the search box
    (the picker lists at most 1,000 sites and narrows to the match)."""
    search = page.get_by_test_id("stSidebar").get_by_role("textbox", name="Search name or alias")
    search.fill(name)
    search.press("Enter")


def test_large_registry_draws_and_switching_keeps_the_map(app_url: str, registry, map_page):
    page = map_page
    _, facilities = registry
    first, second = facilities[0], facilities[1234]
    t0 = time.monotonic()
    page.goto(f"{app_url}/?facility={first.id}", wait_until="domcontentloaded")
    page.locator(MAP_FRAME).wait_for(state="attached", timeout=60_000)
    frame = page.frame_locator(MAP_FRAME)
    frame.locator(SELECTED_OUTLINE).wait_for(timeout=60_000)
    drawn_s = time.monotonic() - t0
    page.screenshot(path=str(SHOTS / "map-large-1-first.png"), full_page=True)

    # All 2,000 sites are in the map as clustered points: clusters + lone markers sum to N.
    total = frame.locator(".leaflet-container").evaluate(
        """() => { let n = 0; map_div.eachLayer(l => { if (l instanceof L.MarkerClusterGroup)
                   n += l.getLayers().length; }); return n; }""")
    assert total == N_FACILITIES
    assert "sites are clustered points" in page.get_by_text("facilities: sites are clustered").inner_text()

    handle = page.locator(MAP_FRAME).element_handle()
    map_frame = handle.content_frame()
    map_frame.evaluate("window.__mark = 1")
    before_d = frame.locator(SELECTED_OUTLINE).get_attribute("d")
    before_center = map_frame.evaluate("[map_div.getCenter().lat, map_div.getCenter().lng]")

    t1 = time.monotonic()
    pick(page, second.name)
    page.wait_for_function(
        """([sel, d]) => { const f = document.querySelector('iframe[title="streamlit_folium.st_folium"]');
           const p = f && f.contentDocument && f.contentDocument.querySelector(sel);
           return p && p.getAttribute('d') !== d; }""", arg=[SELECTED_OUTLINE, before_d], timeout=30_000)
    switch_s = time.monotonic() - t1
    page.wait_for_timeout(300)  # the view moves with the outline; let setView finish
    page.screenshot(path=str(SHOTS / "map-large-2-switched.png"), full_page=True)

    assert f"facility={second.id}" in page.url
    # Same iframe element, same window: the map was updated in place, not reloaded.
    assert page.locator(MAP_FRAME).count() == 1
    assert page.locator(MAP_FRAME).element_handle().content_frame() == map_frame
    assert map_frame.evaluate("window.__mark") == 1
    assert frame.locator(SELECTED_OUTLINE).count() == 1  # the old selection layer is gone
    after_center = map_frame.evaluate("[map_div.getCenter().lat, map_div.getCenter().lng]")
    assert after_center != before_center
    lat, lon = second.geometry.centroid.y, second.geometry.centroid.x
    assert abs(after_center[0] - lat) < 0.05 and abs(after_center[1] - lon) < 0.05
    # Zoomed out, the sites gather into clusters (numbered icons).
    map_frame.evaluate("map_div.setZoom(5)")
    frame.locator(".marker-cluster").first.wait_for(timeout=10_000)
    page.screenshot(path=str(SHOTS / "map-large-3-clusters.png"), full_page=True)

    # A hostile name in the cluster layer is shown as text in its tooltip and runs nothing.
    # (markercluster's zoomToShowLayer waits for an icon, which circle markers do not have.)
    find = """() => { let found = null; map_div.eachLayer(l => { if (l instanceof L.MarkerClusterGroup)
                   found = l.getLayers().find(m => m.siteName.startsWith("<img")); }); return found; }"""
    map_frame.evaluate(f"() => {{ const m = ({find})(); map_div.setView(m.getLatLng(), 16, {{animate: false}}); }}")
    page.wait_for_timeout(500)
    map_frame.evaluate(f"() => ({find})().openTooltip()")
    tooltip = frame.locator(".leaflet-tooltip").filter(has_text="onerror")
    tooltip.wait_for(timeout=10_000)
    assert HOSTILE in tooltip.inner_text()
    page.wait_for_timeout(500)
    page.screenshot(path=str(SHOTS / "map-large-4-hostile-tooltip.png"), full_page=True)
    assert frame.locator("img[src='x']").count() == 0 and page.dialogs == []
    print(f"\nmap drawn in {drawn_s:.2f} s; switch to the new outline in {switch_s:.2f} s")
