"""GeoJSON codec: registry values <-> RFC 7946 feature dicts. Pure: no files, no store.

Our own features carry `feature_type` (facility / structure / observation) and round-trip
without loss. Features written by QGIS or geojson.io have no `feature_type`; they are read as
facilities, their name taken from a `name`-like property and the rest kept in `extra`.
Every feature is checked; problems are collected per feature and raised together, so a file is
imported whole or not at all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import shapely
from shapely.geometry import mapping, shape

from .dates import PartialDate, format_timestamp, parse_timestamp
from .errors import FeatureProblem, InputError, ValidationError
from .geometry import ANY_GEOMETRY, POLYGONAL, check_geometries, rfc7946
from .model import (
    Alias,
    Facility,
    ImageRef,
    LocationPrecision,
    Observation,
    ParentClaim,
    Registry,
    Source,
    Structure,
    as_enum,
    register_feature_encoder,
    slugify,
)
from .positions import check_positions
from .values import check_json_value, printable

COORDINATE_PRECISION = 7
_ACCEPTED_CRS = {
    "urn:ogc:def:crs:OGC:1.3:CRS84", "urn:ogc:def:crs:OGC::CRS84", "EPSG:4326", "urn:ogc:def:crs:EPSG::4326",
    "OGC:CRS84", "CRS84", "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
}
_NAME_KEYS = ("name", "Name", "NAME", "title", "Title", "label")
# properties we compute on export and ignore on import
_DERIVED = {"feature_type", "sources", "area_m2", "footprint_m2", "date_precision", "date_start", "date_end",
            "facility_name"}


# ---------------------------------------------------------------- values -> plain dicts

def _ts(value: dt.datetime | None) -> str | None:
    return None if value is None else format_timestamp(value)


def _date(value: PartialDate | None) -> str | None:
    return None if value is None else str(value)


def source_properties(s: Source) -> dict[str, Any]:
    """A source as a plain dict of its fields (dates and timestamps as ISO text), as export files and the history
    keep it."""
    return {
        "id": s.id, "title": s.title, "publisher": s.publisher, "url": s.url, "published": _date(s.published),
        "language": s.language, "excerpt": s.excerpt, "retrieved_at": _ts(s.retrieved_at), "notes": s.notes,
        "version": s.version,
    }


def facility_properties(f: Facility) -> dict[str, Any]:
    """A facility's GeoJSON properties: its fields with enums as their values, dates as ISO text, and the computed
    area_m2."""
    return {
        "feature_type": "facility", "id": f.id, "name": f.name,
        "aliases": [{"name": a.name, "lang": a.lang} for a in f.aliases],
        "country": f.country, "category": f.category, "status": f.status.value,
        "location_precision": f.location_precision.value,
        "parents": [{"name": p.name, "facility_id": p.facility_id, "source_ids": list(p.source_ids)}
                    for p in f.parents],
        "systems": list(f.systems), "notes": f.notes, "source_ids": list(f.source_ids), "extra": f.extra,
        "area_m2": round(f.area_m2, 1), "version": f.version,
        "created_at": _ts(f.created_at), "updated_at": _ts(f.updated_at),
    }


def structure_properties(s: Structure) -> dict[str, Any]:
    """A structure's GeoJSON properties: its fields as plain values, with the computed footprint_m2; the image its
    footprint was traced on flattened into traced_provider, traced_image_id and traced_acquired (null when none)."""
    img = s.traced_on
    return {
        "feature_type": "structure", "id": s.id, "facility_id": s.facility_id, "name": s.name, "kind": s.kind,
        "location_precision": s.location_precision.value, "status": s.status.value,
        "built": _date(s.built), "removed": _date(s.removed), "notes": s.notes,
        "source_ids": list(s.source_ids),
        "traced_provider": img.provider if img else None, "traced_image_id": img.image_id if img else None,
        "traced_acquired": _date(img.acquired) if img else None,
        "footprint_m2": round(s.footprint_m2, 1), "version": s.version,
        "created_at": _ts(s.created_at), "updated_at": _ts(s.updated_at),
    }


def observation_properties(o: Observation) -> dict[str, Any]:
    """An observation's GeoJSON properties: its date also as its first and last day (date_start, date_end), the image
    flattened into image_* fields."""
    img = o.image
    return {
        "feature_type": "observation", "id": o.id, "facility_id": o.facility_id, "structure_id": o.structure_id,
        "date": str(o.date), "date_precision": o.date.precision.value,
        "date_start": o.date.start.isoformat(), "date_end": o.date.end.isoformat(),
        "kind": o.kind.value, "summary": o.summary,
        "image_provider": img.provider if img else None, "image_id": img.image_id if img else None,
        "image_acquired": _date(img.acquired) if img else None,
        "confidence": o.confidence.value, "analyst": o.analyst, "source_ids": list(o.source_ids),
        "notes": o.notes, "version": o.version, "created_at": _ts(o.created_at), "updated_at": _ts(o.updated_at),
    }


_PROPERTIES: dict[type, Callable[[Any], dict[str, Any]]] = {
    Facility: facility_properties, Structure: structure_properties, Observation: observation_properties,
    Source: source_properties}


def properties(obj) -> dict[str, Any]:
    """The GeoJSON properties of any registry value (facility, structure, observation or source)."""
    return _PROPERTIES[type(obj)](obj)


def feature_id(obj) -> str:
    """The id a value's Feature carries, its kind and id: 'facility:february-11-plant'."""
    return f"{type(obj).__name__.lower()}:{obj.id}"


