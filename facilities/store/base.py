"""The store interface (GeoPackage for one analyst, PostGIS for teams) and the values it takes.

Callers depend on `Store` only; the backend is chosen once from a database URL by
`facilities.store.open_store`. Several changes that belong together (an observation and the
source it cites, accepted article proposals, an edited table) go to `Store.apply` as one unit
of work: written all or none, recorded as one history group that one undo reverts.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

import shapely

from .. import geojson_codec as codec
from ..bbox import BBox
from ..errors import FeatureProblem, InputError
from ..model import Facility, HistoryEntry, Observation, Registry, Source, Structure


class OnConflict(StrEnum):
    """What an import does with a record whose id is already stored."""

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
    """How many records of each kind (facility, structure, observation, source) an import added, updated and skipped."""

    added: dict[str, int]
    updated: dict[str, int]
    skipped: dict[str, int]

    def summary(self) -> str:
        """One line for the user, e.g. 'added 3 facility, 2 source; skipped 1 observation'."""
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
    """The registry's storage, whatever the database: every read and write of records goes through it. Writes take the
    acting user's name for the history; each one is a transaction."""

    location: str

    # facilities
    def add_facility(self, facility: Facility, *, actor: str) -> Facility:
        """Store a new facility (DuplicateId if its id is taken); returns it as stored, with version and timestamps."""
    def update_facility(self, facility: Facility, *, actor: str) -> Facility:
        """Replace a stored facility; ConflictError if its version is not the stored one (someone else saved first)."""
    def delete_facility(self, facility_id: str, *, actor: str, cascade: bool = False) -> None:
        """Delete a facility; with `cascade` its structures and observations too, else StoreError while it has any."""
    def get_facility(self, facility_id: str) -> Facility:
        """The facility with this id; NotFound if there is none."""
    def list_facilities(self, flt: Filter = Filter()) -> list[Facility]:
        """Facilities matching `flt`, ordered by name."""
    def facilities_in_bbox(self, bbox: BBox) -> list[Facility]:
        """Facilities whose geometry meets the box (west, south, east, north in degrees)."""
    def iter_facilities(self, flt: Filter = Filter(), batch_size: int = 5000) -> Iterator[list[Facility]]:
        """Facilities matching `flt` in batches of up to `batch_size`, so a large registry is never held whole."""
    def iter_geojson_features(self, flt: Filter = Filter(), precision: int = 7,
                              batch_size: int = 5000) -> Iterator[str]:
        """The facilities matching `flt`, with their structures and observations, as GeoJSON Feature texts, for
        streaming an export."""

    # structures, observations, sources
    def add_structure(self, structure: Structure, *, actor: str) -> Structure:
        """Store a new structure of an existing facility; returns it as stored."""
    def update_structure(self, structure: Structure, *, actor: str) -> Structure:
        """Replace a stored structure; ConflictError on a stale version."""
    def delete_structure(self, structure_id: str, *, actor: str) -> None:
        """Delete a structure (observations made on it must go first)."""
    def list_structures(self, flt: Filter = Filter()) -> list[Structure]:
        """Structures matching `flt` (by facility, bounding box), ordered by facility and name."""
    def add_observation(self, observation: Observation, *, actor: str) -> Observation:
        """Store a new observation; its facility, structure and sources must exist. Returns it as stored."""
    def update_observation(self, observation: Observation, *, actor: str) -> Observation:
        """Replace a stored observation; ConflictError on a stale version."""
    def delete_observation(self, observation_id: str, *, actor: str) -> None:
        """Delete an observation."""
    def get_observation(self, observation_id: str) -> Observation:
        """The observation with this id; NotFound if there is none."""
    def list_observations(self, flt: Filter = Filter()) -> list[Observation]:
        """Observations matching `flt` (facilities, box, date interval), oldest first."""
    def add_source(self, source: Source, *, actor: str) -> Source:
        """Store a new source; returns it as stored."""
    def update_source(self, source: Source, *, actor: str) -> Source:
        """Replace a stored source; ConflictError on a stale version."""
    def get_source(self, source_id: str) -> Source:
        """The source with this id; NotFound if there is none."""
    def list_sources(self, ids: tuple[str, ...] | None = None) -> list[Source]:
        """All sources, or those with the given ids, ordered by id."""

    # units of work: several changes, all or none, one history group (one undo reverts them)
    def apply(self, changes: Sequence[Change], *, actor: str) -> list:
        """Write several changes (Add, Update, Delete) as one unit of work: all or none, one history group that one undo
        reverts. Returns each change's result in order."""

    # bulk, history, housekeeping
    def import_registry(self, registry: Registry, *, actor: str, on_conflict: OnConflict = OnConflict.ERROR,
                        note: str = "", history: Sequence[HistoryEntry] = (),
                        verify: Callable[[ImportReport, dict[str, int], Callable[[str], list]], list[str]]
                        | None = None) -> ImportReport:
        """Add a whole Registry in one transaction, resolving id clashes by `on_conflict`; `history` carries another
        registry's edit history along (migration); `verify` checks counts and records inside the transaction and
        any problem it returns rolls the import back."""
    def history(self, entity_id: str | None = None, limit: int = 100) -> list[HistoryEntry]:
        """The newest `limit` history entries, of one record or of all."""
    def counts(self) -> dict[str, int]:
        """Rows per table: facilities, structures, observations, sources, history."""
    def revision(self) -> int:
        """A number that grows with every write (the last history entry): a cache key for readers."""
    def get_meta(self, key: str) -> str | None:
        """A registry setting (schema version, seed state), or None if unset."""
    def set_meta(self, key: str, value: str) -> None:
        """Set a registry setting."""
    def check(self) -> list[str]:
        """Integrity problems found in the database (geometries, SRIDs, foreign keys); empty means healthy."""
    def collect_skipped(self) -> AbstractContextManager[list]:
        """A context manager giving the records reads inside it left out (values the model refuses)."""
    def outside_edits(self) -> list:
        """Rows another program changed or added that the history does not record yet."""
    def close(self) -> None:
        """Close the database connections."""
