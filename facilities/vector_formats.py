"""The registry in every vector format an analyst trades in: GeoPackage, FlatGeobuf, GeoParquet,
Shapefile and CSV (WKT), written and read through pyogrio/geopandas. GeoJSON stays with its own
streamed writer and hardened reader (facilities/geojson_io.py); this module is the rest.

A GeoPackage export is a standalone registry holding the selection (the store's own layout, so
GDAL's validator accepts it and `facilities --db copy.gpkg` opens it). The single-layer formats
hold the GeoJSON report flattened: one row per facility, structure and observation with a
`feature_type` column and the report's properties as columns (lists and objects as JSON text),
and one row per cited source (`feature_type` source, no geometry), so each record is written
once. Reading goes back through `frames_import.frame_to_registry`, the GeoJSON codec's checks.

What a format cannot hold is said, never silently dropped: `Written.warnings` lists it
(Shapefile: 10-character field names, mapped back by a `.fields.json` sidecar; one geometry
type per file, so points and lines go to sibling files; text cut at 254 bytes. CSV and
Shapefile: an empty text where the registry allows none reads back as none).
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import geojson_codec as codec
from .errors import FeatureProblem, InputError
from .files import check_size
from .model import LocationPrecision, Registry
from .store import Filter, GeoPackageStore, Store
from .store.tables import RECORD_TABLES

FORMATS = {  # name -> (extensions, description)
    "geojson": ((".geojson", ".json"), "GeoJSON report (RFC 7946)"),
    "gpkg": ((".gpkg",), "GeoPackage: a standalone registry of the selection"),
    "fgb": ((".fgb",), "FlatGeobuf"),
    "parquet": ((".parquet", ".geoparquet"), "GeoParquet"),
    "shp": ((".shp",), "Shapefile (with a .fields.json sidecar)"),
    "csv": ((".csv",), "CSV with WKT geometry"),
}
TABLE_FORMATS = ("gpkg", "fgb", "parquet", "shp", "csv")
_JSON_COLUMNS = {"aliases", "parents", "systems", "source_ids", "extra"}
# columns the registry allows to be null: where a format keeps no null text (CSV, DBF), "" reads as null
_NULLABLE = {c.name for t in RECORD_TABLES for c in t.columns if "NOT NULL" not in c.constraints}
_SHP_TEXT_BYTES = 254
_REGISTRY_LAYERS = ("facilities", "structures", "observations", "sources")
_FEATURE_TYPE = {"facilities": "facility", "structures": "structure", "observations": "observation",
                 "sources": "source"}


@dataclass(frozen=True)
class Written:
    """What an export wrote: the files and what the format could not hold."""

    files: tuple[Path, ...]
    rows: int
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class TableFile:
    """A table file read and checked, as a registry (nothing written yet)."""

    registry: Registry
    problems: tuple[FeatureProblem, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)


def format_of(path: str | os.PathLike, explicit: str | None = None) -> str:
    """The format named, else the one the file's extension says (GeoJSON when it says none we know)."""
    if explicit is not None:
        if explicit not in FORMATS:
            raise InputError(f"format {explicit!r} is not one of {', '.join(FORMATS)}")
        return explicit
    suffix = Path(str(path)).suffix.lower()
    return next((name for name, (exts, _) in FORMATS.items() if suffix in exts), "geojson")


# ---------------------------------------------------------------- the selection

def selection(store: Store, flt: Filter = Filter()) -> Registry:
    """The records an export with `flt` holds, as the GeoJSON report chooses them: facilities by
    ids and bbox, their structures, their observations in the date range, the sources cited."""
    facilities = store.list_facilities(Filter(facility_ids=flt.facility_ids, bbox=flt.bbox))
    everything = flt.facility_ids is None and flt.bbox is None
    chosen = {f.id for f in facilities}
    structures = [s for s in store.list_structures() if everything or s.facility_id in chosen]
    observations = [o for o in store.list_observations(Filter(date_from=flt.date_from, date_to=flt.date_to))
                    if everything or o.facility_id in chosen]
    cited = {i for group in (facilities, structures, observations) for o in group for i in o.source_ids}
    cited |= {i for f in facilities for p in f.parents for i in p.source_ids}
    sources = store.list_sources(tuple(sorted(cited))) if cited else []
    return Registry(tuple(facilities), tuple(structures), tuple(observations), tuple(sources))


