"""One facility's records gathered for a report, plus the small file helpers every writer shares."""

from __future__ import annotations

import datetime as dt
import os
import textwrap
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from facilities.files import write_atomically
from facilities.model import Facility, Observation, Source, Structure
from facilities.store import Filter, Store


@dataclass(frozen=True)
class Site:
    """A facility with its structures, observations (date order) and cited sources."""

    facility: Facility
    structures: tuple[Structure, ...] = ()
    observations: tuple[Observation, ...] = ()
    sources: tuple[Source, ...] = ()

    def structure(self, structure_id: str | None) -> Structure | None:
        return next((s for s in self.structures if s.id == structure_id), None)

    def cited_source_ids(self) -> list[str]:
        """Source ids in order of first citation: facility, structures, then observations."""
        seen: dict[str, None] = {}
        for rec in (self.facility, *self.structures, *self.observations):
            for sid in rec.source_ids:
                seen.setdefault(sid, None)
        return list(seen)


def load_site(store: Store, facility_id: str, flt: Filter = Filter()) -> Site:
    """Everything a report needs about one facility; the filter's dates select observations."""
    facility = store.get_facility(facility_id)
    only = Filter(facility_ids=(facility_id,), date_from=flt.date_from, date_to=flt.date_to)
    structures = tuple(store.list_structures(Filter(facility_ids=(facility_id,))))
    observations = tuple(sorted(store.list_observations(only), key=lambda o: (o.date.start, o.id)))
    site = Site(facility, structures, observations)
    ids = tuple(site.cited_source_ids())
    return Site(facility, structures, observations, tuple(store.list_sources(ids)) if ids else ())


def software_version() -> str:
    try:
        return version("facility-tracker")
    except PackageNotFoundError:  # running from a checkout that was never installed
        return "unknown"


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def shorten(text: str, width: int = 60) -> str:
    """One-line label no longer than `width`: long names would cover the image or the page."""
    return textwrap.shorten(" ".join(text.split()), width=width, placeholder="…") or text[:width]


def wrap(text: str, width: int = 40, lines: int = 2) -> str:
    return "\n".join(textwrap.wrap(" ".join(text.split()), width=width, max_lines=lines, placeholder="…"))


def atomic_write(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write to a temporary file beside `path` and rename it: readers never see half a file."""
    write_atomically(path, [data], binary=True)
    return Path(path)
