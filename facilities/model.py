"""The registry's domain values: pure, immutable, no I/O.

A Facility *has* a shapely geometry (EPSG:4326 lon/lat); it is not one. Every value offers
`__geo_interface__` (a GeoJSON Feature) so geopandas and folium take it directly. Cheap checks
(ids, enums, required text) run on construction; geometry checks, which cost GEOS time, run at the
boundaries where data enters (see facilities.geometry.check_geometry).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from enum import StrEnum
from typing import Any, Self, TypeVar

from shapely.geometry.base import BaseGeometry

from .dates import PartialDate
from .errors import ValidationError
from .geometry import ground_area_m2
from .values import check_encodable, check_json_value, check_version

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")
MAX_TEXT = 20_000  # notes and excerpts; names are capped lower
MAX_NAME = 300


class LocationPrecision(StrEnum):
    """How well a geometry is located, from a ground survey down to only the town."""

    SURVEYED = "surveyed"  # measured on the ground or from a published survey
    DIGITISED = "digitised"  # traced by an analyst over imagery
    APPROXIMATE = "approximate"  # an area of interest around a known point
    CITY = "city"  # only the town is known


class FacilityStatus(StrEnum):
    """The state of a facility or structure, as last known."""

    ACTIVE = "active"
    EXPANDING = "expanding"
    UNDER_CONSTRUCTION = "under-construction"
    INACTIVE = "inactive"
    DEMOLISHED = "demolished"
    UNKNOWN = "unknown"


class ObservationKind(StrEnum):
    """What an observation records: construction starting, progress, completion, a new roof, demolition, activity, a
    visit, a statement."""

    CONSTRUCTION_START = "construction-start"
    PROGRESS = "progress"
    COMPLETED = "completed"
    REROOFED = "reroofed"
    DEMOLISHED = "demolished"
    ACTIVITY = "activity"
    VISIT = "visit"
    STATEMENT = "statement"  # an official or reported claim, not something seen
    OTHER = "other"


class Confidence(StrEnum):
    """The analyst's confidence in an observation."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


def check_id(value: object, what: str = "id") -> str:
    """`value` if it is a valid id (lower-case letters, digits, '.', '_', '-'; 1-100 characters); ValidationError
    naming `what` if not."""
    if not isinstance(value, str) or not ID_PATTERN.match(value):
        raise ValidationError(
            f"{what} {value!r} must be lower-case letters, digits, '.', '_' or '-' (1-100 characters), "
            "starting with a letter or digit"
        )
    return value


