"""A site's timelapse: an animated GIF and an MP4 of its analysable images, one stamped frame per usable date.

`make_timelapse` takes the site's imagery timeline (tracker.timeline.site_timeline; or one the caller
already has, as the Compare page does), keeps the images the server may read, reads each once through
the imagery session onto ONE grid over the site's padded area (imagery.aoi.AreaOfInterest), draws the
facility's outline, stamps each frame (tracker.reports.frames: date and what it means, provider, credit,
site and image key) and writes both files (tracker.reports.animation). Nothing in the registry changes.

Which dates are left out, each listed with its reason (`Timelapse.left_out`):
- licence: Esri Wayback (and any display-only image) is shown in the browser only, never in a server-made
  video;
- cloud: the source's own cloud fraction over the site above MAX_CLOUD (Sentinel-2's scene classification);
- frame limit: past MAX_FRAMES, evenly spaced dates are kept (decided before reading);
- on the pixels: most of the outline without data (MAX_OUTLINE_NODATA), or most of what has data bright
  and grey like cloud (MAX_OUTLINE_CLOUD; 8-bit images), and any image that cannot be read.
EOX yearly composites take part, labelled as such ("2021 yearly composite"): they are one picture per year,
not a capture, and the stamp says so.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from facilities.store import Store
from imagery.aoi import AreaOfInterest
from imagery.base import Capture, DateCertainty
from imagery.chips import Grid, align, grid_bbox, grid_for_bbox
from imagery.coverage import outline_coverage, outline_mask, outline_rings_px
from imagery.errors import ImageryError
from imagery.keys import ImageKey
from imagery.session import ImagerySession
from imagery.timeline import TimelineEntry
from imagery.wayback import PROVIDER as WAYBACK

from ..dating import short_key
from ..errors import NothingToAnimate
from ..timeline import SiteTimeline, find_facility, site_timeline
from .animation import FrameWriter
from .frames import band_height, compose_frame, display_rgb, font_size_for, stamp_font

log = logging.getLogger(__name__)

TIMELAPSE_SOURCES = ("eox", "sentinel-2", "local")  # the timeline sources that may hold analysable images
MAX_FRAMES = 120
MAX_SIDE = 1024  # the image part of a frame, longest side in pixels
MIN_SIDE = 480  # coarse images are shown larger than their pixels, so the stamp stays legible
MAX_CLOUD = 0.3  # the source's cloud fraction over the site above which a date is left out
MAX_OUTLINE_NODATA = 0.5  # "most of the outline" without data
MAX_OUTLINE_CLOUD = 0.5  # most of the outline's pixels bright and grey (8-bit images)
FRAME_MS = 800
STAMP_LINES = 3
PROVIDER_LABELS = {"local": "analyst's own image (local import)", "sentinel-2": "Sentinel-2 L2A scene",
                   "eox": "EOX Sentinel-2 cloudless"}
WAYBACK_REASON = ("licence: Esri Wayback is shown in the browser only (its terms let the browser display it, "
                  "not a server copy it into a video)")
Progress = Callable[[int, int], None]  # (images read, images to read)


@dataclass(frozen=True)
class Frame:
    """A date shown in the timelapse: its image, date and what the date means."""

    key: ImageKey
    date: dt.date
    certainty: DateCertainty

    def as_json(self) -> dict[str, str]:
        """{"key", "date" (ISO), "date_certainty"}."""
        return {"key": str(self.key), "date": self.date.isoformat(), "date_certainty": self.certainty.value}


@dataclass(frozen=True)
class LeftOut:
    """A date of the timeline not in the timelapse, and why (one line a person can read)."""

    key: ImageKey
    date: dt.date
    reason: str

    def as_json(self) -> dict[str, str]:
        """{"key", "date" (ISO), "reason"}."""
        return {"key": str(self.key), "date": self.date.isoformat(), "reason": self.reason}


@dataclass(frozen=True)
class Timelapse:
    """What was written: the two files, the frames in order, the dates left out with reasons, and notes (timeline
    sources that failed; the font fallback)."""

    facility_id: str
    gif: Path
    video: Path | None
    frames: tuple[Frame, ...]
    left_out: tuple[LeftOut, ...]
    size: tuple[int, int]  # (width, height) of every frame, stamp band included
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def paths(self) -> list[Path]:
        """The files written."""
        return [p for p in (self.gif, self.video) if p is not None]

    def as_json(self) -> dict[str, object]:
        """facility, gif, video, size, frames [{key, date, date_certainty}], left_out [{key, date, reason}], notes."""
        return {"facility": self.facility_id, "gif": str(self.gif), "video": str(self.video) if self.video else None,
                "size": list(self.size), "frames": [f.as_json() for f in self.frames],
                "left_out": [s.as_json() for s in self.left_out], "notes": dict(self.notes)}

    def text(self) -> str:
        """Lines for people: what was written, the frames used, the dates left out with reasons, notes."""
        lines = [f"wrote {p}" for p in self.paths]
        lines.append(f"{len(self.frames)} frames ({self.size[0]} x {self.size[1]} px): "
                     + ", ".join(f.date.isoformat() for f in self.frames))
        if self.left_out:
            lines.append(f"{len(self.left_out)} dates left out:")
            lines += [f"  {s.date} {short_key(s.key)}: {s.reason}" for s in self.left_out]
        lines += [f"note: {k}: {v}" for k, v in self.notes.items()]
        return "\n".join(lines)


def when_text(entry: TimelineEntry) -> str:
    """The date as the stamp says it, with what it means."""
    day = entry.date.isoformat()
    if entry.certainty is DateCertainty.COMPOSITE:
        return f"{entry.date.year} yearly composite (many dates blended)"
    if entry.certainty is DateCertainty.CAPTURED:
        return f"{day} (capture date)"
    if entry.certainty is DateCertainty.RELEASED:
        return f"released {day} (the pixels are older)"
    return f"{day} (date stated by the analyst)"


def credit_text(entry: TimelineEntry) -> str:
    """The credit the image's licence asks for; for an analyst's import without one, that it was not given."""
    if entry.attribution:
        return f"Credit: {entry.attribution}"
    if entry.source == "local":
        return "Credit: the analyst's own image (no credit given at import)"
    return f"Credit: {entry.key.provider}"


def stamp_lines(entry: TimelineEntry, site_name: str) -> list[str]:
    """The STAMP_LINES lines of one frame: date and certainty with the provider; credit; site and image key."""
    provider = PROVIDER_LABELS.get(entry.source, entry.key.provider)
    return [f"{when_text(entry)}  ·  {provider}", credit_text(entry),
            f"{site_name}  ·  {short_key(entry.key)}  ·  outline: site boundary"]


def plan_frames(entries: Sequence[TimelineEntry], *, max_frames: int = MAX_FRAMES
                ) -> tuple[list[TimelineEntry], list[LeftOut]]:
    """The entries to read, oldest first, and those left out before any pixel is read, with reasons.

    Pure. NothingToAnimate when none of the entries may be read by the server."""
    chosen: list[TimelineEntry] = []
    left: list[LeftOut] = []
    for e in entries:
        if e.key.provider == WAYBACK:
            left.append(LeftOut(e.key, e.date, WAYBACK_REASON))
        elif not e.analysable:
            left.append(LeftOut(e.key, e.date, "licence: display only, never in a server-made video"))
        elif e.cloud_fraction is not None and e.cloud_fraction > MAX_CLOUD:
            left.append(LeftOut(e.key, e.date, f"cloud: {e.cloud_fraction:.0%} of the site (the source's cloud "
                                               f"mask; over {MAX_CLOUD:.0%} is left out)"))
        else:
            chosen.append(e)
    if not any(e.analysable for e in entries):
        raise NothingToAnimate(
            (f"none of the site's {len(entries)} dated images may go into a server-made video (Esri Wayback is "
             "shown in the browser only)" if entries else "the site has no dated image in the period")
            + "; import your own images (facilities imagery import) or use Sentinel-2 scenes")
    if len(chosen) > max_frames:
        keep = set(np.linspace(0, len(chosen) - 1, max_frames).round().astype(int).tolist())
        left += [LeftOut(e.key, e.date, f"frame limit: at most {max_frames} frames, evenly spaced dates kept")
                 for n, e in enumerate(chosen) if n not in keep]
        chosen = [e for n, e in enumerate(chosen) if n in keep]
    left.sort(key=lambda s: (s.date, str(s.key)))
    return chosen, left


def _even(n: float) -> int:
    return max(2, 2 * round(n / 2))


def frame_grid(aoi: AreaOfInterest, entries: Sequence[TimelineEntry], *, max_side: int = MAX_SIDE,
               min_side: int = MIN_SIDE) -> Grid:
    """The one grid every frame is read onto: local UTM over the padded area, at the finest image's resolution
    (no finer), its longest side between `min_side` and `max_side` px, both sides even."""
    probe = grid_for_bbox(aoi.bbox, size=aoi.grid_size)
    left, bottom, right, top = probe.bounds
    width_m, height_m = right - left, top - bottom
    long_m = max(width_m, height_m)
    finest = min((e.resolution_m for e in entries if e.resolution_m and e.resolution_m > 0), default=None)
    long_px = long_m / finest if finest else max(aoi.grid_size)
    long_px = min(max(long_px, min_side), max_side)
    return grid_for_bbox(aoi.bbox, size=(_even(long_px * width_m / long_m), _even(long_px * height_m / long_m)))


def output_paths(out: str | os.PathLike[str], facility_id: str) -> tuple[Path, Path]:
    """(GIF, MP4) for `-o`: a directory (existing, or written with a trailing slash) gets
    `<facility>-timelapse.gif/.mp4` in it; otherwise `out` is the stem (a .gif or .mp4 suffix is dropped)."""
    text = os.fspath(out)
    out = Path(text)
    if out.is_dir() or text.endswith(("/", os.sep)):
        stem = out / f"{facility_id}-timelapse"
    else:
        stem = out.with_suffix("") if out.suffix.lower() in (".gif", ".mp4") else out
    return stem.with_name(stem.name + ".gif"), stem.with_name(stem.name + ".mp4")


def _pixel_reason(cover_nodata: float, cover_cloud: float) -> str:
    if cover_nodata > MAX_OUTLINE_NODATA:
        return f"nodata: {cover_nodata:.0%} of the outline has no pixels on this image"
    if cover_cloud > MAX_OUTLINE_CLOUD:
        return f"cloud: {cover_cloud:.0%} of the outline is bright and grey on this image"
    return ""


def make_timelapse(store: Store, session: ImagerySession, facility: str, out: str | os.PathLike[str], *,
                   start: dt.date | None = None, end: dt.date | None = None,
                   sources: Sequence[str] = TIMELAPSE_SOURCES, timeline: SiteTimeline | None = None,
                   max_frames: int = MAX_FRAMES, max_side: int = MAX_SIDE, frame_ms: int = FRAME_MS,
                   video: bool = True, progress: Progress | None = None) -> Timelapse:
    """Write the timelapse of `facility` (id, name or alias) as GIF and MP4 at `out` (see output_paths).

    `timeline`: the site's timeline when the caller has it (else it is listed from `sources` between `start` and
    `end`; a given timeline is still cut to them). NothingToAnimate (one line) when no image may be shown or every
    one is left out; nothing is written then. Writes nothing to the registry."""
    fac = find_facility(store, facility)
    if timeline is None:
        timeline = site_timeline(store, session, fac.id, start=start, end=end, sources=tuple(sources))
    entries = [e for e in timeline.entries if (start is None or e.date >= start) and (end is None or e.date <= end)]
    chosen, left = plan_frames(entries, max_frames=max_frames)
    aoi = AreaOfInterest.of(fac.geometry)
    grid = frame_grid(aoi, chosen, max_side=max_side)
    mask, rings = outline_mask(fac.geometry, grid), outline_rings_px(fac.geometry, grid)
    font = stamp_font(font_size_for(grid.width))
    size = (grid.width, grid.height + band_height(STAMP_LINES, font))
    gif, mp4 = output_paths(out, fac.id)
    locals_ = _local_captures(session, grid_bbox(grid), chosen)
    writer = FrameWriter(gif, mp4 if video else None, size, frame_ms)
    frames: list[Frame] = []
    try:
        for n, e in enumerate(chosen, 1):
            try:
                capture = locals_.get(e.key.image_id) or session.capture_for(e.key, grid_bbox(grid))
                chip = align(session.read_image(e.key, grid, capture=capture), grid)
            except (ImageryError, OSError) as err:
                log.warning("timelapse of %s: %s not read: %s", fac.id, e.key, err)
                left.append(LeftOut(e.key, e.date, f"not read: {err}"))
                continue
            finally:
                if progress is not None:
                    progress(n, len(chosen))
            cover = outline_coverage(chip.data, chip.nodata, mask)
            reason = _pixel_reason(cover.nodata, cover.cloud)
            if reason:
                left.append(LeftOut(e.key, e.date, reason))
                continue
            writer.add(compose_frame(display_rgb(chip.data, chip.nodata), rings, stamp_lines(e, fac.name), font))
            frames.append(Frame(e.key, e.date, e.certainty))
        left.sort(key=lambda s: (s.date, str(s.key)))
        if not frames:
            reasons = sorted({s.reason.split(":")[0] for s in left})
            raise NothingToAnimate(f"no frame for {fac.id}: all {len(chosen)} readable images were left out "
                                   f"({', '.join(reasons)}); see 'facilities imagery timeline {fac.id}'")
        writer.finish()
    except BaseException:
        writer.abort()
        raise
    notes = dict(timeline.notes)
    if font.notice:
        notes["font"] = font.notice
    return Timelapse(fac.id, gif, mp4 if video else None, tuple(frames), tuple(left), size, notes)


def _local_captures(session: ImagerySession, bbox: tuple[float, float, float, float],
                    entries: Sequence[TimelineEntry]) -> dict[str, Capture]:
    """The local imports among `entries` by id, from one listing (not one listing per image)."""
    wanted = {e.key.image_id for e in entries if e.key.provider == session.local.key}
    if not wanted:
        return {}
    return {c.capture_id: c for c in session.local.captures(bbox) if c.capture_id in wanted}

