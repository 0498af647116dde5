"""The registry page: facility picker, map, details, observation timeline, sources, GeoJSON report.

What the page shows of the chosen site (observation order, cited sources and their numbers, the
built-up figures, image labels and compare links) comes from `tracker.site.SiteView`, the read
model `facilities show` and the PDF report use too, so the three never disagree.

User text reaches the page only as plain text: in dataframes (drawn on a canvas), st.text, or
st.markdown/st.subheader after ui.safe.markdown_text; never with unsafe_allow_html. Store errors
are shown with st.error, not as tracebacks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlencode

import pandas as pd
import streamlit as st

from facilities.errors import FacilitiesError
from facilities.model import Facility, Observation, Structure
from facilities.store import Filter, Store
from tracker.area_text import area_text
from tracker.countries import country_name
from tracker.images import image_key
from tracker.settings import Settings
from tracker.site import SiteView

from . import notices, sections, state
from .dating_panel import show_dating
from .edit_panel import show_edit_panel
from .map import precision_label
from .map_view import show_map
from .safe import markdown_text
from .search import filter_facilities
from .spatial_panel import spatial_sidebar
from .timeline import show_timeline_chart

MAX_PICKER_OPTIONS = 1000
READ_ERRORS = (FacilitiesError, OSError)


def _label(facilities: Sequence[Facility]):
    """Names in the picker; a shared name gets its id, so two entries never look the same."""
    counts: dict[str, int] = {}
    for f in facilities:
        counts[f.name] = counts.get(f.name, 0) + 1
    by_id = {f.id: f for f in facilities}

    def label(facility_id: str) -> str:
        f = by_id[facility_id]
        return f.name if counts[f.name] == 1 else f"{f.name} ({f.id})"

    return label


def _kept_options(options: Sequence[str]):
    """A kept multiselect value, without the options the registry no longer has."""
    return lambda value: [v for v in (value or ()) if v in options]


def _filter_sidebar(facilities: Sequence[Facility], last_observations: dict[str, dt.date], *, database: str = "",
                    revision: int = 0) -> list[Facility]:
    """Search box and filters above the picker; returns the facilities that pass (in name order, or
    ranked by the search: ui.search). Their values are kept across page changes (state.remember)."""
    state.restore(state.SEARCH)
    query = st.sidebar.text_input("Search name or alias", key=state.SEARCH, on_change=state.remember,
                                  args=(state.SEARCH,),
                                  help="Any language: every word must appear in the name, an alias, the id or "
                                       "the town the site lies near; a typo is forgiven in words of four letters "
                                       "or more")
    options = (sorted({f.country for f in facilities if f.country}),
               sorted({f.category for f in facilities if f.category}),
               sorted({str(f.status) for f in facilities}))
    for key, opts in zip(state.FILTERS, options, strict=False):
        state.restore(key, _kept_options(opts))
    state.restore(state.FILTERS[3])
    in_use = sum(bool(state.get(key)) for key in state.FILTERS)
    # Drawn only while open (the date picker alone is ~100 KB of script); closed, the kept values still apply.
    filters = st.sidebar.expander(f"Filters ({in_use} in use)" if in_use else "Filters", key=state.FILTERS_OPEN,
                                  on_change="rerun")
    countries, categories, statuses = (state.get(key) or [] for key in state.FILTERS[:3])
    since = state.get(state.FILTERS[3])
    if filters.open:
        with filters:
            countries = st.multiselect("Country", options[0], key=state.FILTERS[0], on_change=state.remember,
                                       args=(state.FILTERS[0],), format_func=country_name)
            categories = st.multiselect("Category", options[1], key=state.FILTERS[1], on_change=state.remember,
                                        args=(state.FILTERS[1],))
            statuses = st.multiselect("Status", options[2], key=state.FILTERS[2], on_change=state.remember,
                                      args=(state.FILTERS[2],))
            since = st.date_input("Observed since", value=None, key=state.FILTERS[3], on_change=state.remember,
                                  args=(state.FILTERS[3],),
                                  help="Only facilities whose last observation is on or after this day")
    index = state.search_index(database, revision, facilities) if query.strip() else None
    return filter_facilities(facilities, query, countries=countries, categories=categories, statuses=statuses,
                             last_observed_from=since, last_observations=last_observations, index=index)


def pick_facility(facilities: Sequence[Facility],
                  last_observations: dict[str, dt.date] | None = None, *, database: str = "",
                  revision: int = 0) -> tuple[str | None, list[str]]:
    """Sidebar search, filters and picker; the choice is also kept in the URL (?facility=id) so a
    view can be shared. Returns the chosen id (None when no facility passes the search and filters)
    and the ids that pass (best match first when searching). `database` and `revision` key the
    search index (state.search_index)."""
    shown = _filter_sidebar(facilities, last_observations or {}, database=database, revision=revision)
    if not shown:
        st.sidebar.info("No facility matches")
        return None, []
    ids = [f.id for f in shown]
    wanted = st.query_params.get(state.PICKER)
    # A list of thousands is no way to choose and slows every rerun: the search box narrows it.
    options = ids[:MAX_PICKER_OPTIONS]
    current = state.get(state.PICKER, wanted)
    if current in ids and current not in options:
        options.append(current)
    index = options.index(wanted) if wanted in options else 0
    selected = st.sidebar.selectbox("Facility", options, index=index, format_func=_label(facilities),
                                    key=state.PICKER)
    if len(ids) > len(options):
        st.sidebar.caption(f"The list shows {len(options):,} of {len(ids):,} matches: type in the search box to "
                           "narrow it.")
    st.query_params[state.PICKER] = selected
    return selected, ids


def _sources_text(ids: Sequence[str], site: SiteView) -> str:
    """'[n] title' for each cited source (n as in the sources table); a missing source by its id."""
    by_id = {s.id: s for s in site.sources}
    return "; ".join(f"[{site.source_numbers[i]}] {by_id[i].title}" if i in by_id else f"{i} (missing)"
                     for i in ids)


def details_frame(facility: Facility) -> pd.DataFrame:
    """The facility's details as a two-column table (field, value)."""
    rows = [
        ("Name", facility.name),
        ("Also known as", "; ".join(f"{a.name} [{a.lang}]" if a.lang else a.name for a in facility.aliases)),
        ("Country", country_name(facility.country)),
        ("Category", facility.category),
        ("Status", facility.status.value),
        ("Location precision", precision_label(facility.location_precision)),
        ("Area", area_text(facility.area_m2, facility.location_precision)),
        ("Systems", "; ".join(facility.systems)),
        ("Record", f"{facility.id} (version {facility.version})"),
    ]
    return pd.DataFrame([r for r in rows if r[1]], columns=["Field", "Value"])