def to_feature(obj, sources: Mapping[str, Source] | None = None, precision: int = COORDINATE_PRECISION) -> dict:
    """One value as a GeoJSON Feature dict (RFC 7946 winding and precision)."""
    props = properties(obj)
    if sources is not None and "source_ids" in props:
        props["sources"] = [source_properties(sources[i]) for i in props["source_ids"] if i in sources]
    geom = getattr(obj, "geometry", None)
    geometry = None if geom is None else mapping(rfc7946(np.array([geom], dtype=object), precision)[0])
    return {"type": "Feature", "id": feature_id(obj), "geometry": geometry, "properties": props}


def feature_collection(registry: Registry, precision: int = COORDINATE_PRECISION) -> dict:
    """A Registry as one GeoJSON FeatureCollection dict (facilities, structures, observations; sources inside the
    features citing them)."""
    sources = {s.id: s for s in registry.sources}
    feats = [to_feature(o, sources, precision)
             for o in (*registry.facilities, *registry.structures, *registry.observations)]
    return {"type": "FeatureCollection", "features": feats}


register_feature_encoder(to_feature)  # the model's __geo_interface__, without the model importing us


# ---------------------------------------------------------------- GeoJSON -> values

def _text(props: Mapping, key: str, default: str = "") -> str:
    v = props.get(key, default)
    return default if v is None else v


# A property's value as the document gives it: unchecked, so Any. The model's constructors check and
# coerce every field (ids, enums, dates), raising the ValidationError reported for the feature.
def _given(props: Mapping[str, Any], key: str) -> Any:
    return props.get(key)


def _given_or(props: Mapping[str, Any], key: str, default: str) -> Any:
    return props.get(key) or default


def _build_geometry(raw: Any, allowed: tuple[str, ...], required: bool = True):
    """GeoJSON geometry -> shapely, with the structural checks; validity is checked per batch.
    A checked Polygon or MultiPolygon comes back as `_Deferred`, built later with the others of its
    file in a few vectorised calls (`_build_deferred`)."""
    if raw is None:
        if required:
            raise ValidationError("geometry is null; this feature needs a " + " or ".join(allowed))
        return None
    if not isinstance(raw, dict) or "type" not in raw:
        raise ValidationError("geometry is not a GeoJSON geometry object")
    if raw["type"] == "GeometryCollection":
        raise ValidationError("GeometryCollection is not supported; split it into separate features")
    if raw["type"] not in ANY_GEOMETRY:
        raise ValidationError(f"unknown geometry type {raw['type']!r} (GeoJSON types are case-sensitive)")
    if not isinstance(raw.get("coordinates"), list):
        raise ValidationError(f"{raw['type']} has no coordinates array")
    check_positions(raw["type"], raw["coordinates"])
    _check_rings(raw)
    if raw["type"] in ("Polygon", "MultiPolygon"):
        return _Deferred(raw)
    return _construct(raw)


