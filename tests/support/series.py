"""Generated dated image series of one building site, for the dating tests and bench.

A textured ground (fields of two kinds, noise) in UTM 52N; a rectangular roof with a darker half (the
shaded slope) and a cast shadow beside it, present from a known date on (or until one, or always).
Each date gets its own illumination (gain and offset), a misregistration of up to one pixel, and some
dates a cloud over the site or a missing part (nodata 0) over the footprint, as real archives have.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import shapely
from affine import Affine
from pyproj import Transformer
from shapely.geometry import Polygon, box

from tests.support.rasters import UTM52_ORIGIN, write_cog, write_tif

CRS = "EPSG:32652"


@dataclass(frozen=True)
class Series:
    """The images (bands x rows x cols uint8, 0 = nodata) oldest first, their dates, and the truth."""

    images: list[np.ndarray]
    dates: list[dt.date]
    transform: Affine
    footprint_utm: Polygon
    change: str | None  # "appeared", "disappeared" or None (the building stands throughout)
    first_new: int | None  # index of the first date of the new state
    cloudy: set[int] = field(default_factory=set)
    holes: set[int] = field(default_factory=set)  # footprint mostly nodata

    @property
    def footprint_lonlat(self) -> Polygon:
        """The footprint in EPSG:4326, as a structure stores it."""
        to_ll = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
        return _apply(to_ll, self.footprint_utm)

    @property
    def site_lonlat(self) -> Polygon:
        """The whole image's extent in EPSG:4326 (a facility outline)."""
        h, w = self.images[0].shape[1:]
        west, north = self.transform.c, self.transform.f
        px = self.transform.a
        to_ll = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
        return _apply(to_ll, box(west + 5 * px, north - (h - 5) * px, west + (w - 5) * px,
                                                  north - 5 * px))


def _apply(transformer: Transformer, geom: Polygon) -> Polygon:
    return shapely.transform(geom, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1])))


def _ground(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Fields: a smooth pattern of two soils/crops, fixed per site (the caller's rng decides it)."""
    yy, xx = np.mgrid[0:h, 0:w]
    phase = rng.uniform(0, 6.3, 2)
    pattern = np.sin(xx / 17.0 + phase[0]) * np.cos(yy / 23.0 + phase[1])
    fields = pattern > 0.2
    out = np.empty((3, h, w))
    for b, (soil, crop) in enumerate(zip((120, 110, 90), (95, 120, 80), strict=True)):
        out[b] = np.where(fields, crop, soil) + 12 * pattern
    return out


def building_series(seed: int, *, n: int = 16, size: int = 200, pixel: float = 1.0, change: str | None = "appeared",
                    clouds: int = 2, holes: int = 1, roof_m: tuple[float, float] = (40.0, 24.0)) -> Series:
    """A series of `n` dated images of `size` x `size` px at `pixel` m with a building in the middle.

    `change`: "appeared" (absent, then present from a random date), "disappeared" (the reverse) or None
    (standing on every date). `clouds` dates get a cloud over the site, `holes` dates lose the footprint
    to nodata; neither falls on the first or last date."""
    rng = np.random.default_rng(seed)
    start = dt.date(2020, 1, 10)
    gaps = rng.integers(20, 60, n - 1)
    dates = [start] + [start + dt.timedelta(days=int(d)) for d in np.cumsum(gaps)]
    first_new = int(rng.integers(3, n - 3)) if change else None
    inner = list(range(1, n - 1))
    picked = rng.choice(inner, clouds + holes, replace=False)
    cloudy, holed = {int(i) for i in picked[:clouds]}, {int(i) for i in picked[clouds:]}
    ground = _ground(rng, size, size)
    rw, rh = round(roof_m[0] / pixel), round(roof_m[1] / pixel)
    r0, c0 = (size - rh) // 2, (size - rw) // 2
    transform = Affine(pixel, 0, UTM52_ORIGIN[0], 0, -pixel, UTM52_ORIGIN[1])
    x0, y1 = transform @ (c0, r0)
    x1, y0 = transform @ (c0 + rw, r0 + rh)
    footprint = box(x0, y0, x1, y1)
    roof = np.array(rng.choice([(150, 152, 160), (170, 160, 150), (110, 125, 150)]), dtype=float)
    images = []
    for i in range(n):
        present = change is None or (change == "appeared" and i >= (first_new or 0)) or \
            (change == "disappeared" and i < (first_new or 0))
        img = ground + rng.normal(0, 7, ground.shape)
        if present:
            img[:, r0:r0 + rh, c0:c0 + rw // 2] = roof[:, None, None] + rng.normal(0, 5, (3, rh, rw // 2))
            img[:, r0:r0 + rh, c0 + rw // 2:c0 + rw] = roof[:, None, None] * 0.8 + \
                rng.normal(0, 5, (3, rh, rw - rw // 2))
            shadow = max(2, round(4 / pixel))
            img[:, r0 + rh:r0 + rh + shadow, c0:c0 + rw] *= 0.45  # the cast shadow, south of the roof
        gain, offset = rng.uniform(0.75, 1.25), rng.uniform(-15, 15)
        img = img * gain + offset
        dy, dx = (int(v) for v in rng.integers(-1, 2, 2))
        img = np.roll(img, (dy, dx), axis=(1, 2))
        if i in cloudy:
            yy, xx = np.mgrid[0:size, 0:size]
            cy, cx = size / 2 + rng.normal(0, size / 20, 2)
            radius = size * rng.uniform(0.35, 0.5)
            cover = np.clip(1.3 - np.hypot(yy - cy, xx - cx) / radius, 0, 1)
            img = img * (1 - cover) + rng.uniform(238, 250) * cover
        out = np.clip(img, 1, 254).astype(np.uint8)
        if i in holed:  # the scene's edge runs through the site: everything west of the roof's east third
            out[:, :, : c0 + int(rw * 0.7)] = 0
        images.append(out)
    return Series(images, dates, transform, footprint, change, first_new, cloudy, holed)


def write_series(series: Series, folder: Path, *, cog: bool = False) -> list[Path]:
    """Each image as a GeoTIFF (nodata 0; a COG when asked) in `folder`, named by its date."""
    folder.mkdir(parents=True, exist_ok=True)
    writer = write_cog if cog else write_tif
    return [writer(folder / f"site-{d.isoformat()}.tif", img, CRS, series.transform, nodata=0)
            for d, img in zip(series.dates, series.images, strict=True)]
