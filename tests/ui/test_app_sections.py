"""The map first (issue 18.6), headless (AppTest): the registry page's first draw holds the map, the facility's
name and a text Overview, and no element whose script is heavy (tables, charts, date picker, the filters); the
other sections are drawn when chosen, the choice survives reruns and page changes, and closed filters still apply."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.support.apptest import open_filters, open_section
from ui import state
from ui.safe import markdown_text
from ui.sections import SECTIONS

APP = Path(__file__).resolve().parents[2] / "app.py"
PLANT = "february-11-plant"
# Element types whose frontend code is loaded separately and was the ~3 MB in front of the map.
# (AppTest's names: "dataframe" is st.dataframe and st.data_editor, "vega_lite_chart" st.altair_chart.)
HEAVY = ("dataframe", "vega_lite_chart", "date_input", "multiselect", "file_uploader")


@pytest.fixture(autouse=True)
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "registry.gpkg"  # new: seeded by the app
    monkeypatch.setenv("TRACKER_DATABASE", str(path))
    monkeypatch.setenv("TRACKER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TRACKER_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("TRACKER_OFFLINE", "1")
    return path


def _run(**query: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.query_params.update(query)
    at.run()
    assert not at.exception, at.exception
    return at


def _types(at: AppTest) -> set[str]:
    """Every element type on the page (main area and sidebar), however deep."""
    seen: set[str] = set()

    def walk(node) -> None:
        seen.add(node.type)
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return seen


def _page(at: AppTest, name: str) -> AppTest:
    """Switch to a page of st.navigation by its title and rerun (as tests/ui/test_app_login.py does)."""
    at._page_hash = next(h for h, info in at._registered_pages.items() if info.get("page_name") == name)
    at.run()
    assert not at.exception, at.exception
    return at


def test_the_first_draw_is_the_map_the_name_and_text(database: Path):
    at = _run(facility=PLANT)
    types = _types(at)
    assert "component_instance" in types, "the map is on the page"
    assert not types & set(HEAVY), sorted(types & set(HEAVY))
    assert at.subheader[0].value == markdown_text("February 11 Plant")
    assert at.segmented_control(key=state.SECTION).value == "Overview"
    overview = " ".join(m.value.replace("\\", "") for m in at.markdown)
    assert "North Korea" in overview and "Latest observation (13 in all): 2024-11-25" in overview, overview


def test_each_section_draws_its_part_and_only_that(database: Path):
    at = _run(facility=PLANT)
    expected = {"Timeline": "summary", "Details & sources": "Field"}
    for section in SECTIONS[1:]:
        open_section(at, section)
        assert ("vega_lite_chart" in _types(at)) == (section == "Timeline"), section
        frames = [list(d.value.columns) for d in at.dataframe if "delete" not in d.value.columns]  # not editors
        if section in expected:
            assert any(expected[section] in columns for columns in frames), (section, frames)
        for other, column in expected.items():
            if other != section:
                assert not any(column in columns for columns in frames), (section, other, frames)
    assert at.button(key=f"edit_save_{PLANT}"), "the Edit section holds the edit panel"
    open_section(at, "Report")
    assert [b.label for b in at.get("download_button")] == ["Download GeoJSON report"]
    open_section(at, "Dating")
    assert at.selectbox(key="dating_structure")


def test_the_section_survives_a_rerun_a_facility_and_a_page_change(database: Path):
    at = open_section(_run(facility=PLANT), "Timeline")
    at.run()
    assert at.segmented_control(key=state.SECTION).value == "Timeline"
    at.selectbox(key=state.PICKER).select("february-8-vinalon-complex").run()
    assert at.segmented_control(key=state.SECTION).value == "Timeline"
    assert any("No observations" in i.value for i in at.info)
    _page(at, "Compare imagery")
    _page(at, "Registry")
    assert at.segmented_control(key=state.SECTION).value == "Timeline"
    assert any("No observations" in i.value for i in at.info)


def test_a_link_opens_a_section(database: Path):
    at = _run(facility=PLANT, section="Timeline")
    assert at.segmented_control(key=state.SECTION).value == "Timeline"
    assert any("summary" in d.value.columns for d in at.dataframe)
    assert at.selectbox(key=state.PICKER).value == PLANT


def test_closed_filters_still_apply_and_say_so(database: Path):
    at = open_filters(_run(facility=PLANT))
    assert {"multiselect", "date_input"} <= _types(at)
    everything = len(at.selectbox(key=state.PICKER).options)
    at.date_input(key=state.FILTERS[3]).set_value(dt.date(2020, 1, 1)).run()
    narrowed = at.selectbox(key=state.PICKER).options
    assert narrowed == ["February 11 Plant"] and everything == 2  # the other seed site has no observations
    at.session_state[state.FILTERS_OPEN] = False
    at.run()
    assert "multiselect" not in _types(at)
    assert at.selectbox(key=state.PICKER).options == narrowed
    assert [e.label for e in at.sidebar.expander if e.label.startswith("Filters")] == ["Filters (1 in use)"]
    _page(at, "Compare imagery")
    _page(at, "Registry")
    assert at.selectbox(key=state.PICKER).options == narrowed
