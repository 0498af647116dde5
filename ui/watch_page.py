"""The Watched sites page: "what changed since you last looked" in the app, the watchlist, and the scan.

The sites with unreviewed findings come ranked from tracker.watch.digest.build_sites (the one ranking: a
measured significant change first, then the newest imagery), each with before/after thumbnails from
licence-permitting sources (digest.thumbnail through ui.state: local imports and Sentinel-2, never Esri Wayback,
whose news is "new imagery (shown in the browser only)"), its figures, a link to Compare on the pair, and Accept /
Dismiss per finding (tracker.watch.review: an accepted finding becomes an observation, either moves the site's
review date). Below: the last scan's failures, "Scan now" (tracker.watch.run.scan_watchlist with a progress bar,
on request only), the watchlist with who reviewed each site when, and adding or removing sites.

Facility names, notes and image keys are shown as plain text (ui.safe.markdown_text, dataframes, captions);
errors are logged and shown as one short reason, never as exception text.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence

import pandas as pd
import streamlit as st

from facilities.errors import FacilitiesError, InputError, NotFound
from facilities.model import Facility
from facilities.store import Store
from facilities.watchlist import Finding, FindingKind, WatchEntry
from imagery.errors import ImageryError
from imagery.wayback import PROVIDER as WAYBACK
from tracker.countries import country_name
from tracker.errors import TrackerError
from tracker.settings import Settings
from tracker.watch.digest import SiteDigest, build_sites, compare_link, last_failures
from tracker.watch.review import accept_finding, dismiss_finding
from tracker.watch.run import scan_watchlist, watch_tables
from tracker.watch.site import SOURCES

from . import state
from .safe import markdown_text

log = logging.getLogger(__name__)

ERRORS = (FacilitiesError, ImageryError, TrackerError, OSError)
SOURCE_LABELS = {"wayback": "Esri Wayback", "sentinel-2": "Sentinel-2 scenes", "local": "Local images"}
_FAILED_PART = {"wayback": "Esri Wayback", "sentinel-2": "the Sentinel-2 search", "local": "the local images",
                "change": "the change measure", "crash": "the scan itself"}
WHAT_WATCHING_IS = ("Watching a site means the tracker looks for imagery that appeared there since you last "
                    "reviewed it, and measures the change wherever the image's licence allows. Pick sites below "
                    "and press Watch, then Scan now; what it finds waits on this page for you to accept or dismiss.")
THUMB_WIDTH = 220


def _country_label(code: str) -> str:
    """'North Korea (KP)': the name to pick by, and the code the registry stores."""
    name = country_name(code)
    return f"{name} ({code})" if name and name != code else code


def finding_line(f: Finding) -> str:
    """What a finding says, in plain words: the figures of a change, or which new image appeared."""
    day = f.after_date.isoformat() if f.after_date else "undated"
    if f.kind is FindingKind.CHANGE:
        before = f.before_date.isoformat() if f.before_date else "undated"
        if f.significant and f.changed_m2 is not None:
            low, high = f.changed_m2_range or (f.changed_m2, f.changed_m2)
            return (f"Significant change: {f.changed_m2:,.0f} m² changed ({low:,.0f}–{high:,.0f} m²) between the "
                    f"{before} and {day} images")
        return f"No significant change between the {before} and {day} images"
    if f.kind is FindingKind.NEW_WAYBACK_RELEASE:
        return f"New imagery (shown in the browser only): an Esri Wayback release of {day}"
    if f.kind is FindingKind.NEW_SCENE:
        return f"New imagery: a Sentinel-2 scene of {day}"
    return f"New imagery: a local image of {day}"


def finding_detail(f: Finding) -> str:
    """The small print under a finding: how a change was measured, else the scan's note and the image's key (a
    local image by the file name it was imported as, which its note gives, not by its content hash)."""
    if f.kind is FindingKind.CHANGE:
        return ("measured from the pixels of the two images; Compare outlines the changed regions"
                if f.significant else "measured from the pixels of the two images: nothing beat their own noise")
    shown_key = "" if f.after_key.startswith(("local:", f"{WAYBACK}:")) else f"image {f.after_key}"  # notes name them
    return " · ".join(p for p in (shown_key, f.note) if p)


def failure_reason(error: str) -> str:
    """A stored scan failure ("source: message; ...") as the parts that failed, without the error text."""
    parts = [p.split(":", 1)[0].strip() for p in error.split("; ")]
    named = [_FAILED_PART[p] for p in dict.fromkeys(parts) if p in _FAILED_PART]
    return (" and ".join(named) + " failed" if named else "the scan failed") + "; the next scan tries it again"


def chosen_ids(facilities: Sequence[Facility], picked: Iterable[str], countries: Iterable[str],
               categories: Iterable[str]) -> list[str]:
    """The facilities to watch: those picked by name, plus every facility of the countries and categories chosen
    (both filters apply together, as `facilities watch add --country C --category K`)."""
    countries, categories = set(countries), set(categories)
    out = list(dict.fromkeys(picked))
    if countries or categories:
        out += [f.id for f in facilities
                if (not countries or f.country in countries) and (not categories or f.category in categories)]
    return list(dict.fromkeys(out))


def _flash(level: str, message: str) -> None:
    state.put(state.WATCH_FLASH, (level, message))


def _show_flash() -> None:
    kept = state.get(state.WATCH_FLASH)
    state.drop(state.WATCH_FLASH)
    if kept:
        level, message = kept
        (st.success if level == "success" else st.error)(markdown_text(message))


def _decide(store: Store, settings: Settings, finding: Finding, name: str, accept: bool) -> None:
    """Accept or dismiss (a button's callback): the outcome as the next run's message."""
    actor = state.actor(settings)
    try:
        if accept:
            _decided, obs = accept_finding(store, finding.id, actor=actor)
            done = f"Accepted: observation {obs.id} recorded for {name}"
        else:
            dismiss_finding(store, finding.id, actor=actor)
            done = f"Dismissed: nothing recorded for {name}"
        entry = watch_tables(store).watched([finding.facility_id])
    except (NotFound, InputError) as err:
        log.warning("watch page: %s of %s refused: %s", "accept" if accept else "dismissal", finding.id, err)
        _flash("error", f"This finding of {name} was already reviewed or is gone; nothing was changed.")
        return
    except ERRORS as err:
        log.exception("watch page: %s of %s failed: %s", "accept" if accept else "dismissal", finding.id, err)
        _flash("error", f"The decision on this finding of {name} could not be saved; nothing was changed.")
        return
    when = f"{entry[0].reviewed_at:%Y-%m-%d %H:%M} UTC" if entry and entry[0].reviewed_at else "now"
    _flash("success", f"{done}; the site was marked reviewed {when}.")


def _thumbs(settings: Settings, site: SiteDigest) -> None:
    """The pair's previews side by side; a new image with nothing before it on the left, saying so beside it;
    Wayback-only news says its imagery is shown in the browser only."""
    if site.after is None:
        st.caption("No preview: the new imagery can only be shown in the browser (open it in Compare).")
        return
    cols = st.columns(2)
    pair = [("Before", site.before), ("After", site.after)] if site.before else [("New", site.after)]
    for col, (label, key) in zip(cols, pair, strict=False):
        day = _date_of(site, key)
        rgba = state.watch_thumbnail(settings, site.facility, key)
        if rgba is None:
            col.caption(markdown_text(f"{label}: {day} (no preview could be read)"))
        else:
            col.image(rgba, width=THUMB_WIDTH, caption=f"{label}: {day}")  # ours: a label and a date
    if site.before is None:
        cols[1].caption("No measured change waits with this image: nothing readable came before it, or you have "
                        "reviewed that change already.")


def _date_of(site: SiteDigest, key: str | None) -> str:
    for f in site.findings:
        if f.after_key == key and f.after_date:
            return f.after_date.isoformat()
        if f.before_key == key and f.before_date:
            return f.before_date.isoformat()
    return "undated"


def _reviewed(entry: WatchEntry | None) -> str:
    if entry is None or entry.reviewed_at is None:
        return "never reviewed"
    return f"last reviewed {entry.reviewed_at:%Y-%m-%d} by {entry.reviewed_by}"


def _site_card(store: Store, settings: Settings, n: int, site: SiteDigest, entry: WatchEntry | None) -> None:
    name = site.facility.name
    with st.container(border=True):
        st.markdown(f"#### {n}. {markdown_text(name)}")
        st.caption(markdown_text(f"{site.facility.id} · {_reviewed(entry)} · "
                                 f"{len(site.findings)} unreviewed finding(s)"))
        left, right = st.columns([3, 2])
        with left:
            _thumbs(settings, site)
        newest = site.after or max(site.findings, key=Finding.rank).after_key  # Wayback: opened in the browser
        link = site.link if site.after else compare_link("", site.facility.id, None, newest)
        right.link_button("Compare these two images" if site.before else "Open in Compare", link,
                          help="Opens the Compare page on this site" + (" in the Difference view" if site.before
                                                                        else ""))
        for f in site.findings:
            text, accept, dismiss = st.columns([8, 1, 1], vertical_alignment="center")
            text.markdown(markdown_text(finding_line(f)))
            detail = finding_detail(f)
            if detail:
                text.caption(markdown_text(detail))
            unaccepted = f.kind is FindingKind.CHANGE and not f.significant
            accept.button("Accept", key=f"watch_accept_{f.id}", on_click=_decide,
                          args=(store, settings, f, name, True), disabled=unaccepted,
                          help="Nothing significant to record: dismiss it" if unaccepted else
                          "Record it as an observation on its image")
            dismiss.button("Dismiss", key=f"watch_dismiss_{f.id}", on_click=_decide,
                           args=(store, settings, f, name, False), help="Mark it reviewed without recording it")


def _failures(store: Store, names: dict[str, str]) -> None:
    failed = last_failures(store)
    if not failed:
        return
    st.warning(f"The last scan could not check {len(failed)} site(s):\n\n" + "\n".join(
        f"- {markdown_text(names.get(fid, fid))} ({markdown_text(fid)}): {markdown_text(failure_reason(err))}"
        for fid, err in failed))


def _scan(store: Store, settings: Settings, names: dict[str, str]) -> None:
    st.subheader("Scan")
    st.caption("Looks at every watched site for imagery that appeared since its last review. This can take a "
               "while; if you leave the page, the next Scan now continues where it stopped.")
    with st.expander("Scan options"):
        since = st.date_input("Also count imagery from", value=None, key=state.WATCH_SINCE,
                              help="Leave empty to count, for each site, what appeared after its last review")
        sources = st.multiselect("Sources", list(SOURCES), default=list(SOURCES), key=state.WATCH_SOURCES,
                                 format_func=lambda s: SOURCE_LABELS.get(s, s))
    if not st.button("Scan now", key=state.WATCH_SCAN, type="primary", disabled=not sources):
        return
    bar = st.progress(0.0, text="Starting the scan…")

    def progress(done: int, total: int, facility_id: str) -> None:
        bar.progress(done / total if total else 1.0,
                     text=markdown_text(f"Scanned {done} of {total} sites ({names.get(facility_id, facility_id)})"))

    day = since - dt.timedelta(days=1) if isinstance(since, dt.date) else None  # news from that day on
    try:
        report = scan_watchlist(store, state.imagery(settings), actor=state.actor(settings), since=day,
                                sources=tuple(sources), progress=progress)
    except ERRORS as err:
        log.exception("watch page: the scan failed: %s", err)
        bar.empty()
        st.error("The scan stopped before the end. What it found so far is kept; Scan now again continues it.")
        return
    sites = len({f.facility_id for f in report.findings})
    _flash("success", f"Scanned {report.scanned} site(s): {len(report.findings)} new finding(s) at {sites} site(s)"
           + (f"; {len(report.failures)} could not be checked (listed below)" if report.failures else "") + ".")
    st.rerun()


def _watchlist(store: Store, settings: Settings, entries: Sequence[WatchEntry], facilities: Sequence[Facility],
               open_findings: dict[str, int]) -> None:
    names = {f.id: f.name for f in facilities}
    if entries:
        st.subheader(f"Watchlist ({len(entries)} sites)")
        st.dataframe(pd.DataFrame([{
            "site": names.get(e.facility_id, e.facility_id), "id": e.facility_id,
            "unreviewed": open_findings.get(e.facility_id, 0),
            "last reviewed": f"{e.reviewed_at:%Y-%m-%d %H:%M}" if e.reviewed_at else "never",
            "reviewed by": e.reviewed_by or "", "watched since": f"{e.added_at:%Y-%m-%d}", "added by": e.added_by}
            for e in entries]), hide_index=True, width="stretch")
    watched = {e.facility_id for e in entries}
    add, remove = st.columns(2)
    with add.form("watch_add_form", border=True):
        st.markdown("**Watch more sites**")
        options = [f.id for f in facilities if f.id not in watched]
        picked = st.multiselect("Sites", options, key=state.WATCH_ADD, format_func=lambda i: names.get(i, i))
        codes = {f.country for f in facilities if f.country}
        countries = st.multiselect("Or every site of these countries", sorted(codes, key=country_name),
                                   key=state.WATCH_ADD_COUNTRY, format_func=_country_label)
        categories = st.multiselect("And of these categories", sorted({f.category for f in facilities
                                                                      if f.category}),
                                    key=state.WATCH_ADD_CATEGORY)
        if st.form_submit_button("Watch"):
            ids = chosen_ids(facilities, picked, countries, categories)
            _change(store, settings, ids, add=True)
    if entries:
        with remove.form("watch_remove_form", border=True):
            st.markdown("**Stop watching**")
            gone = st.multiselect("Sites", sorted(watched), key=state.WATCH_REMOVE,
                                  format_func=lambda i: names.get(i, i))
            st.caption("Their unreviewed findings are dropped too.")
            if st.form_submit_button("Stop watching"):
                _change(store, settings, gone, add=False)


def _change(store: Store, settings: Settings, ids: Sequence[str], *, add: bool) -> None:
    if not ids:
        st.warning("Pick at least one site" + (", country or category." if add else "."))
        return
    tables = watch_tables(store)
    actor = state.actor(settings)
    try:
        changed = tables.add(ids, actor=actor) if add else tables.remove(ids, actor=actor)
    except ERRORS as err:
        log.exception("watch page: the watchlist change failed: %s", err)
        st.error("The watchlist could not be changed; nothing was changed.")
        return
    _flash("success", f"Now watching {len(changed)} more site(s)." if add else
           f"Stopped watching {len(changed)} site(s).")
    st.rerun()


def watch_page(store: Store, settings: Settings) -> None:
    """The Watched sites page: what changed since you last looked, the scan, and the watchlist."""
    st.title("Watched sites")
    _show_flash()
    try:
        tables = watch_tables(store)
        entries = tables.watched()
        facilities = store.list_facilities()
        sites = build_sites(store, app_url="") if entries else []
    except ERRORS as err:
        log.exception("watch page: the watchlist cannot be read: %s", err)
        st.error("The watchlist cannot be read from this registry.")
        return
    if not entries:
        st.info(WHAT_WATCHING_IS)
        _watchlist(store, settings, entries, facilities, {})
        return
    names = {f.id: f.name for f in facilities}
    st.subheader("What changed since you last looked")
    count = sum(len(s.findings) for s in sites)
    if sites:
        st.caption(f"{len(sites)} site(s) with {count} unreviewed finding(s), the most significant change first, "
                   "then the newest imagery.")
    else:
        st.success("Nothing new at the watched sites since your last review.")
    by_id = {e.facility_id: e for e in entries}
    for n, site in enumerate(sites, 1):
        _site_card(store, settings, n, site, by_id.get(site.facility.id))
    _failures(store, names)
    _scan(store, settings, names)
    open_findings: dict[str, int] = {}
    for s in sites:
        open_findings[s.facility.id] = len(s.findings)
    _watchlist(store, settings, entries, facilities, open_findings)