def check_text(value: object, what: str, *, required: bool = False, limit: int = MAX_TEXT) -> str:
    """`value` as text (None as ''): ValidationError naming `what` if it is not a string, holds NUL, is empty when
    `required`, or exceeds `limit` characters."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationError(f"{what} must be text, got {type(value).__name__}")
    if "\x00" in value:
        raise ValidationError(f"{what} contains a NUL character")
    check_encodable(value, what)
    if required and not value.strip():
        raise ValidationError(f"{what} is required and empty")
    if len(value) > limit:
        raise ValidationError(f"{what} is {len(value):,} characters long; the limit is {limit:,}")
    return value


def slugify(text: str) -> str:
    """A stable id from a name: 'February 11 Plant' -> 'february-11-plant'."""
    import unicodedata

    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:80]
    return slug or "facility"


def unique_id(base: str, taken, limit: int = 100) -> str:
    """`base` cut to `limit`, or with -2, -3... until it is not in `taken` (not modified)."""
    ident, n = base[:limit].strip("-") or "facility", 1
    while ident in taken:
        n += 1
        suffix = f"-{n}"
        ident = base[:limit - len(suffix)].rstrip("-") + suffix
    return ident


_E = TypeVar("_E", bound=StrEnum)
_T = TypeVar("_T")


def as_enum(cls: type[_E], value: object, what: str) -> _E:
    """`value` (a member or its string) as a member of `cls`; ValidationError naming the choices if not one.

    The constructors below run it on their enum fields, so they take plain strings too; callers holding
    a string (a CLI option, a form field) use it to get the enum their type says they pass.
    """
    if isinstance(value, str):  # members are strings too
        try:
            return cls(value)
        except ValueError:
            pass
    raise ValidationError(f"{what} {value!r} is not one of: {', '.join(m.value for m in cls)}")


def _ids(values: object, what: str) -> tuple[str, ...]:
    if values is None:
        return ()
    if not isinstance(values, (list, tuple)):  # a dict would give its keys, a string its letters
        raise ValidationError(f"{what} must be a list of ids, got {type(values).__name__}")
    return tuple(check_id(v, what) for v in values)


# The GeoJSON codec imports the model, so the model does not import it back: the codec registers
# its encoder here when it is imported, and the package's __init__ imports the codec, so any import
# of facilities.model has it.
_feature_encoder: Callable[[Any], dict] | None = None


def register_feature_encoder(encoder: Callable[[Any], dict]) -> None:
    """Called by facilities.geojson_codec: how a value becomes a GeoJSON Feature."""
    global _feature_encoder
    _feature_encoder = encoder


class _Value:
    """Shared behaviour: coerce on construction, `evolve` for edits, GeoJSON via the codec."""

    def evolve(self, **changes: Any) -> Self:
        """A copy with `changes` applied, validated again like a new value."""
        return replace(self, **changes)  # type: ignore[type-var]  # every subclass is a dataclass

    @property
    def __geo_interface__(self) -> dict:
        if _feature_encoder is None:  # only if the package's __init__ was bypassed
            raise RuntimeError("facilities.geojson_codec is not loaded; import facilities first")
        return _feature_encoder(self)

    def _set(self, name: str, value: object) -> None:
        object.__setattr__(self, name, value)


@dataclass(frozen=True)
class Alias:
    """Another name for a facility, in any language (BCP 47 tag such as 'it', 'ko', 'en')."""

    name: str
    lang: str | None = None

    def __post_init__(self) -> None:
        check_text(self.name, "alias", required=True, limit=MAX_NAME)
        if self.lang is not None:
            check_text(self.lang, "alias lang", limit=35)  # BCP 47 tags are short


@dataclass(frozen=True)
class ParentClaim:
    """A claim that a facility belongs to a larger complex, on someone's word: sources may disagree."""

    name: str
    facility_id: str | None = None
    source_ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        check_text(self.name, "parent complex name", required=True, limit=MAX_NAME)
        if self.facility_id is not None:
            check_id(self.facility_id, "parent facility id")
        object.__setattr__(self, "source_ids", _ids(self.source_ids, "parent source_ids"))


@dataclass(frozen=True)
class ImageRef:
    """The image an observation was made on: provider, release or scene id, acquisition date."""

    provider: str
    image_id: str | None = None
    acquired: PartialDate | None = None

    def __post_init__(self) -> None:
        check_text(self.provider, "image provider", required=True, limit=MAX_NAME)
        if self.image_id is not None:
            check_text(self.image_id, "image id", limit=MAX_NAME)
        if self.acquired is not None:
            object.__setattr__(self, "acquired", PartialDate.parse(self.acquired))


@dataclass(frozen=True)
class Source(_Value):
    """An article, report or post that facilities and observations cite, with the quote kept as evidence."""

    id: str
    title: str
    publisher: str = ""
    url: str | None = None
    published: PartialDate | None = None
    language: str | None = None
    excerpt: str = ""  # a short quote, kept as the evidence
    retrieved_at: dt.datetime | None = None
    notes: str = ""
    version: int = 1

    def __post_init__(self) -> None:
        check_id(self.id, "source id")
        check_text(self.title, "source title", required=True, limit=1000)
        check_text(self.publisher, "publisher", limit=MAX_NAME)
        check_text(self.excerpt, "excerpt")
        check_text(self.notes, "notes")
        if self.language is not None:
            check_text(self.language, "source language", limit=35)
        check_version(self.version, "source version")
        if self.url is not None:
            check_text(self.url, "url", limit=2000)
            if not re.match(r"^https?://", self.url):
                raise ValidationError(f"source url {self.url!r} must start with http:// or https://")
        if self.published is not None:
            self._set("published", PartialDate.parse(self.published))


