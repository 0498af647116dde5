"""Sign-in in a real Chromium: the app run with a secrets.toml whose [auth] points at the test OIDC provider
(tests/support/oidc.py, on 127.0.0.1) shows only "Sign in" before login; the button goes through the provider's
/authorize and /token and back; the page then names the signed-in analyst, and a GeoJSON imported on the Import
page is in the history under that identity, not under TRACKER_ACTOR. Sign out brings the sign-in page back.
Screenshots go to test-output/browser-login/.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from facilities.store import open_store
from tests.support.browser import ROOT, Recorder, launch_chromium, serve_app
from tests.support.oidc import TEST_EMAIL, OidcProvider, write_secrets
from tracker.seeding import ensure_seeded

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOTS = ROOT / "test-output" / "browser-login"
SETTINGS_ACTOR = "free-text-actor"


@pytest.fixture(scope="module")
def provider() -> Iterator[OidcProvider]:
    with OidcProvider() as idp:
        yield idp


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, provider: OidcProvider) -> Iterator[tuple[str, Path]]:
    tmp = tmp_path_factory.mktemp("browser-login")
    database = tmp / "registry.gpkg"
    store = open_store(database)
    ensure_seeded(store)
    store.close()
    secrets = write_secrets(tmp / "secrets" / "secrets.toml", provider,
                            redirect_uri="http://127.0.0.1:{port}/oauth2callback")
    env = {"STREAMLIT_SECRETS_FILES": str(secrets), "TRACKER_ACTOR": SETTINGS_ACTOR, "TRACKER_OFFLINE": "1"}
    with serve_app(database, tmp, env) as url:
        yield url, database


def _geojson() -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature",
        "properties": {"feature_type": "facility", "id": "signed-in-site", "name": "Signed-in test site",
                       "location_precision": "digitised", "country": "KP"},
        "geometry": {"type": "Polygon", "coordinates": [[[127.60, 39.90], [127.61, 39.90], [127.61, 39.91],
                                                         [127.60, 39.91], [127.60, 39.90]]]}}]}).encode()


def test_sign_in_then_edits_are_recorded_under_the_signed_in_analyst(app, provider):
    url, database = app
    SHOTS.mkdir(parents=True, exist_ok=True)
    with launch_chromium() as chromium:
        context = chromium.new_context(viewport={"width": 1400, "height": 1000})
        rec = Recorder()
        pg = context.new_page()
        rec.attach(pg)

        # before login: the sign-in button and nothing of the registry
        pg.goto(url)
        sign_in = pg.get_by_role("button", name="Sign in")
        sign_in.wait_for(timeout=60_000)
        pg.wait_for_timeout(1500)  # anything else the script would draw has had its chance
        pg.screenshot(path=str(SHOTS / "1-sign-in.png"), full_page=True)
        main_text = pg.get_by_test_id("stMain").inner_text()
        assert "February 11 Plant" not in main_text and "Registry" not in pg.content()
        assert pg.get_by_test_id("stSidebar").count() == 0  # no navigation, no picker, no search
        assert pg.get_by_role("button").filter(has_text="Sign").count() == 1

        # through the provider and back
        sign_in.click()
        sidebar = pg.get_by_test_id("stSidebar")
        sidebar.get_by_text(f"Signed in as {TEST_EMAIL}").wait_for(timeout=60_000)
        assert "GET /authorize" in provider.requests and "POST /token" in provider.requests
        pg.get_by_role("heading", name="February 11 Plant").wait_for(timeout=60_000)
        pg.screenshot(path=str(SHOTS / "2-signed-in.png"), full_page=True)

        # an edit made in the app: a GeoJSON imported on the Import page
        sidebar.get_by_role("link", name="Import").click()
        pg.get_by_role("heading", name="Import").wait_for(timeout=30_000)
        uploader = pg.get_by_test_id("stFileUploader").filter(has_text="Outline file")
        uploader.locator("input[type='file']").set_input_files(
            files=[{"name": "site.geojson", "mimeType": "application/geo+json", "buffer": _geojson()}])
        go = pg.get_by_role("button", name="Import 1 records")
        go.wait_for(timeout=60_000)
        go.click()
        pg.get_by_text("Imported site.geojson").wait_for(timeout=60_000)
        pg.screenshot(path=str(SHOTS / "3-imported.png"), full_page=True)

        store = open_store(database)
        try:
            imports = [h for h in store.history(limit=10) if h.action == "import"]
        finally:
            store.close()
        assert imports and "site.geojson" in imports[0].after["note"]  # one entry per import, newest first
        assert imports[0].actor == TEST_EMAIL  # not TRACKER_ACTOR (SETTINGS_ACTOR)

        # sign out: the sign-in page again
        sidebar.get_by_role("button", name="Sign out").click()
        pg.get_by_role("button", name="Sign in").wait_for(timeout=60_000)
        assert pg.get_by_test_id("stSidebar").count() == 0
        assert rec.dialogs == []
        context.close()
