"""AppTest steps the registry page now needs: its sections below the map and the sidebar's expanders draw
their contents only when opened (ui.sections, issue 18.6), so a test opens them as the analyst would."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from ui import state


def open_section(at: AppTest, section: str) -> AppTest:
    """Pick `section` ("Timeline", "Details & sources", "Dating", "Report", "Edit") below the map and rerun;
    fails if the page has no such section chooser."""
    at.segmented_control(key=state.SECTION).set_value(section).run()
    assert not at.exception, at.exception
    return at


def open_filters(at: AppTest) -> AppTest:
    """Open the sidebar's Filters (their widgets are drawn only while open) and rerun."""
    at.session_state[state.FILTERS_OPEN] = True
    at.run()
    assert not at.exception, at.exception
    return at


def open_spatial(at: AppTest) -> AppTest:
    """Open the sidebar's Spatial question and rerun."""
    at.session_state[state.SPATIAL_OPEN] = True
    at.run()
    assert not at.exception, at.exception
    return at
