"""The registry as GeoDataFrames, for notebooks: `read_facilities`, `read_structures`,
`read_observations` and `read_sources`.

Rows come straight from the store's SQL into columns (never through Facility objects one by
one), so a frame of 100,000 facilities costs about what pyogrio's own read of the layer costs
(bench/frames_bench.py). Every frame is in EPSG:4326 with proper dtypes: timestamps and partial
dates as pandas datetimes (UTC), each partial date with its precision and the interval it covers
(`date_start`, `date_end`), enumerations as categoricals, aliases, systems and source ids as
lists, areas in m² as the model computed them when the record was written.

Filters follow the GeoJSON export: `facility`, `bbox`, `country` and `category` choose
facilities, and structures and observations follow their facility; `date_from`/`date_to` choose
observations whose interval overlaps the window, structures standing at some time in it, and
facilities observed in it.

`db=None` is the registry the settings name (TRACKER_DATABASE, tracker.toml, else the default
location): a notebook has no app or CLI start to pass settings down, so this is the one import
of the services layer from below, declared in the import-linter layers contract (docs/decisions/0013).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import shapely

from .bbox import parse_bbox
from .bbox import split_antimeridian as split_bbox
from .bulk import gc_paused
from .dates import DatePrecision, PartialDate
from .errors import StoreError
from .model import Confidence, FacilityStatus, LocationPrecision, ObservationKind
from .store import SqlStore, open_store
from .store.sql import date_window
from .store.tables import BY_KIND, Table

if TYPE_CHECKING:
    import geopandas as gpd

CRS = "EPSG:4326"
DateLike = str | dt.date | PartialDate | None
Registry = str | os.PathLike | SqlStore | None

_PRECISIONS = pd.CategoricalDtype([p.value for p in DatePrecision])
_STATUS = pd.CategoricalDtype([s.value for s in FacilityStatus])
_LOCATION = pd.CategoricalDtype([p.value for p in LocationPrecision])
_KINDS = pd.CategoricalDtype([k.value for k in ObservationKind])
_CONFIDENCE = pd.CategoricalDtype([c.value for c in Confidence], ordered=True)  # low < medium < high


# ---------------------------------------------------------------- where the registry is

def registry_location(db: Registry = None) -> str | SqlStore:
    """`db` as given, or the registry the settings name when it is None."""
    if db is not None:
        return db if isinstance(db, SqlStore) else str(db)
    from tracker.settings import load_settings  # declared exception to the layers contract (docs/decisions/0013)

    return load_settings().database


@contextmanager
def opened(db: Registry = None):
    """The store for `db` (a .gpkg path, a gpkg: or postgresql:// URL, or an open store); one
    opened here is closed on exit. A GeoPackage path that does not exist is an error, never a
    new empty registry."""
    where = registry_location(db)
    if isinstance(where, SqlStore):
        yield where
        return
    if not where.startswith(("postgresql://", "postgres://")):
        path = Path(where.removeprefix("gpkg://").removeprefix("gpkg:"))
        if not path.is_file():
            raise StoreError(f"no registry at {path} (create one with `facilities init`, or pass db=...)")
    store = open_store(where)
    try:
        yield store
    finally:
        store.close()


# ---------------------------------------------------------------- the readers

def read_facilities(db: Registry = None, *, facility: str | Iterable[str] | None = None,
                    bbox: Sequence[float] | None = None, date_from: DateLike = None, date_to: DateLike = None,
                    country: str | Iterable[str] | None = None,
                    category: str | Iterable[str] | None = None) -> gpd.GeoDataFrame:
    """Facilities as a GeoDataFrame (EPSG:4326), one row each, in the order they were recorded.

    Columns: id, name, aliases (list of names), alias_langs, country, category, status,
    location_precision (categoricals), parents (list of {name, facility_id, source_ids}: whose
    word places it in which complex), systems,
    notes, source_ids (lists), extra (dict), area_m2, version, created_at, updated_at
    (UTC datetimes) and the outline as geometry.

    >>> read_facilities("registry.gpkg", country="KP").plot()  # doctest: +SKIP
    """
    q = _Query.build(facility, bbox, date_from, date_to, country, category)
    with opened(db) as store:
        frame = _read(store, BY_KIND["facility"], *q.facility_where(store))
    return q.exact_bbox(frame).reset_index(drop=True)


def read_structures(db: Registry = None, *, facility: str | Iterable[str] | None = None,
                    bbox: Sequence[float] | None = None, date_from: DateLike = None, date_to: DateLike = None,
                    country: str | Iterable[str] | None = None,
                    category: str | Iterable[str] | None = None) -> gpd.GeoDataFrame:
    """Structures of the chosen facilities as a GeoDataFrame (EPSG:4326).

    Columns: id, facility_id, name, kind (categorical), location_precision, status, built and
    removed (the dates as datetimes, each with `_precision`, `_start`, `_end` and `_text`),
    notes, source_ids (list), traced_provider (categorical), traced_image_id and traced_acquired (the image
    the footprint was traced on; the date as `built`), footprint_m2, version, created_at, updated_at, geometry. With a
    date window, the structures standing at some time in it (built before its end, not removed
    before its start).
    """
    q = _Query.build(facility, bbox, date_from, date_to, country, category)
    with opened(db) as store:
        frame = _read(store, BY_KIND["structure"], *q.child_where(store))
    if q.date_to is not None:
        frame = frame[~(frame["built_start"] > _ts(q.date_to))]
    if q.date_from is not None:
        frame = frame[~(frame["removed_end"] < _ts(q.date_from))]
    return _ordered(frame, ["facility_id", "built_start", "name", "id"])


def read_observations(db: Registry = None, *, facility: str | Iterable[str] | None = None,
                      bbox: Sequence[float] | None = None, date_from: DateLike = None, date_to: DateLike = None,
                      country: str | Iterable[str] | None = None,
                      category: str | Iterable[str] | None = None) -> gpd.GeoDataFrame:
    """Observations of the chosen facilities as a GeoDataFrame (EPSG:4326), in date order.

    Columns: id, facility_id, structure_id, date (datetime of the value given), date_precision
    (day / month / year / approximate), date_start and date_end (the interval the date covers),
    date_text (as written: '2024-10', '~2020'), kind (categorical), summary, image_provider,
    image_id, image_acquired, confidence (ordered categorical), analyst, source_ids (list),
    notes, version, created_at, updated_at and the drawn geometry (None where nothing was drawn).
    """
    q = _Query.build(facility, bbox, date_from, date_to, country, category)
    with opened(db) as store:
        clauses, params = q.child_where(store)
        window, p = date_window(q.date_from, q.date_to)
        clauses += window
        params += p
        frame = _read(store, BY_KIND["observation"], clauses, params)
    return _ordered(frame, ["date_start", "id"])


def read_sources(db: Registry = None, *, ids: Iterable[str] | None = None) -> pd.DataFrame:
    """Sources as a DataFrame (no geometry): id, title, publisher, url, published (datetime,
    with `_precision`, `_start`, `_end`, `_text`), language, excerpt, retrieved_at, notes."""
    with opened(db) as store:
        clauses, params = [], []
        if ids is not None:
            clause, params = store.dialect.in_ids("id", list(ids) or [""])
            clauses.append(clause)
        frame = _read(store, BY_KIND["source"], clauses, params)
    return frame.sort_values("id", kind="stable").reset_index(drop=True)


# ---------------------------------------------------------------- filters

class _Query:
    """The filters, normalised once."""

    def __init__(self, facility, bbox, date_from, date_to, country, category) -> None:
        self.facility = _names(facility)
        self.bbox = parse_bbox(bbox)
        self.date_from = None if date_from is None else PartialDate.parse(date_from).start
        self.date_to = None if date_to is None else PartialDate.parse(date_to).end
        self.country = None if country is None else tuple(c.upper() for c in _names(country) or ())
        self.category = _names(category)

    @classmethod
    def build(cls, *args) -> _Query:
        return cls(*args)

    def facility_where(self, store: SqlStore) -> tuple[list[str], list]:
        """WHERE clauses on the facilities table."""
        d = store.dialect
        clauses: list[str] = []
        params: list = []
        for column, values in (("id", self.facility), ("country", self.country), ("category", self.category)):
            if values is not None:
                clause, p = d.in_ids(column, list(values) or [""])
                clauses.append(clause)
                params += p
        if self.bbox is not None:
            clause, p = d.bbox_clause(BY_KIND["facility"], split_bbox(self.bbox))
            clauses.append(clause)
            params += p
        window, p = date_window(self.date_from, self.date_to)
        if window:
            clauses.append(f"id IN (SELECT facility_id FROM observations WHERE {' AND '.join(window)})")
            params += p
        return clauses, params

    def child_where(self, store: SqlStore) -> tuple[list[str], list]:
        """WHERE clauses on a table of facility_id rows: those of the chosen facilities."""
        if self.facility is not None and self.bbox is None and self.country is None and self.category is None:
            clause, params = store.dialect.in_ids("facility_id", list(self.facility) or [""])
            return [clause], params
        if self.bbox is None and self.country is None and self.category is None:
            return [], []
        chosen = _Query(self.facility, self.bbox, None, None, self.country, self.category)
        ids = read_facility_ids(store, chosen)
        clause, params = store.dialect.in_ids("facility_id", ids or [""])
        return [clause], params

    def exact_bbox(self, frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        """The spatial index compares envelopes; keep the rows whose outline meets the box."""
        if self.bbox is None or frame.empty:
            return frame
        keep = np.zeros(len(frame), dtype=bool)
        for box in split_bbox(self.bbox):
            keep |= shapely.intersects(frame.geometry.values._data, shapely.box(*box))
        return frame[keep]


def read_facility_ids(store: SqlStore, q: _Query) -> list[str]:
    """Ids of the facilities the query chooses (bbox checked exactly)."""
    clauses, params = q.facility_where(store)
    where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
    rows = store.dialect.query(f"SELECT {store.dialect.geom_select()}, id FROM facilities {where}", params)
    if q.bbox is None or not rows:
        return [r[1] for r in rows]
    geoms = store.dialect.decode_geoms([r[0] for r in rows])
    keep = np.zeros(len(rows), dtype=bool)
    for box in split_bbox(q.bbox):
        keep |= shapely.intersects(geoms, shapely.box(*box))
    return [r[1] for r, k in zip(rows, keep, strict=True) if k]


def _names(value) -> tuple[str, ...] | None:
    if value is None:
        return None
    return (value,) if isinstance(value, str) else tuple(value)


# ---------------------------------------------------------------- rows -> columns

def _read(store: SqlStore, table: Table, clauses: list[str], params: list) -> Any:
    """The table's rows (chosen by `clauses`) as columns; the cyclic collector is paused meanwhile,
    as for every big read (facilities/bulk.py): the rows and lists are most of a read's objects."""
    with gc_paused():
        return _read_columns(store, table, clauses, params)


def _read_columns(store: SqlStore, table: Table, clauses: list[str], params: list) -> Any:
    import geopandas as gpd

    d = store.dialect
    names = [c.name for c in table.columns]
    select = ", ".join(([d.geom_select()] if table.geometry else []) + names)
    where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
    rows = d.query(f"SELECT {select} FROM {table.name} {where} ORDER BY fid", params)
    raw = list(zip(*rows, strict=True)) if rows else [()] * (len(names) + bool(table.geometry))
    columns: dict[str, Any] = {}
    offset = 1 if table.geometry else 0
    for k, name in enumerate(names):
        values = np.array(raw[k + offset], dtype=object)
        columns.update(_CONVERT.get((table.name, name), _CONVERT.get(name, _plain))(name, values))
    frame = pd.DataFrame(columns)
    if not table.geometry:
        return frame
    # facilities stay MultiPolygons, the column's type, as GDAL reads them
    geoms = d.decode_geoms(list(raw[0])) if rows else np.array([], dtype=object)
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=CRS), crs=CRS)


