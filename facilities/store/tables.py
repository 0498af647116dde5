"""Each registry table declared once: its columns, their logical types, which hold JSON, and how a
record becomes a row and back, by column name.

Everything else is derived from these declarations: the DDL of both dialects (a logical type
becomes `DOUBLE` in a GeoPackage and `DOUBLE PRECISION` in PostgreSQL), the INSERT, UPDATE and
SELECT column lists, the export's JSON properties, and `add_column` migrations. A new field of a
record is one `Column` here plus one migration in `migrations.py`; the model's field of the same
name is read and written by the default codec.

Rows travel as tuples in the table's column order; the codec looks columns up by name, so adding
or reordering a declaration never shifts another column's value.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from functools import cached_property, lru_cache
from typing import Any

import numpy as np
import shapely

from ..dates import PartialDate, format_timestamp, parse_timestamp
from ..geometry import ground_areas_m2
from ..model import (
    Alias,
    Confidence,
    Facility,
    FacilityStatus,
    ImageRef,
    LocationPrecision,
    Observation,
    ObservationKind,
    ParentClaim,
    Source,
    Structure,
    trusted,
)

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode  # what the export splices in
_SAME = object()  # Column.field default: the model field named like the column


@dataclass(frozen=True)
class Column:
    """One column. `type` is logical (text, int, real, date, timestamp, json, document); each dialect
    names its SQL type. `encode` turns a record into the stored value (default: its attribute of
    the same name, JSON columns dumped); `decode` turns the stored value back (default: as is,
    JSON columns parsed); `field` is the model field it fills, None for derived values."""

    name: str
    type: str = "text"
    constraints: str = ""
    encode: Callable[[Any], Any] | None = None
    decode: Callable[[Any], Any] | None = None
    field: Any = _SAME
    rounded: bool = False  # the export shows it to one decimal (areas)
    values: tuple[str, ...] = ()  # a coded column's allowed values (the model's enum)

    @property
    def is_json(self) -> bool:
        """Whether the column holds JSON text."""
        return self.type == "json"

    @property
    def model_field(self) -> str | None:
        """The model field this column stores, or None for a derived column."""
        return self.name if self.field is _SAME else self.field


@dataclass(frozen=True)
class Table:
    """A table and, for record tables, the record class its rows hold."""

    name: str
    description: str
    columns: tuple[Column, ...]
    record: type | None = None
    kind: str | None = None  # facility / structure / observation / source
    geometry: str | None = None  # GeoPackage geometry type name; None: an attribute table
    geometry_required: bool = True
    indexes: tuple[tuple[str, str], ...] = ()  # (name, column list)
    # model fields made of several columns: field -> (column names, function of their values)
    compose: Mapping[str, tuple[tuple[str, ...], Callable[..., Any]]] = field(default_factory=dict)

    @property
    def record_kind(self) -> str:
        """`kind` of a record table, which always has one (history and meta tables have none)."""
        if self.kind is None:
            raise ValueError(f"{self.name} holds no records")
        return self.kind

    @property
    def names(self) -> tuple[str, ...]:
        """Column names in row order: `geom` first for feature tables."""
        return (("geom",) if self.geometry else ()) + tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        """The declared column of this name."""
        return next(c for c in self.columns if c.name == name)

    # ---------------------------------------------------------------- row codec

    def rows(self, items: Sequence, encode_geoms: Callable[[list], list]) -> list[tuple]:
        """Records -> rows in `names` order; geometries (and derived areas) in one batch each."""
        encode = self._encoder
        if self.geometry is None:
            rows = [encode(o, None, None) for o in items]
            return [r[:-1] + (row_hash(r[:-1]),) for r in rows] if self.hashed else rows
        geoms = [o.geometry for o in items]
        if self.name == "facilities":  # the column is MULTIPOLYGON; the model hands one-part ones as Polygon
            geoms = _multi(geoms)
        derived = _DERIVED[self.name](items) if self.name in _DERIVED else [None] * len(items)
        rows = [encode(o, g, a) for o, g, a in zip(items, encode_geoms(geoms), derived, strict=True)]
        return [r[:-1] + (row_hash(r[:-1]),) for r in rows] if self.hashed else rows

    @property
    def hashed(self) -> bool:
        """Whether rows carry `row_hash` (record tables): how an edit made outside the app is found."""
        return bool(self.columns) and self.columns[-1].name == "row_hash"

    @cached_property
    def _encoder(self) -> Callable[[Any, Any, Any], tuple]:
        """One record (with its encoded geometry and derived area) -> one row, generated from the
        declarations like `_decoder`: each column's value from the record's field of its name."""
        env: dict[str, Any] = {"_ts": _ts, "_json_text": _json_text}
        values = ["g"] if self.geometry else []
        for k, c in enumerate(self.columns):
            if c.name in _DERIVED_COLUMNS:
                values.append("a")
            elif c.name == "row_hash":
                values.append("None")  # rows() hashes the rest of the row
            elif c.encode is not None:
                env[f"e{k}"] = c.encode
                values.append(f"e{k}(o)")
            elif c.is_json:
                values.append(f"_json_text(o.{c.name})")
            elif c.type == "timestamp":
                values.append(f"_ts(o.{c.name})")
            else:
                values.append(f"o.{c.name}")
        return eval(f"lambda o, g, a: ({', '.join(values)},)", env)  # noqa: S307 - names from declarations

    def records(self, rows: Sequence[tuple], geoms: np.ndarray | None = None) -> list:
        """Rows in `names` order (geometry already decoded into `geoms`) -> records."""
        decode = self._decoder
        if geoms is None:
            return [decode(r, None) for r in rows]
        return [decode(r, g) for r, g in zip(rows, geoms, strict=True)]

    @cached_property
    def _decoder(self) -> Callable[[tuple, Any], Any]:
        """One row -> one record, generated from the declarations (as dataclasses and namedtuple
        generate their methods): each model field read by its column's name, no per-row lookups.
        A bounding-box query decodes every hit, so this is the store's hottest Python."""
        env: dict[str, Any] = {"trusted": trusted, "cls": self.record}
        index = {n: i for i, n in enumerate(self.names)}
        args = []
        for k, c in enumerate(self.columns):
            if not c.model_field:
                continue
            if c.decode is None:
                args.append(f"{c.model_field}=r[{index[c.name]}]")
            else:
                env[f"d{k}"] = c.decode
                args.append(f"{c.model_field}=d{k}(r[{index[c.name]}])")
        if self.geometry:
            args.append("geometry=g")
        for k, (name, (columns, fn)) in enumerate(self.compose.items()):
            env[f"c{k}"] = fn
            args.append(f"{name}=c{k}({', '.join(f'r[{index[col]}]' for col in columns)})")
        return eval(f"lambda r, g: trusted(cls, {', '.join(args)})", env)  # noqa: S307 - names from declarations


