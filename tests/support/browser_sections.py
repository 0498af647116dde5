"""The browser tests' step for the registry page's sections (ui.sections, issue 18.6): below the map only a text
Overview is drawn until the analyst picks another section, so a test that reads the timeline table, the dating
panel or the report buttons picks it first, as the analyst does."""

from __future__ import annotations


def open_section(page, section: str, timeout_ms: int = 60_000) -> None:
    """Click `section` ("Timeline", "Details & sources", "Dating", "Report", "Edit") in the section chooser under
    the facility's name and wait until it is the chosen one."""
    chooser = page.get_by_test_id("stButtonGroup").filter(has_text="Overview").first
    chooser.wait_for(timeout=timeout_ms)
    chooser.get_by_role("radio", name=section, exact=True).click()  # a radiogroup of buttons
    chooser.get_by_role("radio", name=section, exact=True, checked=True).wait_for(timeout=timeout_ms)