def _ordered(frame, by: list[str]):
    return frame.sort_values(by, kind="stable", key=_sort_key).reset_index(drop=True)


def _sort_key(column: pd.Series) -> pd.Series:
    return column.str.lower() if column.dtype == object else column


def _ts(value: dt.date) -> pd.Timestamp:
    return pd.Timestamp(value).tz_localize("UTC")


def _plain(name: str, values: np.ndarray) -> dict[str, Any]:
    return {name: pd.Series(values, dtype="object")}


def _float(name: str, values: np.ndarray) -> dict[str, Any]:
    return {name: pd.Series(values, dtype="float64")}


def _int(name: str, values: np.ndarray) -> dict[str, Any]:
    return {name: pd.Series(values, dtype="int64")}


def _category(dtype: pd.CategoricalDtype | None = None) -> Callable[[str, np.ndarray], dict[str, Any]]:
    def convert(name: str, values: np.ndarray) -> dict[str, Any]:
        return {name: pd.Series(pd.Categorical(values, dtype=dtype) if dtype else pd.Categorical(values))}
    return convert


def _timestamps(name: str, values: np.ndarray) -> dict[str, Any]:
    codes, uniques = pd.factorize(values)  # one import shares its stamps: parse each text once
    parsed = pd.DatetimeIndex(pd.to_datetime(pd.Series(uniques, dtype="object"), utc=True, format="ISO8601"))
    return {name: pd.Series(_take(parsed, codes))}