# ---------------------------------------------------------------- value codecs


@lru_cache(maxsize=65536)
def _ts(value) -> str | None:
    # records of one import share their timestamps, so the cache makes bulk writes cheap
    return None if value is None else format_timestamp(value)


@lru_cache(maxsize=65536)
def _ids_json(ids: tuple) -> str:
    return "[]" if not ids else _dumps(list(ids))


def _json_text(value) -> str:
    if value:
        return _dumps(value)
    return "{}" if isinstance(value, dict) else "[]"


def _multi(geoms: list) -> list:
    """Polygons as one-part MultiPolygons, in one vectorised call."""
    arr = np.asarray(geoms, dtype=object)
    single = shapely.get_type_id(arr) == 3  # Polygon
    if single.any():
        arr[single] = shapely.multipolygons(arr[single], indices=np.arange(int(single.sum())))
    return list(arr)


@lru_cache(maxsize=65536)
def read_ts(text: str | None) -> dt.datetime | None:
    """A stored timestamp text -> aware UTC datetime (None for NULL); cached, as rows of one import share timestamps."""
    # rows from one import share their timestamps, so the cache makes bulk reads cheap
    return None if text is None else parse_timestamp(text)


@lru_cache(maxsize=4096)
def _pd(text: str | None) -> PartialDate | None:
    return None if text is None else PartialDate.parse(text)


def _text_or_none(value) -> str | None:
    return None if value is None else str(value)


def _tuple(text: str) -> tuple:
    return () if text == "[]" else tuple(json.loads(text))


def _json(text: str):
    return json.loads(text)


