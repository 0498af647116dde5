"""Rows of the GeoPackage tables <-> registry values. Geometry is decoded per batch, not per row."""

from __future__ import annotations

import datetime as dt
import json
from functools import lru_cache

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
from . import gpkg_binary

FACILITY_COLUMNS = ("geom", "id", "name", "aliases", "country", "category", "status", "location_precision",
                    "parents", "systems", "notes", "source_ids", "extra", "area_m2", "version", "created_at",
                    "updated_at")
STRUCTURE_COLUMNS = ("geom", "id", "facility_id", "name", "kind", "location_precision", "status", "built",
                     "removed", "notes", "source_ids", "footprint_m2", "version", "created_at", "updated_at")
OBSERVATION_COLUMNS = ("geom", "id", "facility_id", "structure_id", "date", "date_precision", "date_start",
                       "date_end", "kind", "summary", "image_provider", "image_id", "image_acquired", "confidence",
                       "analyst", "source_ids", "notes", "version", "created_at", "updated_at")
SOURCE_COLUMNS = ("id", "title", "publisher", "url", "published", "language", "excerpt", "retrieved_at", "notes",
                  "version")


_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode  # what the export splices in


def _ts(value) -> str | None:
    return None if value is None else format_timestamp(value)


@lru_cache(maxsize=4096)
def _pd(text: str | None) -> PartialDate | None:
    return None if text is None else PartialDate.parse(text)


@lru_cache(maxsize=65536)
def _read_ts(text: str | None) -> dt.datetime | None:
    # rows from one import share their timestamps, so the cache makes bulk reads cheap
    return None if text is None else parse_timestamp(text)


def _tuple(text: str) -> tuple:
    return () if text == "[]" else tuple(json.loads(text))


def polygonal(geoms: np.ndarray) -> np.ndarray:
    """One-part MultiPolygons back to the Polygons they were (the column is MULTIPOLYGON)."""
    single = shapely.get_num_geometries(geoms) == 1
    out = geoms.copy()
    out[single] = shapely.get_geometry(geoms[single], 0)
    return out


_LOC = {m.value: m for m in LocationPrecision}
_STATUS = {m.value: m for m in FacilityStatus}
_KIND = {m.value: m for m in ObservationKind}
_CONF = {m.value: m for m in Confidence}


def _multi(geom):
    # the facilities column is declared MULTIPOLYGON; the model hands back one-part ones as Polygon
    from shapely.geometry import MultiPolygon

    return MultiPolygon([geom]) if geom.geom_type == "Polygon" else geom


def facility_rows(items: list[Facility]) -> list[tuple]:
    blobs = gpkg_binary.encode([_multi(f.geometry) for f in items])
    areas = ground_areas_m2(np.array([f.geometry for f in items], dtype=object)).tolist()
    return [(
        blob, f.id, f.name, _dumps([{"name": a.name, "lang": a.lang} for a in f.aliases]), f.country, f.category,
        f.status.value, f.location_precision.value,
        _dumps([{"name": p.name, "facility_id": p.facility_id, "source_ids": list(p.source_ids)} for p in f.parents]),
        _dumps(list(f.systems)), f.notes, _dumps(list(f.source_ids)), _dumps(f.extra), area, f.version,
        _ts(f.created_at), _ts(f.updated_at),
    ) for f, blob, area in zip(items, blobs, areas, strict=True)]


def facilities_from_rows(rows: list[tuple]) -> list[Facility]:
    geoms = polygonal(gpkg_binary.decode([r[0] for r in rows]))
    return [trusted(
        Facility, id=r[1], name=r[2], geometry=g,
        aliases=() if r[3] == "[]" else tuple(trusted(Alias, **a) for a in json.loads(r[3])),
        country=r[4], category=r[5], status=_STATUS[r[6]], location_precision=_LOC[r[7]],
        parents=() if r[8] == "[]" else tuple(
            trusted(ParentClaim, name=p["name"], facility_id=p.get("facility_id"),
                    source_ids=tuple(p.get("source_ids") or ())) for p in json.loads(r[8])),
        systems=_tuple(r[9]), notes=r[10], source_ids=_tuple(r[11]), extra={} if r[12] == "{}" else json.loads(r[12]),
        version=r[14], created_at=_read_ts(r[15]), updated_at=_read_ts(r[16]),
    ) for r, g in zip(rows, geoms, strict=True)]


def structure_rows(items: list[Structure]) -> list[tuple]:
    blobs = gpkg_binary.encode([s.geometry for s in items])
    areas = ground_areas_m2(np.array([s.geometry for s in items], dtype=object)).tolist()
    return [(
        blob, s.id, s.facility_id, s.name, s.kind, s.location_precision.value, s.status.value,
        s.built and str(s.built), s.removed and str(s.removed), s.notes, _dumps(list(s.source_ids)),
        area, s.version, _ts(s.created_at), _ts(s.updated_at),
    ) for s, blob, area in zip(items, blobs, areas, strict=True)]


def structures_from_rows(rows: list[tuple]) -> list[Structure]:
    geoms = gpkg_binary.decode([r[0] for r in rows])
    return [trusted(
        Structure, id=r[1], facility_id=r[2], name=r[3], geometry=g, kind=r[4], location_precision=_LOC[r[5]],
        status=_STATUS[r[6]], built=_pd(r[7]), removed=_pd(r[8]), notes=r[9], source_ids=_tuple(r[10]),
        version=r[12], created_at=_read_ts(r[13]), updated_at=_read_ts(r[14]),
    ) for r, g in zip(rows, geoms, strict=True)]


def observation_rows(items: list[Observation]) -> list[tuple]:
    blobs = gpkg_binary.encode([o.geometry for o in items])
    out = []
    for o, blob in zip(items, blobs, strict=True):
        img = o.image
        out.append((
            blob, o.id, o.facility_id, o.structure_id, str(o.date), o.date.precision.value,
            o.date.start.isoformat(), o.date.end.isoformat(), o.kind.value, o.summary,
            img.provider if img else None, img.image_id if img else None,
            img.acquired and str(img.acquired) if img else None, o.confidence.value, o.analyst,
            _dumps(list(o.source_ids)), o.notes, o.version, _ts(o.created_at), _ts(o.updated_at)))
    return out


def observations_from_rows(rows: list[tuple]) -> list[Observation]:
    geoms = gpkg_binary.decode([r[0] for r in rows])
    return [trusted(
        Observation, id=r[1], facility_id=r[2], structure_id=r[3], date=_pd(r[4]), kind=_KIND[r[8]], summary=r[9],
        image=trusted(ImageRef, provider=r[10], image_id=r[11], acquired=_pd(r[12])) if r[10] else None,
        confidence=_CONF[r[13]], analyst=r[14], source_ids=_tuple(r[15]), notes=r[16], version=r[17],
        geometry=g, created_at=_read_ts(r[18]), updated_at=_read_ts(r[19]),
    ) for r, g in zip(rows, geoms, strict=True)]


def source_rows(items: list[Source]) -> list[tuple]:
    return [(s.id, s.title, s.publisher, s.url, s.published and str(s.published), s.language, s.excerpt,
             _ts(s.retrieved_at), s.notes, s.version) for s in items]


def sources_from_rows(rows: list[tuple]) -> list[Source]:
    return [trusted(Source, id=r[0], title=r[1], publisher=r[2], url=r[3], published=_pd(r[4]), language=r[5],
                    excerpt=r[6], retrieved_at=_read_ts(r[7]), notes=r[8], version=r[9])
            for r in rows]