def parents_frame(site: SiteView) -> pd.DataFrame:
    """The complexes the facility is claimed to be part of, with the sources claiming it."""
    return pd.DataFrame(
        [(p.name, p.facility_id or "", _sources_text(p.source_ids, site)) for p in site.facility.parents],
        columns=["Claimed parent complex", "Registry id", "According to"],
    )


def timeline_frame(site: SiteView) -> pd.DataFrame:
    """One row per observation, newest first (the site's order, by the earliest day each date may
    mean, reversed): the latest events are the table's first rows, never below its scroll."""
    rows = [{"date": str(o.date), "kind": o.kind.value, "summary": o.summary, "structure": site.structure_name(o),
             "image": site.image_label(o), "confidence": o.confidence.value,
             "sources": _sources_text(o.source_ids, site), "compare": image_link(o)}
            for o in reversed(site.observations)]
    columns = ["date", "kind", "summary", "structure", "image", "confidence", "sources", "compare"]
    return pd.DataFrame(rows, columns=columns)


def sources_frame(site: SiteView) -> pd.DataFrame:
    """The cited sources in order of first citation, numbered as the timeline and the report cite them."""
    return pd.DataFrame(
        [(n, s.title, s.publisher, str(s.published or ""), s.language or "", s.url, s.id)
         for n, s in enumerate(site.sources, 1)],
        columns=["#", "title", "publisher", "published", "language", "link", "id"],
    )


