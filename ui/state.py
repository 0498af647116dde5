"""Everything the app keeps between reruns, in one module: the `st.cache_*` functions (shared by
every session of the process) and the `st.session_state` keys (one browser tab's).

Pages call these instead of decorating their own functions, so what is cached, for how long and
under which key can be read in one place. Cached values are immutable records or files on disk;
a cache key always includes what makes the value stale (the registry's revision, the settings).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import streamlit as st

from facilities.errors import FacilitiesError
from facilities.geojson_io import export_text
from facilities.model import Facility, HistoryEntry, Structure
from facilities.store import Filter, Store
from imagery.aoi import AreaOfInterest
from imagery.catalogue import DatedLayer
from imagery.session import Catalogue, ImagerySession, Overlay, StageProgress
from tracker.change import SiteChange, site_change
from tracker.dating import Dating, date_structure
from tracker.edits import recent_changes as _recent_changes
from tracker.overview import Overview, read_overview
from tracker.places import nearby_towns
from tracker.settings import Settings
from tracker.site import SiteView, load_site
from tracker.undo import UndoPlan, plan_last
from tracker.uploads import MB, UploadBudget, UploadRefused
from tracker.watch.digest import thumbnail as watch_thumbnail_of
from tracker.wiring import imagery_session, open_registry

from .login import identity
from .memo import Memo
from .search import SearchIndex

# -- session_state keys (one browser tab) -----------------------------------------------------------

PICKER = "facility"  # the chosen facility; also ?facility= in the URL, so a view can be shared
SEARCH = "search"  # the sidebar's search box; its value is also kept under kept_key(SEARCH) (see remember)
FILTERS = ("filter_country", "filter_category", "filter_status", "filter_observed_since")  # kept likewise
FILTERS_OPEN = "filters_open"  # the sidebar's Filters expander: its widgets are drawn only while it is open
SPATIAL_OPEN = "spatial_open"  # the sidebar's Spatial question expander, likewise
SECTION = "section"  # the registry page's section below the map (ui.sections); also ?section= in the URL
ANNOTATE_FLASH = "annotate_saved"
EDIT_FLASH = "edit_panel_flash"
IMPORT_PARSED = "import_parsed"  # (upload key, Parsed): the previewed file, parsed once
IMPORT_REPORT = "import_report"  # (upload key, summary) of the last import
INGEST_RESULTS = "ingest_results"  # the articles read, until the next Read
SPATIAL_ANSWER = "spatial_answer"  # the sidebar's last spatial answer, until the next question
SERVICES = "imagery_services"  # (settings key, status rows, error): the services probed once per session (ui.notices)
# the Compare page: the pair and the slider (ui.compare_page's widgets), the timeline strip and the scan
COMPARE_BEFORE = "compare_before"
COMPARE_AFTER = "compare_after"
COMPARE_SLIDER = "compare_slider"
STRIP = "compare_strip"  # the strip chart's selection (st.altair_chart on_select)
STRIP_TARGET = "compare_strip_target"  # which of before/after the next click on the strip sets
SCAN_CANCEL = "compare_scan_cancel"  # the Cancel button shown while a Wayback scan runs
SCAN_CANCELLED = "compare_scan_cancelled"  # the area key whose Wayback scan the analyst cancelled
COMPARE_MODE = "compare_mode"  # the view radio (Swipe, Side by side, Time slider, Difference); also ?view=
# issue 16: the measured change, footprints and dating
CHANGE_BUILT_UP = "change_built_up_only"  # the Difference view's "Built-up only" toggle
CHANGE_FLASH = "change_recorded"  # the message after a measured change was accepted as an observation
FOOTPRINT_PROPOSAL = "footprint_proposal"  # the last proposed footprint (tracker.footprints.ProposedFootprint)
DATING_STRUCTURE = "dating_structure"  # the registry page's "Date a structure" picker
DATING_FLASH = "dating_recorded"  # the message after a dating was accepted as an observation
# issue 17: the Compare page's timelapse (ui.timelapse_panel)
TIMELAPSE = "compare_timelapse"  # (request key, Timelapse or the one-line reason there is none): the last one made
TIMELAPSE_BUTTON = "compare_timelapse_make"  # the "Make a timelapse" button
TIMELAPSE_GIF = "compare_timelapse_gif"  # its download buttons
TIMELAPSE_MP4 = "compare_timelapse_mp4"
# issue 20: the Watched sites page (ui.watch_page)
WATCH_FLASH = "watch_flash"  # (level, message) after an accept, a dismissal, a scan or a watchlist change
WATCH_SCAN = "watch_scan"  # the "Scan now" button
WATCH_SINCE = "watch_since"  # the scan's optional "count imagery from" day
WATCH_SOURCES = "watch_sources"  # the scan's sources
WATCH_ADD = "watch_add"  # the facilities picked to watch
WATCH_ADD_COUNTRY = "watch_add_country"  # ... or every facility of these countries / categories
WATCH_ADD_CATEGORY = "watch_add_category"
WATCH_REMOVE = "watch_remove"  # the watched facilities picked to stop watching


def edit_snapshot_key(facility_id: str) -> str:
    """The edit panel's tables as they were read (versions are checked against them on save)."""
    return f"edit_snapshot_{facility_id}"


