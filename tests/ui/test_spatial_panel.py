"""The sidebar's spatial question, headless (AppTest)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.support.apptest import open_spatial
from ui.spatial_panel import QUESTIONS

APP = Path(__file__).resolve().parents[2] / "app.py"


@pytest.fixture
def at(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("TRACKER_DATABASE", str(tmp_path / "registry.gpkg"))  # new: seeded by the app
    monkeypatch.setenv("TRACKER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TRACKER_CONFIG", str(tmp_path / "none.toml"))
    app = AppTest.from_file(str(APP), default_timeout=60)
    app.query_params.update(facility="february-11-plant")
    app.run()
    assert not app.exception, app.exception
    return open_spatial(app)


def _answer(at: AppTest):
    frames = [d.value for d in at.sidebar.dataframe]
    assert len(frames) == 1
    return frames[0]


def test_sites_near_a_point_and_near_the_selected_site(at: AppTest):
    at.sidebar.radio(key="spatial_question").set_value(QUESTIONS[0]).run()
    at.sidebar.number_input(key="spatial_km").set_value(20.0)
    at.sidebar.button(key="spatial_ask").click().run()
    assert not at.exception, at.exception
    table = _answer(at)
    assert list(table["id"]) == ["february-8-vinalon-complex", "february-11-plant"]
    assert 9 < table["distance_km"].iloc[1] < 11
    at.sidebar.radio(key="spatial_question").set_value(QUESTIONS[1]).run()
    at.sidebar.number_input(key="spatial_km").set_value(10.0)
    at.sidebar.button(key="spatial_ask").click().run()
    assert list(_answer(at)["id"]) == ["february-8-vinalon-complex"]
    assert any("sites within 10 km of february-11-plant" in t.value for t in at.sidebar.text)


def test_asking_about_a_layer_without_one_says_so(at: AppTest):
    at.sidebar.radio(key="spatial_question").set_value(QUESTIONS[3]).run()
    at.sidebar.button(key="spatial_ask").click().run()
    assert not at.exception
    assert any("upload a layer first" in e.value for e in at.sidebar.error)
