"""One time axis of a site's imagery: every dated image from every source as a `TimelineEntry`, merged.

Pure: the entries come from Captures the sources listed (Wayback releases with local changes,
Sentinel-2 scenes, EOX yearly composites, local imports); nothing here does I/O. `as_json` is a
contract shared by `facilities imagery timeline --json` and scripts: exactly the keys in FIELDS.

`key` is the image's ImageKey ("provider:image_id"), the one name every other command takes.
`date_certainty` says what `date` means (captured | released | composite | stated); `analysable`
whether the source's licence lets the server read its pixels (Esri Wayback: never).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .base import Capture, DateCertainty
from .keys import ImageKey

FIELDS = ("key", "provider", "image_id", "date", "date_certainty", "release_date", "other_dates", "resolution_m",
          "cloud_fraction", "licence", "attribution", "analysable")
SOURCES = ("wayback", "eox", "sentinel-2", "local")  # what --source takes


@dataclass(frozen=True)
class TimelineEntry:
    """One dated image of a site on the shared axis."""

    key: ImageKey
    date: dt.date
    certainty: DateCertainty
    source: str  # one of SOURCES
    release_date: dt.date | None = None  # Wayback: when the release was published
    other_dates: tuple[dt.date, ...] = ()  # parts of a mosaic captured on other days
    resolution_m: float | None = None
    cloud_fraction: float | None = None  # inside the outline, 0..1, where the source measures it
    licence: str = ""
    attribution: str = ""
    analysable: bool = False  # the licence lets the server read the pixels
    note: str = ""  # what the source said about this image's dating (a missing metadata layer, ...)

    def as_json(self) -> dict[str, object]:
        """The contract's object: exactly the keys in FIELDS, dates as ISO text."""
        return {
            "key": str(self.key), "provider": self.key.provider, "image_id": self.key.image_id,
            "date": self.date.isoformat(), "date_certainty": self.certainty.value,
            "release_date": self.release_date.isoformat() if self.release_date else None,
            "other_dates": [d.isoformat() for d in self.other_dates],
            "resolution_m": self.resolution_m, "cloud_fraction": self.cloud_fraction,
            "licence": self.licence, "attribution": self.attribution, "analysable": self.analysable,
        }


def _fraction(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if 0.0 <= value <= 1.0 else None


def entry_from_capture(capture: Capture, source: str, *, analysable: bool) -> TimelineEntry | None:
    """The entry for one listed capture; None for a capture without a date (it cannot be placed on the axis).
    A yearly composite is placed mid-year, as the compare view's slider places it."""
    date = capture.date
    year = capture.extra.get("year")
    if date is None and capture.certainty is DateCertainty.COMPOSITE and isinstance(year, int):
        date = dt.date(year, 7, 1)
    if date is None:
        return None
    release = capture.extra.get("release_date")
    try:
        release_date = dt.date.fromisoformat(release) if isinstance(release, str) else None
    except ValueError:
        release_date = None
    cloud = getattr(capture, "cloud_fraction", None)
    if cloud is None:
        cloud = capture.extra.get("aoi_cloud_fraction", capture.extra.get("cloud_fraction"))
    return TimelineEntry(
        key=ImageKey(capture.provider, capture.capture_id), date=date, certainty=capture.certainty,
        source=source, release_date=release_date, other_dates=tuple(capture.other_dates),
        resolution_m=capture.resolution_m, cloud_fraction=_fraction(cloud), licence=capture.licence,
        attribution=capture.attribution, analysable=analysable, note=str(capture.extra.get("note") or ""),
    )


def merge(*groups: Iterable[TimelineEntry]) -> list[TimelineEntry]:
    """Every entry of every group on one axis, oldest first (ties: source, then key), each key once."""
    seen: dict[str, TimelineEntry] = {}
    for group in groups:
        for entry in group:
            seen.setdefault(str(entry.key), entry)
    return sorted(seen.values(), key=lambda e: (e.date, e.source, str(e.key)))


def within(entries: Sequence[TimelineEntry], start: dt.date | None, end: dt.date | None) -> list[TimelineEntry]:
    """The entries dated in [start, end] (either open)."""
    return [e for e in entries if (start is None or e.date >= start) and (end is None or e.date <= end)]