def edit_generation_key(facility_id: str) -> str:
    """Bumped after a save so the data editors start fresh (no stale edits)."""
    return f"edit_generation_{facility_id}"


def narrowed() -> bool:
    """Whether the sidebar's search or any filter is in use."""
    return any(st.session_state.get(k) for k in (SEARCH, *FILTERS))


def keep_picker() -> None:
    """Pages without the picker would let Streamlit forget the chosen site; keep it for the next page."""
    if PICKER in st.session_state:
        st.session_state[PICKER] = st.session_state[PICKER]


def kept_key(key: str) -> str:
    """The plain (non-widget) key that keeps widget `key`'s value while its page is not shown."""
    return f"kept_{key}"


def remember(key: str) -> None:
    """A widget's on_change: copy its value to a plain key. Streamlit forgets a widget's value when a
    page is drawn without it (and the sidebar's search on the Compare page is another widget than the
    Registry page's), but never a plain key, so the search and filters survive a page change."""
    st.session_state[kept_key(key)] = st.session_state.get(key)


def restore(key: str, allowed: Callable[[Any], Any] | None = None) -> None:
    """Before drawing widget `key`: give it the value `remember` kept (through `allowed`, which can
    drop options that no longer exist), so a page change does not clear it."""
    kept = kept_key(key)
    if kept in st.session_state:
        value = st.session_state[kept]
        st.session_state[key] = allowed(value) if allowed is not None else value


def flash(key: str, message: str) -> None:
    """A message to show once, after the rerun a save triggers."""
    st.session_state[key] = message


def pop_flash(key: str) -> str | None:
    """Take (and clear) a one-time message stored under `key` by the previous run."""
    return st.session_state.pop(key, None)


def get(key: str, default: Any = None) -> Any:
    """A value kept in the session across reruns, or `default`."""
    return st.session_state.get(key, default)


def put(key: str, value: Any) -> None:
    """Keep a value in the session across reruns."""
    st.session_state[key] = value


def drop(key: str) -> None:
    """Forget a session value, if there is one."""
    st.session_state.pop(key, None)


def actor(settings: Settings) -> str:
    """Who the history records for an edit made in this session: the signed-in analyst (ui.login) when a
    sign-in is configured, else the settings' actor (TRACKER_ACTOR). Every page that writes asks here."""
    return identity() or settings.actor


# -- uploads: held in the server's memory until released (tracker.uploads) ----------------------------


@st.cache_resource
def _upload_budget(per_session_mb: int, total_mb: int) -> UploadBudget:
    return UploadBudget(per_session_mb * MB, total_mb * MB)


def upload_budget(settings: Settings) -> UploadBudget:
    """The process-wide upload accountant for these settings' limits."""
    return _upload_budget(settings.max_session_upload_mb, settings.max_uploads_mb)


