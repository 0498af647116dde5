"""Issue 16 §2, the services and CLI: `facilities footprint propose|save` on a real registry with a real local
import (a generated 0.5 m scene written as a COG at the plant), tracing on Wayback keys, and the refusals."""

from __future__ import annotations

import json

import numpy as np
import pytest
import shapely
from pyproj import Transformer
from rasterio.transform import from_bounds
from shapely.geometry import shape

from facilities.errors import ConflictError, NotFound, ValidationError
from facilities.model import ImageRef, LocationPrecision
from facilities.store import Filter, GeoPackageStore
from imagery.keys import ImageKey
from tests.support.cli import cli_env, run_cli
from tests.support.rasters import scene, write_cog
from tests.support.scenes import building_scene, iou
from tracker.footprints import as_image_ref, click_bbox, save_footprint
from tracker.seeding import ensure_seeded

PLANT = "february-11-plant"
BUILDING = "february-11-plant.building-a"
TO_LONLAT = Transformer.from_crs("EPSG:32652", "EPSG:4326", always_xy=True)


def _lonlat(geom):
    return shapely.transform(geom, lambda xy: np.column_stack(TO_LONLAT.transform(xy[:, 0], xy[:, 1])))


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    e = cli_env(tmp_path, TRACKER_OFFLINE="1")
    res = run_cli(["init", "-q"], env=e, cwd=tmp_path)
    assert res.returncode == 0, res
    return e


def _cli(env, tmp_path, *args, ok=True):
    res = run_cli(list(args), env=env, cwd=tmp_path)
    assert (res.returncode == 0) == ok, res
    assert not res.traceback, res
    return res


def _import(env, tmp_path, sc, name="scene.tif", day="2023-05-04") -> str:
    path = tmp_path / name
    write_cog(path, sc.data, sc.crs, sc.transform)
    res = _cli(env, tmp_path, "imagery", "import", f"{path}={day}", "--licence", "analyst's own")
    return res.stdout.split("\t")[0]


def test_propose_then_save_with_the_cli(tmp_path, env):
    sc = building_scene(4, "l")
    key = _import(env, tmp_path, sc)
    lon, lat = TO_LONLAT.transform(*sc.seed_xy)
    out = tmp_path / "proposal.geojson"
    res = _cli(env, tmp_path, "footprint", "propose", PLANT, "--image", key, "--at", f"{lon:.7f},{lat:.7f}",
               "--json", "-o", str(out))
    feature = json.loads(res.stdout)
    props = feature["properties"]
    assert props["image"] == key and props["acquired"] == "2023-05-04" and props["confidence"] == "high"
    assert props["pixel_m"] == 0.5 and props["regularisation"].startswith("buildingregulariser")
    truth = _lonlat(sc.truth)
    assert iou(shape(feature["geometry"]), truth) >= 0.85
    assert json.loads(out.read_text())["features"][0] == feature

    short = key[: len("local:") + 14] + "…"  # the id shortened as outputs print it
    text = _cli(env, tmp_path, "footprint", "propose", PLANT, "--image", short, "--at", f"{lon},{lat}")
    assert "confidence high" in text.stdout and "m²" in text.stdout
    away = _cli(env, tmp_path, "footprint", "propose", PLANT, "--image", key, "--at", "0,0", ok=False)
    assert away.clear_error and "outside" in away.stderr and "click on a building of this site" in away.stderr

    saved = _cli(env, tmp_path, "footprint", "save", PLANT, BUILDING, "--geometry", str(out), "--image", key,
                 "--acquired", "2023-05-04")
    assert "saved footprint of february-11-plant.building-a" in saved.stdout and "version 2" in saved.stdout
    store = GeoPackageStore(tmp_path / "registry.gpkg")
    try:
        s = next(x for x in store.list_structures(Filter(facility_ids=(PLANT,))) if x.id == BUILDING)
        assert s.traced_on == ImageRef("local", key.split(":", 1)[1], "2023-05-04")
        assert s.location_precision == LocationPrecision.DIGITISED
        assert iou(s.geometry, truth) >= 0.85
        assert s.footprint_m2 == pytest.approx(sc.truth.area, rel=0.08)  # the true outline's UTM area
        entry = store.history(BUILDING)[0]
        assert entry.actor == "tester" and entry.before["geometry"]["type"] == "Point"
        assert entry.after["traced_provider"] == "local"
    finally:
        store.close()


