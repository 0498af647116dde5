"""Web Mercator XYZ tile math: lon/lat to tile, the tiles covering an area, antimeridian splits.

Areas come as a bbox (west, south, east, north) or a shapely geometry in EPSG:4326 degrees. A bbox
whose west edge is east of its east edge crosses the antimeridian and is split into two at 180°,
as is a geometry drawn with longitudes beyond ±180 (the continuous form some editors produce).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely
import shapely.affinity
from shapely.geometry.base import BaseGeometry

from .base import BBox
from .bbox import split_antimeridian
from .errors import AreaTooLarge  # defined with the package's errors; importable here as before

MAX_LAT = 85.0511287798066  # Web Mercator's square world


@dataclass(frozen=True, order=True)
class Tile:
    """A Web Mercator map tile (zoom, column, row)."""

    z: int
    x: int
    y: int

    def bounds(self) -> BBox:
        """(west, south, east, north) in degrees."""
        n = 2**self.z
        west, east = self.x / n * 360 - 180, (self.x + 1) / n * 360 - 180
        north = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * self.y / n))))
        south = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * (self.y + 1) / n))))
        return west, south, east, north

    def centre(self) -> tuple[float, float]:
        """(lon, lat) of the tile's centre."""
        w, s, e, n = self.bounds()
        return (w + e) / 2, (s + n) / 2


def lon2tile(lon: float, z: int) -> int:
    """The tile column holding longitude `lon` at zoom `z`, clamped to the grid."""
    n = 2**z
    return min(n - 1, max(0, int(math.floor((lon + 180) / 360 * n))))


def lat2tile(lat: float, z: int) -> int:
    """The tile row holding latitude `lat` at zoom `z` (clamped to the Mercator limit)."""
    n = 2**z
    r = math.radians(max(-MAX_LAT, min(MAX_LAT, lat)))
    return min(n - 1, max(0, int(math.floor((1 - math.log(math.tan(r) + 1 / math.cos(r)) / math.pi) / 2 * n))))


def tile_for(lon: float, lat: float, z: int) -> Tile:
    """The tile holding a point at zoom `z`."""
    return Tile(z, lon2tile(lon, z), lat2tile(lat, z))


def as_geometry(area: BBox | BaseGeometry) -> BaseGeometry:
    """A geometry within ±180°: bboxes split at the antimeridian, overhanging parts shifted back."""
    if isinstance(area, BaseGeometry):
        geom = area
        if geom.is_empty:
            raise ValueError("empty geometry")
        minx, _, maxx, _ = geom.bounds
        if minx < -180 or maxx > 180:
            world = shapely.box(-180, -90, 180, 90)
            parts = [geom.intersection(world)]
            if maxx > 180:
                parts.append(shapely.affinity.translate(geom.intersection(shapely.box(180, -90, 540, 90)), -360))
            if minx < -180:
                parts.append(shapely.affinity.translate(geom.intersection(shapely.box(-540, -90, -180, 90)), 360))
            geom = shapely.union_all([p for p in parts if not p.is_empty])
        return geom
    return shapely.union_all([shapely.box(*b) for b in split_antimeridian(area)])


def tiles_for_area(area: BBox | BaseGeometry, z: int, *, max_tiles: int = 1024) -> list[Tile]:
    """Every tile at zoom z that intersects the area, sorted (z, x, y)."""
    geom = as_geometry(area)
    parts = list(getattr(geom, "geoms", [geom]))
    found: set[Tile] = set()
    for part in parts:
        w, s, e, n = part.bounds
        x0, x1 = lon2tile(w, z), lon2tile(e, z)
        y0, y1 = lat2tile(n, z), lat2tile(s, z)  # y grows southward
        count = (x1 - x0 + 1) * (y1 - y0 + 1)
        if count + len(found) > max_tiles * 4:  # the candidate box alone is far too big
            raise AreaTooLarge(f"area needs about {count} tiles at z{z}; the limit is {max_tiles}")
        xs, ys = np.meshgrid(np.arange(x0, x1 + 1), np.arange(y0, y1 + 1))
        cands = [Tile(z, int(x), int(y)) for x, y in zip(xs.ravel(), ys.ravel(), strict=True)]
        boxes = shapely.box(*np.array([t.bounds() for t in cands]).T)
        # intersects, not overlaps: a point or line site still needs the tile it sits in
        hits = shapely.intersects(boxes, part)
        if part.area > 0:  # a polygon edge on a tile boundary must not pull in the neighbour tile
            hits &= ~shapely.touches(boxes, part)
        found.update(t for t, hit in zip(cands, hits, strict=True) if hit)
    if len(found) > max_tiles:
        raise AreaTooLarge(f"area needs {len(found)} tiles at z{z}; the limit is {max_tiles}")
    return sorted(found)