def flat_frame(registry: Registry) -> Any:
    """The registry as one GeoDataFrame (EPSG:4326): a row per record with a `feature_type`
    column, the GeoJSON report's properties as columns (lists and objects as JSON text)."""
    import geopandas as gpd

    rows: list[dict] = []
    geoms: list = []
    for obj in codec.iter_objects(registry):
        props = codec.properties(obj)
        rows.append({k: _text(k, v) for k, v in props.items()})
        geoms.append(obj.geometry)
    for s in registry.sources:
        rows.append({"feature_type": "source", **codec.source_properties(s)})
        geoms.append(None)
    columns: dict[str, None] = {"feature_type": None, "id": None}
    for r in rows:
        columns.update(dict.fromkeys(r))
    frame = gpd.GeoDataFrame([[r.get(c) for c in columns] for r in rows], columns=list(columns),
                             geometry=gpd.GeoSeries(geoms, crs="EPSG:4326"), crs="EPSG:4326")
    for c in ("version",):
        if c in frame:
            frame[c] = frame[c].astype("Int64")
    return frame


def _text(key: str, value: Any) -> Any:
    if key in _JSON_COLUMNS:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return value


# ---------------------------------------------------------------- writing

def write_table(store: Store, path: str | os.PathLike, fmt: str, flt: Filter = Filter()) -> Written:
    """Export the selection to `path` in `fmt` (one of TABLE_FORMATS), whole or not at all."""
    registry = selection(store, flt)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "gpkg":
        return _write_gpkg(registry, path)
    frame = flat_frame(registry)
    extension = FORMATS[fmt][0][0]
    renamed: list[str] = []
    if fmt == "shp" and path.suffix.lower() != ".shp":  # a Shapefile is found by its .shp
        renamed.append(f"a Shapefile must end in .shp: wrote {path.with_suffix('.shp').name}")
        path = path.with_suffix(".shp")
    with tempfile.TemporaryDirectory(prefix=f".{path.name}.", dir=path.parent) as tmp:
        # GDAL chooses by extension (FlatGeobuf makes a folder of a name without .fgb): stage under the
        # format's own extension, then give the file the name asked for
        staged = Path(tmp) / (path.stem + (".shp" if fmt == "shp" else extension))
        if fmt == "fgb":
            # no spatial index: rows without geometry; no promotion: a Polygon beside a MultiPolygon stays one
            _pyogrio_write(frame, staged, "FlatGeobuf", layer_options={"SPATIAL_INDEX": "NO"}, promote_to_multi=False)
            notes: list[str] = []
        elif fmt == "parquet":
            frame.to_parquet(staged)
            notes = []
        elif fmt == "csv":
            _write_csv(frame, staged)
            notes = _null_text_note(frame, "CSV")
        elif fmt == "shp":
            notes = _write_shapefile(frame, staged)
        else:
            raise InputError(f"format {fmt!r} is not one of {', '.join(TABLE_FORMATS)}")
        if fmt != "shp" and staged.name != path.name:
            staged = staged.rename(staged.with_name(path.name))
        files = sorted(Path(tmp).iterdir())
        for f in files:  # every file complete before any replaces its target
            os.replace(f, path.parent / f.name)
    return Written(tuple(path.parent / f.name for f in files), len(frame), tuple(renamed + notes))


def _write_csv(frame: Any, path: Path) -> None:
    """CSV with the geometry as WKT first, at full precision (GDAL's own CSV writer keeps 15
    significant digits, which moved a large outline's area in the first decimal)."""
    import pandas as pd
    import shapely

    table = pd.DataFrame(frame.drop(columns=[frame.geometry.name]))
    table.insert(0, "WKT", shapely.to_wkt(frame.geometry.values, rounding_precision=-1))
    table.to_csv(path, index=False, lineterminator="\n")


def _pyogrio_write(frame: Any, path: Path, driver: str, **options: Any) -> None:
    import pyogrio

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # pyogrio's notes on field types; our warnings say more
        pyogrio.write_dataframe(frame, path, driver=driver, **options)


