"""The sidebar's spatial question: sites near a point or the selected site, sites inside an uploaded
area, the nearest site to each feature of an uploaded layer. Thin over tracker.spatial; answers are
shown as a table, and every text that came from the analyst (a file name, a site id) as plain text
or escaped markdown, never as live markup.
"""

from __future__ import annotations

import streamlit as st

from facilities.errors import FacilitiesError
from facilities.store import Store
from tracker import spatial
from tracker.settings import Settings

from . import state
from .import_page import limits
from .safe import markdown_text

QUESTIONS = ("Sites near a point", "Sites near the selected site", "Sites inside an uploaded area",
             "Nearest site to each uploaded feature")


def spatial_sidebar(store: Store, settings: Settings, selected_id: str | None) -> None:
    """The expander in the sidebar: pick a question, give its inputs, see the answer below. Its widgets and answer
    table are drawn only while it is open, so their scripts never delay the map."""
    panel = st.sidebar.expander("Spatial question", key=state.SPATIAL_OPEN, on_change="rerun")
    if not panel.open:
        return
    with panel:
        question = st.radio("Question", QUESTIONS, key="spatial_question", label_visibility="collapsed")
        upload = None
        if question == QUESTIONS[0]:
            lon = st.number_input("Longitude", -180.0, 180.0, 127.536, format="%.5f", key="spatial_lon")
            lat = st.number_input("Latitude", -90.0, 90.0, 39.918, format="%.5f", key="spatial_lat")
        if question in QUESTIONS[:2]:
            km = st.number_input("Within (km, geodesic)", 0.0, 20_000.0, 20.0, step=1.0, key="spatial_km")
        if question in QUESTIONS[2:]:
            upload = st.file_uploader("Layer (GeoJSON, GeoPackage, FlatGeobuf, zipped Shapefile, KML, ...)",
                                      type=[s.lstrip(".") for s in spatial.LAYER_SUFFIXES], key="spatial_layer")
            st.caption(limits(settings).outlines)  # the same sentence as the Import page's
        if st.button("Ask", key="spatial_ask"):
            try:
                if question == QUESTIONS[0]:
                    answer = spatial.near_point(store, lon, lat, km)
                elif question == QUESTIONS[1]:
                    if selected_id is None:
                        raise FacilitiesError("pick a facility in the list above first")
                    answer = spatial.near_site(store, selected_id, km)
                elif upload is None:
                    raise FacilitiesError("upload a layer first")
                else:
                    layer = spatial.read_layer_bytes(upload.getvalue(), upload.name,
                                                     max_bytes=settings.max_import_mb * 2**20)
                    answer = (spatial.inside(store, layer, label=upload.name) if question == QUESTIONS[2]
                              else spatial.nearest(store, layer, label=upload.name))
                st.session_state[state.SPATIAL_ANSWER] = answer
            except (FacilitiesError, OSError) as err:
                st.session_state.pop(state.SPATIAL_ANSWER, None)
                st.error(markdown_text(err))
        answer = st.session_state.get(state.SPATIAL_ANSWER)
        if answer is not None:
            table = answer.table()
            st.text(f"{answer.question}: {len(table)}")
            st.dataframe(table, hide_index=True)
