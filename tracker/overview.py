"""What every rerun of the registry pages needs from the whole registry (all facilities and
structures, the last observation date per facility): read once per registry revision (the UI
caches it by revision, ui.state.snapshot).

A rerun happens on every click; at 10,000 sites reading these took ~1.6 s each time (the bench's
facility-switch figure). The store's revision grows with each write (its history), so a cached
snapshot is never stale; records are frozen dataclasses, so sharing them between sessions is safe.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from facilities.model import Facility, Structure
from facilities.store import Store


@dataclass(frozen=True)
class Overview:
    """What the map needs of the whole registry at one revision: facilities, structures and each facility's latest
    observation date."""

    revision: int
    facilities: list[Facility]
    structures: list[Structure]
    last_observations: dict[str, dt.date]  # facility id -> end of its latest observation date
    skipped: tuple[str, ...] = ()  # records left out: a value the model refuses (edited outside the app)


def last_observations(store: Store) -> dict[str, dt.date]:
    """The end of the latest observation date per facility id."""
    last: dict[str, dt.date] = {}
    for o in store.list_observations():
        end = o.date.end
        if o.facility_id not in last or end > last[o.facility_id]:
            last[o.facility_id] = end
    return last


def read_overview(store: Store) -> Overview:
    """The whole registry's facilities, structures and last observation dates, as of now; records the model
    refuses (edited outside the app) are left out and named in `skipped`."""
    with store.collect_skipped() as skipped:
        overview = Overview(store.revision(), store.list_facilities(), store.list_structures(),
                            last_observations(store))
    return replace(overview, skipped=tuple(str(p) for p in skipped))
