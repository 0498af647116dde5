"""The registry map in the page: builds the folium map (ui.map), serves its scripts locally
(ui.assets) and shows it through st_folium.

The base map's script does not depend on the selected facility (ui.map.map_parts), so
streamlit-folium keeps the same Leaflet map across reruns: switching facility only swaps the
selection layer (`feature_group_to_add=`) and moves the view (`center=`, `zoom=`), without
reloading the map, its scripts or its tens of thousands of sites.
"""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st
from streamlit_folium import st_folium

from facilities.model import Facility, Structure
from tracker.settings import Settings

from .assets import AssetError, localise, serve_assets
from .map import map_parts

MAP_HEIGHT = 560


def show_map(facilities: Sequence[Facility], structures: Sequence[Structure], selected_id: str,
             settings: Settings) -> None:
    """Draw the registry map in the page, with every script served locally; an error message instead if the local
    copies cannot be served."""
    try:
        parts = map_parts(facilities, structures, selected_id=selected_id, offline=settings.offline)
        assets = serve_assets(settings.data_dir)
        localise(parts.base, assets)
        localise(parts.selection, assets)  # core Leaflet only today; refuse a CDN plugin tomorrow
    except (AssetError, OSError) as err:
        st.error(f"The map cannot be drawn offline: {err}")
        return
    # Nothing returned: panning and clicking never rerun the script. render=False: st_folium renders the map itself
    # once either way; the figure-wide render it adds first draws every layer a second time (bench.map_rerun_bench).
    st_folium(parts.base, key="registry_map", height=MAP_HEIGHT, use_container_width=True, returned_objects=[],
              feature_group_to_add=parts.selection, center=parts.center, zoom=parts.zoom, render=False)
    if parts.large:
        st.caption(f"{len(facilities):,} facilities: sites are clustered points; outlines are drawn around "
                   "the selected facility.")
    if settings.offline:
        st.caption("Offline mode: online imagery is off; the basemap is Natural Earth.")
