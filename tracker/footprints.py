"""Structure footprints: proposed from the pixels of an analysable image, or traced by hand on any image, and
saved as the structure's geometry with the image they were traced on (issue 16 §2).

`propose` reads a chip of ~150 m around the analyst's click through the imagery session at the image's
own resolution and runs imagery.footprints.propose_footprint on it. Only images the server may read
are used: Esri Wayback is refused by the session (DisplayOnly; trace it by hand in the browser), and
images coarser than 2 m are refused here, before any pixel is read (a 10 m Sentinel-2 pixel is as wide
as a small building, so it cannot outline one).

`save_footprint` writes an outline (proposed, hand-traced on any image incl. Wayback, or drawn from
elsewhere) as the structure's geometry and `traced_on`, optionally squared up first, in one unit of
work with its history entry.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

from facilities.dates import PartialDate
from facilities.errors import NotFound, ValidationError
from facilities.geometry import POLYGONAL, check_geometry, ground_area_m2
from facilities.model import Facility, ImageRef, LocationPrecision, Structure
from facilities.store import Filter, Store, Update
from imagery.aoi import AreaOfInterest
from imagery.base import Capture
from imagery.chips import grid_for_bbox
from imagery.footprints import MAX_RESOLUTION_M, FootprintProposal, propose_footprint
from imagery.keys import ImageKey
from imagery.regularise import regularise as regularise_outline
from imagery.session import ImagerySession

from .errors import TrackerError
from .timeline import find_facility

CHIP_SIZE_M = 150.0  # the square read around a click: room for a large hall and the ground around it
FINEST_PIXEL_M = 0.3  # finer images are read at 0.3 m: the chip stays at most 500 x 500 px


class FootprintError(TrackerError):
    """A footprint that cannot be proposed or saved as asked; the message says why and what to do instead."""


@dataclass(frozen=True)
class ProposedFootprint:
    """A footprint proposed at a click on one image, for the analyst to accept (save_footprint) or edit.

    facility: the facility the click was made for.
    image: the image's key ("provider:image_id").
    acquired: the image's capture date where known (what `traced_on` records when it is accepted).
    pixel_m: the pixel size the chip was read at (metres, on a local UTM grid).
    click: (lon, lat) of the click.
    proposal: the outline and its quality (imagery.footprints.FootprintProposal: geometry in lon/lat,
        area_m2, confidence, score, notes...).
    """

    facility: Facility
    image: ImageKey
    acquired: dt.date | None
    pixel_m: float
    click: tuple[float, float]
    proposal: FootprintProposal

    @property
    def traced_on(self) -> ImageRef:
        """The image reference a structure saved from this proposal records."""
        return ImageRef(provider=self.image.provider, image_id=self.image.image_id,
                        acquired=PartialDate.parse(self.acquired.isoformat()) if self.acquired else None)

    def as_json(self) -> dict[str, Any]:
        """The proposal as a GeoJSON Feature (lon/lat) whose properties say where it came from and how sure it is:
        facility, image, acquired, click [lon, lat], pixel_m, area_m2, confidence, score, closure, edge_support,
        touches_border, regularisation, notes."""
        p = self.proposal
        return {"type": "Feature", "geometry": mapping(p.geometry), "properties": {
            "facility": self.facility.id, "image": str(self.image),
            "acquired": self.acquired.isoformat() if self.acquired else None, "click": list(self.click),
            "pixel_m": self.pixel_m, "area_m2": round(p.area_m2, 1), "confidence": p.confidence,
            "score": round(p.score, 3), "closure": round(p.closure, 3), "edge_support": round(p.edge_support, 3),
            "touches_border": p.touches_border, "regularisation": p.regularisation, "notes": list(p.notes)}}


def click_bbox(lon: float, lat: float, size_m: float = CHIP_SIZE_M) -> tuple[float, float, float, float]:
    """A lon/lat box of about `size_m` on a side centred on the click."""
    half_lat = size_m / 2 / 111_320.0
    half_lon = size_m / 2 / (111_320.0 * max(math.cos(math.radians(lat)), 1e-6))
    return (lon - half_lon, lat - half_lat, lon + half_lon, lat + half_lat)


def _pixel_m(capture: Capture, key: ImageKey) -> float:
    res = capture.resolution_m
    if res is None:
        return 0.5  # unknown: read at 0.5 m, the finest the proposal is tuned for
    if res > MAX_RESOLUTION_M:
        raise FootprintError(f"{key}: {res:g} m pixels are too coarse to outline a building (at most "
                             f"{MAX_RESOLUTION_M:g} m; a 10 m Sentinel-2 pixel is as wide as a small building); "
                             "trace the footprint by hand on a finer image")
    return max(res, FINEST_PIXEL_M)


def propose(store: Store, session: ImagerySession, facility: str, image_key: ImageKey | str, lon: float,
            lat: float) -> ProposedFootprint:
    """The footprint of the building the analyst clicked at (lon, lat) on the image `image_key`, for the facility
    `facility` (id, name or alias).

    Raises DisplayOnly (an ImageryError) for Esri Wayback and images the server has no reader for,
    FootprintError for images coarser than 2 m, ImageryError when the click is on nodata or nothing stands
    out there; nothing is stored."""
    fac = find_facility(store, facility)
    key = image_key if isinstance(image_key, ImageKey) else ImageKey.parse(image_key)
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise FootprintError(f"--at {lon},{lat}: not a longitude,latitude")
    w, s, e, n = AreaOfInterest.of(fac.geometry).bbox
    if not (w <= lon <= e and s <= lat <= n):
        raise FootprintError(f"--at {lon},{lat} is outside {fac.name}'s area (its outline padded by 150 m): "
                             "click on a building of this site")
    bbox = click_bbox(lon, lat)
    capture = session.capture_for(key, bbox)
    key = ImageKey(capture.provider, capture.capture_id)  # a shortened id, in full
    pixel = _pixel_m(capture, key)
    grid = grid_for_bbox(bbox, pixel_size=pixel)
    chip = session.read_image(key, grid, capture=capture)
    from pyproj import Transformer

    x, y = Transformer.from_crs("EPSG:4326", grid.crs, always_xy=True).transform(lon, lat)
    proposal = propose_footprint(chip, (x, y))
    return ProposedFootprint(fac, key, capture.date, pixel, (lon, lat), proposal)


@dataclass(frozen=True)
class SavedFootprint:
    """A footprint written to the registry.

    structure: the structure as stored (new geometry, traced_on, version + 1).
    area_m2: its ground area (the registry's equal-area measure, m²).
    regularisation: how it was squared up ("buildingregulariser (tolerance 1 m)", its fallback), or None
        when it was saved as drawn.
    area_change: relative area change from regularising (0 when saved as drawn).
    notes: what the geometry check changed (e.g. Z dropped), for the analyst to see.
    """

    structure: Structure
    area_m2: float
    regularisation: str | None
    area_change: float
    notes: tuple[str, ...]


def _structure(store: Store, structure_id: str, facility_id: str | None) -> Structure:
    flt = Filter(facility_ids=(facility_id,)) if facility_id else Filter()
    found = next((s for s in store.list_structures(flt) if s.id == structure_id), None)
    if found is None:
        where = f" of facility {facility_id!r}" if facility_id else ""
        raise NotFound(f"no structure {structure_id!r}{where}")
    return found


def as_image_ref(image: ImageKey | ImageRef | str | None, acquired: dt.date | str | None = None) -> ImageRef | None:
    """The reference a footprint records: an ImageRef as given, an image key (or its text) with the capture date
    `acquired` where known, or None."""
    if image is None or isinstance(image, ImageRef):
        return image
    key = image if isinstance(image, ImageKey) else ImageKey.parse(image)
    day = acquired.isoformat() if isinstance(acquired, dt.date) else acquired
    return ImageRef(provider=key.provider, image_id=key.image_id, acquired=PartialDate.parse(day) if day else None)


def save_footprint(store: Store, structure_id: str, geometry_lonlat: BaseGeometry,
                   image: ImageKey | ImageRef | str | None, *, regularise: bool = False, actor: str,
                   acquired: dt.date | str | None = None, facility_id: str | None = None,
                   expected_version: int | None = None) -> SavedFootprint:
    """Save `geometry_lonlat` (a Polygon or MultiPolygon in lon/lat) as the footprint of structure `structure_id`,
    traced on `image` (any image key, Wayback included: tracing is by the analyst's eye), squared up first
    when `regularise`. One unit of work: the structure's geometry, traced_on and location precision
    (digitised) change together, with one history entry.

    `expected_version`: the structure version the analyst edited (refused with ConflictError if someone saved
    it since). Raises NotFound for an unknown structure, ValidationError naming the structure for an outline the
    registry cannot store; nothing is stored on error."""
    stored = _structure(store, structure_id, facility_id)
    try:
        checked = check_geometry(geometry_lonlat, allowed=POLYGONAL)
    except ValidationError as err:
        raise ValidationError(f"structure {structure_id}: footprint {err}") from err
    geometry, method, change = checked.geometry, None, 0.0
    if regularise:
        done = regularise_outline(geometry)
        try:
            geometry = check_geometry(done.geometry, allowed=POLYGONAL).geometry
        except ValidationError as err:
            raise ValidationError(f"structure {structure_id}: the regularised footprint {err}") from err
        method, change = done.method, done.area_change
    ref = as_image_ref(image, acquired)
    version = stored.version if expected_version is None else expected_version
    new = stored.evolve(geometry=geometry, traced_on=ref, location_precision=LocationPrecision.DIGITISED,
                        version=version)
    (saved,) = store.apply([Update(new)], actor=actor)
    return SavedFootprint(saved, ground_area_m2(saved.geometry), method, change, checked.notes)
