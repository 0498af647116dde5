"""`tracker-report evidence` and tracker.reports.evidence on a real registry with two local images where a 120 m x
60 m roof appears: the directory opens in GDAL (both layers in the GeoPackage and as GeoJSON, the difference
raster a COG tagged with both image keys, NaN where an image has no data), the fields issue 16 defines, the
manifest's hashes, a second run refused without --force and changing nothing, a pair no longer readable
skipped and listed, an interrupted run leaving no half file, and the CLI's exit codes and one-line errors."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math

import numpy as np
import pyogrio
import pytest
import rasterio
import shapely
from affine import Affine
from pyproj import Transformer
from shapely.geometry import box

from facilities.model import Facility, ImageRef, Structure
from facilities.store import GeoPackageStore
from imagery.keys import ImageKey
from imagery.local import import_image
from tests.support.cli import cli_env, run_cli
from tests.support.rasters import UTM52_ORIGIN, write_tif
from tracker.change import accept_change, site_change
from tracker.dating import Bound, Dating, accept_dating
from tracker.errors import OutputNotEmpty
from tracker.reports import evidence as ev
from tracker.reports.evidence import write_evidence
from tracker.reports.evidence_layers import CHANGE_FIELDS, FOOTPRINT_FIELDS, MEASURED
from tracker.settings import load_settings
from tracker.wiring import imagery_session

X0, Y0 = UTM52_ORIGIN
PX = 1.0  # metres: 1 m keeps the test quick; the 0.5 m measure is tests/services/test_change_cli.py's
T = Affine(PX, 0, X0, 0, -PX, Y0)
N = 500  # 500 m x 500 m
ROOF = (slice(200, 320), slice(190, 250))  # rows, cols: 120 m x 60 m
ROOF_M2 = 7200.0
HOLE_ROWS = 30  # the earlier image has no data in its top 30 m
BEFORE_DAY, AFTER_DAY = dt.date(2021, 4, 2), dt.date(2023, 10, 9)
TO_LL = Transformer.from_crs("EPSG:32652", "EPSG:4326", always_xy=True)


def _utm_box(x0: float, y0: float, x1: float, y1: float) -> shapely.Polygon:
    """A box given in metres east/south of the images' corner, in lon/lat."""
    return shapely.transform(box(X0 + x0, Y0 - y1, X0 + x1, Y0 - y0),
                             lambda xy: np.column_stack(TO_LL.transform(xy[:, 0], xy[:, 1])))


def _ground() -> np.ndarray:
    yy, xx = np.mgrid[0:N, 0:N]
    base = (np.sin(xx / 37.0) + np.cos(yy / 23.0)) * 40 + 110
    return np.stack([base, base + 15, base + 30])


def _u8(x: np.ndarray, seed: int) -> np.ndarray:
    return np.clip(np.round(x + np.random.default_rng(seed).normal(0, 4, x.shape)), 1, 255).astype(np.uint8)


@pytest.fixture
def site(tmp_path):
    """tmp_path/registry.gpkg (the CLI's, see cli_env) with facility 'yard', structure 'yard.roof' (its footprint
    traced on the later image, its appearance dated), both images imported into tmp_path/data, and the change
    between them accepted. Returns (tmp_path, before key, after key, change observation id)."""
    before_px = _u8(_ground(), 1)
    before_px[:, :HOLE_ROWS] = 0
    after_px = _ground()
    for b, v in enumerate((70, 120, 200)):
        after_px[b][ROOF] = v
    paths = [write_tif(tmp_path / "before.tif", before_px, "EPSG:32652", T, nodata=0),
             write_tif(tmp_path / "after.tif", _u8(after_px, 2), "EPSG:32652", T, nodata=0)]
    before, after = (ImageKey("local", import_image(p, tmp_path / "data", d).capture_id)
                     for p, d in zip(paths, (BEFORE_DAY, AFTER_DAY), strict=True))
    footprint = _utm_box(190, 200, 250, 320)  # the roof's cells
    store = GeoPackageStore(tmp_path / "registry.gpkg")
    session = imagery_session(load_settings())
    try:
        store.add_facility(Facility(id="yard", name="Test yard", geometry=_utm_box(150, 150, 300, 350)),
                           actor="tester")
        roof = store.add_structure(Structure(id="yard.roof", facility_id="yard", name="Roof", geometry=footprint,
                                             traced_on=ImageRef("local", after.image_id, AFTER_DAY.isoformat())),
                                   actor="tester")
        obs = accept_change(store, site_change(store, session, "yard", str(before), str(after)), actor="tester")
        accept_dating(store, Dating("yard", roof, "appeared", Bound(BEFORE_DAY, before), Bound(AFTER_DAY, after),
                                    "medium", 6.0, (0.1, 0.6), "temporal cluster matching", (), ()), actor="tester")
    finally:
        session.close()
        store.close()
    return tmp_path, str(before), str(after), obs.id


def _export(tmp_path, out, **kw):
    store = GeoPackageStore(tmp_path / "registry.gpkg")
    session = imagery_session(load_settings())
    try:
        return write_evidence(store, session, "yard", out, **kw)
    finally:
        session.close()
        store.close()


