"""The registry page's "Date a structure from the images": when a structure with a footprint appeared (or
disappeared), proposed from the site's analysable images (tracker.dating), shown with the two images that bound
it, the per-image scores and the images left out, and recorded as an observation only when the analyst accepts.

Dating reads every analysable image of the site, so it runs when the analyst clicks "Date from images", never
on page load; the answer is kept in ui.state (per structure version and local imports) and shown again on the
next visit without reading anything.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import urlencode

import pandas as pd
import streamlit as st

from facilities.errors import FacilitiesError
from facilities.model import Observation, Structure
from facilities.store import Store
from imagery.errors import ImageryError
from tracker.dating import Dating, accept_dating, short_key
from tracker.errors import NothingToDate, TrackerError
from tracker.settings import Settings
from tracker.site import SiteView

from . import notices, state
from .safe import markdown_text

ERRORS = (FacilitiesError, ImageryError, TrackerError, OSError)
NO_FOOTPRINT = "trace its footprint on Compare first"
SOURCE_NAMES = {"wayback": "Esri Wayback", "eox": "Sentinel-2 cloudless", "sentinel-2": "Sentinel-2 scenes",
                "local": "Local images"}
NOTHING_TO_DATE = ("Nothing to date: no image of this site can be measured (Esri Wayback imagery is display only, "
                   "and yearly Sentinel-2 cloudless composites blend many dates). Import your own GeoTIFFs of the "
                   "site on the Import page, then try again.")


def has_footprint(s: Structure) -> bool:
    """Whether the structure is outlined (a polygon with an area), so it can be dated."""
    return s.geometry.geom_type in ("Polygon", "MultiPolygon") and s.footprint_m2 > 0


def compare_link(facility_id: str, before: str | None = None, after: str | None = None) -> str:
    """The Compare page on this site; with two image keys, on that pair in the Difference view."""
    query = {state.PICKER: facility_id}
    if before and after:
        query.update({"before": before, "image": after, "view": "Difference"})
    return "compare?" + urlencode(query)


def scores_frame(dating: Dating) -> pd.DataFrame:
    """One row per image measured, oldest first: date, score, image (short key) and state ("absent"/"present"
    on either side of the bracket, "measured" without one)."""
    split = None
    if dating.after is not None:
        split = next((i for i, s in enumerate(dating.scores) if s.key == dating.after.key), None)
    rows = []
    for i, s in enumerate(dating.scores):
        if split is None:
            side = "measured"
        else:
            old, new = ("absent", "present") if dating.change == "appeared" else ("present", "absent")
            side = old if i < split else new
        rows.append({"date": pd.Timestamp(s.date), "score": round(s.score, 3), "image": short_key(s.key),
                     "state": side})
    return pd.DataFrame(rows, columns=["date", "score", "image", "state"])


def skipped_frame(dating: Dating) -> pd.DataFrame:
    """The images left out, with why: date, image, reason."""
    return pd.DataFrame([{"date": str(s.date), "image": short_key(s.key), "reason": s.reason}
                         for s in dating.skipped], columns=["date", "image", "reason"])


def scores_chart(frame: pd.DataFrame):
    """The per-image scores over time: points coloured by the state each image shows, joined by a line."""
    import altair as alt

    x = alt.X("date:T", title=None)
    y = alt.Y("score:Q", title="Roof vs ground (bits)", scale=alt.Scale(domain=[0, 1]))
    tips = [alt.Tooltip("date:T", title="Date"), alt.Tooltip("score:Q", title="Score", format=".2f"),
            alt.Tooltip("state:N", title="Looks")]
    line = alt.Chart(frame).mark_line(color="#adb5bd").encode(x=x, y=y)
    points = alt.Chart(frame).mark_point(filled=True, size=80).encode(x=x, y=y, tooltip=tips)
    colours = {"absent": "#868e96", "present": "#e8590c", "measured": "#1c7ed6"}
    shown = [k for k in colours if k in set(frame["state"])]
    points = points.encode(color=alt.Color("state:N", title=None, scale=alt.Scale(
        domain=shown, range=[colours[k] for k in shown])))
    return (line + points).properties(height=200)


def headline(dating: Dating) -> str:
    """The finding in words: the first line of Dating.text() without its count of skipped images (they are listed
    with their reasons below it)."""
    return re.sub(r", (no image skipped|\d+ images skipped:)$", "", dating.text().splitlines()[0]) + "."


def show_dating(store: Store, settings: Settings, site: SiteView) -> None:
    """Pick a structure, date it on request, show the proposal and offer to record it."""
    st.markdown("**Date a structure from the images**")
    flash = state.pop_flash(state.DATING_FLASH)
    if flash:
        st.success(markdown_text(flash))
    facility = site.facility
    structures: Sequence[Structure] = site.structures
    if not structures:
        st.caption("This site has no structures yet: draw one on Compare imagery and record it as a structure.")
        return
    by_id = {s.id: s for s in structures}
    ids = sorted(by_id, key=lambda k: (not has_footprint(by_id[k]), by_id[k].name))
    sid = st.selectbox("Structure", ids, key=state.DATING_STRUCTURE,
                       format_func=lambda k: by_id[k].name if has_footprint(by_id[k])
                       else f"{by_id[k].name} ({NO_FOOTPRINT})")
    structure = by_id[sid]
    if not has_footprint(structure):
        st.info(markdown_text(f"{structure.name} is located by a point, not an outline, so there is nothing to "
                              "compare with the ground around it. Trace its footprint on Compare first (draw its "
                              "outline, then Record as: Footprint of a structure), or drop a point inside it there "
                              "to have one proposed."))
        st.link_button("Open Compare imagery", compare_link(facility.id))
        return
    found = state.cached_dating(settings, facility.id, structure)
    if st.button("Date from images", key="dating_run", type="primary",
                 help="Reads every image of the site the server may analyse (local imports, Sentinel-2 scenes); "
                      "this can take a while"):
        with st.spinner("Reading the site's images around the footprint…"):
            try:
                found = state.dating(store, settings, facility.id, structure)
            except NothingToDate:
                st.info(NOTHING_TO_DATE)
                return
            except ERRORS as err:
                notices.error("The structure cannot be dated", err)
                return
    if found is None:
        st.caption("Compares the footprint with the ground around it on every image of the site the server may "
                   "analyse, and finds when that changed. Runs only when you click.")
        return
    _show_result(store, settings, site, found)


def recorded_as(site: SiteView, dating: Dating) -> Observation | None:
    """The observation an earlier Accept of this very bracket recorded (same structure, both images named), if any."""
    if dating.before is None or dating.after is None:
        return None
    for o in site.observations:
        if (o.structure_id == dating.structure.id and o.kind.value in ("completed", "demolished")
                and str(dating.before.key) in o.notes and str(dating.after.key) in o.notes):
            return o
    return None


def _show_result(store: Store, settings: Settings, site: SiteView, dating: Dating) -> None:
    st.markdown(f"##### {markdown_text(headline(dating))}")
    if dating.before is not None and dating.after is not None:
        old, new = ("absent", "present") if dating.change == "appeared" else ("still standing", "gone")
        a, b, c = st.columns([2, 2, 2], vertical_alignment="bottom")
        a.metric(f"Last image {old}", str(dating.before.date), help=str(dating.before.key))
        b.metric(f"First image {new}", str(dating.after.date), help=str(dating.after.key))
        c.link_button("Open the two images in Compare",
                      compare_link(dating.facility_id, str(dating.before.key), str(dating.after.key)))
    elif dating.change == "unclear" and not dating.scores:
        st.info(NOTHING_TO_DATE)
    elif dating.change == "unclear":
        st.info("Too few images could be measured to date it. Import more images of the site on the Import page, "
                "ideally from before and after the building went up.")
    if dating.scores:
        st.altair_chart(scores_chart(scores_frame(dating)), width="stretch")
        st.caption("Each point is one image: high where the footprint looks unlike the ground around it (a roof), "
                   f"low where it looks the same. {len(dating.scores)} images measured on {dating.pixel_m:g} m "
                   "pixels.")
    if dating.skipped:
        with st.expander(f"{len(dating.skipped)} images left out, and why"):
            st.dataframe(skipped_frame(dating), hide_index=True,
                         column_config={"reason": st.column_config.TextColumn(width="large")})
    for source, why in dating.notes.items():
        st.caption(markdown_text(f"{SOURCE_NAMES.get(source, source)} not looked at: {why}"))
    if dating.change not in ("appeared", "disappeared"):
        return
    done = recorded_as(site, dating)
    if done is not None:
        st.caption(markdown_text(f"Recorded as observation {done.id} ({done.kind.value}, {done.date})."))
        return
    if dating.confidence == "low":
        st.caption("Low confidence: look at the two images before accepting.")
    if not st.button("Accept: record as an observation", key="dating_accept", type="primary"):
        return
    try:
        recorded = accept_dating(store, dating, actor=state.actor(settings))
    except ERRORS as err:
        st.error(markdown_text(f"Not recorded: {err}"))
        return
    state.flash(state.DATING_FLASH, f"Recorded observation {recorded.id}: {dating.structure.name} "
                                    f"{recorded.kind.value}, {recorded.date} ({recorded.confidence.value} "
                                    "confidence). It is in the timeline above.")
    st.rerun()