def test_wayback_is_traced_by_hand_never_proposed(tmp_path, env):
    res = _cli(env, tmp_path, "footprint", "propose", PLANT, "--image", "esri-wayback:45134", "--at",
               "127.6565,39.9216", ok=False)
    assert res.clear_error and "browser" in res.stderr
    bad = _cli(env, tmp_path, "footprint", "save", PLANT, BUILDING, "--geometry",
               "POLYGON ((127.6563 39.9215, 127.6568 39.9218, 127.6568 39.9215, 127.6563 39.9218, 127.6563 39.9215))",
               "--image", "esri-wayback:45134", ok=False)
    assert bad.clear_error and BUILDING in bad.stderr and "invalid" in bad.stderr
    wobbly = ("POLYGON ((127.6563 39.9215, 127.65680 39.92151, 127.65681 39.92182, 127.65629 39.92180, "
              "127.6563 39.9215))")
    saved = _cli(env, tmp_path, "footprint", "save", PLANT, BUILDING, "--geometry", wobbly, "--image",
                 "esri-wayback:45134", "--acquired", "2022-11-04", "--regularise")
    assert "buildingregulariser" in saved.stdout and "version 2" in saved.stdout  # the refused save changed nothing


def test_a_coarse_image_is_refused_before_reading(tmp_path, env):
    data = scene(40, 40)
    path = write_cog(tmp_path / "coarse.tif", data, "EPSG:32652",
                     from_bounds(385_000, 4_419_600, 385_400, 4_420_000, 40, 40))  # 10 m pixels
    key = _cli(env, tmp_path, "imagery", "import", f"{path}=2020-01-01").stdout.split("\t")[0]
    res = _cli(env, tmp_path, "footprint", "propose", PLANT, "--image", key, "--at", "127.6570,39.9200", ok=False)
    assert res.clear_error and "too coarse to outline a building" in res.stderr and key in res.stderr
    bad_at = _cli(env, tmp_path, "footprint", "propose", PLANT, "--image", key, "--at", "39.92", ok=False)
    assert bad_at.clear_error and "--at" in bad_at.stderr


@pytest.fixture
def store(tmp_path):
    s = GeoPackageStore(tmp_path / "r.gpkg")
    ensure_seeded(s)
    yield s
    s.close()


def test_save_footprint_is_one_checked_unit_of_work(store):
    square = shapely.box(127.6563, 39.9215, 127.6568, 39.9218)
    before = store.history(BUILDING)
    with pytest.raises(ValidationError, match=f"structure {BUILDING}: footprint geometry type Point"):
        save_footprint(store, BUILDING, shapely.Point(127.6, 39.9), None, actor="ana")
    with pytest.raises(NotFound, match="no structure 'nope'"):
        save_footprint(store, "nope", square, None, actor="ana")
    assert store.history(BUILDING) == before  # nothing written
    saved = save_footprint(store, BUILDING, square, ImageKey("esri-wayback", "45134"), actor="ana",
                           acquired="2022-11-04", expected_version=1)
    assert saved.structure.traced_on == ImageRef("esri-wayback", "45134", "2022-11-04")
    assert saved.regularisation is None and saved.area_m2 > 1000
    assert [h.action for h in store.history(BUILDING)][:1] == ["update"]
    with pytest.raises(ConflictError):  # the analyst edited version 1, which is gone
        save_footprint(store, BUILDING, square, None, actor="bob", expected_version=1)


def test_helpers():
    assert as_image_ref("local:abc", "2021") == ImageRef("local", "abc", "2021")
    assert as_image_ref(None) is None
    w, s, e, n = click_bbox(127.66, 39.92)
    assert 0.0016 < e - w < 0.0018 and 0.0013 < n - s < 0.0014  # ~150 m both ways
