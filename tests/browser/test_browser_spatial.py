"""The sidebar's spatial questions in a real Chromium: near a point, and the sites inside an uploaded
layer whose file name is hostile (shown as text, never run)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from facilities.store import open_store
from tests.support.browser import ROOT, Recorder, launch_chromium, serve_app
from tracker.seeding import ensure_seeded

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOTS = ROOT / "test-output" / "browser"
HOSTILE_FILE = "<img src=x onerror=alert(1)>.geojson"


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("browser-spatial")
    database = tmp / "registry.gpkg"
    store = open_store(database)
    ensure_seeded(store)
    store.close()
    with serve_app(database, tmp) as url:
        yield url


@pytest.fixture
def page(tmp_path) -> Iterator[tuple[object, Recorder]]:
    SHOTS.mkdir(parents=True, exist_ok=True)
    with launch_chromium() as browser:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        recorder = Recorder()
        pg = context.new_page()
        recorder.attach(pg)
        yield pg, recorder
        context.close()


def test_spatial_questions_in_the_sidebar(app_url: str, page, tmp_path):
    pg, rec = page
    pg.goto(f"{app_url}/?facility=february-11-plant", wait_until="domcontentloaded")
    sidebar = pg.get_by_test_id("stSidebar")
    sidebar.get_by_text("Spatial question").wait_for(timeout=60_000)
    sidebar.get_by_text("Spatial question").click()

    # near the city centre (the default point): both seed sites, the nearest first
    sidebar.get_by_role("button", name="Ask").click()
    sidebar.get_by_text("sites within 20 km of 39.91800 N, 127.53600 E: 2").wait_for(timeout=60_000)
    pg.screenshot(path=str(SHOTS / "spatial-1-near-point.png"), full_page=True)

    # inside an uploaded area, from a file with a hostile name
    sidebar.get_by_text("Sites inside an uploaded area").click()
    area = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": "east"},
            "geometry": {"type": "Polygon", "coordinates": [[[127.6, 39.8], [127.7, 39.8], [127.7, 40.0],
                                                              [127.6, 40.0], [127.6, 39.8]]]}}]}
    sidebar.locator("input[type='file']").set_input_files(
        files=[{"name": HOSTILE_FILE, "mimeType": "application/geo+json", "buffer": json.dumps(area).encode()}])
    sidebar.get_by_test_id("stFileChip").wait_for(timeout=30_000)  # uploading (its name shown cut short)
    sidebar.get_by_test_id("stFileChipIconSpinner").wait_for(state="detached", timeout=30_000)
    pg.wait_for_timeout(1000)  # the rerun that hands the upload to the script
    sidebar.get_by_role("button", name="Ask").click()
    sidebar.get_by_text(f"sites meeting {HOSTILE_FILE}: 1").wait_for(timeout=60_000)
    pg.wait_for_timeout(1000)  # time for a planted handler to fire
    pg.screenshot(path=str(SHOTS / "spatial-2-inside-upload.png"), full_page=True)
    assert rec.dialogs == []
    assert pg.locator("img[src='x']").count() == 0