def _upload_store() -> tuple[str, Any]:
    """(session id, Streamlit's uploaded-file store) of the running script, or ("", None) outside one."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx
    ctx = get_script_run_ctx()
    if ctx is None:
        return "", None
    return ctx.session_id, getattr(ctx, "uploaded_file_mgr", None)


def upload_key(base: str) -> str:
    """The file_uploader's key: `base`, then `base.1`, `base.2`... after each release (a new key
    is a new, empty widget)."""
    generation = st.session_state.get(f"{base}__generation", 0)
    return base if not generation else f"{base}.{generation}"


def hold_upload(settings: Settings, upload: Any) -> str | None:
    """Count an upload against the session's and the server's limits: None when it may be kept,
    else the message to show (the caller then releases it)."""
    session, files = _upload_store()
    budget = upload_budget(settings)
    if files is not None:
        budget.prune(lambda s, f: bool(files.get_files(s, [f])))
    try:
        budget.claim(session, str(upload.file_id), upload.name, int(upload.size))
    except UploadRefused as err:
        return str(err)
    return None


def release_upload(settings: Settings, base: str, upload: Any) -> None:
    """Drop an upload now that it is imported or refused: out of Streamlit's memory, out of the
    accountant, and the widget cleared on the next run (its key bumped)."""
    session, files = _upload_store()
    file_id = str(getattr(upload, "file_id", ""))
    remove = getattr(files, "remove_file", None)  # the in-memory store has it; other stores keep nothing
    if remove is not None and file_id:
        remove(session_id=session, file_id=file_id)
    upload_budget(settings).release(session, file_id)
    counter = f"{base}__generation"
    st.session_state[counter] = st.session_state.get(counter, 0) + 1


# -- process caches: the registry ---------------------------------------------------------------------


@st.cache_resource(show_spinner="Opening the registry…")
def _registry(database: str, seed: bool, _settings: Settings) -> Store:
    del database, seed  # the cache key
    return open_registry(_settings)


def registry(settings: Settings) -> Store:
    """One store per database per process (thread-safe: a connection per thread). A failure is
    not cached, so the next run tries again."""
    return _registry(settings.database, settings.seed, settings)


@st.cache_resource(max_entries=4, show_spinner="Reading the registry…")
def _overview(database: str, revision: int, _store: Store) -> Overview:
    del database, revision  # the cache key
    return read_overview(_store)


def overview(store: Store, database: str) -> Overview:
    """The registry as of its current revision (one cheap query when nothing changed)."""
    return _overview(database, store.revision(), store)


@st.cache_resource(max_entries=8, show_spinner=False)
def _geojson_report(database: str, revision: int, facility_ids: tuple[str, ...], _store: Store) -> str:
    del database, revision  # with facility_ids, the cache key
    return export_text(_store, Filter(facility_ids=facility_ids))


def geojson_report(store: Store, database: str, revision: int, facility_ids: tuple[str, ...]) -> str:
    """A GeoJSON report, made once per registry revision and selection, not on every rerun."""
    return _geojson_report(database, revision, facility_ids, store)


@st.cache_resource(max_entries=32, show_spinner=False)
def _undo_plan(database: str, revision: int, actor: str, _store: Store) -> UndoPlan | FacilitiesError:
    del database, revision  # with actor, the cache key
    try:
        return plan_last(_store, actor)
    except FacilitiesError as err:  # "nothing to undo" is an answer too: keep it, do not re-plan each rerun
        return err


def undo_plan(store: Store, database: str, revision: int, actor: str) -> UndoPlan:
    """What undo would revert for `actor`, planned once per registry revision (it reads the history);
    raises NothingToUndo / UndoError as `tracker.undo.plan_last` does."""
    answer = _undo_plan(database, revision, actor, store)
    if isinstance(answer, FacilitiesError):
        raise answer
    return answer


@st.cache_resource(max_entries=32, show_spinner=False)
def _recent(database: str, revision: int, facility_id: str, rows: int, _store: Store) -> list[HistoryEntry]:
    del database, revision  # with facility_id and rows, the cache key
    return _recent_changes(_store, facility_id, rows=rows)


def recent_changes(store: Store, database: str, revision: int, facility_id: str, rows: int) -> list[HistoryEntry]:
    """A facility's recent changes, read once per registry revision."""
    return _recent(database, revision, facility_id, rows, store)