def _take(index: pd.DatetimeIndex, codes: np.ndarray) -> pd.DatetimeIndex:
    if not len(index):
        return pd.DatetimeIndex([pd.NaT] * len(codes), tz="UTC")
    return index.take(codes, allow_fill=True, fill_value=pd.NaT)


def _partial_dates(name: str, values: np.ndarray) -> dict[str, Any]:
    """A partial date column -> the value, its precision, the interval it covers, its text."""
    codes, uniques = pd.factorize(values)
    parsed = [PartialDate.parse(u) for u in uniques]
    out = {}
    for suffix, part in (("", lambda p: p.value), ("_start", lambda p: p.start), ("_end", lambda p: p.end)):
        index = pd.DatetimeIndex([pd.Timestamp(part(p)) for p in parsed], tz="UTC") if parsed else \
            pd.DatetimeIndex([], tz="UTC")
        out[name + suffix] = pd.Series(_take(index, codes))
    precision = np.array([p.precision.value for p in parsed] + [None], dtype=object)[codes]
    out[f"{name}_precision"] = pd.Series(pd.Categorical(precision, dtype=_PRECISIONS))
    out[f"{name}_text"] = pd.Series(values, dtype="object")
    return out


def _parse_all(name: str, values: np.ndarray, empty: str) -> list:
    """Every row's JSON text parsed in one call (one array of the non-empty ones): a json.loads
    per row cost more than reading the rows. The store wrote these texts; a row that is not one
    JSON value of the column's kind is a damaged registry."""
    kind = list if empty == "[]" else dict
    full = [i for i, text in enumerate(values) if text != empty]
    out: list = [kind() for _ in range(len(values))]  # a new one per row: a notebook may change one
    if not full:
        return out
    try:
        parsed = json.loads("[" + ",".join(values[full]) + "]")
    except (TypeError, ValueError) as err:
        raise StoreError(f"the registry's {name} column holds text that is not JSON: {err}") from None
    if len(parsed) != len(full) or not all(type(v) is kind for v in parsed):
        raise StoreError(f"the registry's {name} column holds a value that is not a JSON {kind.__name__}")
    for i, value in zip(full, parsed, strict=True):
        out[i] = value
    return out


