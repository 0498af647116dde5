"""Sites with imagery on this machine: the facilities an analyst's imported images cover, so a Compare page with
nothing to show can offer them (they open offline)."""

from __future__ import annotations

from dataclasses import dataclass

from facilities.model import Facility
from facilities.store import Store
from imagery.session import ImagerySession

WORLD = (-180.0, -90.0, 180.0, 90.0)


@dataclass(frozen=True)
class SiteImagery:
    """A facility and how many imported images cover its box."""

    facility: Facility
    images: int


def sites_with_local_imagery(store: Store, session: ImagerySession, limit: int = 20) -> list[SiteImagery]:
    """The facilities whose box meets an imported image's footprint, most images first (then by name), at most
    `limit`. One listing of the imports (their provenance sidecars) and one box query per import."""
    counts: dict[str, int] = {}
    by_id: dict[str, Facility] = {}
    for capture in session.local.captures(WORLD):
        west, south, east, north = (float(v) for v in capture.extra["bounds_wgs84"])
        for facility in store.facilities_in_bbox((west, south, east, north)):
            counts[facility.id] = counts.get(facility.id, 0) + 1
            by_id[facility.id] = facility
    ranked = sorted(counts, key=lambda fid: (-counts[fid], by_id[fid].name.casefold()))
    return [SiteImagery(by_id[fid], counts[fid]) for fid in ranked[:limit]]
