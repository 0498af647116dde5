"""The Compare page's timeline strip in a real Chromium: clicking a mark sets "before", the next click
"after" (the page's boxes follow), and in the Time slider view the slider steps along the same dates
while the strip marks the image shown. Wayback from the fake on 127.0.0.1. Screenshots go to
test-output/timeline-strip/ (looked at by eye when the strip changes)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from facilities.store import open_store
from tests.support.browser import ROOT, Recorder, launch_chromium, serve_app
from tests.support.fake_wayback import DEFAULT_CHANGES, FakeServer, site_scenario
from tracker.seeding import ensure_seeded
from ui.timeline_strip import COLOURS

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOTS = ROOT / "test-output" / "timeline-strip"
STRIP = ".stVegaLiteChart, [data-testid='stVegaLiteChart']"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    srv = FakeServer().start()
    scenario = site_scenario()
    scenario.default_changes = list(DEFAULT_CHANGES)
    srv.reset(scenario)
    tmp = tmp_path_factory.mktemp("strip")
    store = open_store(tmp / "registry.gpkg")
    ensure_seeded(store)
    store.close()
    host = urlsplit(srv.base).netloc
    env = {"TRACKER_WAYBACK_CONFIG_URL": f"{srv.base}/config/waybackconfig.json",
           "TRACKER_WAYBACK_SERVICE_ROOT": f"{srv.base}/wayback/MapServer",
           "TRACKER_WAYBACK_TILE_URL": f"{srv.base}/wayback/tile/{{release}}/{{z}}/{{y}}/{{x}}",
           "TRACKER_WAYBACK_SUBDOMAINS": "[]", "TRACKER_IMAGERY_ALLOW_HOSTS": json.dumps([host]),
           "TRACKER_EOX_TILE_URL": f"{srv.base}/xyz/{{z}}/{{x}}/{{y}}.png", "TRACKER_REQUEST_TIMEOUT": "5"}
    try:
        with serve_app(tmp / "registry.gpkg", tmp, env) as url:
            yield url
    finally:
        srv.close()


def _tooltip_at(pg, x: float, y: float) -> str:
    pg.mouse.move(x, y)
    pg.wait_for_timeout(80)
    tip = pg.locator("#vg-tooltip-element.visible")
    return tip.inner_text() if tip.count() else ""


MARKS_JS = """day => [...document.querySelectorAll('[data-testid="stVegaLiteChart"] [role="graphics-symbol"]')]
  .filter(p => /; Image: /.test(p.getAttribute('aria-label') || '') && p.getAttribute('aria-label').includes(day))
  .map(p => { const r = p.getBoundingClientRect();
              const paint = ['fill', 'stroke'].map(a => (p.getAttribute(a) || '').toLowerCase());
              return [r.left, r.top, r.width, r.height, paint]; })"""


def _find_mark(pg, day: str) -> tuple[float, float]:
    """Where the strip draws the image of `day`: the image marks whose data names the day (Vega's SVG marks carry
    their data as aria-labels: capture date, image label), each confirmed by hovering it until the tooltip a user
    sees names the day (around its centre too, where a neighbour is drawn over it)."""
    boxes = pg.evaluate(MARKS_JS, day)
    assert boxes, f"no mark for {day} on the strip"
    assert all(set(b[4]) & {c.lower() for c in COLOURS} for b in boxes), boxes  # filled or edged in its colour
    for left, top, width, height, _ in boxes:
        for fx, fy in ((0.5, 0.5), (0.25, 0.5), (0.75, 0.5), (0.5, 0.25), (0.5, 0.75)):
            x, y = left + width * fx, top + height * fy
            if day in _tooltip_at(pg, x, y):
                return x, y
    raise AssertionError(f"the marks for {day} never showed its tooltip: {boxes}")


def _selected(pg, label: str) -> str:
    """A box's label and value (the value sits in the combobox's input, not in the text)."""
    return pg.get_by_test_id("stSelectbox").filter(has_text=label).evaluate(
        "el => el.innerText + ' ' + [...el.querySelectorAll('input')].map(i => i.value).join(' ')")


def _wait_selected(pg, label: str, text: str) -> None:
    for _ in range(60):
        if text in _selected(pg, label):
            return
        pg.wait_for_timeout(500)
    raise AssertionError(f"{label} never showed {text}: {_selected(pg, label)}")


def test_click_the_strip_for_before_and_after_then_step_with_the_slider(app):
    SHOTS.mkdir(parents=True, exist_ok=True)
    with launch_chromium() as browser:
        context = browser.new_context(viewport={"width": 1400, "height": 1200})
        rec = Recorder()
        pg = context.new_page()
        rec.attach(pg)
        pg.goto(f"{app}/compare?facility=february-11-plant", wait_until="domcontentloaded")
        pg.get_by_role("heading", name="Compare imagery").wait_for(timeout=60_000)
        chart = pg.locator(STRIP).first
        chart.wait_for(timeout=60_000)
        pg.get_by_text("A click on the strip sets").wait_for(timeout=30_000)
        pg.wait_for_timeout(800)
        pg.screenshot(path=str(SHOTS / "1-strip.png"), full_page=True)
        before0, after0 = _selected(pg, "Before"), _selected(pg, "After")

        # two clicks: the first sets "before", the second "after"
        x, y = _find_mark(pg, "2022-12-14")
        pg.mouse.click(x, y)
        pg.wait_for_timeout(1500)
        pg.screenshot(path=str(SHOTS / "1b-after-first-click.png"), full_page=True)
        _wait_selected(pg, "Before", "2022-12-14")
        x, y = _find_mark(pg, "2024-07-01")
        pg.mouse.click(x, y)
        pg.wait_for_function("() => true")
        _wait_selected(pg, "After", "2024 Sentinel-2 cloudless")
        assert "2022-12-14" in _selected(pg, "Before") and "2024 Sentinel-2" in _selected(pg, "After")
        assert (before0, after0) != (_selected(pg, "Before"), _selected(pg, "After"))
        pg.wait_for_timeout(800)
        pg.mouse.move(5, 5)
        pg.wait_for_timeout(300)
        pg.screenshot(path=str(SHOTS / "2-pair-picked.png"), full_page=True)

        # the Time slider view: a click shows that date, the arrow keys step along the same axis
        pg.get_by_text("Time slider", exact=True).click()
        slider = pg.get_by_role("slider")
        slider.wait_for(timeout=30_000)
        x, y = _find_mark(pg, "2022-12-14")
        pg.mouse.click(x, y)
        pg.get_by_test_id("stSlider").filter(has_text="2022-12-14").wait_for(timeout=30_000)
        shown = pg.get_by_test_id("stSlider").inner_text()
        slider.focus()
        slider.press("ArrowRight")
        pg.wait_for_function("() => true")
        pg.wait_for_timeout(1500)
        stepped = pg.get_by_test_id("stSlider").inner_text()
        assert stepped != shown
        pg.get_by_text("Showing:").first.wait_for(timeout=30_000)
        pg.mouse.move(5, 5)
        pg.wait_for_timeout(300)
        pg.screenshot(path=str(SHOTS / "3-slider-stepped.png"), full_page=True)
        assert not rec.dialogs
        assert not [u for kind, u in rec.blocked if kind in ("script", "stylesheet")]
        context.close()
