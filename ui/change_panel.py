"""The Compare page's Difference view: the change between two analysable dates measured against the pair's own
noise (tracker.change.site_change), said in one sentence, drawn as regions on the map, downloadable as GeoJSON
and recorded as an observation when the analyst accepts it.

The measure is cached in ui.state per (facility, images, built-up only), so the toggle and the other views do
not measure again. Display-only dates (Esri Wayback) never reach here: the page explains them and offers the
swipe instead.
"""

from __future__ import annotations

import json
import math

import streamlit as st

from facilities.errors import FacilitiesError
from facilities.model import Confidence, Facility, ObservationKind
from facilities.store import Store
from imagery.catalogue import DatedLayer
from imagery.errors import ImageryError
from tracker.change import SiteChange, accept_change
from tracker.errors import TrackerError
from tracker.settings import Settings

from . import notices, state
from .safe import markdown_text

MEASURE_ERRORS = (ImageryError, FacilitiesError, TrackerError, OSError)


def about(value: float) -> str:
    """An area rounded to two significant figures for the headline: 7,329 -> "7,300", 86 -> "86".

    >>> about(7329.4), about(86.2), about(123_456)
    ('7,300', '86', '120,000')
    """
    if value < 100:
        return f"{value:,.0f}"
    step = 10 ** (int(math.floor(math.log10(value))) - 1)
    return f"{round(value / step) * step:,.0f}"


def headline(result: SiteChange, before: DatedLayer, after: DatedLayer) -> str:
    """The verdict in plain words, named by the two dates: "No significant change between 2020-05-01 and
    2023-06-01" or "About 7,300 m² changed (7,100–7,500 m²) between ... in 2 regions"."""
    c = result.change
    pair = f"between {before.date} and {after.date}"
    what = "built-up change" if c.built_up_only else "change"
    if not c.significant:
        return f"No significant {what} {pair}: no difference beats the two images' own noise."
    low, high = c.changed_m2_range
    regions = "1 region" if len(c.regions) == 1 else f"{len(c.regions)} regions"
    return (f"About {about(c.changed_m2)} m² changed ({low:,.0f}–{high:,.0f} m²) {pair}, in {regions}"
            + (" (built-up only)." if c.built_up_only else "."))


def method_caption(result: SiteChange) -> str:
    """The index and the method, for the analyst to quote; what was left out and how much of the area had data."""
    c = result.change
    index = {"ndvi": "NDVI (near-infrared)", "exg": "excess green (RGB)"}.get(c.index.value, c.index.value)
    parts = [f"Vegetation told apart with {index}.",
             f"Measured on {result.pixel_size_m:g} m pixels; {c.valid_fraction:.0%} of the area has data on both "
             "dates."]
    if c.vegetation_regions:
        parts.append(f"{len(c.vegetation_regions)} vegetation region(s) left out (dashed green on the map).")
    parts.append(f"Method: {c.method}.")
    return " ".join(parts)


def measure(store: Store, settings: Settings, facility: Facility, before: DatedLayer,
            after: DatedLayer) -> SiteChange | None:
    """The toggle, the verdict and the method caption above the map; None (and the reason shown) when the pair
    cannot be measured."""
    built_up_only = st.toggle("Built-up only", key=state.CHANGE_BUILT_UP,
                              help="Leave out change that the greenness index explains (crops, seasons, "
                                   "cut grass): count new roofs, cleared ground and paving.")
    if before.key == after.key:
        st.info("Before and After are the same image: pick two different dates to measure a change.")
        return None
    try:
        result = state.measured_change(store, settings, facility, before.key, after.key,
                                       built_up_only=built_up_only)
    except MEASURE_ERRORS as err:
        notices.warning("The change cannot be measured on this pair", err)
        return None
    st.markdown(f"#### {markdown_text(headline(result, before, after))}")
    st.caption(markdown_text(method_caption(result)))
    return result


def show_actions(store: Store, settings: Settings, result: SiteChange) -> None:
    """Under the map: the regions as a GeoJSON download and "Accept as observation" with its kind and confidence."""
    flash = state.pop_flash(state.CHANGE_FLASH)
    if flash:
        st.success(markdown_text(flash))
    c = result.change
    before_day, after_day = (d.isoformat() if d else "undated" for d in (result.before.date, result.after.date))
    if c.regions:  # nothing to download when no region beat the noise
        st.download_button("Download change polygons (GeoJSON)",
                           data=json.dumps(c.feature_collection(), ensure_ascii=False),
                           file_name=f"{result.facility.id}-change-{before_day}-{after_day}.geojson",
                           mime="application/geo+json", key="change_download",
                           help="The changed regions with area_m2, mean_difference and the two image keys")
    st.markdown("**Record this change**")
    k, cf, go = st.columns([2, 2, 2], vertical_alignment="bottom")
    kinds = [k.value for k in ObservationKind]
    kind = k.selectbox("Kind", kinds, index=kinds.index(ObservationKind.PROGRESS.value), key="change_kind")
    levels = [c.value for c in Confidence]
    confidence = cf.selectbox("Confidence", levels, index=levels.index(Confidence.MEDIUM.value),
                              key="change_confidence")
    if not go.button("Accept as observation", key="change_accept", type="primary" if c.significant else "secondary"):
        return
    if not c.significant:
        st.info("Not recorded: nothing changed beyond the two images' own noise, so there is no change to record. "
                "Pick another pair, or draw what you see on the Swipe view and record it as an observation.")
        return
    try:
        recorded = accept_change(store, result, actor=state.actor(settings), kind=kind, confidence=confidence)
    except (FacilitiesError, TrackerError, OSError) as err:
        st.error(markdown_text(f"Not recorded: {err}"))
        return
    state.flash(state.CHANGE_FLASH, f"Recorded observation {recorded.id}: {recorded.kind.value} on {recorded.date}, "
                                    f"{c.changed_m2:,.0f} m² in {len(c.regions)} region(s). It is in the "
                                    "site's timeline on the Registry page.")
    st.rerun()