def _tree(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_the_directory_opens_in_gdal_with_the_fields_and_the_cog_names_both_images(site):
    tmp_path, before, after, obs_id = site
    out = tmp_path / "evidence"
    result = _export(tmp_path, out)
    raster = f"difference_{obs_id}.tif"
    assert {p.name for p in out.iterdir()} == {"change_polygons.geojson", "footprints.geojson", "evidence.gpkg",
                                               raster, "README.txt", "manifest.json"}
    assert not list(tmp_path.glob(".evidence.*.part"))  # the staging folder is gone
    assert result.skipped == () and (result.change_polygons, result.footprints) == (1, 1)

    layers = {name: kind for name, kind in pyogrio.list_layers(out / "evidence.gpkg")}
    assert layers == {"change_polygons": "MultiPolygon", "footprints": "MultiPolygon"}
    for source in ((out / "evidence.gpkg", "change_polygons"), (out / "change_polygons.geojson", None)):
        # GDAL's GeoJSON reader turns date-like text into dates unless told not to; the GeoPackage keeps text
        as_text = {} if source[1] else {"DATE_AS_STRING": "YES"}
        change = pyogrio.read_dataframe(source[0], layer=source[1], **as_text)
        assert list(change.columns) == [n for n, _ in CHANGE_FIELDS] + ["geometry"]
        row = change.iloc[0]
        assert len(change) == 1 and row["observation_id"] == obs_id and row["date"] == AFTER_DAY.isoformat()
        assert (row["before"], row["after"]) == (before, after)
        assert (row["before_date"], row["after_date"]) == (BEFORE_DAY.isoformat(), AFTER_DAY.isoformat())
        assert row["area_m2"] == pytest.approx(ROOF_M2, rel=0.10) and row["area_basis"] == MEASURED
        assert 0 < row["mean_difference"] < 1 and row["noise_sigmas"] > 3
        assert "MAD" in row["method"] and row["difference_raster"] == raster
        assert row.geometry.intersection(_utm_box(190, 200, 250, 320)).area / row.geometry.area > 0.9

        prints = pyogrio.read_dataframe(source[0].with_name(source[0].name.replace("change_polygons", "footprints")),
                                        layer="footprints" if source[1] else None, **as_text)
        assert list(prints.columns) == [n for n, _ in FOOTPRINT_FIELDS] + ["geometry"]
        fp = prints.iloc[0]
        assert (fp["structure_id"], fp["name"], fp["traced_on"], fp["traced_on_date"]) == (
            "yard.roof", "Roof", after, AFTER_DAY.isoformat())
        # ellipsoidal: the 7,200 m² UTM box is larger on the ellipsoid by the zone's scale factor (here ~0.9996^-2)
        assert fp["area_m2"] == pytest.approx(ROOF_M2, rel=0.002) and "pyproj.Geod" in fp["area_basis"]
        assert (fp["absent_until"], fp["absent_until_date"], fp["present_from"], fp["present_from_date"]) == (
            before, BEFORE_DAY.isoformat(), after, AFTER_DAY.isoformat())
        assert fp["present_until"] is None and fp["built"] is None and fp["counted_from"] == "2021-01-01"
        # the dating's date is the narrowest PartialDate holding the bracket (2021..2023): counted from its start

    with rasterio.open(out / raster) as cog:
        assert cog.tags()["BEFORE"] == before and cog.tags()["AFTER"] == after and cog.tags()["METHOD"]
        assert cog.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG" and cog.profile["tiled"] and cog.overviews(1)
        assert cog.dtypes == ("float32",) and math.isnan(cog.nodata) and cog.crs.to_epsg() == 32652
        mag = cog.read(1)
        (r0, c0), (r1, c1) = cog.index(X0 + 200, Y0 - 210), cog.index(X0 + 240, Y0 - 310)
        assert np.median(mag[r0:r1, c0:c1]) > 3  # the roof, in noise sigmas
        top, _ = cog.index(X0 + 200, Y0 - HOLE_ROWS * PX + 1)  # the last full row inside the earlier image's hole
        bottom, left = cog.index(X0 + 2, Y0 - N * PX + 2)  # inside both images (the grid reaches beyond them)
        _, right = cog.index(X0 + N * PX - 2, Y0)
        assert np.isnan(mag[:top]).all() and np.isfinite(mag[top + 2:bottom, left:right]).all()


def test_the_manifest_lists_every_file_with_its_hash_and_the_image_keys(site):
    tmp_path, before, after, _ = site
    out = tmp_path / "evidence"
    result = _export(tmp_path, out)
    manifest = json.loads((out / "manifest.json").read_text())
    listed = {f["name"]: f for f in manifest["files"]}
    assert set(listed) == {p.name for p in out.iterdir()} - {"manifest.json"}
    for name, entry in listed.items():
        data = (out / name).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest() and entry["bytes"] == len(data) and entry["holds"]
    assert {before, after} <= set(manifest["image_keys"]) and manifest["generated_at"] == result.generated_at
    assert manifest["facility"]["id"] == "yard" and manifest["skipped"] == []
    readme = (out / "README.txt").read_text()
    assert all(f["sha256"] in readme for n, f in listed.items() if n != "README.txt") and before in readme
    assert result.files[-1].name == "manifest.json"
    assert result.files[-1].sha256 == hashlib.sha256((out / "manifest.json").read_bytes()).hexdigest()


def test_a_second_run_is_refused_without_force_and_force_replaces_only_the_earlier_export(site):
    tmp_path, *_ = site
    out = tmp_path / "evidence"
    _export(tmp_path, out)
    (out / "analyst notes.txt").write_text("mine")
    first = _tree(out)
    with pytest.raises(OutputNotEmpty, match=r"evidence is not empty .*--force"):
        _export(tmp_path, out)
    assert _tree(out) == first  # nothing changed
    (out / "difference_obs-gone.tif").write_bytes(b"stale")  # as if an earlier export had written it ...
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["files"].append({"name": "difference_obs-gone.tif"})
    (out / "manifest.json").write_text(json.dumps(manifest))
    result = _export(tmp_path, out, force=True)
    after = _tree(out)
    assert after["analyst notes.txt"] == b"mine"  # another file in DIR is left alone
    assert "difference_obs-gone.tif" not in after and "difference_obs-gone.tif" in result.removed  # ... it is not
    assert json.loads(after["manifest.json"])["generated_at"] == result.generated_at


def test_a_pair_no_longer_readable_is_skipped_and_listed_and_its_polygons_kept(site):
    tmp_path, before, after, obs_id = site
    for path in (tmp_path / "data" / "imagery").glob(before.split(":", 1)[1] + "*"):
        path.unlink()  # the earlier image is gone from the analyst's imports
    out = tmp_path / "evidence"
    result = _export(tmp_path, out)
    [skip] = result.skipped
    assert (skip.observation_id, skip.before, skip.after) == (obs_id, before, after) and before[:14] in skip.reason
    assert not list(out.glob("*.tif"))
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["skipped"] == [skip.as_json()] and obs_id in (out / "README.txt").read_text()
    row = pyogrio.read_dataframe(out / "evidence.gpkg", layer="change_polygons").iloc[0]
    assert row["observation_id"] == obs_id and row["area_basis"].startswith("ellipsoidal")
    assert row["area_m2"] == pytest.approx(ROOF_M2, rel=0.10) and np.isnan(row["mean_difference"])
    assert row["difference_raster"] is None


def test_an_interrupted_run_leaves_no_half_file(site, monkeypatch):
    tmp_path, *_ = site
    out = tmp_path / "evidence"

    def broken(path, measured, ids):
        path.write_bytes(b"half a tiff")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ev, "write_difference_cog", broken)
    with pytest.raises(ev.TrackerError, match="cannot write the evidence to .*evidence: No space left"):
        _export(tmp_path, out)
    assert not out.exists() and not list(tmp_path.glob(".evidence.*"))
    out.mkdir()
    (out / "manifest.json").write_text("{}")
    with pytest.raises(ev.TrackerError):
        _export(tmp_path, out, force=True)
    assert _tree(out) == {"manifest.json": b"{}"} and not list(tmp_path.glob(".evidence.*"))


