"""Record what the analyst drew on the compare map: an observation (dated, on the image it was drawn
on, with confidence and source) or a structure, with a new source if one was typed. Everything is
checked before the first write, so a bad form writes nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import streamlit as st

from facilities.annotations import DrawnOn, drawn_geometry, new_observation, new_source, new_structure
from facilities.dates import utc_today
from facilities.errors import FacilitiesError
from facilities.geometry import ground_area_m2
from facilities.model import Confidence, Facility, LocationPrecision, ObservationKind, Structure
from facilities.store import Store
from imagery.base import DateCertainty
from imagery.catalogue import DatedLayer
from tracker.edits import record_drawing
from tracker.images import drawn_on as image_drawn_on
from tracker.settings import Settings

from . import state
from .footprint_panel import FOOTPRINT, show_footprint
from .safe import markdown_text

PRECISIONS = {"day": "Day", "month": "Month", "year": "Year", "approximate": "Approximate (month)"}
NO_IMAGE = ""


def partial_date(day: dt.date, precision: str) -> str:
    """The registry's date text for a day and a precision: 2024-11-25, 2024-11, 2024 or ~2024-11."""
    return {"day": day.isoformat(), "month": day.strftime("%Y-%m"), "year": f"{day.year:04d}",
            "approximate": "~" + day.strftime("%Y-%m")}[precision]


def default_precision(layer: DatedLayer | None) -> str:
    """How precisely the image dates what is seen on it."""
    if layer is None:
        return "day"
    return {DateCertainty.CAPTURED: "day", DateCertainty.STATED: "day", DateCertainty.RELEASED: "approximate",
            DateCertainty.COMPOSITE: "year"}[layer.certainty]


def drawn_on(layer: DatedLayer | None) -> DrawnOn | None:
    """The image a shape was drawn on, from the layer's image key: what the "open image" link finds again."""
    return None if layer is None else image_drawn_on(layer.image, layer.acquired)


def _measure(geom) -> str:
    if "Polygon" in geom.geom_type:
        return f"{geom.geom_type}, {ground_area_m2(geom):,.0f} m²"
    if "Line" in geom.geom_type:
        from pyproj import Geod

        return f"{geom.geom_type}, {Geod(ellps='WGS84').geometry_length(geom):,.0f} m"
    return geom.geom_type


def show_annotate(store: Store, settings: Settings, facility: Facility, structures: Sequence[Structure],
                  result: dict, current: DatedLayer | None, shown: Sequence[DatedLayer]) -> None:
    """The form under the compare map that records what was last drawn on it: as an observation on the image shown,
    or as a new structure of the facility."""
    st.markdown("**Record what you drew**")
    saved = state.pop_flash(state.ANNOTATE_FLASH)
    if saved:
        st.success(markdown_text(saved))
    drawing = (result or {}).get("last_active_drawing")
    if not drawing:
        st.caption("Draw a polygon, line or point with the tools at the map's top left; it can then be recorded "
                   "as an observation on the image shown, as a structure, or as a structure's footprint (drop a "
                   "point inside a building to have its outline proposed from the image).")
        return
    try:
        geom = drawn_geometry(drawing)
    except FacilitiesError as err:
        st.error(markdown_text(f"The drawn shape cannot be recorded: {err}"))
        return
    st.caption(f"Drawn: {_measure(geom)}")
    kind = st.radio("Record as", ("Observation", "Structure", FOOTPRINT), horizontal=True, key="record_as",
                    help="Footprint of a structure: the outline you traced (or one proposed from a point you "
                         "dropped inside a building) becomes that structure's footprint")
    if kind == FOOTPRINT:
        show_footprint(store, settings, facility, structures, geom, current, shown)
        return
    try:
        sources = store.list_sources()
    except (FacilitiesError, OSError) as err:
        st.error(markdown_text(f"The registry's sources cannot be read: {err}"))
        return
    source_titles = {s.id: s.title for s in sources}
    layers = {layer.key: layer for layer in shown}
    with st.form("record_drawing"):
        if kind == "Observation":
            c1, c2, c3 = st.columns(3)
            image_key = c1.selectbox("Drawn on image", [*layers, NO_IMAGE],
                                     index=list(layers).index(current.key) if current and current.key in layers else 0,
                                     format_func=lambda k: layers[k].title if k else "no image", key="record_image")
            layer = layers.get(image_key)
            day = c2.date_input("Date", value=layer.date if layer else utc_today(), key="record_date",
                                min_value=dt.date(1800, 1, 1), max_value=utc_today())
            precision = c3.selectbox("Date precision", list(PRECISIONS), format_func=PRECISIONS.get,
                                     index=list(PRECISIONS).index(default_precision(layer)), key="record_precision")
            c4, c5, c6 = st.columns(3)
            obs_kind = c4.selectbox("Kind", [k.value for k in ObservationKind], index=1, key="record_kind")
            confidence = c5.selectbox("Confidence", [c.value for c in Confidence], index=1, key="record_confidence")
            own = {s.id: s.name for s in structures}
            structure_id = c6.selectbox("Structure", ["", *own], format_func=lambda k: own.get(k, "—"),
                                        key="record_structure")
            summary = st.text_input("Summary", key="record_summary", max_chars=2000,
                                    placeholder="e.g. New roof on the eastern assembly hall")
        else:
            c1, c2, c3 = st.columns(3)
            name = c1.text_input("Name", key="record_name", placeholder="Building C")
            skind = c2.text_input("Kind", value="building", key="record_skind")
            built = c3.text_input("Built (date, optional)", key="record_built", placeholder="2019 or 2019-05")
        chosen_sources = st.multiselect("Sources", list(source_titles), format_func=source_titles.get,
                                        key="record_sources")
        s1, s2 = st.columns(2)
        new_title = s1.text_input("…or a new source: title", key="record_source_title")
        new_url = s2.text_input("New source: link", key="record_source_url")
        notes = st.text_area("Notes", key="record_notes", height=80)
        submitted = st.form_submit_button(f"Save {kind.lower()}")
    if not submitted:
        return
    try:
        added_sources = []
        if new_title.strip():
            added_sources.append(new_source(new_title, new_url, existing_ids=set(source_titles)))
        source_ids = (*chosen_sources, *(s.id for s in added_sources))
        if kind == "Observation":
            record = new_observation(facility.id, geom, date=partial_date(day, precision), kind=obs_kind,
                                     summary=summary, confidence=confidence, analyst=state.actor(settings),
                                     drawn_on=drawn_on(layer), source_ids=source_ids, notes=notes,
                                     structure_id=structure_id or None)
        else:
            record = new_structure(facility.id, geom, name=name, kind=skind, built=built,
                                   precision=LocationPrecision.DIGITISED, notes=notes, source_ids=source_ids,
                                   existing_ids={s.id for s in structures})
    except (FacilitiesError, ValueError) as err:
        st.error(markdown_text(f"Not saved: {err}"))
        return
    try:  # everything is checked above; tracker.edits writes the sources and the record, all or nothing
        record_drawing(store, record, added_sources, state.actor(settings))
    except (FacilitiesError, OSError) as err:
        st.error(markdown_text(f"Not saved: the registry could not be written ({err})."))
        return
    # Rerun: the map is drawn again with the new record on it and an empty draw layer, so the
    # same shape cannot be saved twice by accident.
    state.flash(state.ANNOTATE_FLASH, f"Saved {kind.lower()} {record.id}.")
    st.rerun()
