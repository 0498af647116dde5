"""The area of interest of one site, computed once from its outline: the padded box every source
is asked about, the pixel size of the difference grid, and a key for caches.

Every source (Wayback's change scan, EOX mosaics, local images, Sentinel-2 scenes) reads the same
padded box, so a change at the edge of the outline is seen in context and the dates offered agree
with the pixels shown. Pure: no I/O.

    >>> from shapely.geometry import box
    >>> aoi = AreaOfInterest.of(box(127.65, 39.91, 127.66, 39.92))
    >>> aoi.bbox[0] < 127.65 and aoi.bbox[2] > 127.66
    True
    >>> max(aoi.grid_size)
    768
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any

from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

from .base import BBox
from .errors import ImageryError

PAD_M = 150.0  # imagery around the outline, so change at its edge is seen in context
CHIP_PX = 768  # longest side of server-rendered overlays and difference grids
M_PER_DEG_LAT = 111_320.0


class EmptyArea(ImageryError, ValueError):
    """An outline with no extent (empty or not finite): there is no area to look at; fix the outline."""


def padded_bbox(geometry: BaseGeometry, pad_m: float = PAD_M) -> BBox:
    """The outline's bbox grown by pad_m metres (degrees scaled by latitude), clamped to the globe."""
    w, s, e, n = geometry.bounds
    dlat = pad_m / M_PER_DEG_LAT
    dlon = pad_m / (M_PER_DEG_LAT * max(0.01, math.cos(math.radians((s + n) / 2))))
    return (max(-180.0, w - dlon), max(-90.0, s - dlat), min(180.0, e + dlon), min(90.0, n + dlat))


def grid_size(bbox: BBox, px: int = CHIP_PX) -> tuple[int, int]:
    """(width, height) in pixels with the longest side `px`, keeping the box's ground aspect."""
    w, s, e, n = bbox
    aspect = (e - w) * math.cos(math.radians((s + n) / 2)) / (n - s)
    return (px, max(1, round(px / aspect))) if aspect >= 1 else (max(1, round(px * aspect)), px)


@dataclass(frozen=True)
class AreaOfInterest:
    """One site's outline with what every imagery call derives from it; build with `of`."""

    outline: BaseGeometry
    bbox: BBox  # west, south, east, north: the outline's bbox padded by pad_m
    grid_size: tuple[int, int]  # (width, height) of overlays' and the difference's grid
    pad_m: float
    px: int
    key: str  # stable across processes: caches and file names use it

    @classmethod
    def of(cls, outline: BaseGeometry, *, pad_m: float = PAD_M, px: int = CHIP_PX) -> AreaOfInterest:
        """The area around `outline`, padded by `pad_m` metres, with a chip grid of about `px` pixels and a digest
        naming it in the cache; EmptyArea for an empty outline."""
        if outline.is_empty or not all(math.isfinite(v) for v in outline.bounds):
            raise EmptyArea("the outline is empty: draw or import the site's outline first")
        bbox = padded_bbox(outline, pad_m)
        digest = hashlib.sha256(outline.wkb + f"|{pad_m!r}|{px}".encode()).hexdigest()[:24]
        return cls(outline, bbox, grid_size(bbox, px), pad_m, px, digest)

    @property
    def __geo_interface__(self) -> dict[str, Any]:
        return dict(mapping(self.outline))
