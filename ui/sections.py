"""The registry page below the map: one section at a time, chosen by the analyst.

Streamlit loads an element's script (the chart library, the dataframe and its Arrow code, the date
picker: about 3 MB) as soon as the element is on the page, even inside a collapsed expander or a
hidden tab, and the map waited behind them. So the page draws the map first, then a light text-only
Overview, and the heavy parts (timeline chart and table, details and sources, dating, report, edit)
only when the analyst opens their section. The choice is a keyed widget kept for the whole session
(`persist_state="session"`: it survives reruns and page changes) and bound to the URL
(`?section=Timeline`), so a view of one section can be shared like a facility (`?facility=`).
"""

from __future__ import annotations

import streamlit as st

from tracker.countries import country_name
from tracker.site import SiteView

from . import state
from .map import precision_label
from .safe import markdown_text

OVERVIEW = "Overview"
TIMELINE = "Timeline"
DETAILS = "Details & sources"
DATING = "Dating"
REPORT = "Report"
EDIT = "Edit"
SECTIONS = (OVERVIEW, TIMELINE, DETAILS, DATING, REPORT, EDIT)


def choose_section() -> str:
    """The section chooser under the facility's name; the chosen section (Overview until another is picked)."""
    chosen = st.segmented_control("Section", SECTIONS, default=OVERVIEW, required=True, key=state.SECTION,
                                  label_visibility="collapsed", bind="query-params", persist_state="session")
    return chosen if chosen in SECTIONS else OVERVIEW


def overview_lines(site: SiteView) -> list[str]:
    """The Overview as plain sentences (no table, no chart): what the site is, how well it is located, and its
    latest observation."""
    f = site.facility
    what = ", ".join(part for part in (f.category, country_name(f.country) if f.country else "") if part)
    lines = [f"{what}; status: {f.status.value}." if what else f"Status: {f.status.value}.",
             f"Location: {precision_label(f.location_precision)}."]
    if f.aliases:
        lines.append("Also known as: " + "; ".join(a.name for a in f.aliases) + ".")
    if site.observations:
        latest = site.observations[-1]
        lines.append(f"Latest observation ({len(site.observations)} in all): {latest.date}, {latest.kind.value}"
                     + (f": {latest.summary}" if latest.summary else "."))
    else:
        lines.append("No observations recorded for this facility yet.")
    lines.append(f"{len(site.sources)} source(s) cited. Open a section above for the timeline, details and "
                 "sources, dating, the report or the edit panel.")
    return lines


def show_overview(site: SiteView) -> None:
    """The Overview section: a few lines of text (user text escaped), nothing that loads a heavy script."""
    for line in overview_lines(site):
        st.markdown(markdown_text(line))
