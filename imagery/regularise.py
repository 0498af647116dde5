"""Right-angled building outlines: a traced or proposed footprint squared up by `buildingregulariser`.

The library aligns each edge parallel or perpendicular to the outline's main direction and takes a
GeoDataFrame in a projected CRS, so an outline in lon/lat is regularised in its local UTM zone and
brought back. Tolerances are in metres. The area change is measured in that UTM zone (planar
metres; at building size the difference from an ellipsoidal area is far below the change itself).
Only when the library fails (raises, or returns nothing usable) is the outline replaced by its
minimum rotated rectangle, and `method` says so.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry.base import BaseGeometry

from .chips import utm_crs_for
from .errors import ImageryError

log = logging.getLogger(__name__)

MAX_AREA_CHANGE = 0.05  # a regularised outline keeps its area within 5 %, or a finer tolerance is tried
TOLERANCES_M = (1.0, 0.5, 0.25)  # buildingregulariser's simplify tolerance, coarse first
LIBRARY = "buildingregulariser"
FALLBACK = "minimum rotated rectangle"


@dataclass(frozen=True)
class Regularised:
    """An outline squared up into right angles.

    geometry: the regularised outline, in the CRS it was given in (lon/lat for `regularise`).
    method: "buildingregulariser (tolerance 1 m)", or "minimum rotated rectangle (buildingregulariser
        failed: <why>)" when the library could not regularise it.
    area_change: (regularised area - given area) / given area, in the projected CRS (planar m²).
    """

    geometry: BaseGeometry
    method: str
    area_change: float


def regularise(polygon_lonlat: BaseGeometry) -> Regularised:
    """A Polygon or MultiPolygon in EPSG:4326 (lon, lat) with its edges at right angles, regularised in
    its local UTM zone; ImageryError for anything that is not a valid, non-empty polygonal outline."""
    _check(polygon_lonlat)
    centre = polygon_lonlat.centroid
    crs = utm_crs_for(centre.x, centre.y)
    forward = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    back = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    projected = shapely.transform(polygon_lonlat, lambda xy: _apply(forward, xy))
    done = regularise_projected(projected, crs)
    return Regularised(shapely.transform(done.geometry, lambda xy: _apply(back, xy)), done.method,
                       done.area_change)


def regularise_projected(polygon: BaseGeometry, crs: str) -> Regularised:
    """As `regularise`, for an outline already in a projected CRS in metres (a chip's UTM grid)."""
    import geopandas as gpd
    from buildingregulariser import regularize_geodataframe

    _check(polygon)
    area = polygon.area
    best: tuple[float, BaseGeometry, str] | None = None
    failure = ""
    for tolerance in TOLERANCES_M:
        try:
            frame = gpd.GeoDataFrame(geometry=[polygon], crs=crs)
            out = regularize_geodataframe(frame, simplify_tolerance=tolerance, parallel_threshold=tolerance,
                                          allow_45_degree=False, allow_circles=False, num_cores=1)
        except Exception as err:  # noqa: BLE001 - a third-party library's failure of any kind means: fall back
            failure = f"{type(err).__name__}: {err}"
            log.warning("buildingregulariser failed at tolerance %s m: %s", tolerance, failure)
            continue
        geom = _polygonal(out)
        if geom is None:
            failure = "it returned no polygon"
            continue
        change = (geom.area - area) / area
        if best is None or abs(change) < abs(best[0]):
            best = (change, geom, f"{LIBRARY} (tolerance {tolerance:g} m)")
        if abs(change) <= MAX_AREA_CHANGE:
            break
    if best is None:
        rect = shapely.minimum_rotated_rectangle(polygon)
        return Regularised(rect, f"{FALLBACK} ({LIBRARY} failed: {failure})", (rect.area - area) / area)
    change, geom, method = best
    if abs(change) > MAX_AREA_CHANGE:
        method += f"; area changed by {change:+.1%}, more than {MAX_AREA_CHANGE:.0%}: check the outline"
    return Regularised(geom, method, change)


def _polygonal(frame) -> BaseGeometry | None:
    if frame is None or len(frame) == 0:
        return None
    geom = frame.geometry.iloc[0]
    if geom is None or geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon"):
        return None
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
        if geom.geom_type not in ("Polygon", "MultiPolygon"):
            return None
    return geom


def _check(polygon: object) -> None:
    if not isinstance(polygon, BaseGeometry) or polygon.geom_type not in ("Polygon", "MultiPolygon"):
        kind = getattr(polygon, "geom_type", type(polygon).__name__)
        raise ImageryError(f"only a polygon outline can be regularised, got {kind}")
    if polygon.is_empty or not polygon.is_valid or polygon.area <= 0:
        raise ImageryError("the outline to regularise is empty or not a valid polygon (it crosses itself?)")


def _apply(transformer: Transformer, xy: np.ndarray) -> np.ndarray:
    x, y = transformer.transform(xy[:, 0], xy[:, 1])
    return np.column_stack([x, y])