@dataclass(frozen=True)
class Facility(_Value):
    """A site tracked in the registry: its outline (Polygon or MultiPolygon, lon/lat), names, status, the complexes
    it may belong to and the sources behind it."""

    id: str
    name: str
    geometry: BaseGeometry
    location_precision: LocationPrecision = LocationPrecision.APPROXIMATE
    aliases: tuple[Alias, ...] = ()
    country: str | None = None  # ISO 3166-1 alpha-2
    category: str = ""
    status: FacilityStatus = FacilityStatus.UNKNOWN
    parents: tuple[ParentClaim, ...] = ()
    systems: tuple[str, ...] = ()  # associated weapon systems, e.g. "KN-23 (Hwasong-11A)"
    notes: str = ""
    source_ids: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict, compare=True)  # imported properties we keep as given
    version: int = 1
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None

    def __post_init__(self) -> None:
        check_id(self.id, "facility id")
        check_text(self.name, "facility name", required=True, limit=MAX_NAME)
        check_text(self.category, "category", limit=MAX_NAME)
        check_text(self.notes, "notes")
        self._set("location_precision", as_enum(LocationPrecision, self.location_precision, "location_precision"))
        self._set("status", as_enum(FacilityStatus, self.status, "status"))
        self._set("aliases", tuple(a if isinstance(a, Alias) else Alias(**a) for a in self.aliases))
        self._set("parents", tuple(p if isinstance(p, ParentClaim) else ParentClaim(**p) for p in self.parents))
        if not isinstance(self.systems, (list, tuple)):  # a dict would give its keys, a string its letters
            raise ValidationError(f"systems must be a list of names, got {type(self.systems).__name__}")
        self._set("systems", tuple(check_text(s, "system", required=True, limit=MAX_NAME) for s in self.systems))
        if not isinstance(self.extra, dict):
            raise ValidationError(f"extra must be an object of properties, got {type(self.extra).__name__}")
        check_json_value(self.extra, "extra")
        check_version(self.version, "facility version")
        self._set("source_ids", _ids(self.source_ids, "source_ids"))
        if self.country is not None and not re.match(r"^[A-Z]{2}$", self.country):
            raise ValidationError(f"country {self.country!r} must be an ISO 3166-1 alpha-2 code such as KP")
        if not isinstance(self.geometry, BaseGeometry) or self.geometry.geom_type not in ("Polygon", "MultiPolygon"):
            kind = getattr(self.geometry, "geom_type", type(self.geometry).__name__)
            raise ValidationError(f"facility {self.id}: geometry must be a Polygon or MultiPolygon, got {kind}")

    @property
    def area_m2(self) -> float:
        """Ground area of the outline in square metres."""
        return ground_area_m2(self.geometry)

    def names(self) -> tuple[str, ...]:
        """The name followed by every alias, for searching and matching text."""
        return (self.name, *(a.name for a in self.aliases))