# -- process caches: imagery ----------------------------------------------------------------------------
# The compare page calls these, never the session itself: each user action then reaches the session
# once per kind of work (catalogue, overlay, change measure, status) and a rerun without change not at all.
# Keys: the settings (as JSON) and the area's key; layers by their image key. Errors are not cached,
# so a failing service is asked again on the next run.


def _settings_key(settings: Settings) -> str:
    return settings.model_dump_json()


@st.cache_resource(show_spinner=False)
def _imagery(settings_key: str, _settings: Settings) -> ImagerySession:
    del settings_key  # the cache key
    return imagery_session(_settings)


def imagery(settings: Settings) -> ImagerySession:
    """One imagery session (HTTP client, cache, sources) per settings per process, shared by sessions."""
    return _imagery(_settings_key(settings), settings)


@st.cache_resource
def _catalogues() -> Memo[Catalogue]:
    return Memo(ttl=3600, max_entries=64)


def _catalogue_key(settings: Settings, aoi: AreaOfInterest, sources: tuple[bool, bool, bool, bool],
                   show_all: bool) -> tuple[object, ...]:
    local = sources[2]
    revision = imagery(settings).local.revision() if local else 0
    return _settings_key(settings), aoi.key, sources, show_all, revision


def cached_catalogue(settings: Settings, aoi: AreaOfInterest, *, wayback: bool, mosaics: bool, local: bool,
                     scenes: bool, show_all: bool) -> Catalogue | None:
    """The catalogue `catalogue` keeps for these arguments, or None when it would have to be listed (the page then
    shows the scan's progress and a Cancel button)."""
    return _catalogues().get(_catalogue_key(settings, aoi, (wayback, mosaics, local, scenes), show_all))


def catalogue(settings: Settings, aoi: AreaOfInterest, *, wayback: bool, mosaics: bool, local: bool, scenes: bool,
              show_all: bool, progress: StageProgress | None = None,
              cancelled: Callable[[], bool] | None = None) -> Catalogue:
    """The area's dated layers for these sources, listed once an hour (Wayback publishes monthly); a new
    local import shows at once, as the local directory's revision is part of the key. Kept in a plain memo, not
    st.cache_data, so the scan's progress bar is drawn live and never replayed; a cancelled scan keeps nothing."""
    key = _catalogue_key(settings, aoi, (wayback, mosaics, local, scenes), show_all)
    memo = _catalogues()
    hit = memo.get(key)
    if hit is not None:
        return hit
    cat = imagery(settings).catalogue(aoi, wayback=wayback, mosaics=mosaics, local=local, scenes=scenes,
                                      show_all=show_all, progress=progress, cancelled=cancelled)
    memo.put(key, cat)
    return cat


@st.cache_resource(max_entries=256, show_spinner="Rendering the image…")
def _overlay(settings_key: str, layer_key: str, aoi_key: str, _settings: Settings, _layer: DatedLayer,
             _aoi: AreaOfInterest) -> Overlay:
    del settings_key, layer_key, aoi_key  # the cache key
    return imagery(_settings).overlay(_layer, _aoi)


def overlay(settings: Settings, layer: DatedLayer, aoi: AreaOfInterest) -> Overlay:
    """A readable layer's PNG over the area, rendered once per (layer, area)."""
    ov = _overlay(_settings_key(settings), layer.key, aoi.key, settings, layer, aoi)
    if not ov.path.is_file():  # the data directory was cleaned behind our back: render the file again
        ov = imagery(settings).overlay(layer, aoi)
    return ov


@st.cache_resource(max_entries=16, show_spinner="Measuring the change between the two dates…")
def _site_change(settings_key: str, facility_id: str, facility_version: int, before: str, after: str,
                 built_up_only: bool, _store: Store, _settings: Settings) -> SiteChange:
    del settings_key, facility_version  # with the others, the cache key
    return site_change(_store, imagery(_settings), facility_id, before, after, built_up_only=built_up_only)


