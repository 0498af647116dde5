"""One front door for vector files (GeoJSON, KML, KMZ, and through pyogrio GeoPackage, FlatGeobuf,
GeoParquet, Shapefile and CSV with WKT), shared by `facilities import`/`validate`
and the Import page: one size check, the format told from the name and the first bytes, every
bad feature collected as a problem, and the import itself all or nothing. Uploaded images come
in here too, on their way to imagery.local.

The format readers (facilities.geojson_io, facilities.kml_io) stay codecs of bytes; nothing here
knows their internals, so a new format is one more branch in `read_vector_bytes`.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from facilities import geojson_io, kml_io, vector_formats
from facilities.errors import FeatureProblem, InputError
from facilities.files import check_size, read_import_file
from facilities.model import LocationPrecision, Registry
from facilities.stale import owner_tag, sweep
from facilities.store import ImportReport, OnConflict, Store
from imagery.base import Capture
from imagery.local import COG_TEMP, import_image

# tempfile.mkdtemp names: tracker-upload.<host>-<pid>.<random> (older versions: tracker-upload-<random>)
UPLOAD_DIR = re.compile(r"^tracker-upload(?:\.(?P<host>[A-Za-z0-9-]+)-(?P<pid>\d+)\.|-)[a-z0-9_]{8}$")


@dataclass(frozen=True)
class VectorFile:
    """A vector file read and checked, ready to import (nothing written yet)."""

    name: str
    format: str  # "geojson", "kml" (KMZ included), or a table format: gpkg, fgb, parquet, shp, csv
    registry: Registry = field(default_factory=Registry)
    problems: tuple[FeatureProblem, ...] = ()  # features left out (only with skip_invalid)
    notes: tuple[str, ...] = ()  # what was repaired or assumed

    @property
    def unit(self) -> str:
        """What the file's records are called, for messages: 'feature' or 'placemark'."""
        return "placemark" if self.format == "kml" else "feature"


def vector_format(name: str, head: bytes) -> str:
    """'kml' for KML/KMZ (by the zip or XML signature, else the extension); a table format
    (gpkg, fgb, parquet, shp, csv) by its signature or extension; otherwise 'geojson'."""
    table = vector_formats.format_of(name)
    if head.startswith(b"SQLite format 3\x00"):
        return "gpkg"
    if head.startswith(b"fgb\x03"):
        return "fgb"
    if head.startswith(b"PAR1"):
        return "parquet"
    if name.lower().endswith(".zip") and head.startswith(b"PK"):
        return "shp"  # a zipped Shapefile; a KMZ says .kmz
    if table in vector_formats.TABLE_FORMATS:
        return table
    return "kml" if kml_io.is_kml(head, name) else "geojson"


def read_vector_bytes(raw: bytes, name: str, *, max_bytes: int, repair: bool = False, skip_invalid: bool = False,
                      default_precision: str = LocationPrecision.DIGITISED.value) -> VectorFile:
    """Bytes of a GeoJSON or KML/KMZ file -> VectorFile, or InputError naming the file and what is
    wrong (with every bad feature in `problems` unless skip_invalid leaves them out)."""
    check_size(len(raw), max_bytes, name)
    fmt = vector_format(name, raw[:64])
    if fmt in vector_formats.TABLE_FORMATS:
        return _read_table_bytes(raw, name, fmt, max_bytes=max_bytes, repair=repair, skip_invalid=skip_invalid,
                                 default_precision=default_precision)
    if fmt == "kml":
        registry, problems, notes = kml_io.read_registry_bytes(
            raw, name, max_bytes=max_bytes, repair=repair, skip_invalid=skip_invalid,
            default_precision=default_precision)
    else:
        registry, problems, notes = geojson_io.read_registry_bytes(
            raw, name, repair=repair, skip_invalid=skip_invalid, default_precision=default_precision)
    return VectorFile(name, fmt, registry, tuple(problems), tuple(notes))


