"""The compare page: one site's imagery across dates (swipe, side by side, time slider, difference),
and the shapes the analyst draws on it recorded as observations or structures (ui.annotate).

Imagery work goes through ui.state's caches into the imagery session: the site's area is computed
once per run, and each user action reaches the session once per kind of work (a rerun without
change not at all)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from facilities.errors import FacilitiesError
from facilities.store import Filter, Store
from imagery.aoi import AreaOfInterest
from imagery.catalogue import DatedLayer
from imagery.errors import Cancelled, ImageryError
from imagery.session import Catalogue, unreadable
from imagery.wayback import CAPTURE_DATE_RULE
from tracker.availability import Availability
from tracker.compare_defaults import (
    DEFAULT_SOURCES,
    SOURCES,
    default_sources,
    opening_layer,
    opening_pair,
    showable_layers,
)
from tracker.local_sites import sites_with_local_imagery
from tracker.settings import Settings

from . import change_panel, notices, state
from .annotate import show_annotate
from .assets import AssetError, localise, serve_assets
from .compare_map import base_map, date_layer, dates_group, dual_map
from .footprint_panel import add_proposal
from .import_page import limits
from .measure_map import change_regions, vegetation_regions
from .overlays import overlay_prefix, overlay_url
from .safe import markdown_text
from .scan_progress import ScanProgress
from .timelapse_panel import show_timelapse
from .timeline_strip import show_strip

MODES = ("Swipe", "Side by side", "Time slider", "Difference")
__all__ = ["DEFAULT_SOURCES", "MODES", "SOURCES", "compare_page"]  # the sources: tracker.compare_defaults
MAP_HEIGHT = 560
READ_ERRORS = (FacilitiesError, OSError)


def _folium_layer(settings: Settings, layer: DatedLayer, aoi: AreaOfInterest):
    """A folium layer for a dated layer; server-rendered ones need their PNG first (made once)."""
    if layer.tiles:
        return date_layer(layer)
    ov = state.overlay(settings, layer, aoi)
    return date_layer(layer, overlay_url(ov, overlay_prefix(ov.path.parent)), ov.bounds)


def _default_pair(layers: Sequence[DatedLayer], down: frozenset[str]) -> tuple[DatedLayer, DatedLayer]:
    """The pair to open with: two dates that can be shown now (tracker.compare_defaults), unless a link names
    one."""
    by_key = {layer.key: layer for layer in layers}
    first, last = opening_pair(layers, down) or (layers[0], layers[-1])
    wanted = st.query_params.get("image")  # the timeline's "open image" link
    if wanted in by_key:
        last = by_key[wanted]
        if first.key == last.key or first.date > last.date:
            earlier = [layer for layer in layers if layer.date < last.date]
            first = earlier[-1] if earlier else first
    paired = st.query_params.get("before")  # a dating's "open the two images" link names both
    if paired in by_key and paired != last.key:
        first = by_key[paired]
    return first, last


def _seed_choices(layers: Sequence[DatedLayer], slider: bool, down: frozenset[str]) -> None:
    """The pair's and the slider's defaults in their session keys when missing or gone from the list, so the
    strip and the widgets read one state (the widgets then take no default of their own)."""
    keys = {layer.key for layer in layers}
    if slider:
        if state.get(state.COMPARE_SLIDER) not in keys:
            wanted = st.query_params.get("image")
            newest = opening_layer(layers, down) or layers[-1]
            state.put(state.COMPARE_SLIDER, wanted if wanted in keys else newest.key)
        return
    first, last = _default_pair(layers, down)
    if state.get(state.COMPARE_BEFORE) not in keys:
        state.put(state.COMPARE_BEFORE, first.key)
    if state.get(state.COMPARE_AFTER) not in keys:
        state.put(state.COMPARE_AFTER, last.key)


def _pick_pair(layers: Sequence[DatedLayer]) -> tuple[DatedLayer, DatedLayer]:
    by_key = {layer.key: layer for layer in layers}
    keys = list(by_key)
    left, right = st.columns(2)
    before = left.selectbox("Before", keys, format_func=lambda k: by_key[k].title, key=state.COMPARE_BEFORE)
    after = right.selectbox("After", keys, format_func=lambda k: by_key[k].title, key=state.COMPARE_AFTER)
    return by_key[before], by_key[after]


def _caption(label: str, layer: DatedLayer) -> None:
    # Titles and attributions of local images carry analyst-typed text: markdown_text escapes it.
    rule = f" Wayback {CAPTURE_DATE_RULE}." if layer.source == "Wayback" else ""
    st.caption(markdown_text(f"{label}: {layer.title} — {layer.describe()}. {layer.attribution_text}{rule}"))


def _show(m, *, group=None, drawing: bool = True, key: str = "compare_map") -> dict | None:
    returned = ["all_drawings", "last_active_drawing"] if drawing else []
    return st_folium(m, key=key, height=MAP_HEIGHT, use_container_width=True, feature_group_to_add=group,
                     returned_objects=returned)


def _catalogue(settings: Settings, aoi: AreaOfInterest, flags: dict[str, bool]) -> Catalogue:
    """The catalogue; a first Wayback scan shows its progress and a Cancel button. After Cancel, the other sources
    still list, with a button to scan Wayback again."""
    if flags["wayback"] and state.get(state.SCAN_CANCELLED) == aoi.key:
        cat = state.catalogue(settings, aoi, **{**flags, "wayback": False})
        st.info("The Wayback scan was cancelled, so its releases are not listed. What it fetched is kept: "
                "a new scan resumes from there.")
        if st.button("Scan Wayback again", key="compare_rescan"):
            state.drop(state.SCAN_CANCELLED)
            st.rerun()
        return cat
    kept = state.cached_catalogue(settings, aoi, **flags)
    if kept is not None:
        return kept
    box = st.empty()
    with box.container():
        bar = st.progress(0.0, text="Finding the dates imagery changed here…")
        st.button("Cancel the scan", key=state.SCAN_CANCEL, on_click=state.put, args=(state.SCAN_CANCELLED, aoi.key))
    hooks = ScanProgress(bar)
    try:
        cat = state.catalogue(settings, aoi, **flags, progress=hooks, cancelled=hooks.cancelled)
    except Cancelled:
        state.put(state.SCAN_CANCELLED, aoi.key)
        box.empty()
        st.rerun()
    box.empty()
    return cat


def _status_rows(settings: Settings) -> tuple[list[dict[str, object]], str | None]:
    """The services' status rows, probed once per browser session (ui.notices)."""
    return notices.service_rows(settings)


