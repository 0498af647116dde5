"""Who may use the app, headless (AppTest): with an [auth] section in the secrets the page is a "Sign in" button
and nothing of the registry; without one, the warning shows on every page when the app listens beyond this
computer, and not when it listens on 127.0.0.1 (.streamlit/config.toml)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit import config
from streamlit.testing.v1 import AppTest

from tests.support.oidc import CLIENT_ID, CLIENT_SECRET
from ui.login import OPEN_WARNING

APP = Path(__file__).resolve().parents[2] / "app.py"
PAGES = ("Registry", "Compare imagery", "Import", "Read articles")


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "registry.gpkg"
    monkeypatch.setenv("TRACKER_DATABASE", str(path))
    monkeypatch.setenv("TRACKER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TRACKER_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("TRACKER_OFFLINE", "1")
    return path


@pytest.fixture
def address() -> Iterator[None]:
    """Restores Streamlit's server.address after a test set it (the option is process-wide)."""
    before = config.get_option("server.address")
    yield
    config.set_option("server.address", before)


def _page(at: AppTest, name: str) -> None:
    """Switch to a page of st.navigation by its title (callable pages have no file for at.switch_page)."""
    at._page_hash = next(h for h, info in at._registered_pages.items() if info.get("page_name") == name)


def _run(secrets: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60)
    if secrets:
        for key, value in secrets.items():
            at.secrets[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def test_the_default_address_is_this_computer(database: Path):
    assert config.get_option("server.address") == "127.0.0.1"  # .streamlit/config.toml, read from the checkout
    at = _run()
    assert not [w for w in at.warning if w.value == OPEN_WARNING]


def test_open_to_the_network_without_login_warns_on_every_page(database: Path, address: None):
    config.set_option("server.address", "0.0.0.0")
    at = _run()
    for page in PAGES:
        _page(at, page)
        at.run()
        assert not at.exception, (page, at.exception)
        assert [w.value for w in at.warning].count(OPEN_WARNING) == 1, page


def test_with_login_configured_only_sign_in_is_shown(database: Path, address: None):
    config.set_option("server.address", "0.0.0.0")  # open to the network, but behind the sign-in: no warning
    auth = {"redirect_uri": "http://127.0.0.1:8501/oauth2callback", "cookie_secret": "x" * 32,
            "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
            "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration"}
    at = _run(secrets={"auth": auth})
    assert [b.label for b in at.button] == ["Sign in"]
    assert [t.value for t in at.title] == ["Facility tracker"]
    assert not at.warning and not at.selectbox and not at.dataframe and not at.sidebar.children