def show_details(site: SiteView) -> None:
    """Show the facility's details, claimed parents and notes (its name is the heading above the sections)."""
    facility = site.facility
    st.dataframe(details_frame(facility), hide_index=True)
    if facility.parents:
        st.markdown("**Part of** (claims, which sources may contradict)")
        st.dataframe(parents_frame(site), hide_index=True)
    if facility.notes.strip():
        st.markdown("**Notes**")
        st.markdown(markdown_text(facility.notes))


TABLE_ROWS = 15  # the observation table shows this many rows before it scrolls (Streamlit's default is 10)
ROW_PX = 35  # st.dataframe's row height, header included


def _table_height(rows: int) -> int:
    """Pixels for a table of `rows` rows (and its header) up to TABLE_ROWS, then it scrolls."""
    return ROW_PX * (min(rows, TABLE_ROWS) + 1) + 3


def show_timeline(site: SiteView) -> None:
    """Show the facility's observations: a timeline chart and a table linking each to the image it was seen on."""
    st.markdown(f"**Observation timeline** ({len(site.observations)})")
    if not site.observations:
        st.info("No observations recorded for this facility yet.")
    show_timeline_chart(site)
    if not site.observations:
        return
    st.dataframe(timeline_frame(site), hide_index=True, height=_table_height(len(site.observations)),
                 column_config={"summary": st.column_config.TextColumn(width="large"),
                                "compare": st.column_config.LinkColumn(
                                    "seen on", display_text="open image",
                                    help="The image this was seen on, in the compare view")})


def image_link(o: Observation) -> str | None:
    """The compare view opened on the image an observation was seen on (None when no layer can match)."""
    key = image_key(o.image)
    if key is None:
        return None
    return "compare?" + urlencode({state.PICKER: o.facility_id, "image": str(key)})


def show_sources(site: SiteView) -> None:
    """Show the sources cited for the site, warning about cited ids that are not in the registry."""
    st.markdown(f"**Sources** ({len(site.sources)})")
    if site.missing_source_ids:
        st.warning(markdown_text("Cited but not in the registry: " + ", ".join(site.missing_source_ids)))
    if not site.sources:
        st.info("No sources cited.")
        return
    st.dataframe(
        sources_frame(site), hide_index=True,
        column_config={"link": st.column_config.LinkColumn("link", display_text="open")},
    )


def show_download(store: Store, facility: Facility, shown_ids: Sequence[str] = (), *, database: str = "",
                  revision: int = 0) -> None:
    """The facility's GeoJSON report and, when a search or filter is active, the one of every
    facility it shows (the same files as `facilities export --facility ...`)."""
    try:
        report = state.geojson_report(store, database, revision, (facility.id,))
    except READ_ERRORS as err:
        st.error(f"The GeoJSON report cannot be made: {err}")
        return
    left, right = st.columns(2)
    left.download_button("Download GeoJSON report", data=report, file_name=f"{facility.id}.geojson",
                         mime="application/geo+json", key="download_report")
    if state.narrowed() and len(shown_ids) > 1:
        try:
            selection = state.geojson_report(store, database, revision, tuple(shown_ids))
        except READ_ERRORS as err:
            st.error(f"The GeoJSON report of the selection cannot be made: {err}")
            return
        right.download_button(f"Download GeoJSON of the {len(shown_ids)} facilities shown", data=selection,
                              file_name="selection.geojson", mime="application/geo+json", key="download_selection")


