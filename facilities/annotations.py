"""Records made from a shape an analyst drew on an image: an observation or a structure.

Pure: a GeoJSON feature from the map's draw tool and the form's values in, model records out,
checked as the store would check them, so the form can show the problem before anything is written.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from .dates import PartialDate
from .errors import ValidationError
from .geometry import ANY_GEOMETRY, POLYGONAL, check_geometry
from .model import (
    Confidence,
    ImageRef,
    LocationPrecision,
    Observation,
    ObservationKind,
    Source,
    Structure,
    as_enum,
    slugify,
    unique_id,
)


def drawn_geometry(feature: object) -> BaseGeometry:
    """The geometry of a drawn GeoJSON feature (or bare geometry), checked for storage."""
    if not isinstance(feature, dict):
        raise ValidationError("nothing drawn: draw a polygon, line or point on the map first")
    geometry = feature.get("geometry", feature) if feature.get("type") == "Feature" else feature
    try:
        geom = shape(geometry)
    except (AttributeError, KeyError, TypeError, ValueError) as err:
        raise ValidationError(f"the drawn shape is not valid GeoJSON ({err})") from err
    return check_geometry(geom, allowed=ANY_GEOMETRY).geometry


@dataclass(frozen=True)
class DrawnOn:
    """The image the shape was drawn on, as the compare view knows it."""

    provider: str
    image_id: str | None
    acquired: str | None  # ISO date when the acquisition date is known


def image_ref(drawn_on: DrawnOn | None) -> ImageRef | None:
    """The model's ImageRef for the image a drawing was made on (provider, image id, acquisition date); None if it
    was drawn on none."""
    if drawn_on is None:
        return None
    return ImageRef(provider=drawn_on.provider, image_id=drawn_on.image_id,
                    acquired=PartialDate.parse(drawn_on.acquired) if drawn_on.acquired else None)


def new_observation(facility_id: str, geometry: BaseGeometry | None, *, date: str, kind: str, summary: str,
                    confidence: str, analyst: str, drawn_on: DrawnOn | None, source_ids: tuple[str, ...] = (),
                    notes: str = "", structure_id: str | None = None) -> Observation:
    """An observation of the drawn shape; `date` is a partial date: 2024-11-25, 2024-11, 2024, ~2024-06."""
    if not summary.strip():
        raise ValidationError("summary: say what was seen (one line is enough)")
    return Observation(
        id=f"obs-{uuid.uuid4().hex[:12]}", facility_id=facility_id, date=PartialDate.parse(date.strip()),
        kind=ObservationKind(kind), summary=summary.strip(), structure_id=structure_id or None, geometry=geometry,
        image=image_ref(drawn_on), confidence=Confidence(confidence), analyst=analyst, source_ids=source_ids,
        notes=notes,
    )


def new_structure(facility_id: str, geometry: BaseGeometry, *, name: str, kind: str, built: str | None,
                  precision: str = LocationPrecision.DIGITISED, notes: str = "",
                  source_ids: tuple[str, ...] = (), existing_ids: set[str] | frozenset[str] = frozenset()) -> Structure:
    """A structure traced on the image (its id from the facility and name, made unique)."""
    if not name.strip():
        raise ValidationError("name: give the structure a name (e.g. 'Building C')")
    if geometry.geom_type not in (*POLYGONAL, "Point"):
        raise ValidationError(f"a structure is a footprint polygon or a point, not a {geometry.geom_type}")
    sid = unique_id(f"{facility_id}-{slugify(name)}", existing_ids, limit=90)
    built_date = PartialDate.parse(built.strip()) if built and built.strip() else None
    location_precision = as_enum(LocationPrecision, precision, "location_precision")
    return Structure(id=sid, facility_id=facility_id, name=name.strip(), geometry=geometry,
                     kind=kind.strip() or "building", location_precision=location_precision, built=built_date,
                     notes=notes, source_ids=source_ids)


def new_source(title: str, url: str | None, publisher: str = "", existing_ids: set[str] | frozenset[str] = frozenset(),
               ) -> Source:
    """A source typed in the form: its id from the title, made unique."""
    if not title.strip():
        raise ValidationError("source title: name the article, report or image the observation rests on")
    sid = unique_id(slugify(title), existing_ids, limit=80)
    return Source(id=sid, title=title.strip(), url=(url or "").strip() or None, publisher=publisher.strip())
