"""One front door for vector files (GeoJSON, KML, KMZ), shared by `facilities import`/`validate`
and the Import page: one size check, the format told from the name and the first bytes, every
bad feature collected as a problem, and the import itself all or nothing. Uploaded images come
in here too, on their way to imagery.local.

The format readers (facilities.geojson_io, facilities.kml_io) stay codecs of bytes; nothing here
knows their internals, so a new format is one more branch in `read_vector_bytes`.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from facilities import geojson_io, kml_io
from facilities.errors import FeatureProblem
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
    format: str  # "geojson" or "kml" (KMZ included)
    registry: Registry = field(default_factory=Registry)
    problems: tuple[FeatureProblem, ...] = ()  # features left out (only with skip_invalid)
    notes: tuple[str, ...] = ()  # what was repaired or assumed

    @property
    def unit(self) -> str:
        """What the file's records are called, for messages: 'feature' or 'placemark'."""
        return "placemark" if self.format == "kml" else "feature"


def vector_format(name: str, head: bytes) -> str:
    """'kml' for KML/KMZ (by the zip or XML signature, else the extension), otherwise 'geojson'."""
    return "kml" if kml_io.is_kml(head, name) else "geojson"


def read_vector_bytes(raw: bytes, name: str, *, max_bytes: int, repair: bool = False, skip_invalid: bool = False,
                      default_precision: str = LocationPrecision.DIGITISED.value) -> VectorFile:
    """Bytes of a GeoJSON or KML/KMZ file -> VectorFile, or InputError naming the file and what is
    wrong (with every bad feature in `problems` unless skip_invalid leaves them out)."""
    check_size(len(raw), max_bytes, name)
    fmt = vector_format(name, raw[:64])
    if fmt == "kml":
        registry, problems, notes = kml_io.read_registry_bytes(
            raw, name, max_bytes=max_bytes, repair=repair, skip_invalid=skip_invalid,
            default_precision=default_precision)
    else:
        registry, problems, notes = geojson_io.read_registry_bytes(
            raw, name, repair=repair, skip_invalid=skip_invalid, default_precision=default_precision)
    return VectorFile(name, fmt, registry, tuple(problems), tuple(notes))


def read_vector_file(path: str | os.PathLike[str], *, max_bytes: int, **options) -> VectorFile:
    """A vector file on disk; its size is checked before a byte is read."""
    return read_vector_bytes(read_import_file(path, max_bytes), str(path), max_bytes=max_bytes, **options)


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
