"""The Registry page in a real Chromium (issue 18.3 and 18.5): the timeline chart fits its container at two
window widths with the newest observation's mark inside the visible plot, the observation table's first row is
the newest observation, and a typo in the sidebar search still finds the plant, kept across a page change.
Screenshots go to test-output/browser/.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from facilities.store import open_store
from tests.support.browser import ROOT, Recorder, launch_chromium, serve_app
from tracker.seeding import ensure_seeded

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOTS = ROOT / "test-output" / "browser"
NEWEST = "2024-11-25"  # the seed plant's newest observation (SI Analytics cover)

# Every symbol mark of the first chart on the page (the observations panel), with the chart's boxes; Vega
# draws SVG in Streamlit, and each mark carries an aria-label naming its fields.
MARKS_JS = """() => {
  const chart = document.querySelector('[data-testid="stVegaLiteChart"]');
  const svg = chart.querySelector('svg');
  const box = r => ({left: r.left, right: r.right, top: r.top, bottom: r.bottom});
  const marks = [...svg.querySelectorAll('path[role="graphics-symbol"]')]
    .filter(p => (p.getAttribute('aria-label') || '').startsWith('start:'))
    .map(p => ({label: p.getAttribute('aria-label'), ...box(p.getBoundingClientRect())}));
  const main = document.querySelector('[data-testid="stMainBlockContainer"]');
  return {chart: box(chart.getBoundingClientRect()), svg: box(svg.getBoundingClientRect()),
          main: box(main.getBoundingClientRect()), viewport: window.innerWidth, marks};
}"""


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("browser-timeline")
    database = tmp / "registry.gpkg"
    store = open_store(database)
    ensure_seeded(store)
    store.close()
    with serve_app(database, tmp, {"TRACKER_OFFLINE": "1"}) as url:
        yield url


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    with launch_chromium() as browser:
        yield browser


def _page(chromium, width: int):
    context = chromium.new_context(viewport={"width": width, "height": 1000})
    page = context.new_page()
    Recorder().attach(page)
    return context, page


@pytest.mark.parametrize("width", [900, 1600])
def test_the_timeline_fits_and_shows_the_newest_observation(app_url: str, chromium, width: int):
    SHOTS.mkdir(parents=True, exist_ok=True)
    context, page = _page(chromium, width)
    try:
        page.goto(f"{app_url}/?facility=february-11-plant&section=Timeline", wait_until="domcontentloaded")
        page.get_by_text("Observation timeline (13)").wait_for(timeout=90_000)
        chart = page.get_by_test_id("stVegaLiteChart").first
        chart.scroll_into_view_if_needed()
        page.wait_for_function("() => document.querySelectorAll("
                               "'[data-testid=\"stVegaLiteChart\"] path[role=\"graphics-symbol\"]').length >= 13",
                               timeout=60_000)
        boxes = page.evaluate(MARKS_JS)
        page.screenshot(path=str(SHOTS / f"timeline-{width}.png"), full_page=True)
        marks = boxes["marks"]
        assert len(marks) == 13, [m["label"] for m in marks]
        newest = max(marks, key=lambda m: m["right"])
        assert "Nov 25, 2024" in newest["label"], newest["label"]  # the rightmost mark is the newest event
        right_edge = min(boxes["chart"]["right"], boxes["main"]["right"], boxes["viewport"])
        assert boxes["svg"]["right"] <= boxes["chart"]["right"] + 1  # the chart does not run past its container
        assert newest["right"] <= right_edge, (newest, boxes["chart"], boxes["main"])
        assert newest["left"] >= boxes["chart"]["left"]

        # the table's first row is the newest observation (glide-data-grid keeps an accessible copy of its rows)
        table = page.get_by_test_id("stDataFrame").filter(has_text="summary").first
        table.scroll_into_view_if_needed()
        first_row = table.locator('tbody tr[aria-rowindex="2"]')  # row 1 is the header
        first_row.wait_for(state="attached", timeout=30_000)
        assert (first_row.text_content() or "").startswith(NEWEST), first_row.text_content()
    finally:
        context.close()


def test_a_typo_finds_the_plant_and_survives_a_page_change(app_url: str, chromium):
    context, page = _page(chromium, 1400)
    try:
        page.goto(f"{app_url}/?facility=february-8-vinalon-complex", wait_until="domcontentloaded")
        sidebar = page.get_by_test_id("stSidebar")
        search = sidebar.get_by_role("textbox", name="Search name or alias")
        search.wait_for(timeout=90_000)
        search.fill("Febraio")
        search.press("Enter")
        page.get_by_role("heading", name="February 11 Plant").wait_for(timeout=60_000)
        page.screenshot(path=str(SHOTS / "search-typo.png"), full_page=True)

        sidebar.get_by_role("link", name="Compare imagery").click()
        page.wait_for_url("**/compare**", timeout=60_000)
        page.get_by_role("heading", name="Compare imagery").wait_for(timeout=60_000)
        expect(search).to_have_value("Febraio", timeout=30_000)
        sidebar.get_by_role("link", name="Registry").click()
        # Compare also heads its page with the site's name: wait for the Registry page itself, then for its
        # search box (drawn anew on this page) to settle; a search that was lost would stay empty and fail here.
        page.get_by_role("heading", name="Facility tracker").wait_for(timeout=60_000)
        page.get_by_role("heading", name="February 11 Plant").wait_for(timeout=60_000)
        expect(sidebar.get_by_role("textbox", name="Search name or alias")).to_have_value("Febraio", timeout=30_000)
        page.screenshot(path=str(SHOTS / "search-kept.png"), full_page=True)
    finally:
        context.close()
