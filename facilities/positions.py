"""The shape of a GeoJSON geometry's coordinates, checked before numpy or shapely sees them.

numpy's float conversion takes true/false as 1/0 and "127.6" as a number, so `[[true,false], ...]`
became a triangle at 0°N 0°E; an integer of 400 digits overflows it; arrays nested deeper than the
type says make comparisons recurse. Each geometry type has exactly one nesting depth, and a
position is 2 or 3 numbers: anything else is refused here, naming the place in the array.
The common case is checked with a few C-level passes (map/chain over the positions), so a large
file pays little for it.
"""

from __future__ import annotations

import json
import math
import numbers
from itertools import chain
from typing import Any

from .errors import ValidationError

# Levels of arrays above the positions, per geometry type.
DEPTH = {"Point": 0, "MultiPoint": 1, "LineString": 1, "MultiLineString": 2, "Polygon": 2, "MultiPolygon": 3}
_ARRAYS = {list, tuple}
_NUMBERS = {int, float}


def check_positions(kind: str, coordinates: Any) -> None:
    """ValidationError naming the first bad place unless `coordinates` nests exactly as `kind` requires and every
    position is 2 or 3 finite numbers (not true/false, not text)."""
    level: list = [coordinates]
    for _ in range(DEPTH[kind]):
        if not set(map(type, level)) <= _ARRAYS:
            _explain(kind, coordinates)
        level = list(chain.from_iterable(level))
    positions = level
    if not set(map(type, positions)) <= _ARRAYS or not set(map(len, positions)) <= {2, 3}:
        _explain(kind, coordinates)
    values = list(chain.from_iterable(positions))
    types = set(map(type, values))
    if not all(map(_is_number_type, types)):
        _explain(kind, coordinates)
    if int in types and any(type(v) is int and not -1e300 < v < 1e300 for v in values):
        _explain(kind, coordinates)
    if types - {int} and not all(map(math.isfinite, (v for v in values if type(v) is not int))):
        _explain(kind, coordinates)


def _is_number_type(t: type) -> bool:
    """Say whether int and float, or numpy's numbers (a frame's coordinates); never bool, which is an int in Python."""
    return t in _NUMBERS or (t is not bool and issubclass(t, numbers.Real) and not issubclass(t, bool))


def _explain(kind: str, coordinates: Any) -> None:
    """Find the first bad place (slowly: only for a geometry already known to be bad) and raise."""
    stack: list[tuple[Any, str, int]] = [(coordinates, "coordinates", DEPTH[kind])]
    while stack:
        value, where, depth = stack.pop()
        if depth:
            if type(value) not in _ARRAYS:
                raise ValidationError(f"malformed {kind}: {where} is {_show(value)}, not an array "
                                      f"({kind} coordinates are {depth + 1} levels of arrays)")
            stack.extend((v, f"{where}[{k}]", depth - 1) for k, v in reversed(list(enumerate(value))))
            continue
        reason = _position_problem(value)
        if reason:
            raise ValidationError(f"malformed {kind}: {where} is {_show(value)}: {reason}")
    raise ValidationError(f"malformed {kind}: bad coordinates")  # not reached: the caller found a fault


def _position_problem(value: Any) -> str | None:
    if type(value) not in _ARRAYS:
        return "a position must be an array of 2 or 3 numbers (longitude, latitude[, altitude])"
    if len(value) not in (2, 3):
        return f"a position has 2 or 3 numbers, not {len(value)}"
    for v in value:
        if type(v) is bool:
            return "true/false is not a coordinate"
        if not _is_number_type(type(v)):
            return "a coordinate must be a number, not text, an array or an object"
        if type(v) is int and not -1e300 < v < 1e300:
            return "a coordinate is too large to be a finite number"
        if type(v) is not int and not math.isfinite(v):
            return "a coordinate must be finite"
    return None


def _show(value: Any) -> str:
    try:
        text = json.dumps(value, ensure_ascii=True)
    except (TypeError, ValueError, RecursionError):
        text = type(value).__name__
    return text if len(text) <= 60 else text[:57] + "..."