def show_site_report(store: Store, facility: Facility, settings: Settings) -> None:
    """One button for the publishable report: HTML (images embedded) and its PDF, from the registry
    and any local imagery imported for the site."""
    if not st.button("Make site report (HTML + PDF)", key="make_site_report"):
        return
    import tempfile
    from pathlib import Path

    from imagery.errors import ImageryError
    from imagery.local import LocalSource
    from tracker.reports.site_report import build_report  # heavy (matplotlib, WeasyPrint): only when asked

    with st.spinner("Drawing figures and rendering the PDF…"), tempfile.TemporaryDirectory() as tmp:
        try:
            files = build_report(store, facility.id, tmp, LocalSource(settings.data_dir),
                                 Filter(facility_ids=(facility.id,)), pdf=True, dpi=150)
            html = Path(files.html).read_bytes()
            pdf = Path(files.pdf).read_bytes() if files.pdf else None
        except (FacilitiesError, ImageryError, OSError) as err:
            notices.error("The site report cannot be made", err)
            return
    st.download_button("Download HTML report", data=html, file_name=f"{facility.id}.html", mime="text/html",
                       key="download_html_report")
    if pdf is not None:
        st.download_button("Download PDF report", data=pdf, file_name=f"{facility.id}.pdf",
                           mime="application/pdf", key="download_pdf_report")


@dataclass(frozen=True)
class SiteChoice:
    """The registry's facilities and the one picked in the sidebar (None: nothing matches)."""

    facilities: list[Facility]
    selected_id: str | None
    shown_ids: tuple[str, ...] = ()  # the facilities that pass the search and filters
    structures: list[Structure] = field(default_factory=list)  # every facility's
    revision: int = 0  # the registry's, when it was read (a cache key)


def show_skipped(skipped: Sequence[str]) -> None:
    """One warning naming the records a read left out (values edited outside the app), as plain text."""
    if skipped:
        st.warning(markdown_text(f"{len(skipped)} record(s) left out: a value the app does not accept was written "
                                 "outside the app (`facilities validate` lists them): " + "; ".join(skipped[:20])
                                 + (" ..." if len(skipped) > 20 else "")))


def choose_site(store: Store, database: str) -> SiteChoice | None:
    """The sidebar's search, filters and picker, shared by the pages that show one site.
    None when the registry cannot be read or is empty (the page says why)."""
    try:
        snap = state.overview(store, database)
    except READ_ERRORS as err:
        st.error(f"The registry cannot be read: {err}")
        return None
    if not snap.facilities:
        st.info("The registry is empty. Import facilities on the Import page or with `facilities import FILE`.")
        return None
    show_skipped(snap.skipped)
    selected_id, shown = pick_facility(snap.facilities, snap.last_observations, database=database,
                                       revision=snap.revision)
    st.sidebar.caption(f"{len(snap.facilities):,} facilities in the registry")
    return SiteChoice(snap.facilities, selected_id, tuple(shown), snap.structures, snap.revision)


def registry_page(store: Store, settings: Settings, choice: SiteChoice | None) -> None:
    """The main page: the map with the selected facility first, then its name and one section at a time (ui.sections):
    a text Overview, or the timeline, details and sources, dating, downloads and site report, or the edit panel."""
    st.title("Facility tracker")
    if choice is None:
        return
    spatial_sidebar(store, settings, choice.selected_id)
    facilities, selected_id = choice.facilities, choice.selected_id
    if selected_id is None:
        st.info("No facility matches the search and filters. Clear the search box or the filters in the sidebar.")
        return
    try:
        site = state.site(store, settings.database, choice.revision, selected_id)
    except READ_ERRORS as err:
        st.error(f"The facility's records cannot be read: {err}")
        return
    facility = site.facility
    show_skipped(site.skipped)

    # The map first; below it one section at a time (ui.sections): the heavy parts load only when opened.
    show_map(facilities, choice.structures, selected_id, settings)
    st.subheader(markdown_text(facility.name))
    section = sections.choose_section()
    if section == sections.TIMELINE:
        show_timeline(site)
    elif section == sections.DETAILS:
        show_details(site)
        show_sources(site)
    elif section == sections.DATING:
        show_dating(store, settings, site)
    elif section == sections.REPORT:
        show_download(store, facility, choice.shown_ids, database=settings.database, revision=choice.revision)
        show_site_report(store, facility, settings)
    elif section == sections.EDIT:
        show_edit_panel(store, settings, facility)
    else:
        sections.show_overview(site)
