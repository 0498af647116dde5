"""Cloudiness inside a site's outline from a Sentinel-2 L2A scene classification (SCL) band.

Only the window of the SCL asset over the outline is read (a few HTTP range requests of the COG), at the
band's own 20 m resolution, never resampled. Pixels whose centre lies outside the outline are not counted
(all pixels touched by the outline when it is smaller than a few pixels).

SCL classes counted as cloudy: 3 cloud shadow, 8 cloud medium probability, 9 cloud high probability,
10 thin cirrus. Class 0 (no data) is excluded from the count altogether; every other class (vegetation,
bare soil, water, snow, dark area, saturated, unclassified) is clear. The fraction is cloudy pixels over
counted pixels; None when no pixel inside the outline holds data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from rasterio.errors import RasterioError, WindowError
from rasterio.features import geometry_mask
from rasterio.warp import transform_geom
from rasterio.windows import Window
from rasterio.windows import from_bounds as window_from_bounds
from rasterio.windows import transform as window_transform
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry

from .chips import gdal_env, open_source, read_with_retries
from .errors import NoCoverage, RasterError
from .http import HttpConfig

SCL_CLOUD_CLASSES = (3, 8, 9, 10)  # cloud shadow, cloud medium and high probability, thin cirrus
SCL_NO_DATA = 0


@dataclass(frozen=True)
class SclCount:
    """Pixels of an SCL window inside an outline: those holding data and, of them, the cloudy ones."""

    valid: int = 0
    cloudy: int = 0

    def __add__(self, other: SclCount) -> SclCount:
        return SclCount(self.valid + other.valid, self.cloudy + other.cloudy)

    @property
    def fraction(self) -> float | None:
        """Cloudy share of the pixels holding data; None when none does."""
        return self.cloudy / self.valid if self.valid else None


def count_scl(scl: np.ndarray, inside: np.ndarray | None = None) -> SclCount:
    """Counted (class != 0) and cloudy (3, 8, 9, 10) pixels of `scl`, only where `inside` is True when given."""
    valid = scl != SCL_NO_DATA
    if inside is not None:
        valid &= inside
    return SclCount(int(valid.sum()), int(np.isin(scl[valid], SCL_CLOUD_CLASSES).sum()))


def scl_cloud_fraction(scl: np.ndarray) -> float | None:
    """Share of valid SCL pixels that are cloud, cloud shadow or cirrus; None when none is valid."""
    return count_scl(scl).fraction


def read_scl_count(href: str, outline: BaseGeometry, http: HttpConfig | None = None) -> SclCount:
    """Count the SCL pixels of the COG at `href` (already resolved and signed) inside `outline` (EPSG:4326).

    NoCoverage when the asset's extent misses the outline; RasterError when the read fails."""

    def once() -> SclCount:
        # one decoding thread: GDAL's own fetch threads do not see options set in a worker thread (they sent
        # GDAL's user agent), and an SCL window is a few small tiles; parallelism comes from the windows
        with gdal_env(http, GDAL_NUM_THREADS="1"), open_source(href) as src:
            local = shape(transform_geom("EPSG:4326", src.crs, mapping(outline)))
            left, bottom, right, top = local.bounds
            try:
                win = window_from_bounds(left, bottom, right, top, transform=src.transform)
                win = Window(math.floor(win.col_off), math.floor(win.row_off), math.ceil(win.width) + 1,
                             math.ceil(win.height) + 1).intersection(Window(0, 0, src.width, src.height))
            except WindowError as err:
                raise NoCoverage(f"{href} does not cover the site") from err
            scl = src.read(1, window=win)
            affine = window_transform(win, src.transform)
            inside = ~geometry_mask([mapping(local)], out_shape=scl.shape, transform=affine)
            if not inside.any():  # an outline smaller than a pixel: count the pixels it touches
                inside = ~geometry_mask([mapping(local)], out_shape=scl.shape, transform=affine, all_touched=True)
            return count_scl(scl, inside)

    try:
        return read_with_retries(href, once)
    except RasterioError as err:
        raise RasterError(f"SCL read failed for {href}: {err}") from err
