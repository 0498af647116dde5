"""Opening a raster safely: magic bytes, a driver allow-list (never VRT), the declared size checked
from the header before any pixel is read.

An uploaded ".tif" may be anything: a VRT disguised as TIFF makes GDAL fetch URLs and read local
files, and a 1 MB sparse TIFF can declare 120 GB of pixels. Both the chips (imagery.chips) and the
analyst's imports (imagery.local) open files through here, so neither imports the other's module
for it (they used to import each other).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import rasterio
from rasterio.errors import RasterioError
from rasterio.io import DatasetReader

from imagery.errors import CorruptRaster, NotGeoreferenced, RasterError, TooLarge, UnsupportedFormat

# Declared decoded size allowed at open. Reads are windowed, so this bounds conversion time and
# overview building, not memory; a 1 GB analyst image passes, a 120 GB sparse bomb does not.
MAX_DECLARED_BYTES = 4 * 1024**3
MAX_SIDE = 100_000
MAX_BANDS = 16

_TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")  # classic TIFF and BigTIFF
_JP2_MAGIC = (b"\x00\x00\x00\x0cjP  \r\n\x87\n", b"\xff\x4f\xff\x51")  # JP2 box, raw J2K codestream


def sniff_driver(path: str | os.PathLike[str]) -> str:
    """The GDAL driver allowed for this file, from its first bytes; anything else is refused."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(16)
    except OSError as err:
        raise RasterError(f"cannot read {Path(path).name}: {err.strerror}") from err
    if head[:4] in _TIFF_MAGIC:
        return "GTiff"
    if any(head.startswith(m) for m in _JP2_MAGIC):
        return "JP2OpenJPEG"
    raise UnsupportedFormat(f"{Path(path).name} is not a TIFF or JPEG2000 file (first bytes {head[:8]!r})")


def check_dataset(src: DatasetReader, name: str | os.PathLike[str], max_bytes: int = MAX_DECLARED_BYTES) -> None:
    """Refuse oversized or non-georeferenced rasters using only the header."""
    itemsize = max(np.dtype(dt_).itemsize for dt_ in src.dtypes)
    declared = src.width * src.height * src.count * itemsize
    if src.width > MAX_SIDE or src.height > MAX_SIDE or src.count > MAX_BANDS or declared > max_bytes:
        raise TooLarge(
            f"{name} declares {src.width} x {src.height} x {src.count} pixels "
            f"({declared / 1024**3:.1f} GiB decoded); the limit is {max_bytes / 1024**3:.1f} GiB, "
            f"{MAX_SIDE} px a side and {MAX_BANDS} bands")
    if src.transform.is_identity and src.gcps[0]:  # GCP-only files often have no dataset CRS either
        raise NotGeoreferenced(f"{name} is located only by ground control points; warp it first, "
                               "e.g. gdalwarp -t_srs EPSG:4326 in.tif out.tif")
    if src.crs is None:
        raise NotGeoreferenced(f"{name} has no coordinate reference system; it cannot be placed on the map")
    if src.transform.is_identity:
        raise NotGeoreferenced(f"{name} has no geotransform; it would land at 0,0")


@contextmanager
def open_raster(path: str | os.PathLike[str], max_bytes: int = MAX_DECLARED_BYTES) -> Iterator[DatasetReader]:
    """Open a local raster through the allow-list and header checks; yields the open dataset."""
    name = Path(path).name
    driver = sniff_driver(path)
    try:
        src = rasterio.open(path, driver=driver)
    except RasterioError as err:
        raise CorruptRaster(f"{name} cannot be opened as {driver}: {err}") from err
    try:
        check_dataset(src, name, max_bytes)
        yield src
    finally:
        src.close()