def _enum(enum: type[Enum]) -> tuple[Callable, Callable]:
    members = {m.value: m for m in enum}
    return (lambda v: v.value), members.__getitem__


def _enum_column(name: str, enum: type[Enum], attr: str | None = None, constraints: str = "NOT NULL") -> Column:
    to_db, from_db = _enum(enum)
    attr = attr or name
    return Column(name, "text", constraints, encode=lambda o: to_db(getattr(o, attr)), decode=from_db,
                  values=tuple(m.value for m in enum))


def _stamps() -> tuple[Column, ...]:
    return (Column("version", "int", "NOT NULL DEFAULT 1"),
            Column("created_at", "timestamp", decode=read_ts),
            Column("updated_at", "timestamp", decode=read_ts))


def _ids_column(name: str = "source_ids") -> Column:
    return Column(name, "json", "NOT NULL DEFAULT '[]'", encode=lambda o: _ids_json(getattr(o, name)), decode=_tuple)


def _partial_date(name: str, constraints: str = "") -> Column:
    return Column(name, "text", constraints, encode=lambda o: _text_or_none(getattr(o, name)), decode=_pd)


def _aliases(text: str) -> tuple:
    return () if text == "[]" else tuple(trusted(Alias, **a) for a in json.loads(text))


def _parents(text: str) -> tuple:
    return () if text == "[]" else tuple(
        trusted(ParentClaim, name=p["name"], facility_id=p.get("facility_id"),
                source_ids=tuple(p.get("source_ids") or ())) for p in json.loads(text))


