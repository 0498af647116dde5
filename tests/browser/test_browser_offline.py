"""Offline and failing services said plainly (issue 18.1), in a real Chromium with every off-machine request
blocked: with the imagery services answering HTTP 503 (a fake on 127.0.0.1 that the settings point Wayback,
Sentinel-2 cloudless and the STAC catalogue at), and in offline mode, every page (Registry, Compare, Import, Read
articles) says it in one sentence and shows no exception text or setting name; the Compare page, with nothing it
could show, guides to the Import page. A screenshot of each page goes to the test's tmp dir (and to
test-output/browser-offline/)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from facilities.store import open_store
from tests.support.browser import ROOT, Recorder, launch_chromium, serve_app
from tests.support.fake_wayback import FakeServer
from tracker.availability import OFFLINE_SENTENCE, UNREACHABLE_SENTENCE
from tracker.seeding import ensure_seeded

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOTS = ROOT / "test-output" / "browser-offline"
LEAKS = ("Traceback", "HTTPSConnectionPool", "HTTPConnectionPool", "Max retries", "Error(", "NameResolution",
         "TRACKER_")
PAGES = (("Compare imagery", "compare", "Compare imagery"), ("Registry", "", "February 11 Plant"),  # the default
         ("Import", "import", "Import"), ("Read articles", "read", "Read articles"))


@pytest.fixture(scope="module")
def down() -> Iterator[FakeServer]:
    srv = FakeServer().start()
    yield srv
    srv.close()


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    with launch_chromium() as browser:
        yield browser


def _registry(tmp: Path) -> Path:
    database = tmp / "registry.gpkg"
    store = open_store(database)
    ensure_seeded(store)
    store.close()
    return database


def _settled(page) -> None:
    """Wait until the script run is over: Streamlit's status widget (shown while a script runs) gone."""
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000)
    page.wait_for_timeout(1000)


def _visit_every_page(chromium, url: str, sentence: str, shots: Path) -> dict[str, str]:
    """Open Compare on the plant first (the page that asks the services), then every other page through the
    sidebar (one browser session); each page's text, after its sentence appeared."""
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    recorder = Recorder()
    recorder.attach(page)
    shots.mkdir(parents=True, exist_ok=True)
    texts = {}
    try:
        page.goto(f"{url}/compare?facility=february-11-plant")
        sidebar = page.get_by_test_id("stSidebar")
        for n, (link, path, heading) in enumerate(PAGES):
            if n:
                sidebar.get_by_role("link", name=link, exact=True).click()
                page.wait_for_url(lambda u, path=path: urlsplit(u).path.strip("/") == path, timeout=60_000)
            page.get_by_role("heading", name=heading, exact=True).first.wait_for(timeout=90_000)
            page.get_by_text(sentence).first.wait_for(timeout=60_000)
            _settled(page)
            texts[link] = page.get_by_test_id("stMain").inner_text()
            page.screenshot(path=str(shots / f"{n}-{link.replace(' ', '-').lower()}.png"), full_page=True)
    finally:
        context.close()
    assert not recorder.dialogs
    return texts


def _copy_shots(shots: Path, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for shot in shots.glob("*.png"):
        shutil.copy(shot, SHOTS / f"{name}-{shot.name}")


def test_services_down_every_page_says_so_plainly(tmp_path: Path, down: FakeServer, chromium):
    fault = f"{down.base}/fault/status-503"
    env = {"TRACKER_WAYBACK_CONFIG_URL": fault, "TRACKER_WAYBACK_SERVICE_ROOT": fault,
           "TRACKER_WAYBACK_TILE_URL": f"{fault}?{{release}}/{{z}}/{{y}}/{{x}}", "TRACKER_WAYBACK_SUBDOMAINS": "[]",
           "TRACKER_EOX_TILE_URL": f"{fault}?{{z}}/{{x}}/{{y}}", "TRACKER_STAC_URL": fault,
           "TRACKER_IMAGERY_ALLOW_HOSTS": json.dumps([urlsplit(down.base).netloc]), "TRACKER_REQUEST_TIMEOUT": "3"}
    with serve_app(_registry(tmp_path), tmp_path, env) as url:
        texts = _visit_every_page(chromium, url, UNREACHABLE_SENTENCE, tmp_path / "shots")
    _copy_shots(tmp_path / "shots", "down")
    for name, text in texts.items():
        assert UNREACHABLE_SENTENCE in text, name
        assert not [leak for leak in LEAKS if leak in text], (name, text)
    compare = texts["Compare imagery"]
    assert "Nothing to compare here yet" in compare and "on the Import page" in compare


def test_offline_mode_every_page_says_so_without_asking_anyone(tmp_path: Path, chromium):
    with serve_app(_registry(tmp_path), tmp_path, {"TRACKER_OFFLINE": "1"}) as url:
        texts = _visit_every_page(chromium, url, OFFLINE_SENTENCE, tmp_path / "shots")
    _copy_shots(tmp_path / "shots", "offline")
    for name, text in texts.items():
        assert OFFLINE_SENTENCE in text, name
        assert not [leak for leak in LEAKS if leak in text], (name, text)
    assert "Nothing to compare here yet" in texts["Compare imagery"]
