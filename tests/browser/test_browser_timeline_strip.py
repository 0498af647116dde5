"""The Compare page's timeline strip in a real Chromium: clicking a mark sets "before", the next click
"after" (the page's boxes follow), and in the Time slider view the slider steps along the same dates
while the strip marks the image shown. Wayback from the fake on 127.0.0.1. Screenshots go to
test-output/timeline-strip/ (looked at by eye when the strip changes)."""

from __future__ import annotations

import io
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


def _mark_centres(chart) -> list[tuple[float, float]]:
    """Centres of the strip's marks: clusters of the source colours in a screenshot of the chart."""
    from PIL import Image

    box = chart.bounding_box()
    img = Image.open(io.BytesIO(chart.screenshot())).convert("RGB")
    scale = img.width / box["width"]
    colours = [tuple(int(c[i:i + 2], 16) for i in (1, 3, 5)) for c in COLOURS]
    cells: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for py in range(img.height):
        for px in range(img.width):
            r, g, b = img.getpixel((px, py))
            if max(r, g, b) - min(r, g, b) > 40 and any(  # coloured, near a source colour (the theme lightens)
                    abs(r - cr) + abs(g - cg) + abs(b - cb) < 150 for cr, cg, cb in colours):
                cells.setdefault((px // int(10 * scale), py // int(10 * scale)), []).append((px, py))
    out = []
    for pts in cells.values():
        if len(pts) >= 4:
            out.append((box["x"] + sum(p[0] for p in pts) / len(pts) / scale,
                        box["y"] + sum(p[1] for p in pts) / len(pts) / scale))
    return out


def _find_mark(pg, chart, day: str) -> tuple[float, float]:
    """Where the strip draws the image of `day`: hover each mark until the tooltip names it."""
    centres = _mark_centres(chart)
    for x, y in centres:
        if day in _tooltip_at(pg, x, y):
            return x, y
    box = chart.bounding_box()  # a mark the colour search missed: sweep along the rows the others lie on
    for y in sorted({round(cy / 6) * 6 for _, cy in centres}):
        for x in range(int(box["x"] + 80), int(box["x"] + box["width"]), 6):
            if day in _tooltip_at(pg, x, y):
                return x, y
    raise AssertionError(f"no mark for {day} on the strip")


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
        x, y = _find_mark(pg, chart, "2022-12-14")
        pg.mouse.click(x, y)
        pg.wait_for_timeout(1500)
        pg.screenshot(path=str(SHOTS / "1b-after-first-click.png"), full_page=True)
        _wait_selected(pg, "Before", "2022-12-14")
        x, y = _find_mark(pg, chart, "2024-07-01")
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
        x, y = _find_mark(pg, pg.locator(STRIP).first, "2022-12-14")
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
