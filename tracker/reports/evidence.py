"""The evidence as data: `tracker-report evidence FACILITY -o DIR` (issue 17, item 4).

`write_evidence` writes into DIR what a colleague, QGIS or a GIS pipeline can check again:
- `change_polygons.geojson` and `footprints.geojson` (RFC 7946, EPSG:4326), and the same two layers in
  `evidence.gpkg` (tracker.reports.evidence_layers says what each field holds);
- `difference_<observation id>.tif` for each accepted change whose two images can still be read: the pair
  measured again through tracker.change.site_change (the session refuses images the server may not read,
  such as Esri Wayback), written as a Cloud-Optimised GeoTIFF (GDAL's COG driver) holding the per-pixel change
  magnitude in noise sigmas of the pair (imagery.change.Change.magnitude), NaN (the nodata value) where either
  image has no data, its tags naming both image keys (BEFORE, AFTER), their dates and the METHOD. A pair
  that can no longer be read (an image deleted, a source no longer listing it) is listed as skipped with the
  reason; its polygons are still exported, with their recorded geometry and ellipsoidal area;
- `README.txt` (for people) and `manifest.json` (for programs): every file with its sha256, size and what
  it holds, the image keys, the generation time, the skipped pairs.

Nothing is half-written: the files are made in a temporary folder beside DIR (`.DIR.<host>-<pid>.<random>.part`,
removed on failure, and by a later run when its process is gone), which is renamed to DIR when DIR is new or
empty. A non-empty DIR is refused unless `force`: then each new file is renamed into DIR (manifest.json last,
so a manifest always describes files that are there), the files an earlier export's manifest listed that this
export does not write are removed, and any other file in DIR is left alone. The registry is only read.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyogrio.errors
import rasterio
import rasterio.errors
import rasterio.shutil
from rasterio.io import MemoryFile

from facilities.errors import FacilitiesError
from facilities.stale import PART_FILE, owner_tag, sweep
from facilities.store import Store
from imagery.errors import ImageryError
from imagery.session import ImagerySession
from tracker.change import SiteChange, site_change
from tracker.errors import OutputNotEmpty, TrackerError
from tracker.reports.evidence_layers import CHANGE_FIELDS, FOOTPRINT_FIELDS, Row, change_rows, footprint_rows
from tracker.reports.measured import MeasuredPair, measured_pair
from tracker.reports.output import software_version, utc_now
from tracker.site import load_site
from tracker.timeline import find_facility

log = logging.getLogger(__name__)

GPKG = "evidence.gpkg"
CHANGE_LAYER = "change_polygons"
FOOTPRINT_LAYER = "footprints"
MANIFEST = "manifest.json"
README = "README.txt"
UNITS = "noise sigmas"
BLOCKSIZE = 256  # COG tiles; overviews are made down to one tile


@dataclass(frozen=True)
class EvidenceFile:
    """One file written: its name in DIR, sha256 (hex), size, what it holds, and the image keys it concerns."""

    name: str
    sha256: str
    bytes: int
    holds: str
    image_keys: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        """The manifest's entry."""
        return {"name": self.name, "sha256": self.sha256, "bytes": self.bytes, "holds": self.holds,
                "image_keys": list(self.image_keys)}


@dataclass(frozen=True)
class SkippedPair:
    """An accepted change whose pair could not be measured again (no difference raster), and why."""

    observation_id: str
    before: str
    after: str
    reason: str

    def as_json(self) -> dict[str, str]:
        """The manifest's entry."""
        return {"observation_id": self.observation_id, "before": self.before, "after": self.after,
                "reason": self.reason}


@dataclass(frozen=True)
class EvidenceResult:
    """What `write_evidence` wrote (manifest.json last among `files`) and left out."""

    out_dir: Path
    facility_id: str
    generated_at: str
    files: tuple[EvidenceFile, ...]
    skipped: tuple[SkippedPair, ...]
    change_polygons: int  # features in the change_polygons layer
    footprints: int  # features in the footprints layer
    removed: tuple[str, ...] = ()  # an earlier export's files in DIR that this one replaced or no longer writes

    def lines(self) -> list[str]:
        """What the CLI prints: one line per file, then one per skipped pair."""
        out = [f"wrote {self.out_dir}: {self.change_polygons} change polygon(s), {self.footprints} footprint(s), "
               f"{sum(f.name.endswith('.tif') for f in self.files)} difference raster(s)"]
        out += [f"  {f.name}  {f.sha256[:12]}  {f.holds}" for f in self.files]
        out += [f"skipped {s.before} -> {s.after} ({s.observation_id}): {s.reason}" for s in self.skipped]
        return out


