"""A facility's area as the pages write it: hectares of the outline's ground area (ellipsoidal, pyproj.Geod via
facilities.geometry), and, for an outline drawn around a known point or a city, the warning that the figure is
not a measurement."""

from __future__ import annotations

from facilities.model import LocationPrecision

NOT_MEASURED = "approximate outline: not a measurement"
APPROXIMATE = frozenset({LocationPrecision.APPROXIMATE, LocationPrecision.CITY})


def area_text(area_m2: float, precision: LocationPrecision | str) -> str:
    """'3.6 ha', or '3.6 ha (approximate outline: not a measurement)' for approximate and city-level outlines."""
    hectares = f"{area_m2 / 1e4:,.1f} ha"
    return f"{hectares} ({NOT_MEASURED})" if LocationPrecision(precision) in APPROXIMATE else hectares