def measured_change(store: Store, settings: Settings, facility: Facility, before: str, after: str, *,
                    built_up_only: bool) -> SiteChange:
    """The change between two analysable images of the facility (tracker.change.site_change), measured once per
    (facility and its version, before, after, built-up only): flipping the toggle back and forth, or leaving the
    Difference view and coming back, does not measure again. Errors are not cached."""
    return _site_change(_settings_key(settings), facility.id, facility.version, before, after, built_up_only,
                        store, settings)


@st.cache_resource
def _datings() -> Memo[Dating]:
    return Memo(ttl=24 * 3600, max_entries=32)


def _dating_key(settings: Settings, facility_id: str, structure: Structure) -> tuple[object, ...]:
    # the structure's version changes with its footprint; the local directory's revision with every import
    return (_settings_key(settings), facility_id, structure.id, structure.version,
            imagery(settings).local.revision())


def cached_dating(settings: Settings, facility_id: str, structure: Structure) -> Dating | None:
    """The dating `dating` made of this structure (same footprint, same local imports) in the last day, or None:
    the page shows it without reading any image, and offers the button otherwise."""
    return _datings().get(_dating_key(settings, facility_id, structure))


def dating(store: Store, settings: Settings, facility_id: str, structure: Structure) -> Dating:
    """Date the structure from the site's analysable images (tracker.dating.date_structure: it reads every one of
    them, so the page calls it only when the analyst asks) and keep the answer for `cached_dating`."""
    found = date_structure(store, imagery(settings), facility_id, structure.id)
    _datings().put(_dating_key(settings, facility_id, structure), found)
    return found


@st.cache_data(ttl=60, show_spinner=False)
def _status(settings_key: str, _settings: Settings) -> list[dict[str, object]]:
    del settings_key  # the cache key
    return imagery(_settings).status()


def imagery_status(settings: Settings) -> list[dict[str, object]]:
    """The imagery services' status rows (a probe per service), at most once a minute."""
    return _status(_settings_key(settings), settings)


def imagery_kept(settings: Settings) -> list[dict[str, object]]:
    """The same rows without probing: what is kept on this machine now (read on every draw; no request)."""
    return imagery(settings).status(probe=False)


@st.cache_resource(max_entries=16, show_spinner=False)
def _site(database: str, revision: int, facility_id: str, _store: Store) -> SiteView:
    del database, revision  # with facility_id, the cache key
    return load_site(_store, facility_id)


def site(store: Store, database: str, revision: int, facility_id: str) -> SiteView:
    """One site's read model, read once per registry revision (not on every click on the page)."""
    return _site(database, revision, facility_id, store)


@st.cache_resource
def _thumbnails() -> Memo[np.ndarray]:
    return Memo(ttl=24 * 3600, max_entries=256)


def watch_thumbnail(settings: Settings, facility: Facility, key: str) -> np.ndarray | None:
    """A finding's image over the site as an RGBA thumbnail (tracker.watch.digest.thumbnail: local imports and
    Sentinel-2 only, never Esri Wayback), read once a day per (facility and its version, image); None when it
    cannot be read (not kept, so the next run tries again)."""
    memo = _thumbnails()
    memo_key = (_settings_key(settings), facility.id, facility.version, key)
    hit = memo.get(memo_key)
    if hit is not None:
        return hit
    made = watch_thumbnail_of(imagery(settings), facility, key)
    if made is not None:
        memo.put(memo_key, made)
    return made


@st.cache_resource(max_entries=2, show_spinner=False)
def _search_index(database: str, revision: int, _facilities: tuple[Facility, ...]) -> SearchIndex:
    del database, revision  # the cache key
    towns = nearby_towns([f.geometry.representative_point().coords[0] for f in _facilities])
    return SearchIndex.build(_facilities, {f.id: t for f, t in zip(_facilities, towns, strict=True)})


def search_index(database: str, revision: int, facilities: Sequence[Facility]) -> SearchIndex:
    """The sidebar search's index of the registry (names, aliases, ids and the towns each site lies
    near), built once per registry revision and only when something is typed (~0.5 s at 10,000 sites,
    and the gazetteer's first read)."""
    return _search_index(database, revision, tuple(facilities))