def sha256_of(path: Path) -> str:
    """The sha256 of a file's bytes, hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# -- the target directory ---------------------------------------------------------------------------------------

def check_target(out: Path, force: bool) -> None:
    """OutputNotEmpty when `out` is a file, or a directory holding anything while `force` is false."""
    if out.exists() and not out.is_dir():
        raise OutputNotEmpty(f"{out} is a file, not a directory: name a new or empty directory with -o")
    if out.is_dir() and not force:
        entries = sorted(p.name for p in out.iterdir())
        if entries:
            shown = ", ".join(entries[:3]) + (", …" if len(entries) > 3 else "")
            raise OutputNotEmpty(f"{out} is not empty ({len(entries)} entries: {shown}); name a new or empty "
                                 "directory, or pass --force to replace an earlier export's files there")


def _earlier_files(out: Path) -> set[str]:
    """The plain file names an earlier export's manifest in `out` lists (none without a readable manifest)."""
    try:
        doc = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
        names = {str(f["name"]) for f in doc.get("files", [])} | {MANIFEST}
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return set()
    return {n for n in names if n and "/" not in n and "\\" not in n and n not in (".", "..")}


def _publish(staging: Path, out: Path, names: Sequence[str]) -> tuple[str, ...]:
    """Move the staged files into `out` (see the module docstring); returns the earlier files removed."""
    if not out.exists() or (out.is_dir() and not any(out.iterdir())):
        os.replace(staging, out)  # a new or empty directory: one rename, all or nothing
        return ()
    earlier = _earlier_files(out)
    for name in [n for n in names if n != MANIFEST] + [MANIFEST]:
        os.replace(staging / name, out / name)
    gone = sorted(earlier - set(names))
    for name in gone:
        target = out / name
        if target.is_file() and not target.is_symlink():
            target.unlink()
    shutil.rmtree(staging, ignore_errors=True)
    return tuple(sorted(earlier & set(names))) + tuple(gone)


# -- the files --------------------------------------------------------------------------------------------------

def _frame(rows: Sequence[Row], fields: Sequence[tuple[str, str]]) -> gpd.GeoDataFrame:
    data = pd.DataFrame({name: pd.Series([r.properties[name] for r in rows], dtype=dtype) for name, dtype in fields})
    return gpd.GeoDataFrame(data, geometry=gpd.GeoSeries([r.geometry for r in rows], crs="EPSG:4326"))


def _write_layers(folder: Path, layers: dict[str, gpd.GeoDataFrame]) -> None:
    for layer, frame in layers.items():
        pyogrio.write_dataframe(frame, folder / f"{layer}.geojson", driver="GeoJSON", geometry_type="MultiPolygon",
                                layer_options={"RFC7946": "YES", "WRITE_NAME": "NO"})
        pyogrio.write_dataframe(frame, folder / GPKG, layer=layer, driver="GPKG", geometry_type="MultiPolygon")


def write_difference_cog(path: Path, measured: SiteChange, observation_ids: Iterable[str]) -> None:
    """The pair's change magnitude in noise sigmas as a float32 COG (NaN = nodata) tagged with both image keys."""
    change = measured.change
    grid = change.grid
    data = change.magnitude.astype(np.float32)
    profile = {"driver": "GTiff", "width": grid.width, "height": grid.height, "count": 1, "dtype": "float32",
               "crs": grid.crs, "transform": grid.transform, "nodata": float("nan")}
    tags = {"BEFORE": str(measured.before.key), "AFTER": str(measured.after.key),
            "BEFORE_DATE": measured.before.date.isoformat() if measured.before.date else "",
            "AFTER_DATE": measured.after.date.isoformat() if measured.after.date else "",
            "METHOD": change.method, "UNITS": UNITS, "FACILITY": measured.facility.id,
            "OBSERVATIONS": ",".join(observation_ids), "SIGNIFICANT": str(change.significant).lower(),
            "CHANGED_M2": f"{change.changed_m2:.1f}", "NOISE_SIGMA": ",".join(f"{s:.4g}" for s in change.noise_sigma),
            "PIXEL_SIZE_M": f"{measured.pixel_size_m:g}", "INDEX": change.index.value}
    with MemoryFile() as mem:
        with mem.open(**profile) as dst:
            dst.write(data, 1)
            dst.update_tags(**tags)
            dst.set_band_description(1, f"change magnitude ({UNITS}): {tags['BEFORE']} -> {tags['AFTER']}")
            dst.update_tags(1, UNITS=UNITS)
        with mem.open() as src:
            rasterio.shutil.copy(src, path, driver="COG", COMPRESS="DEFLATE", PREDICTOR="YES", BLOCKSIZE=BLOCKSIZE,
                                 OVERVIEW_RESAMPLING="AVERAGE")


