"""Bounding boxes in the registry: one reading of a box given on the command line, in a notebook or to
the store, and one rule for boxes across the antimeridian.

A box is (west, south, east, north) in EPSG:4326 degrees. West greater than east is a box across the
antimeridian (RFC 7946 §5.2), split in two wherever it is used. Every caller normalises through
`parse_bbox`, so the same input gets the same answer and the same message everywhere.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from .errors import ValidationError

BBox = tuple[float, float, float, float]  # west, south, east, north in degrees


def parse_bbox(value: str | Sequence[float] | None, *, what: str = "bbox") -> BBox | None:
    """Normalise a box given as "w,s,e,n" text or four numbers; None stays None.

    Raises ValidationError naming `what` (e.g. "--bbox") for anything but four finite numbers with
    longitudes within ±180 and latitudes within ±90, south not north of north.
    """
    if value is None:
        return None
    parts = value.split(",") if isinstance(value, str) else value
    try:
        numbers = [float(v) for v in parts]
    except (TypeError, ValueError):
        raise ValidationError(f"{what} {value!r} must be four numbers: west,south,east,north") from None
    if len(numbers) != 4 or isinstance(value, bytes):
        raise ValidationError(f"{what} {value!r} must be four numbers: west,south,east,north")
    w, s, e, n = numbers
    if not all(math.isfinite(v) for v in numbers):
        raise ValidationError(f"{what} {value!r} has a value that is not a finite number")
    if not (-180 <= w <= 180 and -180 <= e <= 180 and -90 <= s <= n <= 90):
        raise ValidationError(f"{what} {value!r} is outside longitude -180..180 / latitude -90..90 "
                              f"or has south > north")
    return (w, s, e, n)


def split_antimeridian(bbox: BBox) -> list[BBox]:
    """A box as one box, or two (one each side of 180°) when west > east."""
    w, s, e, n = bbox
    if s > n:
        raise ValidationError(f"bbox south {s} is north of north {n}")
    if w > e:
        return [(w, s, 180.0, n), (-180.0, s, e, n)]
    return [bbox]