def read_vector_file(path: str | os.PathLike[str], *, max_bytes: int, **options) -> VectorFile:
    """A vector file on disk; its size is checked before a byte is read. Table formats are read
    where they lie (a Shapefile with its .dbf, .shx, .prj and field-name sidecar)."""
    fmt = vector_formats.format_of(path)
    if fmt in vector_formats.TABLE_FORMATS and Path(path).is_file():
        table = vector_formats.read_table_file(path, max_bytes=max_bytes, **options)
        return VectorFile(str(path), fmt, table.registry, table.problems, table.notes)
    return read_vector_bytes(read_import_file(path, max_bytes), str(path), max_bytes=max_bytes, **options)


_SHAPEFILE_PARTS = (".shp", ".dbf", ".shx", ".prj", ".cpg")


def _read_table_bytes(raw: bytes, name: str, fmt: str, *, max_bytes: int, **options) -> VectorFile:
    """An uploaded table file, written to a private temporary folder under its sanitised name
    and read there; a Shapefile comes as a .zip of its parts (and its .fields.json sidecar)."""
    with tempfile.TemporaryDirectory(prefix="tracker-upload-") as tmp:
        base = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name).name).strip("._") or "upload"
        if fmt == "shp":
            path = _unzip_shapefile(raw, Path(tmp), name, max_bytes)
        else:
            path = Path(tmp) / (Path(base).stem[:100] + vector_formats.FORMATS[fmt][0][0])
            path.write_bytes(raw)
        table = vector_formats.read_table_file(path, max_bytes=max_bytes, **options)
    return VectorFile(name, fmt, table.registry, table.problems, table.notes)


def _unzip_shapefile(raw: bytes, folder: Path, name: str, max_bytes: int) -> Path:
    """The parts of one Shapefile set from a zip, by their base names only (no paths from the
    archive are used), their total unpacked size checked against the import limit."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
        members = [m for m in archive.infolist() if not m.is_dir()
                   and (Path(m.filename).suffix.lower() in _SHAPEFILE_PARTS or m.filename.endswith(".fields.json"))]
        check_size(sum(m.file_size for m in members), max_bytes, name)
        shps = [m for m in members if m.filename.lower().endswith(".shp")]
        if not shps:
            raise InputError("is a zip without a Shapefile (.shp) in it", source=name)
        for m in members:
            target = folder / re.sub(r"[^A-Za-z0-9._-]+", "_", Path(m.filename).name)
            target.write_bytes(archive.read(m))
    except (zipfile.BadZipFile, OSError, ValueError) as err:
        raise InputError(f"is not a readable zip: {err}", source=name) from None
    main = min(shps, key=lambda m: len(m.filename))  # the sidecar names the others
    return folder / re.sub(r"[^A-Za-z0-9._-]+", "_", Path(main.filename).name)


def import_vector(store: Store, vector: VectorFile, *, actor: str, on_conflict: OnConflict = OnConflict.ERROR,
                  note: str | None = None) -> ImportReport:
    """All of the file's records or none (the store's import is one transaction)."""
    return store.import_registry(vector.registry, actor=actor, on_conflict=on_conflict, note=note or vector.name)


def _safe_filename(name: str) -> str:
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name).name).strip("._") or "upload"
    return base[:100] + ("" if base.lower().endswith((".tif", ".tiff")) else ".tif")


def import_image_upload(raw: bytes, name: str, data_dir: str | os.PathLike[str], captured: dt.date,
                        sensor: str = "", licence: str = "", attribution: str = "") -> Capture:
    """An uploaded GeoTIFF/COG into the local imagery: written to a private temporary file under its
    own (sanitised) name, which the provenance records, then checked and converted by
    imagery.local.import_image. Raises ImageryError with a message for the analyst.

    Copies that killed imports left (their temporary folder, a half-converted COG) are removed
    first when their process is gone (facilities.stale)."""
    sweep(tempfile.gettempdir(), UPLOAD_DIR, folders=True)
    sweep(Path(data_dir) / "imagery", COG_TEMP)
    with tempfile.TemporaryDirectory(prefix=f"tracker-upload.{owner_tag()}.") as tmp:
        path = Path(tmp) / _safe_filename(name)
        path.write_bytes(raw)
        return import_image(path, data_dir, captured, sensor.strip() or None, licence.strip(), attribution.strip())
