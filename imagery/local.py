"""Imagery an analyst owns: import as a COG with provenance, and a source over the imports.

An uploaded ".tif" may be anything (a VRT disguised as TIFF, a sparse TIFF declaring 120 GB), so
every file is opened through imagery.rasters: magic bytes, a driver allow-list, the declared size
checked from the header before any pixel is read.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
import rasterio.shutil
from rasterio.errors import RasterioError
from rasterio.io import DatasetReader

from imagery.base import BBox, Capture, Chip, DateCertainty
from imagery.chips import Grid, grid_for_bbox, make_chip
from imagery.errors import CorruptRaster, RasterError
from imagery.georef import check_full_resolution, check_georeferencing

# the safe open lives in imagery.rasters (shared with the chips); its names stay importable from here
from imagery.rasters import MAX_BANDS, MAX_DECLARED_BYTES, MAX_SIDE, check_dataset, open_raster, sniff_driver

__all__ = ["MAX_BANDS", "MAX_DECLARED_BYTES", "MAX_SIDE", "PROVIDER", "ImportedImage", "LocalSource",
           "check_dataset", "import_image", "import_image_files", "is_cog", "open_raster", "sha256_file",
           "sniff_driver"]

PROVIDER = "local"
_SHA256 = re.compile(r"[0-9a-f]{64}")
_NIR = re.compile(r"\bnir\b|near[ -]?infra-?red|\bb0?8\b")  # band descriptions naming near-infrared
_RED = re.compile(r"\bred\b|\bb0?4\b")
# The COG being written: .<sha256>.<pid>.tmp.tif (untagged before). A later import removes one whose
# process is gone (tracker.imports through facilities.stale): a killed conversion left hundreds of MB.
COG_TEMP = re.compile(r"^\.[0-9a-f]{64}\.(?:(?P<pid>\d+)\.)?tmp\.tif$")


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def is_cog(src: DatasetReader) -> bool:
    """GDAL marks files written by its COG driver; anything else is converted on import."""
    layout = src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT", "")
    return src.driver == "GTiff" and layout.upper() == "COG"


def _validate_pixels(src: DatasetReader, name: str) -> None:
    # A decimated read touches every overview block (or every block without overviews) cheaply
    # enough to catch corrupt or truncated tiles before the file is accepted.
    scale = max(src.width, src.height) / 512
    shape = (src.count, max(1, int(src.height / scale)), max(1, int(src.width / scale)))
    try:
        src.read(out_shape=shape if scale > 1 else None)
    except RasterioError as err:
        raise CorruptRaster(f"{name}: pixels cannot be decoded ({err})") from err


@dataclass(frozen=True)
class ImportedImage:
    """An image file imported into the data directory: its capture, the stored GeoTIFF and the JSON sidecar
    describing it."""

    capture: Capture
    path: Path
    sidecar: Path


def import_image(path: str | os.PathLike[str], data_dir: str | os.PathLike[str], captured: dt.date,
                 sensor: str | None = None, licence: str = "", attribution: str = "",
                 max_bytes: int = MAX_DECLARED_BYTES) -> Capture:
    """Check, convert to COG when needed and store under data_dir/imagery/<sha256>.tif with a sidecar."""
    return import_image_files(path, data_dir, captured, sensor, licence, attribution, max_bytes).capture


def import_image_files(path: str | os.PathLike[str], data_dir: str | os.PathLike[str], captured: dt.date,
                       sensor: str | None = None, licence: str = "", attribution: str = "",
                       max_bytes: int = MAX_DECLARED_BYTES) -> ImportedImage:
    """Validate a georeferenced raster and store it under data_dir/imagery as <sha256>.tif with a JSON sidecar (date,
    sensor, licence, footprint), so LocalSource lists it."""
    src_path = Path(path)
    out_dir = Path(data_dir) / "imagery"
    out_dir.mkdir(parents=True, exist_ok=True)
    with open_raster(src_path, max_bytes) as src:
        west, south, east, north = check_georeferencing(src, src_path.name)
        _validate_pixels(src, src_path.name)  # the overviews, which the map shows
        check_full_resolution(src, src_path.name)  # every full-resolution block, which chips read
        digest = sha256_file(src_path)
        dest, sidecar = out_dir / f"{digest}.tif", out_dir / f"{digest}.json"
        tmp = out_dir / f".{digest}.{os.getpid()}.tmp.tif"  # COG_TEMP
        try:
            if is_cog(src):
                shutil.copyfile(src_path, tmp)
            else:
                rasterio.shutil.copy(src, tmp, driver="COG", COMPRESS="DEFLATE", BLOCKSIZE=512,
                                     OVERVIEWS="AUTO", NUM_THREADS="ALL_CPUS", BIGTIFF="IF_SAFER")
            os.replace(tmp, dest)
        except RasterioError as err:
            raise CorruptRaster(f"{src_path.name} could not be converted to a COG: {err}") from err
        finally:
            tmp.unlink(missing_ok=True)
        res_m = _resolution_m(src)
        meta = {
            "original_name": src_path.name, "sha256": digest, "captured": captured.isoformat(),
            "sensor": sensor, "licence": licence, "attribution": attribution,
            "crs": src.crs.to_string(), "width": src.width, "height": src.height, "count": src.count,
            "dtype": src.dtypes[0], "bounds_wgs84": [west, south, east, north], "resolution_m": res_m,
            "converted": not is_cog(src), "imported_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
    tmp_json = sidecar.with_suffix(".json.tmp")
    tmp_json.write_text(json.dumps(meta, indent=1), encoding="utf-8")
    os.replace(tmp_json, sidecar)
    return ImportedImage(_capture_from_meta(meta, dest), dest, sidecar)


def _resolution_m(src: DatasetReader) -> float | None:
    if src.crs.is_projected:
        return float(abs(src.transform.a)) * float(src.crs.linear_units_factor[1])
    if src.crs.is_geographic:  # degrees to metres at the image centre latitude
        lat = (src.bounds.bottom + src.bounds.top) / 2
        return float(abs(src.transform.a)) * 111_320 * float(np.cos(np.radians(lat)))
    return None


def _capture_from_meta(meta: dict, path: Path) -> Capture:
    return Capture(
        provider=PROVIDER, capture_id=meta["sha256"], date=dt.date.fromisoformat(meta["captured"]),
        certainty=DateCertainty.STATED, resolution_m=meta.get("resolution_m"), licence=meta.get("licence", ""),
        attribution=meta.get("attribution", ""), sensor=meta.get("sensor"),
        extra={"path": str(path), "original_name": meta.get("original_name"), "bounds_wgs84": meta["bounds_wgs84"]},
    )


def _bbox_intersects(a: Sequence[float], b: Sequence[float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


class LocalSource:
    """The analyst's imports in data_dir/imagery, listed from their provenance sidecars."""

    key = PROVIDER

    def __init__(self, data_dir: str | os.PathLike[str], pixel_size: float = 0.5) -> None:
        self.dir = Path(data_dir) / "imagery"
        self.pixel_size = pixel_size

    def revision(self) -> int:
        """Changes when an import is added or removed (the directory's mtime): one stat, so callers
        can cache the listing and still see a new import at once."""
        try:
            return self.dir.stat().st_mtime_ns
        except OSError:
            return 0

    def captures(self, bbox: BBox, start: dt.date | None = None, end: dt.date | None = None) -> list[Capture]:
        """Imported images whose footprint meets `bbox` and whose date is in range, oldest first; a broken sidecar
        hides only its own image."""
        found = []
        for sidecar in sorted(self.dir.glob("*.json")):
            try:
                meta = json.loads(sidecar.read_text(encoding="utf-8"))
                cap = _capture_from_meta(meta, sidecar.with_suffix(".tif"))
            except (OSError, ValueError, KeyError):
                continue  # a broken sidecar hides one import, it must not break the listing
            if not _bbox_intersects(meta["bounds_wgs84"], bbox):
                continue
            if (start and cap.date and cap.date < start) or (end and cap.date and cap.date > end):
                continue
            found.append(cap)
        return sorted(found, key=lambda c: (c.date or dt.date.min, c.capture_id))

    def read(self, capture: Capture, bbox: BBox, size: tuple[int, int]) -> Chip:
        """Read an imported image over `bbox` into a chip; RasterError for a capture that is not a local import."""
        return self.chip(capture, grid_for_bbox(bbox, size=size))

    def red_nir_bands(self, capture: Capture) -> tuple[int, int] | None:
        """(red, near-infrared) band numbers of an imported image whose band descriptions name a near-infrared
        band ('NIR', 'near infrared', 'B08'/'B8'); red is the band described as red ('red', 'B04'), else band 1.
        None when no band is described as near-infrared."""
        path = self.dir / f"{capture.capture_id}.tif"
        if capture.provider != PROVIDER or not _SHA256.fullmatch(capture.capture_id):
            raise RasterError(f"not a local import: {capture.provider}/{capture.capture_id!r}")
        with open_raster(path) as src:
            names = [(d or "").strip().lower() for d in src.descriptions]
        nir = next((i for i, d in enumerate(names, 1) if _NIR.search(d)), None)
        if nir is None:
            return None
        red = next((i for i, d in enumerate(names, 1) if _RED.search(d) and i != nir), 1)
        return red, nir

    def chip(self, capture: Capture, grid: Grid, bands: list[int] | None = None) -> Chip:
        """An imported image warped onto `grid` (bands 1-3 unless `bands` names others)."""
        if capture.provider != PROVIDER or not _SHA256.fullmatch(capture.capture_id):
            raise RasterError(f"not a local import: {capture.provider}/{capture.capture_id!r}")  # no ../ paths
        path = self.dir / f"{capture.capture_id}.tif"
        try:
            return make_chip(path, grid, capture=capture, bands=bands)
        except RasterioError as err:  # make_chip maps read errors; anything else GDAL raises names the image too
            shown = capture.extra.get("original_name") or capture.capture_id
            raise CorruptRaster(f"imported image {shown} ({capture.capture_id[:12]}): cannot be read ({err})") from err