def _construct(raw: dict):
    try:
        geom = _fast_polygonal(raw)
        if geom is None:
            geom = shape(raw)
    except Exception as err:  # shapely/GEOS raise several types for malformed rings
        raise ValidationError(f"malformed {raw['type']}: {err}") from None
    return geom


class _Deferred:
    """A checked polygonal geometry waiting to be built with the others of its file."""

    __slots__ = ("raw",)

    def __init__(self, raw: dict) -> None:
        self.raw = raw


def _polygonal_batch(raws: list[dict]) -> list | None:
    """Polygons and MultiPolygons of many features in a handful of vectorised calls: one array of
    every position, then rings, polygons and multipolygons by index. A file's outlines are most
    of its import; one shapely call per ring cost more than the rest of reading a feature. None
    when anything is unusual (an empty part, 3D or ragged positions): then each is built alone."""
    positions: list = []
    ring_sizes: list[int] = []
    rings_per_polygon: list[int] = []
    polygons_per_geometry: list[int] = []
    for raw in raws:
        parts = [raw["coordinates"]] if raw["type"] == "Polygon" else raw["coordinates"]
        if not parts:
            return None
        polygons_per_geometry.append(len(parts))
        for rings in parts:
            if not rings:
                return None
            rings_per_polygon.append(len(rings))
            for ring in rings:
                positions.extend(ring)
                ring_sizes.append(len(ring))
    try:
        coords = np.asarray(positions, dtype=float)
    except (ValueError, TypeError):
        return None
    if coords.ndim != 2 or coords.shape[1] != 2:
        return None
    try:
        rings = shapely.linearrings(coords, indices=np.repeat(np.arange(len(ring_sizes)), ring_sizes))
        polygons = shapely.polygons(rings, indices=np.repeat(np.arange(len(rings_per_polygon)), rings_per_polygon))
    except (ValueError, TypeError, shapely.errors.GEOSException):
        return None
    out: list = []
    start = 0
    multi = [i for i, raw in enumerate(raws) if raw["type"] == "MultiPolygon"]
    if multi:
        owner = np.repeat(np.arange(len(raws)), polygons_per_geometry)
        wanted = np.isin(owner, multi)
        built = dict(zip(multi, shapely.multipolygons(polygons[wanted], indices=np.searchsorted(multi, owner[wanted])),
                         strict=True))
    for i, (raw, n) in enumerate(zip(raws, polygons_per_geometry, strict=True)):
        out.append(polygons[start] if raw["type"] == "Polygon" else built[i])
        start += n
    return out


def _build_deferred(parsed: list, problems: list[FeatureProblem]) -> list:
    """`parsed` with every `_Deferred` geometry built; features whose geometry cannot be built
    become problems, as they would have been one by one."""
    waiting = [k for k, p in enumerate(parsed) if isinstance(p[4], _Deferred)]
    if not waiting:
        return parsed
    built = _polygonal_batch([parsed[k][4].raw for k in waiting])
    out = list(parsed)
    failed = set()
    for j, k in enumerate(waiting):
        i, fid, ftype, props, deferred = parsed[k]
        try:
            geom = built[j] if built is not None else _construct(deferred.raw)
        except ValidationError as err:
            problems.append(_problem(i, fid, err))
            failed.add(k)
            continue
        out[k] = (i, fid, ftype, props, geom)
    return [p for k, p in enumerate(out) if k not in failed]


def _fast_polygonal(raw: dict):
    """Polygons straight from numpy arrays: ~3x faster than shapely's shape() on big imports.
    Returns None for anything unusual (mixed dimensions, other types) so shape() decides. Holes are
    made rings one by one: as one array, holes of different lengths were ragged and refused."""
    try:
        if raw["type"] == "Polygon":
            rings = [np.asarray(r, dtype=float) for r in raw["coordinates"]]
            if not rings:
                return None
            return shapely.polygons(rings[0], holes=_holes(rings[1:]))
        if raw["type"] == "MultiPolygon":
            parts = []
            for rings in raw["coordinates"]:
                arrays = [np.asarray(r, dtype=float) for r in rings]
                parts.append(shapely.polygons(arrays[0], holes=_holes(arrays[1:])))
            return shapely.multipolygons(parts) if parts else None
    except (ValueError, TypeError, IndexError, shapely.errors.GEOSException):
        return None
    return None


