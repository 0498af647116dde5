"""Bounding boxes of imagery requests: one check for every source and one antimeridian split.

A box is (west, south, east, north) in EPSG:4326 degrees (imagery.base.BBox). Chips are made on one
grid, so a chip's box must not cross the antimeridian (`check_bbox` says how to split it); tile
listings and catalogue queries take either side (`split_antimeridian`).
"""

from __future__ import annotations

import math

from .base import BBox
from .errors import AntimeridianCrossing


def _finite_and_in_range(bbox: BBox) -> None:
    if len(bbox) != 4 or not all(isinstance(v, (int, float)) and math.isfinite(v) for v in bbox):
        raise ValueError(f"bbox must be four finite numbers (west, south, east, north): {bbox}")
    west, south, east, north = bbox
    if not (-90 <= south <= north <= 90) or not (-180 <= west <= 180 and -180 <= east <= 180):
        raise ValueError(f"bbox out of range (west, south, east, north): {bbox}")


def check_bbox(bbox: BBox) -> None:
    """Refuse a box no chip can be made of.

    ValueError for non-finite, out-of-range or empty boxes; AntimeridianCrossing when west > east
    (split the area with `split_antimeridian` and make one chip per side).
    """
    _finite_and_in_range(bbox)
    west, south, east, north = bbox
    if west > east:
        raise AntimeridianCrossing(
            f"the area {bbox} crosses the antimeridian; split it at 180 degrees "
            f"(see imagery.bbox.split_antimeridian) and make one chip per side")
    if west == east or south == north:
        raise ValueError(f"bbox is empty: {bbox}")


def split_antimeridian(bbox: BBox) -> list[BBox]:
    """One box, or two (one each side of 180°) when it crosses the antimeridian (west > east)."""
    _finite_and_in_range(bbox)
    west, south, east, north = bbox
    if west <= east:
        return [bbox]
    return [(west, south, 180.0, north), (-180.0, south, east, north)]
