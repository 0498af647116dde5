"""The Import page: GeoJSON, KML/KMZ and GeoTIFF/COG uploads.

Vector files are parsed and previewed (records, and every problem per feature) and nothing is
written until the analyst presses the import button; the import is all-or-nothing, so a failure
leaves the registry as it was. Images go through imagery.local.import_image (magic bytes, driver
allow-list, pixel budget, georeferencing, COG conversion, provenance sidecar). Errors are shown
in the page with what to do about them; uploaded text reaches the page only through dataframes,
st.text or markdown_text, never as HTML.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from facilities.dates import utc_today
from facilities.errors import FacilitiesError, FeatureProblem, InputError
from facilities.geometry import ground_areas_m2
from facilities.model import LocationPrecision, Registry
from facilities.store import Filter, ImportReport, OnConflict, Store
from facilities.vector_formats import TABLE_FORMATS
from imagery.errors import ImageryError
from tracker.area_text import APPROXIMATE
from tracker.image_checks import EARLIEST_CAPTURE, check_capture_date, image_limit_bytes
from tracker.imports import VectorFile, import_image_upload, import_vector, read_vector_bytes, vector_format
from tracker.settings import Settings
from tracker.upload_limits import UploadLimits, upload_limits
from ui import state
from ui.safe import markdown_text

# the table formats the front door reads (tracker.imports); a Shapefile arrives as a .zip of its parts
VECTOR_TYPES = ("geojson", "json", "kml", "kmz", *(f for f in TABLE_FORMATS if f != "shp"), "zip")
IMAGE_TYPES = ("tif", "tiff")

UPLOAD_KEY = "import_file"  # the uploader's key; state.upload_key adds a generation after each release
_ON_CONFLICT_HELP = {
    OnConflict.ERROR: "refuse the whole file if any id is already in the registry",
    OnConflict.SKIP: "keep what is stored, add only the new ids",
    OnConflict.UPDATE: "replace stored records with the file's (the edit history keeps the old ones)",
}


def upload_limit_mb() -> int:
    """The per-file limit the server enforces (server.maxUploadSize, .streamlit/config.toml: 200 MB)."""
    return int(st.get_option("server.maxUploadSize"))


def vector_limit_mb(settings: Settings) -> int:
    """The largest outline file accepted, in MB: the settings' limit, capped by the server's upload limit."""
    return min(settings.max_import_mb, upload_limit_mb())


def image_limit_mb(settings: Settings) -> int:
    """The one image limit, in MB: the settings' image limit capped by the server's upload limit
    (tracker.image_checks, the CLI's `facilities imagery import` limit too)."""
    return image_limit_bytes(settings, upload_limit_mb()) // 2**20


def limits(settings: Settings) -> UploadLimits:
    """The upload limits this server enforces, each with its one sentence (tracker.upload_limits)."""
    return upload_limits(settings, upload_limit_mb())


def limits_caption(settings: Settings) -> str:
    """The upload limits, stated the same way wherever images or outlines are taken."""
    said = limits(settings)
    return f"{said.outlines} {said.images} {said.held}"


def file_kind(name: str, head: bytes) -> str:
    """'image', 'kml', 'geojson' or '' (refused) from the extension; the bytes decide the rest."""
    suffix = Path(name).suffix.lower().lstrip(".")
    if suffix in IMAGE_TYPES:
        return "image"
    if suffix in VECTOR_TYPES:
        return vector_format(name, head)
    return ""


@dataclass
class Parsed:
    """A vector file read and checked, ready to import (nothing written yet)."""

    name: str
    registry: Registry = field(default_factory=Registry)
    problems: list[FeatureProblem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None  # the file as a whole cannot be read
    unit: str = "feature"
    format: str = "geojson"  # or "kml" (KMZ included)
    preview: pd.DataFrame | None = None


def parse_vector(raw: bytes, name: str, settings: Settings, *, repair: bool = False,
                 default_precision: str = LocationPrecision.DIGITISED.value) -> Parsed:
    """Parse a GeoJSON or KML/KMZ upload through the one front door; bad features are listed, never raised."""
    fmt = vector_format(name, raw[:64])
    unit = "placemark" if fmt == "kml" else "feature"
    try:
        vector = read_vector_bytes(raw, name, max_bytes=vector_limit_mb(settings) * 2**20, repair=repair,
                                   skip_invalid=True, default_precision=default_precision)
    except InputError as err:
        return Parsed(name, problems=err.problems, error=str(err).split("\n", 1)[0], unit=unit)
    except (FacilitiesError, ValueError, RecursionError, MemoryError) as err:
        return Parsed(name, error=f"{name}: cannot be read: {err}", unit=unit)
    return Parsed(name, vector.registry, list(vector.problems), list(vector.notes), unit=unit, format=fmt,
                  preview=preview_frame(vector.registry))


def preview_frame(registry: Registry) -> pd.DataFrame:
    """One row per record: id, name, kind, area in hectares (geodesic), location precision."""
    geoms = np.array([*(f.geometry for f in registry.facilities), *(s.geometry for s in registry.structures)],
                     dtype=object)
    areas = list(np.round(ground_areas_m2(geoms) / 1e4, 2)) if len(geoms) else []
    rows = []
    for f, area in zip(registry.facilities, areas, strict=False):
        rows.append((f.id, f.name, "facility", area, f.location_precision.value))
    for s, area in zip(registry.structures, areas[len(registry.facilities):], strict=True):
        rows.append((s.id, s.name, f"structure of {s.facility_id}", area, s.location_precision.value))
    for o in registry.observations:
        rows.append((o.id, o.summary, f"observation {o.date} at {o.facility_id}", None, ""))
    for src in registry.sources:
        rows.append((src.id, src.title, "source", None, ""))
    return pd.DataFrame(rows, columns=["id", "name", "kind", "area ha", "precision"])


def with_stored(frame: pd.DataFrame, stored_ids: set[str]) -> pd.DataFrame:
    """The preview with a column saying which facility ids the registry already holds."""
    stored = frame["kind"].eq("facility") & frame["id"].isin(stored_ids)
    return frame.assign(**{"in registry": np.where(stored, "already stored", "")})


def problems_frame(problems: list[FeatureProblem], unit: str = "feature") -> pd.DataFrame:
    """A table of the features (or placemarks) that could not be imported and why."""
    rows = [(p.index, getattr(p, "name", None) or p.feature_id or "", p.reason) for p in problems]
    return pd.DataFrame(rows, columns=[unit, "name or id", "problem"])


def stored_facility_ids(store: Store, registry: Registry) -> set[str]:
    """Which of the registry's facility ids are already in the store (looked up 500 at a time)."""
    ids = [f.id for f in registry.facilities]
    found: set[str] = set()
    for k in range(0, len(ids), 500):
        found |= {f.id for f in store.list_facilities(Filter(facility_ids=tuple(ids[k:k + 500])))}
    return found


def import_parsed(store: Store, parsed: Parsed, actor: str, on_conflict: OnConflict) -> ImportReport:
    """All of the parsed records or none (the store's import is one transaction)."""
    return import_vector(store, VectorFile(parsed.name, parsed.format, parsed.registry), actor=actor,
                         on_conflict=on_conflict, note=f"upload {parsed.name}")


def _error(message: str) -> None:
    st.error(markdown_text(message))


def _vector_section(store: Store, settings: Settings, name: str, raw: bytes, upload_id: str) -> bool:
    """Preview and import; True when the upload is done with (imported, or unreadable)."""
    left, right = st.columns(2)
    repair = left.checkbox("Repair invalid outlines (make_valid; every repair is listed)", key="import_repair")
    precisions = [p.value for p in LocationPrecision]
    precision = right.selectbox("Location precision for outlines that do not give one", precisions,
                                index=precisions.index(LocationPrecision.DIGITISED.value), key="import_precision")
    key = (upload_id, name, len(raw), repair, precision)
    cached = state.get(state.IMPORT_PARSED)
    if cached is None or cached[0] != key:
        with st.spinner(f"Reading {name}…"):
            cached = (key, parse_vector(raw, name, settings, repair=repair, default_precision=precision))
        state.put(state.IMPORT_PARSED, cached)
        state.drop(state.IMPORT_REPORT)
    parsed: Parsed = cached[1]
    if parsed.error:
        _error(parsed.error)
        if parsed.problems:
            st.dataframe(problems_frame(parsed.problems, parsed.unit), hide_index=True)
        st.info("Nothing was written. Fix the file and upload it again.")
        return True
    n = len(parsed.registry)
    if n:
        st.subheader(f"{n} records to import")
        st.dataframe(with_stored(parsed.preview, stored_facility_ids(store, parsed.registry)), hide_index=True)
        rough = {p.value for p in APPROXIMATE} & set(parsed.preview["precision"])
        if rough:  # the pages that give one such area say it beside the figure (tracker.area_text)
            st.caption(f"Areas are the outlines' ground areas. Those of {' and '.join(sorted(rough))} outlines are "
                       "not measurements: such an outline is drawn around a place, not traced.")
    if parsed.notes:
        st.markdown("**Notes**")
        st.dataframe(pd.DataFrame({"note": parsed.notes}), hide_index=True)
    leave_out = True
    if parsed.problems:
        k = len(parsed.problems)
        st.warning(f"{k} {parsed.unit}{'' if k == 1 else 's'} cannot be imported; each one and why:")
        st.dataframe(problems_frame(parsed.problems, parsed.unit), hide_index=True)
        leave_out = n > 0 and st.checkbox(f"Import the {n} valid records and leave these {k} out",
                                          key="import_leave_out")
    if n == 0:
        st.info("Nothing in this file can be imported.")
        return True
    on_conflict = st.radio("Ids already in the registry", [c.value for c in OnConflict], key="import_on_conflict",
                           format_func=lambda v: f"{v}: {_ON_CONFLICT_HELP[OnConflict(v)]}")
    if st.button(f"Import {n} records", type="primary", disabled=not leave_out, key="import_go"):
        try:
            report = import_parsed(store, parsed, state.actor(settings), OnConflict(on_conflict))
        except FacilitiesError as err:
            state.drop(state.IMPORT_REPORT)
            _error(f"Nothing was imported: {str(err).splitlines()[0]}")
            problems = getattr(err, "problems", None)
            if problems:
                st.dataframe(problems_frame(problems, "record"), hide_index=True)
            return False  # the analyst may choose another way with ids already stored
        st.success(f"Imported {name}: {report.summary()}.")
        return True
    return False


def _image_section(settings: Settings, name: str, raw: bytes) -> bool:
    """Date and provenance, then the import; True when the upload is done with (imported or refused)."""
    captured = st.date_input("Capture date (required: the date the image was taken)", value=None,
                             min_value=EARLIEST_CAPTURE, max_value=utc_today(),  # Corona to now (UTC dates)
                             key="import_captured")
    sensor = st.text_input("Sensor or provider (optional)", key="import_sensor")
    licence = st.text_input("Licence (optional)", key="import_licence")
    attribution = st.text_input("Attribution (optional)", key="import_attribution")
    if not st.button("Import image", type="primary", key="import_image"):
        return False
    if captured is None:
        _error("Give the capture date: an image without a date cannot be compared with others.")
        return False
    try:  # the date rule `facilities imagery import` applies too (one code path)
        check_capture_date(captured, name)
    except InputError as err:
        _error(f"{name} was not imported: {err}")
        return False
    try:
        with st.spinner(f"Checking {name} and converting it to a Cloud-Optimised GeoTIFF…"):
            capture = import_image_upload(raw, name, settings.data_dir, captured, sensor, licence, attribution)
    except ImageryError as err:
        _error(f"{name} was not imported: {err}")
        return True
    except OSError as err:
        _error(f"{name} was not imported: the imagery folder cannot be written ({err.strerror or err}).")
        return True
    except ValueError as err:  # e.g. a coordinate system GDAL cannot transform to lon/lat
        _error(f"{name} was not imported: its georeferencing cannot be used ({err}).")
        return True
    west, south, east, north = capture.extra["bounds_wgs84"]
    st.success(f"Imported {name} as an image of {capture.date.isoformat()}.")
    st.dataframe(pd.DataFrame([
        ("stored at", capture.extra["path"]),
        ("image id (sha256)", capture.capture_id),
        ("footprint (W, S, E, N)", f"{west:.5f}, {south:.5f}, {east:.5f}, {north:.5f}"),
        ("resolution", f"{capture.resolution_m:.2f} m" if capture.resolution_m else "unknown"),
    ], columns=["", "value"]), hide_index=True)
    return True


def import_page(store: Store, settings: Settings) -> None:
    """The import page: outline files (GeoJSON, KML, KMZ) and georeferenced images, checked before anything is
    written; a failed import changes nothing."""
    st.title("Import")
    st.caption(limits_caption(settings) +
               " Nothing is written until you press the import button; a failed import changes nothing.")
    st.markdown("Article text: use the **Read articles** page.")
    upload = st.file_uploader("Outline file (GeoJSON, KML/KMZ, GeoPackage, FlatGeobuf, GeoParquet, CSV, zipped "
                              "Shapefile) or GeoTIFF/COG", type=[*VECTOR_TYPES, *IMAGE_TYPES],
                              key=state.upload_key(UPLOAD_KEY))
    if upload is None:
        return
    if _take_upload(store, settings, upload):
        # imported or refused: out of the server's memory now, the widget empty on the next run
        state.release_upload(settings, UPLOAD_KEY, upload)
        state.drop(state.IMPORT_PARSED)


def _take_upload(store: Store, settings: Settings, upload) -> bool:
    """Handle one upload; True when it is done with (imported or refused) and can be released."""
    refused = state.hold_upload(settings, upload)
    if refused:
        _error(refused)
        return True
    raw = upload.getvalue()
    kind = file_kind(upload.name, raw[:64])
    if not kind:
        _error(f"{upload.name}: not a file type this page imports (GeoJSON, KML/KMZ, GeoPackage, FlatGeobuf, "
               "GeoParquet, CSV, zipped Shapefile, GeoTIFF).")
        return True
    limit = image_limit_mb(settings)
    # one image size rule with the CLI (tracker.image_checks); vector files: tracker.imports checks their size
    if kind == "image" and len(raw) > image_limit_bytes(settings, upload_limit_mb()):
        _error(f"{upload.name} is {len(raw) / 2**20:,.1f} MB; the image limit is {limit} MB (TRACKER_MAX_IMAGE_MB).")
        return True
    upload_id = str(getattr(upload, "file_id", "") or "")
    if kind == "image":
        return _image_section(settings, upload.name, raw)
    return _vector_section(store, settings, upload.name, raw, upload_id)