def _holes(rings: list) -> list | None:
    return [shapely.linearrings(r) for r in rings] or None


def _check_rings(raw: dict) -> None:
    """RFC 7946 §3.1.6: rings are closed, with four or more positions. shapely would close them
    silently, which hides a truncated or mangled outline."""
    if raw["type"] == "Polygon":
        polygons = [raw["coordinates"]]
    elif raw["type"] == "MultiPolygon":
        polygons = raw["coordinates"]
    else:
        return
    for p, rings in enumerate(polygons):
        for r, ring in enumerate(rings if isinstance(rings, list) else []):
            where = f"ring {r}" + (f" of polygon {p}" if raw["type"] == "MultiPolygon" else "")
            if not isinstance(ring, list) or len(ring) < 4:
                raise ValidationError(f"{where} has fewer than 4 positions (a closed ring needs 4 or more)")
            if ring[0] != ring[-1]:
                raise ValidationError(f"{where} is not closed: first position {ring[0]} differs from last {ring[-1]}")


def _sources_from(props: Mapping, found: dict[str, Source], given_by: dict[str, int], index: int) -> None:
    """The sources a feature carries, into `found`: the same source given again by another feature merges;
    a different one under an id already given is a conflict, never a silent choice of the first."""
    for k, raw in enumerate(_list(props, "sources")):
        if not isinstance(raw, dict):
            raise ValidationError(f"sources[{k}] must be an object, got {_json_type(raw)}")
        if not raw.get("id"):
            raise ValidationError(f"sources[{k}] has no id")
        try:
            source = source_from_dict(raw)
        except ValidationError as err:
            raise ValidationError(f"sources[{k}]: {err}") from None
        if source.id not in found:
            found[source.id] = source
            given_by[source.id] = index
        elif found[source.id] != source:
            other = given_by[source.id]
            where = "earlier in this feature" if other == index else f"by feature {other}"
            raise ValidationError(f"sources[{k}]: source {source.id!r} differs from the source with that id given "
                                  f"{where}; give each source once, or the same fields each time")


_SOURCE_KEYS = {"id", "title", "publisher", "url", "published", "language", "excerpt", "retrieved_at", "notes",
                "version"}


def source_from_dict(raw: Mapping) -> Source:
    """A Source from an exported source dict; ValidationError on unknown fields or bad values."""
    unknown = set(raw) - _SOURCE_KEYS
    if unknown:
        raise ValidationError(f"source has unknown fields: {', '.join(sorted(unknown))}")
    return Source(
        id=raw["id"], title=raw.get("title") or "", publisher=_text(raw, "publisher"), url=raw.get("url"),
        published=raw.get("published"), language=raw.get("language"), excerpt=_text(raw, "excerpt"),
        retrieved_at=_retrieved_at(raw),
        notes=_text(raw, "notes"), version=_version(raw))


def _retrieved_at(raw: Mapping) -> dt.datetime | None:
    if not raw.get("retrieved_at"):
        return None
    try:
        return parse_timestamp(raw["retrieved_at"])
    except ValidationError as err:
        raise ValidationError(f"retrieved_at: {err}") from None


def _timestamps(props: Mapping) -> dict[str, Any]:
    out = {}
    for k in ("created_at", "updated_at"):
        if props.get(k):
            try:
                out[k] = parse_timestamp(props[k])
            except ValidationError as err:
                raise ValidationError(f"{k}: {err}") from None
    return out


def _list(props: Mapping, key: str) -> list:
    """A list property as given (null or absent: empty); ValidationError when it is anything else. tuple() of an
    object would keep its keys and of a string its letters, silently."""
    value = props.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValidationError(f"{key} must be a list, got {_json_type(value)}")
    return value


def _json_type(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "text", bool: "true/false", int: "a number",
            float: "a number", type(None): "null"}.get(
        type(value), type(value).__name__)


