"""The registry map in the page: builds the folium map (ui.map), serves its scripts locally
(ui.assets) and shows it through st_folium."""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st
from streamlit_folium import st_folium

from facilities.model import Facility, Structure
from facilities.settings import Settings

from .assets import AssetError, localise, serve_assets
from .map import build_map

MAP_HEIGHT = 560


def show_map(facilities: Sequence[Facility], structures: Sequence[Structure], selected_id: str,
             settings: Settings) -> None:
    try:
        m = build_map(facilities, structures, selected_id=selected_id, offline=settings.offline)
        localise(m, serve_assets(settings.data_dir))
    except (AssetError, OSError) as err:
        st.error(f"The map cannot be drawn offline: {err}")
        return
    # Nothing returned: panning and clicking never rerun the script.
    st_folium(m, key="registry_map", height=MAP_HEIGHT, use_container_width=True, returned_objects=[])
    if settings.offline:
        st.caption("Offline mode: online imagery is off (TRACKER_OFFLINE); the basemap is Natural Earth.")
