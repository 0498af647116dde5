"""The Compare page's "Make a timelapse": the site's analysable images of the dates and sources the page lists, as
an animated GIF and an MP4 (tracker.reports.timelapse.make_timelapse), shown with what was used and what was left
out, and offered for download.

The page's layers become the timeline the function takes (`site_timeline_of`), so the video holds exactly the
dates the strip shows; Esri Wayback dates are listed as left out (licence), never read. Files go to
<data dir>/timelapses/, named by the facility and the dates asked for, so the same request makes the same file.
The answer is kept in the session (ui.state.TIMELAPSE) until the dates or sources change.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import streamlit as st

from facilities.model import Facility
from facilities.store import Store
from imagery.catalogue import DatedLayer
from imagery.errors import ImageryError
from imagery.timeline import TimelineEntry, entry_from_capture
from tracker.availability import explain
from tracker.errors import TrackerError
from tracker.reports.timelapse import Timelapse, make_timelapse
from tracker.settings import Settings
from tracker.timeline import SiteTimeline

from . import notices, state
from .safe import markdown_text
from .timeline_strip import entry_for

# the page's source labels (imagery.catalogue) -> the timeline's sources (imagery.timeline.SOURCES)
TIMELINE_SOURCE = {"Wayback": "wayback", "Sentinel-2 cloudless": "eox", "Sentinel-2 scene": "sentinel-2",
                   "Local image": "local"}
NOTHING_ANALYSABLE = ("No timelapse can be made from these dates: Esri Wayback imagery is shown by your browser "
                      "only and is never put in a video. Import a GeoTIFF of the site on the Import page, or choose "
                      "the Sentinel-2 sources when online.")
ERRORS = (TrackerError, ImageryError, OSError)


def timeline_entry(layer: DatedLayer) -> TimelineEntry:
    """The layer as the timeline entry `facilities imagery timeline` would list (source named as the timeline names
    it, the capture's credit and cloud fraction), with the page's date and analysability."""
    source = TIMELINE_SOURCE.get(layer.source, layer.source)
    listed = entry_from_capture(layer.capture, source, analysable=layer.readable) if layer.capture else None
    if listed is None:
        return dataclasses.replace(entry_for(layer), source=source)
    return dataclasses.replace(listed, date=layer.date, certainty=layer.certainty, analysable=layer.readable)


def site_timeline_of(facility: Facility, layers: Sequence[DatedLayer],
                     notes: dict[str, str] | None = None) -> SiteTimeline:
    """The page's layers as the site's timeline, oldest first."""
    entries = sorted((timeline_entry(layer) for layer in layers), key=lambda e: (e.date, e.source, str(e.key)))
    return SiteTimeline(facility, entries, dict(notes or {}))


def request_key(facility: Facility, layers: Sequence[DatedLayer]) -> str:
    """What a timelapse was made of: the facility (and its version: the outline is drawn) and the layers' keys."""
    text = "\n".join([facility.id, str(facility.version), *sorted(layer.key for layer in layers)])
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def output_stem(settings: Settings, facility: Facility, request: str) -> Path:
    """<data dir>/timelapses/<facility>-<request>: the GIF and MP4 are this with .gif and .mp4."""
    return Path(settings.data_dir) / "timelapses" / f"{facility.id}-{request}"


def show_timelapse(store: Store, settings: Settings, facility: Facility, layers: Sequence[DatedLayer],
                   notes: dict[str, str] | None = None) -> None:
    """The "Make a timelapse" button, or why there can be none; then the last timelapse made of these dates."""
    st.subheader("Timelapse")
    if not any(layer.readable for layer in layers):
        st.info(NOTHING_ANALYSABLE)
        return
    request = request_key(facility, layers)
    kept = state.get(state.TIMELAPSE)
    made = kept[1] if isinstance(kept, tuple) and kept[0] == request else None
    if st.button("Make a timelapse", key=state.TIMELAPSE_BUTTON,
                 help="An animated GIF and an MP4 of the listed dates whose images the server may read, each frame "
                      "stamped with its date, provider and credit, the site's outline drawn."):
        made = _make(store, settings, facility, layers, notes, request)
    if isinstance(made, Timelapse):
        _show(made)
    elif isinstance(made, str):
        st.info(made)


def _make(store: Store, settings: Settings, facility: Facility, layers: Sequence[DatedLayer],
          notes: dict[str, str] | None, request: str) -> Timelapse | str | None:
    """Make the timelapse with a progress bar; its answer (or the one-line reason there is none) is kept."""
    bar = st.progress(0.0, text="Reading the images…")

    def progress(done: int, total: int) -> None:
        bar.progress(done / max(total, 1), text=f"Read {done} of {total} images")

    try:
        made: Timelapse | str = make_timelapse(store, state.imagery(settings), facility.id,
                                               output_stem(settings, facility, request),
                                               timeline=site_timeline_of(facility, layers, notes), progress=progress)
    except ERRORS as err:
        bar.empty()
        if not isinstance(err, TrackerError):
            notices.error("The timelapse could not be made", err)
            return None
        made = explain(err, "No timelapse")
    bar.empty()
    state.put(state.TIMELAPSE, (request, made))
    return made


def _read(path: Path | None) -> bytes | None:
    try:
        return path.read_bytes() if path is not None else None
    except OSError:  # the data directory was cleaned since: the caption still says what was made
        return None


def left_out_frame(made: Timelapse) -> pd.DataFrame:
    """The dates left out: date, image key, reason (plain cells, not markdown)."""
    return pd.DataFrame([{"Date": s.date.isoformat(), "Image": str(s.key), "Reason": s.reason}
                         for s in made.left_out], columns=["Date", "Image", "Reason"])


def _show(made: Timelapse) -> None:
    gif, video = _read(made.gif), _read(made.video)
    dates = ", ".join(f.date.isoformat() for f in made.frames)
    caption = (f"{len(made.frames)} frame{'s' if len(made.frames) != 1 else ''} ({made.size[0]} x {made.size[1]} px),"
               f" oldest first: {dates}. Each frame is stamped with its date and what it means, the provider and the "
               "credit; the yellow line is the site's outline.")
    if gif is None:
        st.warning("The timelapse files are gone from the data directory: make it again.")
        return
    st.image(gif, caption=caption, width=made.size[0])  # its own size: a narrower width would drop the animation
    c1, c2 = st.columns(2)
    c1.download_button("Download the GIF", gif, file_name=made.gif.name, mime="image/gif",
                       key=state.TIMELAPSE_GIF)
    if video is not None and made.video is not None:
        c2.download_button("Download the MP4", video, file_name=made.video.name, mime="video/mp4",
                           key=state.TIMELAPSE_MP4)
    if made.left_out:
        with st.expander(f"{len(made.left_out)} date{'s' if len(made.left_out) != 1 else ''} left out, and why"):
            st.dataframe(left_out_frame(made), hide_index=True, width="stretch")
    for name, note in made.notes.items():
        st.caption(markdown_text(f"{name}: {note}"))