def _objects(props: Mapping, key: str, known: set[str]) -> list[dict]:
    """A list of objects (aliases, parents) whose fields are all known: an unknown one would be dropped."""
    items = _list(props, key)
    for k, item in enumerate(items):
        if not isinstance(item, dict):
            raise ValidationError(f"{key}[{k}] must be an object, got {_json_type(item)}")
        unknown = set(item) - known
        if unknown:
            raise ValidationError(f"{key}[{k}] has unknown fields: {', '.join(sorted(unknown))} "
                                  f"(known: {', '.join(sorted(known))})")
    return items


def _version(props: Mapping) -> Any:
    """The version as given (absent or null: 1); the model refuses anything but a whole number in range."""
    value = props.get("version")
    return 1 if value is None else value


def _check_known(props: Mapping, known: set[str]) -> None:
    unknown = set(props) - known - _DERIVED
    if unknown:
        raise ValidationError(f"unknown properties: {', '.join(sorted(unknown))}")


_ALIAS_KEYS = {"name", "lang"}
_PARENT_KEYS = {"name", "facility_id", "source_ids"}


def _extra(props: Mapping) -> dict:
    value = props.get("extra")
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValidationError(f"extra must be an object, got {_json_type(value)}")
    return dict(value)


_FACILITY_KEYS = {"id", "name", "aliases", "country", "category", "status", "location_precision", "parents",
                  "systems", "notes", "source_ids", "extra", "version", "created_at", "updated_at"}
_STRUCTURE_KEYS = {"id", "facility_id", "name", "kind", "location_precision", "status", "built", "removed",
                   "notes", "source_ids", "traced_provider", "traced_image_id", "traced_acquired", "version",
                   "created_at", "updated_at"}
_OBSERVATION_KEYS = {"id", "facility_id", "structure_id", "date", "kind", "summary", "image_provider", "image_id",
                     "image_acquired", "confidence", "analyst", "source_ids", "notes", "version", "created_at",
                     "updated_at"}


def _facility(fid: Any, props: Mapping, geom, default_precision: str) -> Facility:
    if props.get("feature_type") != "facility":  # a foreign feature: QGIS, geojson.io, ...
        name = next((props[k] for k in _NAME_KEYS if isinstance(props.get(k), str) and props[k].strip()), None)
        if name is None:
            raise ValidationError("has no name (expected a 'name' property)")
        ident = props.get("id") if isinstance(props.get("id"), str) else fid if isinstance(fid, str) else None
        ident = ident if ident and ident == ident.lower() and " " not in ident else slugify(name)
        extra = {k: v for k, v in props.items() if k not in ("id", *_NAME_KEYS)}
        precision = as_enum(LocationPrecision, default_precision, "location_precision")
        return Facility(id=ident, name=name, geometry=geom, location_precision=precision, extra=extra)
    _check_known(props, _FACILITY_KEYS)
    return Facility(
        id=_given(props, "id"), name=_text(props, "name"), geometry=geom,
        location_precision=_given_or(props, "location_precision", default_precision),
        aliases=tuple(Alias(name=_given(a, "name"), lang=a.get("lang"))
                      for a in _objects(props, "aliases", _ALIAS_KEYS)),
        country=props.get("country"), category=_text(props, "category"), status=_given_or(props, "status", "unknown"),
        parents=tuple(ParentClaim(name=_given(p, "name"), facility_id=p.get("facility_id"),
                                  source_ids=tuple(_list(p, "source_ids")))
                 for p in _objects(props, "parents", _PARENT_KEYS)),
        systems=tuple(_list(props, "systems")), notes=_text(props, "notes"),
        source_ids=tuple(_list(props, "source_ids")), extra=_extra(props),
        version=_version(props), **_timestamps(props))


def _structure(props: Mapping, geom) -> Structure:
    _check_known(props, _STRUCTURE_KEYS)
    return Structure(
        id=_given(props, "id"), facility_id=_given(props, "facility_id"), name=_text(props, "name"), geometry=geom,
        kind=_text(props, "kind", "building"), location_precision=_given_or(props, "location_precision", "approximate"),
        status=_given_or(props, "status", "unknown"), built=props.get("built"), removed=props.get("removed"),
        notes=_text(props, "notes"), source_ids=tuple(_list(props, "source_ids")),
        traced_on=_image_of(props, "traced_"), version=_version(props), **_timestamps(props))


