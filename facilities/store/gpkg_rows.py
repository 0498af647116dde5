"""Rows of the GeoPackage tables <-> registry values. Geometry is decoded per batch, not per row."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from ..dates import PartialDate, format_timestamp, parse_timestamp
from ..geometry import ground_areas_m2
from ..model import Alias, Facility, ImageRef, Observation, ParentClaim, Source, Structure
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


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _ts(value) -> str | None:
    return None if value is None else format_timestamp(value)


def _pd(text: str | None) -> PartialDate | None:
    return None if text is None else PartialDate.parse(text)


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
    geoms = gpkg_binary.decode([r[0] for r in rows])
    out = []
    for r, g in zip(rows, geoms, strict=True):
        if g.geom_type == "MultiPolygon" and len(g.geoms) == 1:
            g = g.geoms[0]
        out.append(Facility(
            id=r[1], name=r[2], geometry=g, aliases=tuple(Alias(**a) for a in json.loads(r[3])), country=r[4],
            category=r[5], status=r[6], location_precision=r[7],
            parents=tuple(ParentClaim(name=p["name"], facility_id=p.get("facility_id"),
                                      source_ids=tuple(p.get("source_ids") or ())) for p in json.loads(r[8])),
            systems=tuple(json.loads(r[9])), notes=r[10], source_ids=tuple(json.loads(r[11])),
            extra=json.loads(r[12]), version=r[14],
            created_at=r[15] and parse_timestamp(r[15]), updated_at=r[16] and parse_timestamp(r[16])))
    return out


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
    return [Structure(
        id=r[1], facility_id=r[2], name=r[3], geometry=g, kind=r[4], location_precision=r[5], status=r[6],
        built=_pd(r[7]), removed=_pd(r[8]), notes=r[9], source_ids=tuple(json.loads(r[10])), version=r[12],
        created_at=r[13] and parse_timestamp(r[13]), updated_at=r[14] and parse_timestamp(r[14]),
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
    return [Observation(
        id=r[1], facility_id=r[2], structure_id=r[3], date=PartialDate.parse(r[4]), kind=r[8], summary=r[9],
        image=ImageRef(provider=r[10], image_id=r[11], acquired=_pd(r[12])) if r[10] else None,
        confidence=r[13], analyst=r[14], source_ids=tuple(json.loads(r[15])), notes=r[16], version=r[17],
        geometry=g, created_at=r[18] and parse_timestamp(r[18]), updated_at=r[19] and parse_timestamp(r[19]),
    ) for r, g in zip(rows, geoms, strict=True)]


def source_rows(items: list[Source]) -> list[tuple]:
    return [(s.id, s.title, s.publisher, s.url, s.published and str(s.published), s.language, s.excerpt,
             _ts(s.retrieved_at), s.notes, s.version) for s in items]


def sources_from_rows(rows: list[tuple]) -> list[Source]:
    return [Source(id=r[0], title=r[1], publisher=r[2], url=r[3], published=_pd(r[4]), language=r[5],
                   excerpt=r[6], retrieved_at=r[7] and parse_timestamp(r[7]), notes=r[8], version=r[9])
            for r in rows]
