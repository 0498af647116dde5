"""Issue 16 in a real Chromium: on a generated site with a series of local imports (a building appears between two
known dates), the Registry page dates the structure on request, shows the bracket, and Accept puts the observation
in the timeline; the bracket's link opens Compare in the Difference view on that pair, which says how much changed
and outlines the changed regions on the map (the swipe shows the whole of both images). Offline: only local images
are read; no request leaves 127.0.0.1. Screenshots go to test-output/dating/."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.support.browser import MAP_FRAME, ROOT, Recorder, launch_chromium, serve_app
from tests.support.browser_sections import open_section
from tests.support.sites import SeriesSite, series_site

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOTS = ROOT / "test-output" / "dating"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, SeriesSite]]:
    tmp = tmp_path_factory.mktemp("dating")
    site = series_site(tmp)
    with serve_app(site.database, tmp, {"TRACKER_OFFLINE": "true", "TRACKER_SEED": "false"}) as url:
        yield url, site



def _hover_until_shown(pg, region, tip, attempts: int = 10) -> None:
    """Hover `region` as a user would until its tooltip shows. Leaflet opens a tooltip on mouseover only, and the map
    may still move the region (the swipe's redraw, the fit to the site) after it is attached: each attempt leaves
    the map, reads where the region is now and enters it again, at its centre or beside it (an outline that is not
    convex need not hold its box's centre)."""
    spots = ((0.5, 0.5), (0.4, 0.5), (0.6, 0.5), (0.5, 0.4), (0.5, 0.6))
    for k in range(attempts):
        box = region.bounding_box()
        fx, fy = spots[k % len(spots)]
        pg.mouse.move(5, 5)
        pg.mouse.move(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy, steps=5)
        try:
            tip.wait_for(timeout=2_000)
            return
        except PlaywrightTimeout:  # not shown yet: try again
            continue
    tip.wait_for(timeout=2_000)  # the last try raises with Playwright's own message

def test_date_a_structure_accept_it_then_open_the_pair_in_the_difference_view(app):
    url, site = app
    SHOTS.mkdir(parents=True, exist_ok=True)
    truth = site.series.dates[site.series.first_new or 0]
    with launch_chromium() as browser:
        context = browser.new_context(viewport={"width": 1400, "height": 2200})
        rec = Recorder()
        pg = context.new_page()
        rec.attach(pg)

        # the Registry page: nothing is read until asked
        pg.goto(f"{url}/?facility=plant", wait_until="domcontentloaded")
        open_section(pg, "Dating")
        pg.get_by_text("Date a structure from the images").wait_for(timeout=60_000)
        pg.get_by_text("Runs only when you click").wait_for(timeout=30_000)
        pg.get_by_role("button", name="Date from images").click()
        head = pg.get_by_text("Building B: built between ")
        head.wait_for(timeout=120_000)
        text = head.inner_text()
        absent, present = text.split("between ")[1].split(" (")[0], text.split(") and ")[1].split(" (")[0]
        assert absent < truth.isoformat() <= present, text
        assert pg.get_by_test_id("stMetric").filter(has_text="Last image absent").inner_text().endswith(absent)
        pg.wait_for_timeout(800)
        pg.screenshot(path=str(SHOTS / "1-dated.png"))

        # Accept: the observation appears in the timeline above, and the Accept button goes
        pg.get_by_role("button", name="Accept: record as an observation").click()
        pg.get_by_text("Recorded observation obs-").wait_for(timeout=60_000)
        pg.get_by_text("Recorded as observation obs-").wait_for(timeout=30_000)  # in place of the Accept button
        pg.get_by_role("button", name="Accept: record as an observation").wait_for(state="detached", timeout=30_000)
        pg.wait_for_timeout(800)
        pg.screenshot(path=str(SHOTS / "2-accepted.png"))
        # the bracket's link (in the Dating section, read before leaving it): Compare, Difference view, on the two
        # bounding images
        link = pg.get_by_role("link", name="Open the two images in Compare").get_attribute("href")
        assert link and "view=Difference" in link
        open_section(pg, "Timeline")
        pg.get_by_text("Observation timeline (1)").wait_for(timeout=30_000)
        # the Dating section is not drawn beside the Timeline: its link went with it
        pg.get_by_role("link", name="Open the two images in Compare").wait_for(state="detached", timeout=30_000)

        pg.goto(f"{url}/{link.lstrip('/')}", wait_until="domcontentloaded")
        verdict = pg.get_by_text(" m² changed (").first
        verdict.wait_for(timeout=120_000)
        assert verdict.inner_text().startswith("About ") and f"between {absent} and {present}" in verdict.inner_text()
        frame = pg.frame_locator(MAP_FRAME).first
        regions = frame.locator("path.leaflet-interactive[stroke='#ff3b30']")
        regions.first.wait_for(state="attached", timeout=60_000)
        assert regions.count() >= 1
        swipe = frame.locator(".leaflet-sbs-range")
        swipe.evaluate("el => { el.value = 0.05; el.dispatchEvent(new Event('input')); }")  # the bar off the region
        tip = frame.locator(".leaflet-tooltip")
        _hover_until_shown(pg, regions.first, tip.first)
        assert "m²" in tip.first.inner_text() and "Mean difference" in tip.first.inner_text()
        # the swipe clips each image in its own coordinates: the image's bottom edge is not cut off
        images = frame.locator(".leaflet-dated-imagery-pane img.leaflet-image-layer")
        assert images.count() == 2
        for i in range(2):  # where the clip's bottom edge falls, in the map's coordinates, and where it should
            cut, expected = images.nth(i).evaluate(
                "el => { const r = el.getBoundingClientRect(), c = el.closest('.leaflet-container')"
                ".getBoundingClientRect(); const m = /rect\\(([-\\d.]+)px, [-\\d.]+px, ([-\\d.]+)px/"
                ".exec(el.style.clip); return [r.top - c.top + Number(m[2]), Math.min(r.bottom, c.bottom) - c.top]; }")
            assert cut >= expected - 1, (cut, expected)  # the image is not cut off above the map's bottom
        pg.mouse.move(5, 5)
        pg.wait_for_timeout(800)
        pg.screenshot(path=str(SHOTS / "3-difference.png"))
        assert not rec.dialogs
        assert not rec.blocked, rec.blocked
        context.close()
