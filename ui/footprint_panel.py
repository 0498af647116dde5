"""Under the compare map, "Record as: Footprint of a structure": an outline the analyst traced, or one proposed from
the pixels around a point the analyst dropped inside a building, saved as a structure's footprint with the image it
was traced on (tracker.footprints).

Tracing is by eye in the browser, so a traced outline may be saved from any image, Esri Wayback included. A
proposal reads pixels on the server, so it needs an image the server may read (a local import, a Sentinel-2
scene) that is fine enough (at most 2 m pixels); the refusal says which and what to do instead. The proposal is
kept in the session (ui.state.FOOTPRINT_PROPOSAL) and drawn on the compare map until it is saved or replaced.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import folium
import streamlit as st
from shapely.geometry.base import BaseGeometry

from facilities.errors import FacilitiesError
from facilities.model import Facility, Structure
from facilities.store import Store
from imagery.catalogue import DatedLayer
from imagery.errors import ImageryError
from tracker.errors import TrackerError
from tracker.footprints import ProposedFootprint, propose, save_footprint
from tracker.settings import Settings

from . import notices, state
from .measure_map import proposal_outline
from .safe import markdown_text

FOOTPRINT = "Footprint of a structure"
ERRORS = (FacilitiesError, ImageryError, TrackerError, OSError)


def _proposal(facility_id: str) -> ProposedFootprint | None:
    found = state.get(state.FOOTPRINT_PROPOSAL)
    return found if isinstance(found, ProposedFootprint) and found.facility.id == facility_id else None


def add_proposal(group: folium.FeatureGroup, facility_id: str) -> None:
    """Draw the session's proposed footprint for this facility (if any) in the map's imagery group."""
    found = _proposal(facility_id)
    if found is not None:
        proposal_outline(found).add_to(group)


def _structure_label(s: Structure) -> str:
    has = s.geometry.geom_type in ("Polygon", "MultiPolygon")
    return s.name if has else f"{s.name} (a point: no footprint yet)"


def _saved(store: Store, settings: Settings, facility: Facility, structure: Structure, geometry: BaseGeometry,
           layer: DatedLayer | None, *, regularise: bool, acquired: dt.date | None = None) -> None:
    """Save and say so after the rerun (the map then shows the new footprint), or say why not."""
    image = layer.image if layer is not None else None
    try:
        saved = save_footprint(store, structure.id, geometry, image, regularise=regularise, actor=state.actor(settings),
                               acquired=acquired if acquired is not None else (layer.acquired if layer else None),
                               facility_id=facility.id, expected_version=structure.version)
    except ERRORS as err:
        st.error(markdown_text(f"Not saved: {err}"))
        return
    squared = f", corners squared ({saved.area_change:+.0%} area)" if saved.regularisation else ""
    on = f" on {layer.title}" if layer is not None else ""
    state.drop(state.FOOTPRINT_PROPOSAL)
    state.flash(state.ANNOTATE_FLASH, f"Saved the footprint of {saved.structure.name}: {saved.area_m2:,.0f} m², "
                                      f"traced{on}{squared}. It can now be dated on the Registry page.")
    st.rerun()


def show_footprint(store: Store, settings: Settings, facility: Facility, structures: Sequence[Structure],
                   geom: BaseGeometry, current: DatedLayer | None, shown: Sequence[DatedLayer]) -> None:
    """The footprint form for the last drawing: save a traced outline, or propose one from a dropped point."""
    if not structures:
        st.info("This site has no structures yet. Record the outline as a Structure first (Record as: Structure): "
                "it is then saved with that outline as its footprint.")
        return
    by_id = {s.id: s for s in structures}
    layers = {layer.key: layer for layer in shown}
    c1, c2 = st.columns(2)
    sid = c1.selectbox("Structure", list(by_id), format_func=lambda k: _structure_label(by_id[k]),
                       key="footprint_structure")
    structure = by_id[sid]
    keys = list(layers)
    image_key = c2.selectbox("Image", keys, index=keys.index(current.key) if current and current.key in layers else 0,
                             format_func=lambda k: layers[k].title, key="footprint_image",
                             help="The image the outline was traced on (recorded with the footprint)")
    layer = layers.get(image_key)
    if geom.geom_type == "Point":
        _propose_here(store, settings, facility, structure, geom, layer)
        return
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        st.info("A footprint is an outline: draw the building with the polygon or rectangle tool, or drop a point "
                "(marker) inside it to have its outline proposed from the image.")
        return
    regularise = st.checkbox("Square the corners", value=True, key="footprint_square",
                             help="Straighten the traced outline into right angles (buildingregulariser)")
    if st.button(f"Save as footprint of {markdown_text(structure.name)}", key="footprint_save", type="primary"):
        _saved(store, settings, facility, structure, geom, layer, regularise=regularise)


def _propose_here(store: Store, settings: Settings, facility: Facility, structure: Structure, point: BaseGeometry,
                  layer: DatedLayer | None) -> None:
    """"Propose footprint" at the dropped point on the chosen image, then the proposal and its Save button."""
    if layer is None:
        st.info("No image is shown: pick a date first, then drop the point inside a building.")
        return
    if not layer.readable:
        st.info(markdown_text(f"{layer.title} is display only: its terms let your browser show it but not the "
                              "server read its pixels, so no footprint can be proposed from it. Trace the outline "
                              "with the polygon tool instead, or pick a local image."))
        return
    click = (point.x, point.y)
    if st.button("Propose footprint", key="footprint_propose",
                 help="Outline the building around the point from the image's colours and edges"):
        with st.spinner("Outlining the building around the point…"):
            try:
                found = propose(store, state.imagery(settings), facility.id, layer.image, *click)
            except ERRORS as err:
                state.drop(state.FOOTPRINT_PROPOSAL)
                notices.warning("No footprint proposed", err)
                return
        state.put(state.FOOTPRINT_PROPOSAL, found)
        st.rerun()  # the map draws the proposal
    shown_proposal = _proposal(facility.id)
    if shown_proposal is None or shown_proposal.click != click or str(shown_proposal.image) != layer.key:
        st.caption("Drop the point inside one building, then click Propose footprint; the outline appears in "
                   "cyan on the map.")
        return
    found = shown_proposal
    p = found.proposal
    st.markdown(markdown_text(f"Proposed footprint (cyan on the map): {p.area_m2:,.0f} m², confidence "
                              f"{p.confidence} (score {p.score:.2f}), on {found.pixel_m:g} m pixels."))
    for note in p.notes:
        st.caption(markdown_text(note))
    if p.confidence == "low":
        st.caption("Low confidence: check the outline against the image; you can trace it by hand instead.")
    if st.button(f"Save as footprint of {markdown_text(structure.name)}", key="footprint_save_proposal",
                 type="primary"):
        _saved(store, settings, facility, structure, p.geometry, layer, regularise=False, acquired=found.acquired)