def _image_of(props: Mapping, prefix: str) -> ImageRef | None:
    """The image named by `<prefix>provider`, `<prefix>image_id` and `<prefix>acquired`; None without a provider."""
    if not props.get(f"{prefix}provider"):
        return None
    return ImageRef(provider=props[f"{prefix}provider"], image_id=props.get(f"{prefix}image_id"),
                    acquired=props.get(f"{prefix}acquired"))


def _observation(props: Mapping, geom) -> Observation:
    _check_known(props, _OBSERVATION_KEYS)
    image = None
    if props.get("image_provider"):
        image = ImageRef(provider=props["image_provider"], image_id=props.get("image_id"),
                         acquired=props.get("image_acquired"))
    if not props.get("date"):
        raise ValidationError("observation has no date")
    return Observation(
        id=_given(props, "id"), facility_id=_given(props, "facility_id"), date=props["date"],
        kind=_given(props, "kind"),
        summary=_text(props, "summary"), structure_id=props.get("structure_id"), geometry=geom, image=image,
        confidence=_given_or(props, "confidence", "medium"), analyst=_text(props, "analyst"),
        source_ids=tuple(_list(props, "source_ids")), notes=_text(props, "notes"),
        version=_version(props), **_timestamps(props))


def parse_feature_collection(
    data: Any,
    *,
    repair: bool = False,
    skip_invalid: bool = False,
    default_precision: str = LocationPrecision.DIGITISED.value,
    source: str | None = None,
) -> tuple[Registry, list[FeatureProblem], list[str]]:
    """Validate a parsed GeoJSON document and turn it into a Registry.

    Returns (registry, skipped problems, notes). Raises InputError listing every bad feature
    unless `skip_invalid`, in which case bad features are left out and reported.
    """
    if not isinstance(data, dict):
        raise InputError(f"top level is a JSON {type(data).__name__}, not a GeoJSON object", source=source)
    _check_crs(data, source)
    kind = data.get("type")
    features: Any  # a list once checked; its items are checked one by one below
    if kind == "Feature":
        features = [data]
    elif kind == "FeatureCollection":
        features = data.get("features")
        if not isinstance(features, list):
            raise InputError("FeatureCollection has no 'features' array", source=source)
    elif isinstance(kind, str) and kind.lower() in ("featurecollection", "feature"):
        raise InputError(f"type {kind!r} is misspelled: GeoJSON types are case-sensitive", source=source)
    else:
        raise InputError(f"type {kind!r} is not a Feature or FeatureCollection", source=source)

    problems: list[FeatureProblem] = []
    # 1. structure and geometry of each feature
    parsed = []  # (index, feature id, feature_type, properties, geometry)
    for i, feat in enumerate(features):
        fid = feat.get("id") if isinstance(feat, dict) else None
        try:
            parsed.append((i, fid, *_parse_feature(feat)))
        except (ValidationError, TypeError, ValueError, KeyError, AttributeError) as err:
            problems.append(_problem(i, fid, err))
    parsed = _build_deferred(parsed, problems)
    # 2. geometry validity, one vectorised pass per kind of geometry rule
    notes: list[str] = []
    bad: dict[int, str] = {}
    for polygonal in (True, False):
        group = [k for k, p in enumerate(parsed) if (p[2] == "facility") == polygonal and p[4] is not None]
        if not group:
            continue
        geoms, errors, group_notes = check_geometries(
            np.array([parsed[k][4] for k in group], dtype=object),
            allowed=POLYGONAL if polygonal else ANY_GEOMETRY, repair=repair)
        for j, k in enumerate(group):
            i, fid, ftype, props, _g = parsed[k]
            parsed[k] = (i, fid, ftype, props, geoms[j])
            if j in errors:
                bad[i] = errors[j]
            notes.extend(f"feature {i}: {n}" for n in group_notes.get(j, ()))
    # 3. the registry values, their ids and sources
    found: dict[str, list] = {"facility": [], "structure": [], "observation": []}
    sources: dict[str, Source] = {}
    source_given_by: dict[str, int] = {}
    seen: dict[tuple[str, str], int] = {}
    for i, fid, ftype, props, geom in parsed:
        try:
            if i in bad:
                raise ValidationError(bad[i])
            value = _VALUE[ftype](fid, props, geom, default_precision)
            key = (ftype, value.id)
            if key in seen:
                raise ValidationError(f"duplicate {ftype} id {value.id!r} (also feature {seen[key]})")
            seen[key] = i
            _sources_from(props, sources, source_given_by, i)
            found[ftype].append(value)
        except (ValidationError, TypeError, ValueError, KeyError, AttributeError) as err:
            problems.append(_problem(i, fid, err))
    problems.sort(key=lambda p: p.index)
    if problems and not skip_invalid:
        raise InputError(f"{len(problems)} of {len(features)} features are invalid; nothing was imported",
                         problems, source=source)
    registry = Registry(tuple(found["facility"]), tuple(found["structure"]), tuple(found["observation"]),
                        tuple(sources.values()))
    return registry, problems, notes


