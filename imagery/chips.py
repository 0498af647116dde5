"""Chips: every date of a site warped onto one common grid, plus GeoTIFF/PNG outputs for the map.

The grid is a local UTM zone with a fixed pixel size snapped to multiples of that size, so two
captures of the same bbox land pixel for pixel on the same array. Only the window of the source
that covers the grid is read (from an overview when the source is much finer), never the image.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
import rasterio
from affine import Affine
from pyproj import Transformer
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.errors import RasterioError, RasterioIOError, WindowError
from rasterio.io import DatasetReader
from rasterio.transform import from_bounds as transform_from_bounds
from rasterio.vrt import WarpedVRT
from rasterio.warp import calculate_default_transform, reproject, transform_bounds
from rasterio.windows import Window
from rasterio.windows import from_bounds as window_from_bounds

from imagery.base import BBox, Capture, Chip, DateCertainty
from imagery.bbox import check_bbox
from imagery.errors import CorruptRaster, NoCoverage, RasterError, TooLarge
from imagery.http import HttpConfig
from imagery.rasters import MAX_DECLARED_BYTES, check_dataset, open_raster


def gdal_http_options(config: HttpConfig) -> dict[str, str]:
    """The HTTP client's timeouts, retries and user agent, spelt as GDAL configuration options.

    GDAL's timeout is per request (the client's is per call), so it gets the shorter of the
    client's deadline and connect + read time. GDAL follows redirects itself and has no option to
    stop it: callers hand it a URL already resolved by `HttpClient.resolve` (docs/decisions/0010).
    """
    timeout = min(config.deadline, config.connect_timeout + config.read_timeout)
    return {
        "GDAL_HTTP_TIMEOUT": str(max(1, math.ceil(timeout))),
        "GDAL_HTTP_CONNECTTIMEOUT": str(max(1, math.ceil(config.connect_timeout))),
        "GDAL_HTTP_MAX_RETRY": str(config.retries),
        "GDAL_HTTP_RETRY_DELAY": str(config.backoff),
        "GDAL_HTTP_USERAGENT": config.user_agent,
    }


# The one place GDAL is configured. Without a timeout a stalled server hangs a read for good,
# and GDAL's default is no retry at all; READDIR/extension settings stop sidecar and listing probes.
# The HTTP part comes from the default HttpConfig; gdal_env(http=...) applies a client's own.
GDAL_OPTIONS: dict[str, str] = {
    **gdal_http_options(HttpConfig()),
    "GDAL_HTTP_UNSAFESSL": "NO",
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".tif,.TIF,.tiff,.TIFF",
    "GDAL_HTTP_MERGE_CONSECUTIVE_RANGES": "YES",
    "GDAL_HTTP_MULTIPLEX": "YES",
    "GDAL_INGESTED_BYTES_AT_OPEN": "32768",
    "VSI_CACHE": "TRUE",
    "GDAL_NUM_THREADS": "ALL_CPUS",  # parallel tile decoding: the chip benchmark's main win
}
MAX_GRID_PIXELS = 10_000 * 10_000
REMOTE_READ_ATTEMPTS = 3
T = TypeVar("T")
DEFAULT_PIXEL_M = 0.5


def gdal_env(http: HttpConfig | None = None, **overrides: str) -> rasterio.Env:
    """A rasterio.Env with GDAL_OPTIONS, the HTTP client's settings when given, then `overrides`."""
    return rasterio.Env(**{**GDAL_OPTIONS, **(gdal_http_options(http) if http else {}), **overrides})


@dataclass(frozen=True)
class Grid:
    """A north-up pixel grid in a projected CRS."""

    crs: str
    transform: Affine
    width: int
    height: int

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns) of the pixel grid."""
        return self.height, self.width

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(left, bottom, right, top) of the grid in its CRS."""
        t = self.transform
        return t.c, t.f + t.e * self.height, t.c + t.a * self.width, t.f

    @property
    def pixel_area(self) -> float:
        """Area of one pixel in CRS units squared (square metres in UTM)."""
        t = self.transform
        return abs(t.a * t.e - t.b * t.d)

    @classmethod
    def of(cls, chip: Chip) -> Grid:
        """The grid a chip's pixels lie on."""
        return cls(chip.crs, Affine(*chip.transform), chip.data.shape[2], chip.data.shape[1])