def row_hash(values: Sequence) -> str:
    """A checksum of a row as stored (geometry as written, every column but the checksum): a row whose checksum
    does not match its values was changed by another program. 16 hex digits of BLAKE2b over the values' repr."""
    return hashlib.blake2b(repr(tuple(values)).encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()


def _areas(items: Sequence) -> list[float]:
    return ground_areas_m2(np.array([o.geometry for o in items], dtype=object)).tolist()


_DERIVED = {"facilities": _areas, "structures": _areas}  # table -> its area column's values, per batch
_DERIVED_COLUMNS = {"area_m2", "footprint_m2"}
_NO_FIELD = None
_REFERENCES_FACILITY = "NOT NULL REFERENCES facilities(id) ON UPDATE CASCADE"


def _image(provider: str | None, image_id: str | None, acquired: str | None) -> ImageRef | None:
    if not provider:
        return None
    return trusted(ImageRef, provider=provider, image_id=image_id, acquired=_pd(acquired))


def _image_part(attr: str, field: str = "image") -> Callable[[Any], Any]:
    def get(o):
        img = getattr(o, field)
        if img is None:
            return None
        value = getattr(img, attr)
        return None if value is None else str(value)
    return get


# ---------------------------------------------------------------- the tables

FACILITIES = Table(
    "facilities", "Tracked facilities: outlines with precision, aliases and sources", record=Facility,
    kind="facility", geometry="MULTIPOLYGON", columns=(
        Column("id", "text", "NOT NULL UNIQUE"),
        Column("name", "text", "NOT NULL"),
        Column("aliases", "json", "NOT NULL DEFAULT '[]'", decode=_aliases, encode=lambda f: _dumps(
            [{"name": a.name, "lang": a.lang} for a in f.aliases]) if f.aliases else "[]"),
        Column("country", "text"),
        Column("category", "text", "NOT NULL DEFAULT ''"),
        _enum_column("status", FacilityStatus),
        _enum_column("location_precision", LocationPrecision),
        Column("parents", "json", "NOT NULL DEFAULT '[]'", decode=_parents, encode=lambda f: _dumps(
            [{"name": p.name, "facility_id": p.facility_id, "source_ids": list(p.source_ids)} for p in f.parents])
            if f.parents else "[]"),
        Column("systems", "json", "NOT NULL DEFAULT '[]'", encode=lambda f: _ids_json(f.systems), decode=_tuple),
        Column("notes", "text", "NOT NULL DEFAULT ''"),
        _ids_column(),
        Column("extra", "json", "NOT NULL DEFAULT '{}'", decode=lambda t: {} if t == "{}" else json.loads(t)),
        Column("area_m2", "real", field=_NO_FIELD, rounded=True),  # _DERIVED, per batch
        *_stamps(),
        Column("row_hash", "text", field=_NO_FIELD),  # migration 4: checksum of the row as the store wrote it
    ))

STRUCTURES = Table(
    "structures", "Named parts of facilities (buildings, housing, entrances)", record=Structure,
    kind="structure", geometry="GEOMETRY", indexes=(("idx_structures_facility", "facility_id"),),
    compose={"traced_on": (("traced_provider", "traced_image_id", "traced_acquired"), _image)}, columns=(
        Column("id", "text", "NOT NULL UNIQUE"),
        Column("facility_id", "text", _REFERENCES_FACILITY),
        Column("name", "text", "NOT NULL"),
        Column("kind", "text", "NOT NULL DEFAULT ''"),
        _enum_column("location_precision", LocationPrecision),
        _enum_column("status", FacilityStatus),
        _partial_date("built"),
        _partial_date("removed"),
        Column("notes", "text", "NOT NULL DEFAULT ''"),
        _ids_column(),
        # migration 5: the image the footprint was traced on (Structure.traced_on), as observations keep theirs
        Column("traced_provider", "text", encode=_image_part("provider", "traced_on"), field=_NO_FIELD),
        Column("traced_image_id", "text", encode=_image_part("image_id", "traced_on"), field=_NO_FIELD),
        Column("traced_acquired", "text", encode=_image_part("acquired", "traced_on"), field=_NO_FIELD),
        Column("footprint_m2", "real", field=_NO_FIELD, rounded=True),  # _DERIVED, per batch
        *_stamps(),
        Column("row_hash", "text", field=_NO_FIELD),  # migration 4: checksum of the row as the store wrote it
    ))

OBSERVATIONS = Table(
    "observations", "Dated observations, each tied to an image and to sources", record=Observation,
    kind="observation", geometry="GEOMETRY", geometry_required=False,
    compose={"image": (("image_provider", "image_id", "image_acquired"), _image)},
    indexes=(("idx_observations_facility", "facility_id, date_start"),
             ("idx_observations_dates", "date_start, date_end")), columns=(
        Column("id", "text", "NOT NULL UNIQUE"),
        Column("facility_id", "text", _REFERENCES_FACILITY),
        Column("structure_id", "text", "REFERENCES structures(id) ON UPDATE CASCADE"),
        Column("date", "text", "NOT NULL", encode=lambda o: str(o.date), decode=_pd),
        Column("date_precision", "text", "NOT NULL", encode=lambda o: o.date.precision.value, field=_NO_FIELD),
        Column("date_start", "date", "NOT NULL", encode=lambda o: o.date.start.isoformat(), field=_NO_FIELD),
        Column("date_end", "date", "NOT NULL", encode=lambda o: o.date.end.isoformat(), field=_NO_FIELD),
        _enum_column("kind", ObservationKind),
        Column("summary", "text", "NOT NULL"),
        Column("image_provider", "text", encode=_image_part("provider"), field=_NO_FIELD),
        Column("image_id", "text", encode=_image_part("image_id"), field=_NO_FIELD),
        Column("image_acquired", "text", encode=_image_part("acquired"), field=_NO_FIELD),
        _enum_column("confidence", Confidence),
        Column("analyst", "text", "NOT NULL DEFAULT ''"),
        _ids_column(),
        Column("notes", "text", "NOT NULL DEFAULT ''"),
        *_stamps(),
        Column("row_hash", "text", field=_NO_FIELD),  # migration 4: checksum of the row as the store wrote it
    ))

SOURCES = Table(
    "sources", "Sources cited by facilities, structures and observations", record=Source, kind="source", columns=(
        Column("id", "text", "NOT NULL UNIQUE"),
        Column("title", "text", "NOT NULL"),
        Column("publisher", "text", "NOT NULL DEFAULT ''"),
        Column("url", "text"),
        _partial_date("published"),
        Column("language", "text"),
        Column("excerpt", "text", "NOT NULL DEFAULT ''"),
        Column("retrieved_at", "timestamp", decode=read_ts),
        Column("notes", "text", "NOT NULL DEFAULT ''"),
        Column("version", "int", "NOT NULL DEFAULT 1"),
        Column("row_hash", "text", field=_NO_FIELD),  # migration 4: checksum of the row as the store wrote it
    ))

HISTORY = Table(
    "history", "Every create, update and delete: who, when, before and after",
    indexes=(("idx_history_entity", "entity, entity_id"),), columns=(
        Column("at", "timestamp", "NOT NULL"),
        Column("actor", "text", "NOT NULL"),
        Column("entity", "text", "NOT NULL"),
        Column("entity_id", "text", "NOT NULL"),
        Column("action", "text", "NOT NULL"),
        Column("before", "document"),
        Column("after", "document"),
        Column("change_group", "text"),  # migration 3: the entries of one unit of work share it
    ))

META = Table("tracker_meta", "Facility tracker settings: schema version, seed state", columns=(
    Column("key", "text", "NOT NULL UNIQUE"),
    Column("value", "text"),
))

# migration 6: the watchlist (issue 20). Not record tables: no versions, no row checksums, no export; every write is
# recorded in the history by facilities/store/watch.py. Findings keep their change polygons as GeoJSON text
# (docs/decisions/0025): they are triage notes, not registry features; the digest writes them as GeoJSON for QGIS.
_WATCHED_FACILITY = "NOT NULL REFERENCES facilities(id) ON UPDATE CASCADE ON DELETE CASCADE"

WATCHLIST = Table("watchlist", "Watched facilities: when each was last reviewed, by whom, on which images", columns=(
    Column("facility_id", "text", _WATCHED_FACILITY + " UNIQUE"),
    Column("added_at", "timestamp", "NOT NULL"),
    Column("added_by", "text", "NOT NULL"),
    Column("reviewed_at", "timestamp"),
    Column("reviewed_by", "text"),
    Column("reviewed_keys", "json", "NOT NULL DEFAULT '[]'"),
))

FINDINGS = Table(
    "watch_findings", "What watch scans found at watched facilities, waiting for review",
    indexes=(("idx_watch_findings_facility", "facility_id, status"),), columns=(
        Column("id", "text", "NOT NULL UNIQUE"),
        Column("facility_id", "text", _WATCHED_FACILITY),
        Column("kind", "text", "NOT NULL"),
        Column("after_key", "text", "NOT NULL"),
        Column("after_date", "text"),
        Column("before_key", "text"),
        Column("before_date", "text"),
        Column("significant", "int"),
        Column("significance", "real"),
        Column("changed_m2", "real"),
        Column("changed_m2_low", "real"),
        Column("changed_m2_high", "real"),
        Column("polygons", "json", "NOT NULL DEFAULT '{}'"),
        Column("note", "text", "NOT NULL DEFAULT ''"),
        Column("run_id", "text", "NOT NULL DEFAULT ''"),
        Column("created_at", "timestamp", "NOT NULL"),
        Column("status", "text", "NOT NULL DEFAULT 'unreviewed'"),
        Column("decided_at", "timestamp"),
        Column("decided_by", "text"),
        Column("observation_id", "text"),
    ))

WATCH_RUNS = Table(
    "watch_runs", "Per-site checkpoints of watch scans: a resumed scan skips the sites a run has done",
    indexes=(("idx_watch_runs_run", "run_id, facility_id"),), columns=(
        Column("run_id", "text", "NOT NULL"),
        Column("facility_id", "text", "NOT NULL"),
        Column("outcome", "text", "NOT NULL"),  # news / nothing / failed
        Column("findings", "int", "NOT NULL DEFAULT 0"),
        Column("error", "text"),
        Column("at", "timestamp", "NOT NULL"),
    ))

WATCH_TABLES = (WATCHLIST, FINDINGS, WATCH_RUNS)
RECORD_TABLES = (SOURCES, FACILITIES, STRUCTURES, OBSERVATIONS)  # in the order an import writes them
TABLES = (*RECORD_TABLES, HISTORY, META, *WATCH_TABLES)
FEATURE_TABLES = tuple(t for t in TABLES if t.geometry)
BY_KIND = {t.record_kind: t for t in RECORD_TABLES}
BY_NAME = {t.name: t for t in TABLES}
KIND_OF = {t.record: t.record_kind for t in RECORD_TABLES}
FEATURE_TYPE = {t.name: t.kind for t in FEATURE_TABLES}
