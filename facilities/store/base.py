"""The store interface (GeoPackage for one analyst, PostGIS for teams) and the values it takes.

Callers depend on `Store` only; the backend is chosen once from a database URL by
`facilities.store.open_store`. Several changes that belong together (an observation and the
source it cites, accepted article proposals, an edited table) go to `Store.apply` as one unit
of work: written all or none, recorded as one history group that one undo reverts.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

import shapely

from .. import geojson_codec as codec
from ..errors import FeatureProblem, InputError
from ..model import Facility, HistoryEntry, Observation, Registry, Source, Structure

BBox = tuple[float, float, float, float]  # west, south, east, north in degrees


class OnConflict(StrEnum):
    ERROR = "error"  # refuse the whole import if any id is already stored
    SKIP = "skip"  # keep what is stored, add only new ids
    UPDATE = "update"  # replace stored records with the imported ones (history kept)


@dataclass(frozen=True)
class Filter:
    """What a listing or export selects. Empty means everything."""

    facility_ids: tuple[str, ...] | None = None
    bbox: BBox | None = None
    date_from: dt.date | None = None  # observations whose date interval overlaps [from, to]
    date_to: dt.date | None = None


@dataclass(frozen=True)
class ImportReport:
    added: dict[str, int]
    updated: dict[str, int]
    skipped: dict[str, int]

    def summary(self) -> str:
        parts = []
        for what, counts in (("added", self.added), ("updated", self.updated), ("skipped", self.skipped)):
            if any(counts.values()):
                parts.append(f"{what} " + ", ".join(f"{n} {k}" for k, n in counts.items() if n))
        return "; ".join(parts) or "nothing to import"


def history_state(obj) -> dict:
    """A record as the history keeps it: its GeoJSON properties and, where it has one, its
    geometry as GeoJSON, so a deleted outline or a reshaped footprint can be seen and restored."""
    state = codec.properties(obj)
    geometry = getattr(obj, "geometry", None)
    if geometry is not None:
        state["geometry"] = json.loads(shapely.to_geojson(geometry))
    return state


def raise_reference_problems(objs: Sequence, sources: set[str], facilities: set[str],
                             structures: Mapping[str, str]) -> None:
    """Every backend's import check: each record's sources, facility and structure must be known
    (in the file or in the store); otherwise InputError listing each record and why."""
    problems = []
    for i, o in enumerate(objs):
        reasons = []
        gone = sorted(set(o.source_ids) - sources)
        if gone:
            reasons.append(f"cites unknown sources {gone}")
        fac = getattr(o, "facility_id", None)
        if fac is not None and fac not in facilities:
            reasons.append(f"belongs to unknown facility {fac!r}")
        sid = getattr(o, "structure_id", None)
        if sid is not None and structures.get(sid) != fac:
            reasons.append(f"structure {sid!r} is not a structure of {fac!r}")
        if reasons:
            problems.append(FeatureProblem(i, o.id, "; ".join(reasons)))
    if problems:
        raise InputError(f"{len(problems)} records refer to things that are neither in the file nor in the "
                         "registry; nothing was imported", problems)


@dataclass(frozen=True)
class Add:
    """Create `record`. With `if_absent`, a record of that id already stored is kept as it is (a
    source cited again) instead of refusing the whole unit."""

    record: Facility | Structure | Observation | Source
    if_absent: bool = False


@dataclass(frozen=True)
class Update:
    """Replace `record`; its `version` must be the version that was read (optimistic locking)."""

    record: Facility | Structure | Observation | Source


@dataclass(frozen=True)
class Delete:
    """Delete the record `kind` `id`; a facility with `cascade` takes its structures and observations.
    With `version`, the delete is refused (ConflictError) if the stored record is at another version."""

    kind: str  # facility / structure / observation / source
    id: str
    cascade: bool = False
    version: int | None = None


Change = Add | Update | Delete


class Store(Protocol):
    location: str

    # facilities
    def add_facility(self, facility: Facility, *, actor: str) -> Facility: ...
    def update_facility(self, facility: Facility, *, actor: str) -> Facility: ...
    def delete_facility(self, facility_id: str, *, actor: str, cascade: bool = False) -> None: ...
    def get_facility(self, facility_id: str) -> Facility: ...
    def list_facilities(self, flt: Filter = Filter()) -> list[Facility]: ...
    def facilities_in_bbox(self, bbox: BBox) -> list[Facility]: ...
    def iter_facilities(self, flt: Filter = Filter(), batch_size: int = 5000) -> Iterator[list[Facility]]: ...
    def iter_geojson_features(self, flt: Filter = Filter(), precision: int = 7,
                              batch_size: int = 5000) -> Iterator[str]: ...

    # structures, observations, sources
    def add_structure(self, structure: Structure, *, actor: str) -> Structure: ...
    def update_structure(self, structure: Structure, *, actor: str) -> Structure: ...
    def delete_structure(self, structure_id: str, *, actor: str) -> None: ...
    def list_structures(self, flt: Filter = Filter()) -> list[Structure]: ...
    def add_observation(self, observation: Observation, *, actor: str) -> Observation: ...
    def update_observation(self, observation: Observation, *, actor: str) -> Observation: ...
    def delete_observation(self, observation_id: str, *, actor: str) -> None: ...
    def get_observation(self, observation_id: str) -> Observation: ...
    def list_observations(self, flt: Filter = Filter()) -> list[Observation]: ...
    def add_source(self, source: Source, *, actor: str) -> Source: ...
    def update_source(self, source: Source, *, actor: str) -> Source: ...
    def get_source(self, source_id: str) -> Source: ...
    def list_sources(self, ids: tuple[str, ...] | None = None) -> list[Source]: ...

    # units of work: several changes, all or none, one history group (one undo reverts them)
    def apply(self, changes: Sequence[Change], *, actor: str) -> list: ...

    # bulk, history, housekeeping
    def import_registry(self, registry: Registry, *, actor: str, on_conflict: OnConflict = OnConflict.ERROR,
                        note: str = "", history: Sequence[HistoryEntry] = ()) -> ImportReport: ...
    def history(self, entity_id: str | None = None, limit: int = 100) -> list[HistoryEntry]: ...
    def counts(self) -> dict[str, int]: ...
    def revision(self) -> int: ...  # grows with every write (the last history entry): a cache key
    def get_meta(self, key: str) -> str | None: ...
    def set_meta(self, key: str, value: str) -> None: ...
    def check(self) -> list[str]: ...
    def close(self) -> None: ...