def grid_bbox(grid: Grid) -> BBox:
    """The grid's extent as a lon/lat bbox (west, south, east, north), densified so it holds every pixel."""
    west, south, east, north = transform_bounds(grid.crs, "EPSG:4326", *grid.bounds, densify_pts=21)
    return (west, south, east, north)


def utm_crs_for(lon: float, lat: float) -> str:
    """The WGS 84 UTM zone (EPSG:326xx north, 327xx south) holding a point, for chips measured in metres."""
    zone = min(int((lon + 180) // 6) + 1, 60)
    return f"EPSG:{32600 + zone if lat >= 0 else 32700 + zone}"


def grid_for_bbox(bbox: BBox, pixel_size: float = DEFAULT_PIXEL_M, size: tuple[int, int] | None = None,
                  crs: str | None = None, max_pixels: int = MAX_GRID_PIXELS) -> Grid:
    """The common grid for an area: local UTM, pixel edges snapped to multiples of pixel_size.

    With `size` (width, height) the bbox is stretched to exactly that many pixels instead.
    """
    check_bbox(bbox)
    west, south, east, north = bbox
    crs = crs or utm_crs_for((west + east) / 2, (south + north) / 2)
    minx, miny, maxx, maxy = transform_bounds("EPSG:4326", crs, *bbox, densify_pts=21)
    if size is not None:
        width, height = size
        transform = transform_from_bounds(minx, miny, maxx, maxy, width, height)
    else:
        minx, miny = math.floor(minx / pixel_size) * pixel_size, math.floor(miny / pixel_size) * pixel_size
        maxx, maxy = math.ceil(maxx / pixel_size) * pixel_size, math.ceil(maxy / pixel_size) * pixel_size
        width, height = round((maxx - minx) / pixel_size), round((maxy - miny) / pixel_size)
        transform = Affine(pixel_size, 0.0, minx, 0.0, -pixel_size, maxy)
    if width <= 0 or height <= 0:
        raise ValueError(f"bbox {bbox} gives an empty grid")
    if width * height > max_pixels:
        raise TooLarge(f"a {width} x {height} px grid exceeds {max_pixels} px; use a coarser pixel size")
    return Grid(crs, transform, width, height)


@contextmanager
def open_source(source: str | os.PathLike[str], max_bytes: int = MAX_DECLARED_BYTES) -> Iterator[DatasetReader]:
    """Open a local file through local.open_raster, or an http(s) COG with the GTiff driver only."""
    if is_remote(source):
        try:
            src = rasterio.open(source, driver="GTiff")
        except RasterioError as err:
            raise RasterError(f"cannot open {source}: {err}") from err
        try:
            check_dataset(src, source, max_bytes)
            yield src
        finally:
            src.close()
    else:
        with open_raster(source, max_bytes) as src:
            yield src


def default_nodata(dtype: str, nodata: float | None) -> float:
    """The nodata value to use: the raster's own, else NaN for float data and 0 for integers."""
    if nodata is not None:
        return nodata
    return float("nan") if np.dtype(dtype).kind == "f" else 0


def _aligned_window(src: DatasetReader, grid: Grid) -> Window | None:
    """The source window equal to the grid when both share CRS, pixel size and pixel edges."""
    s, g = src.transform, grid.transform
    if src.crs != CRS.from_user_input(grid.crs) or s.b or s.d or g.b or g.d:
        return None
    if not (math.isclose(s.a, g.a, rel_tol=1e-9) and math.isclose(s.e, g.e, rel_tol=1e-9)):
        return None
    col, row = (g.c - s.c) / s.a, (g.f - s.f) / s.e
    if abs(col - round(col)) > 1e-6 or abs(row - round(row)) > 1e-6:
        return None
    return Window(round(col), round(row), grid.width, grid.height)


def _read_into_grid(src: DatasetReader, grid: Grid, indexes: list[int], nodata: float,
                    resampling: Resampling) -> np.ndarray:
    full = Window(0, 0, src.width, src.height)

    def empty() -> np.ndarray:
        return np.full((len(indexes), grid.height, grid.width), nodata, dtype=src.dtypes[0])

    aligned = _aligned_window(src, grid)
    if aligned is not None:  # same grid as the source: a plain window read, no resampling
        try:
            inside = aligned.intersection(full)
        except WindowError as err:
            raise NoCoverage("the image does not cover the area") from err
        if inside == aligned:
            return src.read(indexes, window=aligned)
        r0, c0 = int(inside.row_off - aligned.row_off), int(inside.col_off - aligned.col_off)
        out = empty()
        out[:, r0:r0 + int(inside.height), c0:c0 + int(inside.width)] = src.read(indexes, window=inside)
        return out
    if src.transform.b or src.transform.d:  # rotated source: let the warper find the blocks
        with WarpedVRT(src, crs=grid.crs, transform=grid.transform, width=grid.width,
                       height=grid.height, resampling=resampling, nodata=nodata) as vrt:
            return vrt.read(indexes)
    if src.crs == CRS.from_user_input(grid.crs):
        return _resampled_read(src, grid, indexes, resampling, empty)
    return _warped_read(src, grid, indexes, nodata, resampling, empty())


def _resampled_read(src: DatasetReader, grid: Grid, indexes: list[int], resampling: Resampling,
                    empty: Callable[[], np.ndarray]) -> np.ndarray:
    """Same CRS, other pixel size or offset: one fractional-window RasterIO with resampling.

    GDAL resamples while decoding (and picks an overview when downsampling), several times faster
    than a general warp with nodata handling.
    """
    full = Window(0, 0, src.width, src.height)
    win = window_from_bounds(*grid.bounds, transform=src.transform)
    try:
        inside = win.intersection(full)
    except WindowError as err:
        raise NoCoverage("the image does not cover the area") from err
    sx, sy = grid.width / win.width, grid.height / win.height
    c0, c1 = round((inside.col_off - win.col_off) * sx), round((inside.col_off + inside.width - win.col_off) * sx)
    r0, r1 = round((inside.row_off - win.row_off) * sy), round((inside.row_off + inside.height - win.row_off) * sy)
    if c1 <= c0 or r1 <= r0:
        raise NoCoverage("the image does not cover the area")
    data = src.read(indexes, window=inside, out_shape=(len(indexes), r1 - r0, c1 - c0), resampling=resampling)
    if (r0, c0, r1, c1) == (0, 0, grid.height, grid.width):
        return data
    out = empty()
    out[:, r0:r1, c0:c1] = data
    return out


def _warped_read(src: DatasetReader, grid: Grid, indexes: list[int], nodata: float, resampling: Resampling,
                 out: np.ndarray) -> np.ndarray:
    """Other CRS: read the covering window (decimated from an overview when finer), then warp it."""
    full = Window(0, 0, src.width, src.height)
    left, bottom, right, top = transform_bounds(grid.crs, src.crs, *grid.bounds, densify_pts=21)
    try:
        win = window_from_bounds(left, bottom, right, top, transform=src.transform)
        win = Window(math.floor(win.col_off) - 2, math.floor(win.row_off) - 2,
                     math.ceil(win.width) + 4, math.ceil(win.height) + 4).intersection(full)
    except WindowError as err:
        raise NoCoverage("the image does not cover the area") from err
    # Source pixels per grid pixel: read a decimated window (GDAL serves it from an overview).
    factor = max(1, int(min((right - left) / grid.width / abs(src.transform.a),
                            (top - bottom) / grid.height / abs(src.transform.e))))
    rows, cols = max(1, math.ceil(win.height / factor)), max(1, math.ceil(win.width / factor))
    data = src.read(indexes, window=win, out_shape=(len(indexes), rows, cols),
                    resampling=Resampling.average if factor > 1 else Resampling.nearest)
    win_transform = src.window_transform(win) @ Affine.scale(win.width / cols, win.height / rows)
    # src_nodata only when the file declares one: per-pixel validity doubles the warp time.
    reproject(data, out, src_transform=win_transform, src_crs=src.crs, src_nodata=src.nodata,
              dst_transform=grid.transform, dst_crs=grid.crs, dst_nodata=nodata, resampling=resampling,
              num_threads=os.cpu_count() or 1, warp_mem_limit=256)
    return out


def is_remote(source: str | os.PathLike[str]) -> bool:
    """Whether a raster source is an http(s) URL rather than a local path."""
    return isinstance(source, str) and source.startswith(("http://", "https://"))


def read_with_retries(source: str | os.PathLike[str], read: Callable[[], T],
                      attempts: int = REMOTE_READ_ATTEMPTS, delay: float = 0.3) -> T:
    """Run a whole windowed read again when a remote fetch fails.

    GDAL_HTTP_MAX_RETRY covers single requests, but GDAL 3.10's parallel multi-range tile fetch
    (used by GTiff for a window spanning several tiles) gives up on one 503 without retrying.
    """
    for attempt in range(1, attempts + 1):
        try:
            return read()
        except RasterioIOError:
            if not is_remote(source) or attempt == attempts:
                raise
            time.sleep(delay * attempt)
    raise AssertionError("unreachable")


def make_chip(source: str | os.PathLike[str], grid: Grid, capture: Capture | None = None,
              bands: list[int] | None = None, resampling: Resampling = Resampling.bilinear,
              max_bytes: int = MAX_DECLARED_BYTES, http: HttpConfig | None = None) -> Chip:
    """Read the part of `source` (path or http(s) COG URL) covering `grid`, warped onto it.

    A remote `source` must already be resolved (`HttpClient.resolve`): GDAL follows redirects.
    `http`: the client whose timeouts, retries and user agent GDAL uses (default: HttpConfig()).
    """
    name = str(source) if is_remote(source) else Path(source).name

    def once() -> tuple[np.ndarray, float]:
        with gdal_env(http), open_source(source, max_bytes) as src:
            nodata = default_nodata(src.dtypes[0], src.nodata)
            indexes = bands or list(range(1, min(src.count, 3) + 1))
            return _read_into_grid(src, grid, indexes, nodata, resampling), nodata

    try:
        data, nodata = read_with_retries(source, once)
    except RasterioIOError as err:
        if is_remote(source):
            raise RasterError(f"{name}: remote read failed after {REMOTE_READ_ATTEMPTS} attempts ({err})") from err
        raise CorruptRaster(f"{name}: pixels cannot be read ({err})") from err
    if not _any_valid(data, nodata):
        raise NoCoverage(f"{name} does not cover the area (no valid pixel on the grid)")
    capture = capture or Capture(provider="file", capture_id=name, date=None, certainty=DateCertainty.STATED)
    return Chip(capture, data, grid.crs, tuple(grid.transform)[:6], nodata)


def _any_valid(data: np.ndarray, nodata: float) -> bool:
    # Check a sparse sample first: on a full chip this returns without scanning every pixel.
    sample = data[:, ::64, ::64]
    if np.any(valid_mask(sample, nodata)):
        return True
    return bool(np.any(valid_mask(data, nodata)))


def valid_mask(data: np.ndarray, nodata: float | None) -> np.ndarray:
    """True where at least one band holds a value (rows x cols)."""
    if nodata is None:
        return np.ones(data.shape[1:], dtype=bool)
    if isinstance(nodata, float) and math.isnan(nodata):
        return ~np.all(np.isnan(data), axis=0)
    return np.any(data != nodata, axis=0)


def to_rgba8(data: np.ndarray, nodata: float | None, percentiles: tuple[float, float] = (2, 98)) -> np.ndarray:
    """8-bit RGBA (4, rows, cols) for display: 8-bit data as is, other types stretched; nodata transparent."""
    valid = valid_mask(data, nodata)
    rgb = data[:3] if data.shape[0] >= 3 else np.repeat(data[:1], 3, axis=0)
    if rgb.dtype == np.uint8:
        out = rgb.copy()
    else:
        out = np.zeros(rgb.shape, dtype=np.uint8)
        for i, band in enumerate(rgb.astype("float64")):
            values = band[valid & np.isfinite(band)]
            if values.size == 0:
                continue
            lo, hi = np.percentile(values, percentiles)
            scaled = (band - lo) / (hi - lo if hi > lo else 1.0)
            out[i] = np.clip(np.nan_to_num(scaled) * 255, 0, 255).astype(np.uint8)
    alpha = np.where(valid, 255, 0).astype(np.uint8)[None]
    return np.concatenate([out, alpha])


def write_overlay_png(rgba: np.ndarray, grid: Grid, path: str | os.PathLike[str]) -> list[list[float]]:
    """Warp an RGBA grid image to Web Mercator, write it as PNG, return folium ImageOverlay bounds.

    Leaflet stretches an overlay between two lat/lon corners in Web Mercator, so a UTM image would
    be misplaced by the grid's rotation; the warp makes the bounds exact.
    """
    from PIL import Image  # only the PNG writers need Pillow

    w, s, e, n = grid.bounds
    transform, width, height = calculate_default_transform(grid.crs, "EPSG:3857", grid.width, grid.height,
                                                           w, s, e, n)
    merc = np.zeros((4, height, width), dtype=np.uint8)
    reproject(rgba, merc, src_transform=grid.transform, src_crs=grid.crs, dst_transform=transform,
              dst_crs="EPSG:3857", resampling=Resampling.nearest, num_threads=os.cpu_count() or 1)
    Image.fromarray(np.ascontiguousarray(merc.transpose(1, 2, 0)), "RGBA").save(path)
    to_lonlat = Transformer.from_crs("EPSG:3857", "EPSG:4326", always_xy=True)
    lon_min, lat_min = to_lonlat.transform(transform.c, transform.f + transform.e * height)
    lon_max, lat_max = to_lonlat.transform(transform.c + transform.a * width, transform.f)
    return [[lat_min, lon_min], [lat_max, lon_max]]


@dataclass(frozen=True)
class ChipFiles:
    """A chip written out: the GeoTIFF, a PNG for the map and the overlay's lat/lon bounds."""

    tif: Path
    png: Path
    bounds: list[list[float]]  # [[lat_min, lon_min], [lat_max, lon_max]] for folium ImageOverlay


def write_chip(chip: Chip, out_dir: str | os.PathLike[str], stem: str) -> ChipFiles:
    """The chip as a tiled GeoTIFF on its grid and as a Web Mercator PNG with its overlay bounds."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    grid = Grid.of(chip)
    tif, png = out / f"{stem}.tif", out / f"{stem}.png"
    profile = {"driver": "GTiff", "width": grid.width, "height": grid.height, "count": chip.data.shape[0],
               "dtype": chip.data.dtype.name, "crs": grid.crs, "transform": grid.transform, "nodata": chip.nodata,
               "tiled": True, "blockxsize": 256, "blockysize": 256, "compress": "deflate"}
    with rasterio.open(tif, "w", **profile) as dst:
        dst.write(chip.data)
    bounds = write_overlay_png(to_rgba8(chip.data, chip.nodata), grid, png)
    return ChipFiles(tif, png, bounds)


def align(chip: Chip, grid: Grid, bands: int = 3) -> Chip:
    """The chip warped onto `grid` with `bands` bands (grey repeated, alpha dropped), so chips of
    different sources (a UTM local image, a Web Mercator mosaic) compare pixel for pixel."""
    nodata = default_nodata(chip.data.dtype.name, chip.nodata)
    src = chip.data
    if src.shape[0] < bands:
        src = np.repeat(src[:1], bands, axis=0)
    src = src[:bands]
    if Grid.of(chip) == grid:
        return Chip(chip.capture, np.ascontiguousarray(src), grid.crs, tuple(grid.transform)[:6], nodata)
    out = np.full((bands, grid.height, grid.width), nodata, dtype=src.dtype)
    reproject(src, out, src_transform=Affine(*chip.transform), src_crs=chip.crs, src_nodata=nodata,
              dst_transform=grid.transform, dst_crs=grid.crs, dst_nodata=nodata, resampling=Resampling.bilinear,
              num_threads=os.cpu_count() or 1)
    return Chip(chip.capture, out, grid.crs, tuple(grid.transform)[:6], nodata)