def _problem(i: int, fid: Any, err: Exception) -> FeatureProblem:
    pid = fid if isinstance(fid, (str, int)) and not isinstance(fid, bool) else None
    if isinstance(pid, int) and not -2**63 <= pid < 2**63:
        pid = None  # an id of 400 digits is not worth printing
    return FeatureProblem(i, None if pid is None else printable(str(pid)), printable(_reason(err)))


def _reason(err: Exception) -> str:
    if isinstance(err, KeyError):
        return f"missing field {err}"
    if isinstance(err, TypeError):
        return f"wrong field or value type: {err}"
    return str(err)


def _parse_feature(feat: Any) -> tuple[str, dict, Any]:
    """(feature_type, properties, unchecked geometry) of one feature, or ValidationError."""
    if not isinstance(feat, dict) or feat.get("type") != "Feature":
        raise ValidationError("is not a GeoJSON Feature object")
    if "coordinates" in feat:
        raise ValidationError("a Feature must not have 'coordinates' (RFC 7946 §7.1)")
    props = feat.get("properties") or {}
    if not isinstance(props, dict):
        raise ValidationError("'properties' must be an object or null")
    # Text fields are checked by the model (check_text: lone surrogates, NUL, length), `extra` and a foreign
    # feature's properties by check_json_value there, versions by check_version; what is not stored is not walked.
    if isinstance(feat.get("id"), (dict, list)):
        raise ValidationError(f"id must be text or a number (RFC 7946 §3.2), got {_json_type(feat['id'])}")
    if feat.get("id") is not None:
        check_json_value(feat["id"], "id", max_depth=0)
    ftype = props.get("feature_type", "facility")
    if ftype == "facility":
        return ftype, props, _build_geometry(feat.get("geometry"), POLYGONAL)
    if ftype in ("structure", "observation"):
        return ftype, props, _build_geometry(feat.get("geometry"), ANY_GEOMETRY, required=ftype == "structure")
    raise ValidationError(f"feature_type {ftype!r} is not facility, structure or observation")


_VALUE: dict[str, Callable[[Any, Mapping, Any, str], Facility | Structure | Observation]] = {
    "facility": lambda fid, props, geom, precision: _facility(fid, props, geom, precision),
    "structure": lambda fid, props, geom, precision: _structure(props, geom),
    "observation": lambda fid, props, geom, precision: _observation(props, geom),
}


def _check_crs(data: dict, source: str | None) -> None:
    crs = data.get("crs")
    if crs is None:
        return
    name = crs.get("properties", {}).get("name") if isinstance(crs, dict) else None
    if name in _ACCEPTED_CRS:
        return
    raise InputError(
        f"the file declares CRS {name or crs!r}; GeoJSON (RFC 7946) must be WGS 84 longitude/latitude. "
        "Reproject it first, e.g. ogr2ogr -t_srs EPSG:4326 -lco RFC7946=YES out.geojson in.geojson",
        source=source)


def iter_objects(registry: Registry) -> Iterable:
    """The registry's facilities, then structures, then observations: the values that become features."""
    yield from registry.facilities
    yield from registry.structures
    yield from registry.observations