def _built_up_only(pair: MeasuredPair) -> bool:
    # change_observation's summary says so (tracker.change); the flag changes which regions were counted
    return "(built-up only)" in pair.observation.summary


def _readme(facility: str, name: str, generated: str, files: Sequence[EvidenceFile],
            skipped: Sequence[SkippedPair], keys: Sequence[str]) -> str:
    lines = [f"Evidence as data: {name} ({facility})", f"Generated {generated} by facility-tracker "
             f"{software_version()}.", "",
             "Files (sha256, bytes, what each holds; manifest.json lists the same and this file's hash):"]
    for f in files:
        lines += [f"  {f.name}", f"    sha256 {f.sha256}  {f.bytes} bytes", f"    {f.holds}"]
        if f.image_keys:
            lines.append(f"    images: {', '.join(f.image_keys)}")
    lines += ["", "Fields:",
              f"  {CHANGE_LAYER}: {', '.join(n for n, _ in CHANGE_FIELDS)}",
              f"  {FOOTPRINT_LAYER}: {', '.join(n for n, _ in FOOTPRINT_FIELDS)}",
              "  area_m2 says how it was measured in area_basis; difference rasters hold the per-pixel change "
              f"magnitude in {UNITS} of the pair, NaN where either image has no data; their tags name BEFORE and "
              "AFTER (image keys) and the METHOD.", ""]
    lines.append("Images named: " + (", ".join(keys) if keys else "none"))
    if skipped:
        lines += ["", "Pairs not measured again (no difference raster; polygons exported as recorded):"]
        lines += [f"  {s.observation_id}: {s.before} -> {s.after}: {s.reason}" for s in skipped]
    return "\n".join(lines) + "\n"


def _file(folder: Path, name: str, holds: str, keys: Iterable[str] = ()) -> EvidenceFile:
    path = folder / name
    return EvidenceFile(name, sha256_of(path), path.stat().st_size, holds, tuple(dict.fromkeys(keys)))


def _stage(folder: Path, store: Store, session: ImagerySession,
           facility_id: str) -> tuple[list[EvidenceFile], list[SkippedPair], int, int]:
    """Every file but README and manifest into `folder`."""
    site = load_site(store, facility_id)
    pairs = [p for p in (measured_pair(o) for o in site.observations) if p is not None]
    changes = [p for p in pairs if p.kind == "change" and p.observation.geometry is not None]
    datings = [p for p in pairs if p.kind == "dating"]
    files: list[EvidenceFile] = []
    skipped: list[SkippedPair] = []
    rows: list[Row] = []
    done: dict[tuple[str, str, bool], tuple[SiteChange, str] | str] = {}  # a pair measured once per export
    for p in changes:
        o, what = p.observation, (str(p.before), str(p.after), _built_up_only(p))
        if what not in done:
            try:
                measured = site_change(store, session, facility_id, what[0], what[1], built_up_only=what[2])
            except (ImageryError, FacilitiesError) as err:  # deleted, no longer listed, or never readable
                done[what] = str(err)
            else:
                raster = f"difference_{o.id}.tif"
                ids = [q.observation.id for q in changes if (str(q.before), str(q.after), _built_up_only(q)) == what]
                write_difference_cog(folder / raster, measured, ids)
                files.append(_file(folder, raster, f"change magnitude in {UNITS} between the two images, float32 "
                                   f"COG, nodata NaN ({measured.pixel_size_m:g} m pixels, "
                                   f"{measured.change.grid.crs})", what[:2]))
                done[what] = (measured, raster)
        got = done[what]
        if isinstance(got, str):
            skipped.append(SkippedPair(o.id, what[0], what[1], got))
            rows += change_rows(p, None)
        else:
            rows += change_rows(p, got[0].change.regions, method=got[0].change.method, raster=got[1])
    prints = footprint_rows(site, datings)
    _write_layers(folder, {CHANGE_LAYER: _frame(rows, CHANGE_FIELDS),
                           FOOTPRINT_LAYER: _frame(prints, FOOTPRINT_FIELDS)})
    change_keys = [k for p in changes for k in (str(p.before), str(p.after))]
    print_keys = [str(r.properties[k]) for r in prints for k in ("traced_on", "absent_until", "present_from",
                                                                 "present_until", "absent_from") if r.properties[k]]
    layers = [
        _file(folder, f"{CHANGE_LAYER}.geojson", f"{len(rows)} changed region(s) of accepted change observations "
              "(GeoJSON, RFC 7946, EPSG:4326)", change_keys),
        _file(folder, f"{FOOTPRINT_LAYER}.geojson", f"{len(prints)} structure footprint(s) with traced_on and "
              "brackets (GeoJSON, RFC 7946, EPSG:4326)", print_keys),
        _file(folder, GPKG, f"GeoPackage with layers {CHANGE_LAYER} ({len(rows)}) and {FOOTPRINT_LAYER} "
              f"({len(prints)}), EPSG:4326", [*change_keys, *print_keys]),
    ]
    return layers + files, skipped, len(rows), len(prints)


