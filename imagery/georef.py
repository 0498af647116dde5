"""Checks an imported image must pass before it is placed on the map or its pixels trusted.

GDAL opens a GeoTIFF whose georeferencing cannot be right (NaN or infinite origin, a latitude of 95°,
a pixel of 0 or 1e10 m, a rotated grid, longitudes running past 180°) and reads its overviews
happily while the full-resolution tiles are cut off. Each would be accepted at import and then
misplace the image or fail later inside a chip read. `check_georeferencing` refuses them with the
reason, from the header; `check_full_resolution` reads every block of the full-resolution data.
"""

from __future__ import annotations

import math

from rasterio.errors import RasterioError
from rasterio.io import DatasetReader
from rasterio.warp import transform_bounds

from imagery.errors import CorruptRaster, NotGeoreferenced

# A pixel finer than 1 mm or coarser than 100 km is not imagery an analyst imports: it is a unit
# mix-up (degrees written as metres, or the reverse) or a broken header.
MIN_PIXEL_M = 0.001
MAX_PIXEL_M = 100_000.0
_M_PER_DEGREE = 111_320.0


def check_georeferencing(src: DatasetReader, name: str) -> tuple[float, float, float, float]:
    """The image's WGS 84 bounds (west, south, east, north), or NotGeoreferenced with the reason when its
    geotransform cannot place it: non-finite, rotated or sheared, a pixel of zero or absurd size, latitudes beyond
    ±90° or longitudes beyond ±180° (an image across the antimeridian must be split or warped first)."""
    t = src.transform
    if not all(math.isfinite(v) for v in (t.a, t.b, t.c, t.d, t.e, t.f)):
        raise NotGeoreferenced(f"{name}: its geotransform holds NaN or infinity ({tuple(t)[:6]}); it cannot be placed")
    if t.b != 0 or t.d != 0:
        raise NotGeoreferenced(f"{name} is rotated or sheared (geotransform {tuple(t)[:6]}); warp it north-up first, "
                               "e.g. gdalwarp -t_srs EPSG:4326 in.tif out.tif")
    if t.a == 0 or t.e == 0:
        raise NotGeoreferenced(f"{name} has a pixel of zero size ({t.a} x {t.e}); its georeferencing is broken")
    if src.crs.is_geographic:
        sizes = (abs(t.a) * _M_PER_DEGREE, abs(t.e) * _M_PER_DEGREE)
        unit = "degrees"
    else:
        factor = float(src.crs.linear_units_factor[1]) if src.crs.is_projected else 1.0
        sizes = (abs(t.a) * factor, abs(t.e) * factor)
        unit = "metres"
    if not all(MIN_PIXEL_M <= s <= MAX_PIXEL_M for s in sizes):
        raise NotGeoreferenced(
            f"{name} has pixels of {abs(t.a):g} x {abs(t.e):g} {src.crs.linear_units if src.crs.is_projected else unit}"
            f" (about {sizes[0]:.3g} x {sizes[1]:.3g} m on the ground); imagery is {MIN_PIXEL_M} m to "
            f"{MAX_PIXEL_M:,.0f} m a pixel, so the georeferencing is wrong (degrees written as metres?)")
    left, bottom, right, top = src.bounds
    if src.crs.is_geographic:
        _check_lonlat(name, left, bottom, right, top, "in its own coordinates")
    try:
        west, south, east, north = transform_bounds(src.crs, "EPSG:4326", left, bottom, right, top, densify_pts=21)
    except RasterioError as err:
        raise NotGeoreferenced(f"{name}: its bounds cannot be converted to longitude/latitude ({err})") from err
    _check_lonlat(name, west, south, east, north, "once converted to WGS 84")
    if east <= west:
        raise NotGeoreferenced(f"{name} crosses the antimeridian (WGS 84 bounds {west:.4f} to {east:.4f}); split it "
                               "at 180° or warp it to a projected CRS first")
    return west, south, east, north


def _check_lonlat(name: str, west: float, south: float, east: float, north: float, where: str) -> None:
    bounds = (west, south, east, north)
    if not all(math.isfinite(v) for v in bounds):
        raise NotGeoreferenced(f"{name}: its bounds {where} are not finite ({bounds}); the CRS cannot place it")
    if south < -90 or north > 90:
        raise NotGeoreferenced(f"{name} reaches latitude {north if north > 90 else south:.4f}° {where}, beyond ±90°; "
                               "its georeferencing is wrong (projected metres tagged as degrees?)")
    if west < -180 or east > 180:
        raise NotGeoreferenced(f"{name} reaches longitude {east if east > 180 else west:.4f}° {where}, beyond ±180° "
                               "(not normalised, or across the antimeridian); warp it to -180..180 first, e.g. "
                               "gdalwarp -t_srs EPSG:4326 --config CENTER_LONG 0 in.tif out.tif")


def check_full_resolution(src: DatasetReader, name: str) -> None:
    """Read every block of the full-resolution data (all bands, block by block): a COG cut short keeps its
    overviews, which a decimated read uses, while its full-resolution tiles are gone. CorruptRaster naming the
    image and the first unreadable block. Bounded by the size limit the open already checked."""
    for (row, col), window in src.block_windows(1):
        try:
            src.read(window=window)
        except RasterioError as err:
            raise CorruptRaster(f"{name}: full-resolution pixels cannot be decoded at block row {row}, column "
                                f"{col} (the file is truncated or corrupt): {err}") from err
