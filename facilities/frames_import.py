"""GeoDataFrames into the registry, through the same front door as a GeoJSON file.

Each row becomes the GeoJSON feature it would have been in a file and goes through
`geojson_codec.parse_feature_collection`: the same checks, every bad row named, and the import
all or nothing. So `import_geodataframe` accepts what `read_facilities` and friends return (their
extra columns folded back: alias languages, partial-date text, derived intervals and areas), the
rows of the registry's own flat exports (FlatGeobuf, GeoParquet, Shapefile, CSV: a
`feature_type` column, lists as JSON text), and any analyst's layer, whose rows are read as
facilities named by a `name`-like column with the other columns kept in `extra`.

A frame is reprojected to EPSG:4326 from whatever CRS it declares; a frame without one is
refused rather than guessed.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import shapely

from . import geojson_codec as codec
from .bulk import gc_paused
from .dates import format_timestamp, utc_date
from .errors import FeatureProblem, InputError
from .model import LocationPrecision, Registry
from .store import ImportReport, OnConflict

# Columns a registry frame or flat export holds that are not GeoJSON properties of a record.
_TEXT_OF = {"date": "date_text", "built": "built_text", "removed": "removed_text",
            "image_acquired": "image_acquired_text", "traced_acquired": "traced_acquired_text",
            "published": "published_text"}
_FRAME_ONLY = {"alias_langs", "geometry", "feature_type", "fid", "sources_json", "row_hash",
               *(f"{d}{s}" for d in _TEXT_OF for s in ("_text", "_start", "_end", "_precision"))}
_JSON_TEXT = {"aliases", "parents", "systems", "source_ids", "extra", "sources"}  # lists/objects as text in flat files
_TIMESTAMPS = {"created_at", "updated_at", "retrieved_at"}
_KNOWN = {"facility": codec._FACILITY_KEYS, "structure": codec._STRUCTURE_KEYS,
          "observation": codec._OBSERVATION_KEYS}
FEATURE_TYPES = ("facility", "structure", "observation", "source")


def import_geodataframe(gdf: Any, db: Any = None, *, feature_type: str | None = None, actor: str = "notebook",
                        on_conflict: OnConflict | str = OnConflict.ERROR, repair: bool = False,
                        default_precision: str = LocationPrecision.DIGITISED.value,
                        note: str = "GeoDataFrame") -> ImportReport:
    """Import a GeoDataFrame into the registry `db` (default: the settings' registry): all of its
    rows or none, every bad row named in the InputError.

    `feature_type` says what the rows are (facility, structure, observation); by default a
    `feature_type` column decides, else the columns (a `read_structures` frame is structures),
    else the rows are an analyst's own layer, read as facilities.

    >>> import_geodataframe(my_sites.to_crs(3857), "registry.gpkg")  # doctest: +SKIP
    """
    from .frames import opened

    registry, _problems, _notes = frame_to_registry(gdf, feature_type=feature_type, repair=repair,
                                                    default_precision=default_precision, source=note)
    with opened(db) as store:
        return store.import_registry(registry, actor=actor, on_conflict=OnConflict(on_conflict), note=note)


def frame_to_registry(gdf: Any, *, feature_type: str | None = None, repair: bool = False, skip_invalid: bool = False,
                      default_precision: str = LocationPrecision.DIGITISED.value, source: str | None = None,
                      assume_crs: str | None = None) -> tuple[Registry, list[FeatureProblem], list[str]]:
    """A (Geo)DataFrame -> (registry, skipped problems, notes), through the GeoJSON codec's checks.

    Raises InputError naming every bad row unless `skip_invalid`. A frame without a CRS is refused
    unless `assume_crs` names one (CSV files carry none; the registry writes them in EPSG:4326)."""
    notes: list[str] = []
    frame = _in_4326(gdf, source, assume_crs, notes)
    features, order, problems = frame_features(frame, feature_type)
    with gc_paused():
        registry, skipped, codec_notes = codec.parse_feature_collection(
            {"type": "FeatureCollection", "features": features}, repair=repair, skip_invalid=True,
            default_precision=default_precision, source=source)
    # the codec numbers features by position in its list; a problem names the frame's row
    problems += [FeatureProblem(order[p.index], p.feature_id, p.reason) for p in skipped]
    problems.sort(key=lambda p: p.index)
    if problems and not skip_invalid:
        raise InputError(f"{len(problems)} of {len(frame)} rows are invalid; nothing was imported", problems,
                         source=source)
    return registry, problems, notes + [_renumber_note(n, order) for n in codec_notes]


def _renumber_note(note: str, order: list[int]) -> str:
    head, sep, rest = note.partition(": ")
    if sep and head.startswith("feature ") and head[8:].isdigit():
        return f"row {order[int(head[8:])]}: {rest}"
    return note


def _in_4326(gdf: Any, source: str | None, assume_crs: str | None, notes: list[str]) -> Any:
    import geopandas as gpd

    if not isinstance(gdf, gpd.GeoDataFrame):
        if "geometry" in getattr(gdf, "columns", ()):
            gdf = gpd.GeoDataFrame(gdf, geometry="geometry", crs=assume_crs)
        else:  # a table without geometry (sources, or observations nobody drew)
            gdf = gpd.GeoDataFrame(gdf, geometry=gpd.GeoSeries([None] * len(gdf), index=gdf.index),
                                   crs=assume_crs or "EPSG:4326")
    if gdf.crs is None:
        if assume_crs is None and gdf.geometry.notna().any():
            raise InputError("has no CRS, so its coordinates cannot be placed; set it first, e.g. "
                             "gdf.set_crs('EPSG:32652') for UTM zone 52N, or gdf.set_crs(4326) for longitude/latitude",
                             source=source)
        gdf = gdf.set_crs(assume_crs or "EPSG:4326")
        if assume_crs:
            notes.append(f"no CRS in the file: read as {assume_crs}")
    if not gdf.crs.equals("EPSG:4326"):
        notes.append(f"reprojected from {gdf.crs.to_string()} to EPSG:4326")
        gdf = gdf.to_crs("EPSG:4326")
    return gdf


def frame_features(frame: Any, feature_type: str | None = None) -> tuple[list[dict], list[int], list[FeatureProblem]]:
    """Rows -> GeoJSON feature dicts (the codec's input), the row number of each, and the rows
    that cannot become one."""
    if feature_type is not None and feature_type not in FEATURE_TYPES:
        raise InputError(f"feature_type {feature_type!r} is not one of {', '.join(FEATURE_TYPES[:3])}")
    columns = [c for c in frame.columns if c != frame.geometry.name]
    kinds = _row_kinds(frame, columns, feature_type)
    geoms = np.asarray(frame.geometry.values, dtype=object)
    present = ~shapely.is_missing(geoms)
    geometry: list = [None] * len(frame)
    if present.any():
        for k, text in zip(np.flatnonzero(present), shapely.to_geojson(geoms[present]), strict=True):
            geometry[k] = json.loads(text)
    values = {c: frame[c].tolist() for c in columns}
    sources = {}
    features: list[dict] = []
    problems: list[FeatureProblem] = []
    order: list[int] = []
    for i in range(len(frame)):
        kind = kinds[i]
        row = {c: _plain(values[c][i]) for c in columns}
        try:
            if kind == "source":
                source = _source_row(row)
                sources[source["id"]] = source
                continue
            props = _properties(row, kind)
        except (TypeError, ValueError, KeyError) as err:
            problems.append(FeatureProblem(i, _row_id(row), str(err)))
            continue
        ident = props.get("id") if kind else None
        features.append({"type": "Feature", "id": ident if isinstance(ident, str) else None,
                         "geometry": geometry[i], "properties": props})
        order.append(i)
    if sources:  # flat exports list each source once, as a row; the codec takes them from the features citing them
        for feat in features:
            cited = feat["properties"].get("source_ids") or []
            parents = [s for p in feat["properties"].get("parents") or [] for s in p.get("source_ids") or []]
            known = [sources[s] for s in (*cited, *parents) if isinstance(s, str) and s in sources]
            if known:
                feat["properties"]["sources"] = [*(feat["properties"].get("sources") or []), *known]
    return features, order, problems


def _row_kinds(frame: Any, columns: Sequence[str], feature_type: str | None) -> list[str | None]:
    if "feature_type" in columns and feature_type is None:
        return [None if _missing(v) else str(v) for v in frame["feature_type"].tolist()]
    if feature_type is None:
        feature_type = _guess_kind(set(columns))
    return [feature_type] * len(frame)


def _guess_kind(columns: set[str]) -> str | None:
    """A registry frame's kind from its columns; None for an analyst's own layer."""
    ours = columns - _FRAME_ONLY - codec._DERIVED
    if "facility_id" in ours:
        if ours <= _KNOWN["observation"] and {"summary", "kind"} <= ours:
            return "observation"
        if ours <= _KNOWN["structure"]:
            return "structure"
    elif {"id", "name"} <= ours and ours <= _KNOWN["facility"]:
        return "facility"
    return None


def _properties(row: dict, kind: str | None) -> dict:
    """A row's GeoJSON properties: lists from JSON text, partial dates from their text column,
    timestamps as text, the frame's own derived columns left out."""
    if kind is None:  # an analyst's layer: every column as it is, for the codec's foreign-feature rules
        return {k: _jsonable(v) for k, v in row.items() if k not in ("geometry", "fid") and v is not None}
    props: dict[str, Any] = {"feature_type": kind}
    for key, value in row.items():
        if key in _FRAME_ONLY or key in ("area_m2", "footprint_m2", "date_precision", "date_start", "date_end"):
            continue
        if (value is None or value == "") and key not in _KNOWN.get(kind, ()):
            continue  # a column of another kind of record, in a table that holds several
        if key in _TEXT_OF and _TEXT_OF[key] in row:
            value = row[_TEXT_OF[key]]
        elif key in _TEXT_OF and isinstance(value, dt.datetime):
            value = utc_date(value).isoformat()  # a time column's date is its UTC date
        if key in _JSON_TEXT and isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                raise ValueError(f"column {key} is not JSON: {value[:60]!r}") from None
        elif key in _TIMESTAMPS and isinstance(value, dt.datetime):
            value = format_timestamp(value if value.tzinfo else value.replace(tzinfo=dt.UTC))
        props[key] = _jsonable(value)
    if "aliases" in props and "alias_langs" in row:
        langs = row["alias_langs"] or []
        names = props["aliases"] or []
        props["aliases"] = [{"name": n, "lang": langs[k] if k < len(langs) else None} for k, n in enumerate(names)]
    if props.get("aliases"):
        props["aliases"] = [a if isinstance(a, dict) else {"name": a} for a in props["aliases"]]
    if props.get("parents"):
        props["parents"] = [p if isinstance(p, dict) else {"name": p} for p in props["parents"]]
    props["version"] = _version(props.get("version")) if "version" in props else None
    if props["version"] is None:
        del props["version"]
    return props


def _version(value: Any) -> Any:
    """A version as text (CSV) or float (a column with gaps) -> int; anything else as it is, for
    the codec to refuse by name."""
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _source_row(row: dict) -> dict:
    out = {}
    for key in codec._SOURCE_KEYS:
        value = row.get(_TEXT_OF.get(key, key), row.get(key))
        if key in _TIMESTAMPS and isinstance(value, dt.datetime):
            value = format_timestamp(value if value.tzinfo else value.replace(tzinfo=dt.UTC))
        out[key] = _jsonable(value)
    if not out.get("id"):
        raise ValueError("source row has no id")
    out["version"] = _version(out.get("version"))
    return {k: v for k, v in out.items() if v is not None or k in ("url", "published", "language", "retrieved_at")}


def _row_id(row: Mapping) -> str | None:
    ident = row.get("id")
    return ident if isinstance(ident, str) else None


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _plain(value: Any) -> Any:
    """pandas/numpy scalars -> plain Python; missing values -> None."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, np.generic):
        value = value.item()
        return None if isinstance(value, float) and math.isnan(value) else value
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    try:
        import pandas as pd

        if value is pd.NaT or (isinstance(value, pd.Timestamp) and pd.isna(value)):
            return None
        if isinstance(value, pd.Timestamp):
            return value.to_pydatetime()
    except ImportError:  # pragma: no cover - pandas comes with geopandas
        pass
    return value


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return format_timestamp(value if value.tzinfo else value.replace(tzinfo=dt.UTC))
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return _plain(value)