def _write_gpkg(registry: Registry, path: Path) -> Written:
    """A standalone registry of the selection: the store's own layout, built beside the target,
    out of WAL mode (one file, nothing else needed to open it), then moved into place."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".gpkg", dir=path.parent)
    os.close(fd)
    os.unlink(tmp)  # the store creates it
    try:
        store = GeoPackageStore(tmp)
        try:
            store.import_registry(registry, actor="export", note=f"export to {path.name}")
            con = store._connect()
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            con.execute("PRAGMA journal_mode = DELETE")
        finally:
            store.close()
        os.replace(tmp, path)
    finally:
        for leftover in (tmp, tmp + "-wal", tmp + "-shm"):
            Path(leftover).unlink(missing_ok=True)
    return Written((path,), len(registry))


def _null_text_note(frame: Any, what: str) -> list[str]:
    empty = sorted(c for c in frame.columns if c in _NULLABLE and c != "geometry"
                   and (frame[c].astype(object) == "").any())
    if not empty:
        return []
    return [f"{what} keeps no difference between empty and missing text: empty {', '.join(empty)} "
            "will read back as missing"]


def shapefile_names(columns: Iterable[str]) -> dict[str, str]:
    """Long column names -> unique names of at most 10 characters (the DBF limit)."""
    out: dict[str, str] = {}
    taken: set[str] = set()
    for name in columns:
        short = name[:10]
        n = 1
        while short.lower() in taken:
            n += 1
            short = f"{name[:10 - len(str(n)) - 1]}_{n}"
        taken.add(short.lower())
        out[name] = short
    return out


def _write_shapefile(frame: Any, path: Path) -> list[str]:
    """A Shapefile per geometry family (polygons, with the rows that have no geometry, at `path`;
    points and lines beside it), field names cut to 10 characters and mapped back in a sidecar."""
    import shapely

    notes: list[str] = []
    columns = [c for c in frame.columns if c != "geometry"]
    names = shapefile_names(columns)
    renamed = {k: v for k, v in names.items() if k != v}
    if renamed:
        notes.append("Shapefile field names are at most 10 characters: "
                     + ", ".join(f"{k} -> {v}" for k, v in renamed.items())
                     + f"; {path.stem}.fields.json maps them back (facilities import reads it)")
    long_values = [(c, v) for c in columns for v in frame[c].tolist()
                   if isinstance(v, str) and len(v.encode()) > _SHP_TEXT_BYTES]
    if long_values:
        cols = sorted({c for c, _ in long_values})
        notes.append(f"Shapefile text is at most {_SHP_TEXT_BYTES} bytes: {len(long_values)} values in "
                     f"{', '.join(cols)} were cut (use GeoPackage, FlatGeobuf or GeoParquet to keep them)")
    padded = sum(1 for c in columns for v in frame[c].tolist() if isinstance(v, str) and v != v.strip(" "))
    if padded:
        notes.append(f"Shapefile (DBF) text loses leading and trailing spaces: {padded} values start or end with one")
    notes += _null_text_note(frame, "Shapefile")
    kinds = shapely.get_type_id(frame.geometry.values)
    # GDAL reads a one-part polygon or line back as Polygon or LineString; points and multipoints
    # are different shape types, so each has a file
    families = {"": (kinds == -1) | (kinds == 3) | (kinds == 6), "_points": kinds == 0, "_multipoints": kinds == 4,
                "_lines": (kinds == 1) | (kinds == 5)}
    parts = {}
    out = frame.rename(columns=names)
    for suffix, mask in families.items():
        if suffix and not mask.any():
            continue
        target = path.with_name(path.stem + suffix + ".shp")
        part = out[mask]
        geometry_type = {"": "MultiPolygon", "_points": "Point", "_multipoints": "MultiPoint",
                         "_lines": "MultiLineString"}[suffix]
        _pyogrio_write(part, target, "ESRI Shapefile", encoding="UTF-8", geometry_type=geometry_type,
                       promote_to_multi=suffix in ("", "_lines"))
        parts[target.name] = int(mask.sum())
    if len(parts) > 1:
        notes.append("Shapefile holds one geometry type per file: " + ", ".join(parts) + " (read together)")
    path.with_name(path.stem + ".fields.json").write_text(json.dumps(
        {"fields": {v: k for k, v in names.items()}, "files": list(parts)}, indent=1), encoding="utf-8")
    return notes


# ---------------------------------------------------------------- reading

def read_table_file(path: str | os.PathLike, *, max_bytes: int, repair: bool = False, skip_invalid: bool = False,
                    default_precision: str = LocationPrecision.DIGITISED.value) -> TableFile:
    """A GeoPackage, FlatGeobuf, GeoParquet, Shapefile or CSV -> TableFile, through the GeoJSON
    codec's checks: InputError naming every bad row unless skip_invalid leaves them out."""
    from .frames_import import frame_to_registry

    path = Path(path)
    fmt = format_of(path)
    if fmt == "geojson" or not path.is_file():
        raise InputError(f"is not a {', '.join(TABLE_FORMATS)} file", source=str(path))
    files = _shapefile_parts(path) if fmt == "shp" else [path]
    check_size(sum(f.stat().st_size for f in files if f.exists()), max_bytes, str(path))
    frame, notes, assume = _read_frame(path, fmt)
    registry, problems, more = frame_to_registry(frame, repair=repair, skip_invalid=skip_invalid,
                                                 default_precision=default_precision, source=str(path),
                                                 assume_crs=assume)
    return TableFile(registry, tuple(problems), tuple(notes + more))