def _string_lists(name: str, values: np.ndarray) -> dict[str, Any]:
    """Lists of strings as the store writes them (compact JSON, no ASCII escaping): text without
    a backslash has no escaped quote, so splitting it at '","' is exact and costs a tenth of a
    JSON parse; anything else is parsed."""
    out: list[Any] = []
    for text in values:
        if text == "[]":
            out.append([])
        elif "\\" not in text and text.startswith('["') and text.endswith('"]'):
            out.append(text[2:-2].split('","'))
        else:
            try:
                value = json.loads(text)
            except (TypeError, ValueError) as err:
                raise StoreError(f"the registry's {name} column holds text that is not JSON: {err}") from None
            if not isinstance(value, list):
                raise StoreError(f"the registry's {name} column holds a value that is not a JSON list")
            out.append(value)
    return {name: pd.Series(out, dtype="object")}


def _parents(name: str, values: np.ndarray) -> dict[str, Any]:
    return {name: pd.Series(_parse_all(name, values, "[]"), dtype="object")}


_ALIAS = re.compile(r'\{"name":"([^"]*)","lang":(?:"([^"]*)"|(null))\}')


def _aliases(name: str, values: np.ndarray) -> dict[str, Any]:
    """[{"name": ..., "lang": ...}] -> a list of names and a list of languages. Text without a
    backslash has no quote inside its strings, so one regular expression reads the store's own
    form exactly (checked by counting the objects); anything else is parsed as JSON."""
    names: list = []
    langs: list = []
    other = []
    for i, text in enumerate(values):
        if text == "[]":
            names.append([])
            langs.append([])
            continue
        found = _ALIAS.findall(text) if "\\" not in text else None
        if found and len(found) == text.count("{"):
            names.append([n for n, _, _ in found])
            langs.append([None if null else lang for _, lang, null in found])
        else:
            names.append(None)
            langs.append(None)
            other.append(i)
    if other:
        for i, row in zip(other, _parse_all(name, values[other], "[]"), strict=True):
            names[i] = [a["name"] for a in row]
            langs[i] = [a.get("lang") for a in row]
    return {"aliases": pd.Series(names, dtype="object"), "alias_langs": pd.Series(langs, dtype="object")}