def _services_panel(settings: Settings, cat: Catalogue | None,
                    rows: tuple[list[dict[str, object]], str | None]) -> None:
    with st.expander("Imagery services", expanded=bool(cat and cat.problems)):
        table, error = rows
        if error is None:
            st.dataframe(pd.DataFrame(table), hide_index=True)
        else:
            st.warning(markdown_text(error))
        if settings.offline:
            st.caption("Offline mode: only answers kept on this machine and local images are used.")
        else:
            st.button("Check the services again", key="compare_check_services", on_click=notices.check_again,
                      help="The services were checked when this browser session started; ask them again.")


def _warn_if_unreachable(rows: list[dict[str, object]], service: str) -> None:
    """Browser-fetched layers fail silently in the map: say so above it when the service is down."""
    row = next((r for r in rows if r["service"] == service), None)
    if row is not None and str(row["status"]).startswith("unreachable"):
        st.warning(f"{service} is unreachable: its layers are listed but will not load until it answers.")


def _open_site(facility_id: str) -> None:
    """A button's callback: show this site (the sidebar's picker and the URL follow)."""
    state.put(state.PICKER, facility_id)
    st.query_params[state.PICKER] = facility_id


def _nothing_to_show(store: Store, settings: Settings, facility_id: str, layers: Sequence[DatedLayer],
                     found: Availability) -> None:
    """No date of this site can be drawn now: say why, and guide to the Import page and to the sites whose
    imagery is on this machine (they open offline)."""
    if found.all_down:
        online = ("online imagery is off (offline mode)" if found.offline
                  else "the online imagery services cannot be reached")
        why = online if not layers else f"the {len(layers)} date(s) listed are online imagery, which cannot show now"
        why += ", and no image of this site is on this machine"
    elif not layers:
        why = "no dated imagery of this site from the chosen sources"
    else:
        why = (f"the {len(layers)} date(s) listed come from {', '.join(sorted(found.down_sources & set(SOURCES)))}, "
               "which does not answer now")
    st.info(f"Nothing to compare here yet: {why}. To compare your own images, import a GeoTIFF of this site on "
            "the Import page (in the menu on the left).", icon=":material/upload_file:")
    st.caption(limits(settings).images)
    try:
        cached = [s for s in sites_with_local_imagery(store, state.imagery(settings)) if s.facility.id != facility_id]
    except (FacilitiesError, ImageryError, OSError) as err:
        notices.warning("The sites with imagery on this machine cannot be listed", err)
        return
    if not cached:
        st.caption("No other site has imported imagery on this machine yet.")
        return
    st.markdown("**Sites with imagery on this machine** (they open without a network):")
    for n, site in enumerate(cached[:10]):
        st.button(f"{site.facility.name} ({site.images} image{'s' if site.images != 1 else ''})",
                  key=f"compare_open_cached_{n}", on_click=_open_site, args=(site.facility.id,))