def test_the_cli_writes_and_refuses_in_one_line(site):
    tmp_path, before, *_ = site
    env = cli_env(tmp_path)
    out = tmp_path / "cli-evidence"
    res = run_cli(["evidence", "yard", "-o", str(out)], env=env, cwd=tmp_path, program="tracker-report")
    assert res.returncode == 0, res
    assert res.stdout.startswith(f"wrote {out}: 1 change polygon(s), 1 footprint(s), 1 difference raster(s)")
    assert "manifest.json" in res.stdout
    again = run_cli(["evidence", "yard", "-o", str(out)], env=env, cwd=tmp_path, program="tracker-report")
    assert again.returncode == 1 and again.clear_error and not again.stdout
    assert again.stderr.strip().splitlines() == [again.stderr.strip()] and "--force" in again.stderr
    forced = run_cli(["evidence", "yard", "-o", str(out), "--force"], env=env, cwd=tmp_path,
                     program="tracker-report")
    assert forced.returncode == 0, forced
    unknown = run_cli(["evidence", "nowhere", "-o", str(tmp_path / "x")], env=env, cwd=tmp_path,
                      program="tracker-report")
    assert unknown.returncode == 1 and unknown.clear_error and "nowhere" in unknown.stderr
    assert len(unknown.stderr.strip().splitlines()) == 1 and not (tmp_path / "x").exists()
    a_file = tmp_path / "before.tif"
    onto_file = run_cli(["evidence", "yard", "-o", str(a_file)], env=env, cwd=tmp_path, program="tracker-report")
    assert onto_file.returncode == 1 and "is a file" in onto_file.stderr and onto_file.clear_error
    no_out = run_cli(["evidence", "yard"], env=env, cwd=tmp_path, program="tracker-report")
    assert no_out.returncode == 2 and "--out" in no_out.stderr and not no_out.traceback