@dataclass(frozen=True)
class Structure(_Value):
    """A named part of a facility (Building A, worker housing) with its own geometry and life."""

    id: str
    facility_id: str
    name: str
    geometry: BaseGeometry
    kind: str = "building"
    location_precision: LocationPrecision = LocationPrecision.APPROXIMATE
    status: FacilityStatus = FacilityStatus.UNKNOWN
    built: PartialDate | None = None  # construction start, when known
    removed: PartialDate | None = None  # demolished or gone
    notes: str = ""
    source_ids: tuple[str, ...] = ()
    # the image the footprint was traced (or proposed) on: provider, image id, acquisition date; None when the
    # geometry came from elsewhere (a survey, an import, a point placed on the map)
    traced_on: ImageRef | None = None
    version: int = 1
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None

    def __post_init__(self) -> None:
        check_id(self.id, "structure id")
        check_id(self.facility_id, "structure facility_id")
        check_text(self.name, "structure name", required=True, limit=MAX_NAME)
        check_text(self.kind, "structure kind", limit=MAX_NAME)
        check_text(self.notes, "notes")
        check_version(self.version, "structure version")
        self._set("location_precision", as_enum(LocationPrecision, self.location_precision, "location_precision"))
        self._set("status", as_enum(FacilityStatus, self.status, "status"))
        self._set("source_ids", _ids(self.source_ids, "source_ids"))
        for name in ("built", "removed"):
            if getattr(self, name) is not None:
                self._set(name, PartialDate.parse(getattr(self, name)))
        if isinstance(self.traced_on, dict):
            self._set("traced_on", ImageRef(**self.traced_on))
        if self.traced_on is not None and not isinstance(self.traced_on, ImageRef):
            raise ValidationError(f"structure {self.id}: traced_on must be an image reference (provider, image id, "
                                  f"acquired), got {type(self.traced_on).__name__}")
        if not isinstance(self.geometry, BaseGeometry):
            raise ValidationError(f"structure {self.id}: geometry is required")

    @property
    def footprint_m2(self) -> float:
        """Ground area of the footprint; 0 while the structure is only located by a point."""
        return ground_area_m2(self.geometry)


@dataclass(frozen=True)
class Observation(_Value):
    """Something seen or reported at a facility on a date, on an image, on someone's word."""

    id: str
    facility_id: str
    date: PartialDate
    kind: ObservationKind
    summary: str
    structure_id: str | None = None
    geometry: BaseGeometry | None = None  # what was drawn on the image, if anything
    image: ImageRef | None = None
    confidence: Confidence = Confidence.MEDIUM
    analyst: str = ""
    source_ids: tuple[str, ...] = ()
    notes: str = ""
    version: int = 1
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None

    def __post_init__(self) -> None:
        check_id(self.id, "observation id")
        check_id(self.facility_id, "observation facility_id")
        if self.structure_id is not None:
            check_id(self.structure_id, "observation structure_id")
        self._set("date", PartialDate.parse(self.date))
        self._set("kind", as_enum(ObservationKind, self.kind, "kind"))
        self._set("confidence", as_enum(Confidence, self.confidence, "confidence"))
        check_text(self.summary, "summary", required=True, limit=2000)
        check_text(self.analyst, "analyst", limit=MAX_NAME)
        check_version(self.version, "observation version")
        check_text(self.notes, "notes")
        self._set("source_ids", _ids(self.source_ids, "source_ids"))
        if isinstance(self.image, dict):
            self._set("image", ImageRef(**self.image))
        if self.geometry is not None and not isinstance(self.geometry, BaseGeometry):
            raise ValidationError(f"observation {self.id}: geometry must be a shapely geometry or None")


@dataclass(frozen=True)
class HistoryEntry:
    """One recorded change: who changed what, when, and the record before and after."""

    entity: str  # facility / structure / observation / source
    entity_id: str
    action: str  # create / update / delete
    at: dt.datetime
    actor: str
    before: dict | None
    after: dict | None
    group: str | None = None  # shared by the entries of one unit of work (Store.apply); one undo reverts them


@dataclass(frozen=True)
class Registry:
    """A set of records that travel together: a seed, an import, an export."""

    facilities: tuple[Facility, ...] = ()
    structures: tuple[Structure, ...] = ()
    observations: tuple[Observation, ...] = ()
    sources: tuple[Source, ...] = ()

    def __len__(self) -> int:
        return len(self.facilities) + len(self.structures) + len(self.observations) + len(self.sources)


def trusted(cls: type[_T], **values: Any) -> _T:
    """Rebuild a value from data that was validated when it was written (a store's own rows).

    Skips the checks of __post_init__, which cost more than the read itself on a bounding-box
    query; every field must be given, already of the right type. Never use it for input.
    """
    obj: _T = object.__new__(cls)
    obj.__dict__.update(values)
    return obj


RECORD_TYPES = {"facility": Facility, "structure": Structure, "observation": Observation, "source": Source}


def field_names(cls: type) -> list[str]:
    """The dataclass field names of a model class, in declaration order."""
    return [f.name for f in fields(cls)]