def write_evidence(store: Store, session: ImagerySession, facility: str, out_dir: str | os.PathLike[str], *,
                   force: bool = False) -> EvidenceResult:
    """Write the evidence of `facility` (id, name or alias) into `out_dir` (module docstring); return what was
    written. NotFound for an unknown facility and OutputNotEmpty for a non-empty `out_dir` without `force`,
    both before anything is read or written; TrackerError naming the directory when it cannot be written."""
    fac = find_facility(store, facility)
    out = Path(out_dir)
    check_target(out, force)
    generated = utc_now()
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        sweep(out.parent, PART_FILE, folders=True)  # what killed runs left beside it
        staging = out.parent / f".{out.name}.{owner_tag()}.{secrets.token_hex(4)}.part"
        staging.mkdir()  # the umask's mode (mkdtemp's 0700 would make DIR private once renamed)
    except OSError as err:
        raise TrackerError(f"cannot write the evidence beside {out}: {err.strerror or err}") from err
    try:
        files, skipped, n_changes, n_prints = _stage(staging, store, session, fac.id)
        keys = sorted({k for f in files for k in f.image_keys})
        (staging / README).write_text(_readme(fac.id, fac.name, generated, files, skipped, keys), encoding="utf-8")
        files.append(_file(staging, README, "what this directory holds, for people"))
        manifest = {"facility": {"id": fac.id, "name": fac.name}, "generated_at": generated,
                    "software": {"name": "facility-tracker", "version": software_version()},
                    "image_keys": keys, "files": [f.as_json() for f in files],
                    "skipped": [s.as_json() for s in skipped],
                    "counts": {CHANGE_LAYER: n_changes, FOOTPRINT_LAYER: n_prints,
                               "difference_rasters": sum(f.name.endswith(".tif") for f in files)},
                    "fields": {CHANGE_LAYER: [n for n, _ in CHANGE_FIELDS],
                               FOOTPRINT_LAYER: [n for n, _ in FOOTPRINT_FIELDS]}}
        (staging / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        manifest_file = EvidenceFile(MANIFEST, sha256_of(staging / MANIFEST), (staging / MANIFEST).stat().st_size,
                                     "every other file with its sha256, the image keys, the generation time")
        removed = _publish(staging, out, [f.name for f in files] + [MANIFEST])
    except (OSError, pyogrio.errors.DataSourceError, rasterio.errors.RasterioError) as err:
        raise TrackerError(f"cannot write the evidence to {out}: {getattr(err, 'strerror', None) or err}") from err
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    log.info("evidence of %s written to %s (%d files, %d skipped)", fac.id, out, len(files) + 1, len(skipped))
    return EvidenceResult(out, fac.id, generated, (*files, manifest_file), tuple(skipped), n_changes, n_prints,
                          removed)
