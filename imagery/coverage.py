"""How much of a site's outline an image actually shows: pixels with no data and pixels that look like cloud.

Pure: arrays and Grids in, fractions and pixel coordinates out. Used to leave a date out of a
timelapse (tracker.reports.timelapse) when most of the outline is empty or white, and to draw the
outline on a frame. The outline is given in lon/lat (EPSG:4326), as the registry stores it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from pyproj import Transformer
from rasterio.features import rasterize
from shapely.geometry.base import BaseGeometry

from .chips import Grid, valid_mask
from .dating import cloud_like


@dataclass(frozen=True)
class Coverage:
    """Shares (0..1) of the outline's pixels without data, and of those with data, that look like cloud."""

    nodata: float
    cloud: float


def to_grid_crs(outline_lonlat: BaseGeometry, grid: Grid) -> BaseGeometry:
    """The outline in the grid's CRS."""
    to_grid = Transformer.from_crs("EPSG:4326", grid.crs, always_xy=True)
    return shapely.transform(outline_lonlat, lambda xy: np.column_stack(to_grid.transform(xy[:, 0], xy[:, 1])))


def outline_mask(outline_lonlat: BaseGeometry, grid: Grid) -> np.ndarray:
    """True on the grid's pixels whose centre lies inside the outline (every touched pixel when the outline is
    smaller than one pixel's centre; all False when it lies off the grid)."""
    shape = to_grid_crs(outline_lonlat, grid)
    mask = rasterize([(shape, 1)], out_shape=grid.shape, transform=grid.transform, fill=0, dtype="uint8") > 0
    if not mask.any():
        mask = rasterize([(shape, 1)], out_shape=grid.shape, transform=grid.transform, fill=0, dtype="uint8",
                         all_touched=True) > 0
    return mask


def outline_coverage(data: np.ndarray, nodata: float | None, mask: np.ndarray) -> Coverage:
    """What the image (bands x rows x cols on the mask's grid) shows inside the outline `mask`: the share of the
    outline's pixels without data, and the share of those with data that are bright and grey (imagery.dating's
    cloud_like: 8-bit images only; other types report 0). An empty mask counts as all nodata."""
    total = int(mask.sum())
    if total == 0:
        return Coverage(1.0, 0.0)
    valid = valid_mask(data, nodata) & mask
    with_data = int(valid.sum())
    cloud = int(cloud_like(data, valid).sum())
    return Coverage(1.0 - with_data / total, cloud / with_data if with_data else 0.0)


def outline_rings_px(outline_lonlat: BaseGeometry, grid: Grid) -> list[list[tuple[float, float]]]:
    """Every ring (exteriors and holes) of the outline as (column, row) pixel coordinates on the grid, for drawing."""
    shape = to_grid_crs(outline_lonlat, grid)
    inverse = ~grid.transform
    rings = []
    for part in getattr(shape, "geoms", [shape]):
        boundary = part.boundary
        for line in getattr(boundary, "geoms", [boundary]):
            rings.append([inverse @ (float(x), float(y)) for x, y in line.coords])
    return rings