def _read_frame(path: Path, fmt: str) -> tuple[Any, list[str], str | None]:
    import geopandas as gpd
    import pandas as pd
    import pyogrio

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            if fmt == "parquet":
                return gpd.read_parquet(path), [], None
            if fmt == "fgb":
                return pyogrio.read_dataframe(path), [], None
            if fmt == "csv":
                frame = pyogrio.read_dataframe(path, GEOM_POSSIBLE_NAMES="WKT,wkt,geometry",
                                               KEEP_GEOM_COLUMNS="NO")
                return _nulls(frame), [], "EPSG:4326"
            if fmt == "shp":
                return _read_shapefile(path), [], None
            layers = [(name, kind) for name, kind in pyogrio.list_layers(path)]
            names = {n for n, _ in layers}
            if {"facilities", "tracker_meta"} <= names:  # a registry (ours, or an export of it)
                frames = []
                for layer in _REGISTRY_LAYERS:
                    if layer in names:
                        part = pyogrio.read_dataframe(path, layer=layer)
                        frames.append(_with_type(part, _FEATURE_TYPE[layer]))
                return pd.concat(frames, ignore_index=True), [], None
            spatial = [n for n, kind in layers if kind is not None]
            if not spatial:
                raise InputError("has no layer with geometry", source=str(path))
            frames = [pyogrio.read_dataframe(path, layer=n) for n in spatial]
            crs = {f.crs.to_string() if f.crs else None for f in frames}
            if len(crs) > 1:
                frames = [f.to_crs("EPSG:4326") if f.crs else f for f in frames]
            return pd.concat(frames, ignore_index=True), ([f"layers read: {', '.join(spatial)}"]
                                                           if len(spatial) > 1 else []), None
    except InputError:
        raise
    except Exception as err:  # noqa: BLE001 - GDAL, pyarrow and pandas raise many types for a broken file
        raise InputError(f"cannot be read as {FORMATS[fmt][1]}: {err}", source=str(path)) from None


def _with_type(frame: Any, feature_type: str) -> Any:
    import geopandas as gpd

    frame = frame.copy()
    frame.insert(0, "feature_type", feature_type)
    if not isinstance(frame, gpd.GeoDataFrame):
        frame = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries([None] * len(frame), index=frame.index),
                                 crs="EPSG:4326")
    return frame


def _shapefile_parts(path: Path) -> list[Path]:
    sidecar = path.with_name(path.stem + ".fields.json")
    names = [path.name]
    if sidecar.is_file():
        names = _sidecar(sidecar).get("files") or names
    parts = [path.with_name(n) for n in names]
    return [p.with_suffix(s) for p in parts for s in (".shp", ".dbf", ".shx", ".prj", ".cpg")]


def _sidecar(path: Path) -> dict:
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as err:
        raise InputError(f"the field-name sidecar cannot be read: {err}", source=str(path)) from None
    if not isinstance(data, dict) or not isinstance(data.get("fields", {}), dict) \
            or not all(isinstance(n, str) and "/" not in n and "\\" not in n and n.endswith(".shp")
                       for n in data.get("files", [])):
        raise InputError("is not a field-name sidecar ({fields: {short: long}, files: [name.shp]})",
                         source=str(path))
    return data


def _read_shapefile(path: Path) -> Any:
    import pandas as pd
    import pyogrio

    sidecar = path.with_name(path.stem + ".fields.json")
    data = _sidecar(sidecar) if sidecar.is_file() else {}
    files = data.get("files") or [path.name]
    frames = [pyogrio.read_dataframe(path.with_name(n), encoding="UTF-8") for n in files]
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    frame = frame.rename(columns=data.get("fields") or {})
    return _nulls(frame) if data else frame


def _nulls(frame: Any) -> Any:
    """Formats without null text (CSV, DBF): "" in a column the registry allows to be null is null."""
    for column in frame.columns:
        if column in _NULLABLE:
            values = frame[column].astype(object)
            frame[column] = values.where(values != "", None)
    return frame