def compare_page(store: Store, settings: Settings, facility_id: str | None) -> None:
    """The compare page: the selected facility over its dated imagery, to compare dates and record what is seen on
    them."""
    st.title("Compare imagery")
    if facility_id is None:
        st.info("Pick a site in the sidebar.")
        return
    try:
        facility = store.get_facility(facility_id)
        structures = store.list_structures(Filter(facility_ids=(facility_id,)))
        observations = store.list_observations(Filter(facility_ids=(facility_id,)))
    except READ_ERRORS as err:
        notices.error("The site's records cannot be read", err)
        return
    st.subheader(markdown_text(facility.name))
    try:
        aoi = AreaOfInterest.of(facility.geometry)
    except ImageryError as err:
        notices.error("No imagery can be looked up for this site", err)
        return

    found = notices.services(settings) or Availability()  # probed once per session; the top sentence says it
    down = found.down_sources
    c1, c2 = st.columns([3, 2])
    chosen = c1.multiselect("Sources", SOURCES, default=default_sources(down), key="compare_sources",
                            help="Sources whose service is down are left out at first; add them back here.")
    show_all = c2.toggle("Every Wayback release", value=False, key="compare_all_releases",
                         help="Off: only releases whose imagery changed over this site. On: all releases.")
    cat = _catalogue(settings, aoi, {"wayback": "Wayback" in chosen, "mosaics": "Sentinel-2 cloudless" in chosen,
                                     "local": "Local images" in chosen, "scenes": "Sentinel-2 scenes" in chosen,
                                     "show_all": show_all})
    left_out = [source for source in SOURCES if source in down and source not in chosen]
    if left_out and not found.all_down:
        st.caption(f"Left out while its service does not answer: {', '.join(left_out)} (add it back in Sources).")
    for service, problem in cat.problems.items():  # a source the analyst added back says why it lists nothing
        st.warning(markdown_text(f"{service}: {problem}"))
    rows = _status_rows(settings)
    if "Sentinel-2 cloudless" in chosen and not settings.offline:
        _warn_if_unreachable(rows[0], "Sentinel-2 cloudless (EOX)")
    if cat.wayback_scanned and "Wayback" in chosen:
        st.caption(f"Wayback: {cat.wayback_changed} of {cat.wayback_total} releases changed over this site"
                   + ("" if show_all else "; the others are hidden (switch on 'Every Wayback release').")
                   + f" Wayback {CAPTURE_DATE_RULE}.")
    layers = cat.layers
    if not showable_layers(layers, down):
        _nothing_to_show(store, settings, facility.id, layers, found)
        _services_panel(settings, cat, rows)
        return

    views = MODES if len(layers) >= 2 else ("Time slider",)
    if state.get(state.COMPARE_MODE) is None and st.query_params.get("view") in views:  # a link may name the view
        state.put(state.COMPARE_MODE, st.query_params.get("view"))
    mode = st.radio("View", views, horizontal=True, key=state.COMPARE_MODE)
    _seed_choices(layers, mode == "Time slider", down)
    show_strip(layers, slider=mode == "Time slider")
    try:
        m = base_map(facility, structures, observations, offline=settings.offline)
        localise(m, serve_assets(settings.data_dir))
    except (AssetError, OSError) as err:
        notices.error("The map cannot be drawn offline", err)
        return

    drawn_on: DatedLayer | None = None
    current: list[DatedLayer] = []
    result = None
    try:
        if mode == "Time slider":
            keys = [layer.key for layer in layers]
            by_key = {layer.key: layer for layer in layers}
            key = st.select_slider("Date", keys, format_func=lambda k: by_key[k].title[:60],
                                   key=state.COMPARE_SLIDER)
            drawn_on = by_key[key]
            current = [drawn_on]
            _caption("Showing", drawn_on)
            group = dates_group([_folium_layer(settings, drawn_on, aoi)], swipe=False)
            add_proposal(group, facility.id)
            result = _show(m, group=group)
        else:
            before, after = _pick_pair(layers)
            current, drawn_on = [before, after], after
            if mode == "Swipe":
                st.caption("Drag the bar on the map: left of it is the 'before' date, right the 'after' date.")
                pair = [_folium_layer(settings, before, aoi), _folium_layer(settings, after, aoi)]
                group = dates_group(pair, swipe=True)
                add_proposal(group, facility.id)
                result = _show(m, group=group)
            elif mode == "Side by side":
                dm = dual_map(facility, _folium_layer(settings, before, aoi), _folium_layer(settings, after, aoi),
                              structures, offline=settings.offline)
                localise(dm, serve_assets(settings.data_dir))
                _show(dm, drawing=False, key="compare_dual")
                st.caption("The two maps move together. Draw on the Swipe or Time slider view.")
            else:
                _show_difference(store, settings, facility, aoi, m, before, after)
            _caption("Before", before)
            _caption("After", after)
    except ImageryError as err:
        notices.error("This imagery cannot be shown", err)
    except AssetError as err:
        notices.error("The map cannot be drawn offline", err)

    if result is not None:
        show_annotate(store, settings, facility, structures, result, drawn_on, current)
    show_timelapse(store, settings, facility, layers)  # the sources' problems are warned about above
    _services_panel(settings, cat, rows)


def _show_difference(store: Store, settings: Settings, facility, aoi: AreaOfInterest, m, before: DatedLayer,
                     after: DatedLayer) -> None:
    """The change measured against the pair's noise (ui.change_panel) over a swipe of the two dates with the
    changed regions outlined; display-only dates get the reason and the swipe alone."""
    pair = [_folium_layer(settings, before, aoi), _folium_layer(settings, after, aoi)]
    problem = unreadable(before, after)  # display-only dates: said without asking the session
    if problem is not None:
        st.info(problem)
        _show(m, group=dates_group(pair, swipe=True), drawing=False)
        return
    result = change_panel.measure(store, settings, facility, before, after)
    group = dates_group(pair, swipe=True)
    if result is not None:
        for layer in (change_regions(result.change), vegetation_regions(result.change)):
            if layer is not None:
                layer.add_to(group)
        st.caption("Drag the bar: the earlier date on the left, the later on the right. "
                   + ("Red outlines: the changed regions (point at one for its area and mean difference)."
                      if result.change.regions else "No region is outlined: nothing beat the noise."))
    _show(m, group=group, drawing=False, key="compare_difference")
    if result is not None:
        change_panel.show_actions(store, settings, result)
