"""The watchlist's values: which facilities are watched, when each was last reviewed, and the findings a scan
left for the analyst to accept or dismiss.

A finding is never an observation: it is what a scan noticed (new imagery, or a measured change between two
images) waiting for a person. Accepting one records an observation and moves the site's review date;
dismissing one only moves the date. Plain frozen values; the store (facilities/store/watch.py) reads and
writes them, the services (tracker/watch/) make them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class FindingKind(StrEnum):
    """What a scan found at a site."""

    NEW_WAYBACK_RELEASE = "new-wayback-release"  # a Wayback release changed the site's tiles (display only)
    NEW_SCENE = "new-scene"  # a Sentinel-2 scene clear enough inside the outline
    NEW_LOCAL_IMAGE = "new-local-image"  # an image the analyst imported
    CHANGE = "change"  # the change measure between the last reviewed image and the newest readable one


class FindingStatus(StrEnum):
    """Where a finding is in the analyst's review."""

    UNREVIEWED = "unreviewed"
    ACCEPTED = "accepted"
    DISMISSED = "dismissed"


@dataclass(frozen=True)
class WatchEntry:
    """One watched facility and its review state."""

    facility_id: str
    added_at: dt.datetime
    added_by: str
    reviewed_at: dt.datetime | None = None  # None: never reviewed (news is counted from added_at)
    reviewed_by: str | None = None
    reviewed_keys: tuple[str, ...] = ()  # image keys the analyst last reviewed: the change measure's "before"

    @property
    def since(self) -> dt.date:
        """The day after which imagery counts as news: the last review, else the day it was watched."""
        return (self.reviewed_at or self.added_at).date()


@dataclass(frozen=True)
class Finding:
    """What a scan noticed at one facility, waiting for the analyst."""

    id: str
    facility_id: str
    kind: FindingKind
    after_key: str  # the new image ("provider:image_id")
    after_date: dt.date | None
    before_key: str | None = None  # CHANGE: the image compared against
    before_date: dt.date | None = None
    significant: bool | None = None  # CHANGE only: whether anything beat the pair's own noise
    significance: float | None = None  # CHANGE only: strongest region score in noise sigmas (0 if none)
    changed_m2: float | None = None
    changed_m2_range: tuple[float, float] | None = None
    polygons: dict[str, Any] = field(default_factory=dict)  # CHANGE: GeoJSON FeatureCollection (EPSG:4326)
    note: str = ""  # e.g. "display only: no pixel analysis (Esri's terms)"
    run_id: str = ""
    created_at: dt.datetime | None = None
    status: FindingStatus = FindingStatus.UNREVIEWED
    decided_at: dt.datetime | None = None
    decided_by: str | None = None
    observation_id: str | None = None  # the observation an accepted finding became

    def rank(self) -> tuple[float, float]:
        """Sort key, larger first: significance (a measured significant change above news without pixels),
        then newness (the new image's date)."""
        weight = (self.significance or 0.0) if self.significant else 0.0
        day = self.after_date.toordinal() if self.after_date else 0
        return (weight, float(day))