def _extra(name: str, values: np.ndarray) -> dict[str, Any]:
    return {name: pd.Series(_parse_all(name, values, "{}"), dtype="object")}


def _skip(name: str, values: np.ndarray) -> dict[str, Any]:
    return {}


_CONVERT: dict[Any, Callable[[str, np.ndarray], dict[str, Any]]] = {
    "aliases": _aliases,
    "parents": _parents,
    "systems": _string_lists,
    "source_ids": _string_lists,
    "extra": _extra,
    "country": _category(),
    "category": _category(),
    "status": _category(_STATUS),
    "location_precision": _category(_LOCATION),
    ("structures", "kind"): _category(),
    ("observations", "kind"): _category(_KINDS),
    "confidence": _category(_CONFIDENCE),
    "image_provider": _category(),
    "traced_provider": _category(),
    "area_m2": _float,
    "footprint_m2": _float,
    "version": _int,
    "created_at": _timestamps,
    "updated_at": _timestamps,
    "retrieved_at": _timestamps,
    "built": _partial_dates,
    "removed": _partial_dates,
    "published": _partial_dates,
    "date": _partial_dates,
    "image_acquired": _partial_dates,
    "traced_acquired": _partial_dates,
    "row_hash": _skip,  # the store's own check against edits made outside the app, not a record field
    # the observation's stored interval and precision are derived from `date`, which gives them all
    "date_precision": _skip,
    "date_start": _skip,
    "date_end": _skip,
}
