"""Issue 16 §2: footprints proposed from a click on generated 0.5 m scenes (tests.support.scenes: texture, a
shadow on one side, same-coloured neighbours a few pixels away, noise), and outlines squared up.

Measured on 10 seeded scenes of each shape (regularised outline against the true one): rectangles IoU
0.938-0.974 (median 0.956), L-shapes 0.912-0.955 (median 0.937); before regularisation 0.96-0.98.
"""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from affine import Affine
from pyproj import Geod

from imagery.base import Capture, Chip, DateCertainty
from imagery.errors import ImageryError
from imagery.footprints import propose_footprint
from imagery.regularise import MAX_AREA_CHANGE, regularise, regularise_projected
from tests.support.scenes import building_scene, iou

CAPTURE = Capture("local", "scene", None, DateCertainty.STATED)


def _chip(sc, data=None, nodata=None) -> Chip:
    return Chip(CAPTURE, sc.data if data is None else data, sc.crs, tuple(sc.transform)[:6], nodata)


@pytest.mark.parametrize("shape", ["rectangle", "l"])
def test_proposals_reach_the_iou_target_on_ten_scenes(shape):
    scores = []
    for seed in range(10):
        sc = building_scene(seed, shape)
        p = propose_footprint(_chip(sc), sc.seed_xy)
        scores.append(iou(p.geometry_grid, sc.truth))
        assert p.confidence == "high", (seed, p.notes)
        assert p.geometry.is_valid and p.geometry.bounds[0] > 127  # lon/lat near the UTM 52 origin
        # area_m2 is the ellipsoidal area of the lon/lat outline, close to the grid's planar area
        assert p.area_m2 == pytest.approx(p.geometry_grid.area, rel=0.01)
    assert min(scores) >= 0.85, scores


def test_a_roof_like_the_ground_is_reported_as_low_confidence():
    """Where it fails: a roof of the ground's colour. The proposal may be right or wrong (IoU 0.60-0.93 on
    these seeds), but it never says it is sure."""
    for seed in range(6):
        sc = building_scene(seed, "rectangle", roof_like_ground=True)
        p = propose_footprint(_chip(sc), sc.seed_xy)
        assert p.confidence == "low", (seed, p.score)
        assert p.notes and p.score < 0.6


def test_touching_roofs_of_one_colour_come_out_as_one_building():
    """The known failure: two roofs of one colour sharing a wall, with no seam or shadow between them, are one
    region to colour and edges (IoU 0.50-0.69 here, with high confidence): the analyst has to split them."""
    sc = building_scene(0, "rectangle", touching_neighbour=True)
    p = propose_footprint(_chip(sc), sc.seed_xy)
    assert iou(p.geometry_grid, sc.truth) < 0.8
    assert p.geometry_grid.intersection(sc.truth).area > 0.9 * sc.truth.area  # it holds the building, and more


def test_a_gap_of_one_pixel_still_separates_same_coloured_neighbours():
    sc = building_scene(3, "rectangle", gap_px=1)
    p = propose_footprint(_chip(sc), sc.seed_xy)
    assert iou(p.geometry_grid, sc.truth) >= 0.85
    assert all(p.geometry_grid.intersection(nb).area < 0.05 * nb.area for nb in sc.neighbours)


def test_refusals_name_the_reason():
    sc = building_scene(1, "rectangle")
    coarse = Chip(CAPTURE, sc.data[:, ::5, ::5], sc.crs, tuple(sc.transform @ Affine.scale(5))[:6], None)
    with pytest.raises(ImageryError, match="too coarse to outline a building"):
        propose_footprint(coarse, sc.seed_xy)
    with pytest.raises(ImageryError, match="outside the image chip"):
        propose_footprint(_chip(sc), (sc.seed_xy[0] + 1000, sc.seed_xy[1]))
    holed = sc.data.copy()
    col, row = ~sc.transform @ sc.seed_xy
    holed[:, int(row) - 3:int(row) + 4, int(col) - 3:int(col) + 4] = 0
    with pytest.raises(ImageryError, match="nodata"):
        propose_footprint(_chip(sc, holed, nodata=0), sc.seed_xy)


def test_a_building_cut_by_the_chip_edge_is_low_confidence():
    sc = building_scene(2, "rectangle")
    col, _ = ~sc.transform @ sc.seed_xy
    cut = sc.data[:, :, int(col) - 4:]  # the chip starts 2 m west of the click
    shift = sc.transform @ Affine.translation(int(col) - 4, 0)
    p = propose_footprint(Chip(CAPTURE, cut, sc.crs, tuple(shift)[:6], None), sc.seed_xy)
    assert p.touches_border and p.confidence == "low"


def _angles(poly) -> np.ndarray:
    xy = np.asarray(poly.exterior.coords)[:-1]
    a, b = np.roll(xy, 1, axis=0) - xy, np.roll(xy, -1, axis=0) - xy
    cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    return np.degrees(np.arccos(np.clip(cos, -1, 1)))


def _wobbly(seed: int, shape=None):
    rng = np.random.default_rng(seed)
    base = shape or shapely.affinity.rotate(shapely.box(0, 0, 40, 22), 25, origin=(0, 0))
    pts = np.asarray(base.segmentize(2.0).exterior.coords)[:-1]
    pts = pts + rng.normal(0, 0.3, pts.shape)  # a hand's wobble, ~0.3 m
    return shapely.Polygon(pts + [385_000, 4_420_000]), base


@pytest.mark.parametrize("seed", range(5))
def test_a_wobbly_traced_rectangle_becomes_right_angled_within_a_few_percent(seed):
    traced, base = _wobbly(seed)
    done = regularise_projected(traced, "EPSG:32652")
    assert done.method.startswith("buildingregulariser")
    angles = _angles(done.geometry)
    assert np.all(np.minimum(abs(angles - 90), abs(angles - 180)) < 1.0), angles  # right angles (or straight)
    assert abs(done.area_change) <= MAX_AREA_CHANGE
    assert done.geometry.area == pytest.approx(base.area, rel=0.03)


def test_regularise_in_lon_lat_keeps_the_place_and_area():
    traced, _ = _wobbly(7)
    from pyproj import Transformer

    to_ll = Transformer.from_crs("EPSG:32652", "EPSG:4326", always_xy=True)
    lonlat = shapely.transform(traced, lambda xy: np.column_stack(to_ll.transform(xy[:, 0], xy[:, 1])))
    done = regularise(lonlat)
    geod = Geod(ellps="WGS84")
    before, after = abs(geod.geometry_area_perimeter(lonlat)[0]), abs(geod.geometry_area_perimeter(done.geometry)[0])
    assert after == pytest.approx(before, rel=MAX_AREA_CHANGE)
    assert done.geometry.centroid.distance(lonlat.centroid) < 1e-5  # within ~1 m


def test_regularise_falls_back_to_the_rotated_rectangle_only_when_the_library_fails(monkeypatch):
    import buildingregulariser

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(buildingregulariser, "regularize_geodataframe", broken)
    traced, _ = _wobbly(1)
    done = regularise_projected(traced, "EPSG:32652")
    assert done.method.startswith("minimum rotated rectangle (buildingregulariser failed: RuntimeError: boom")
    assert len(done.geometry.exterior.coords) == 5


def test_regularise_refuses_what_is_not_an_outline():
    with pytest.raises(ImageryError, match="only a polygon outline"):
        regularise(shapely.Point(127.6, 39.9))
    with pytest.raises(ImageryError, match="not a valid polygon"):
        regularise(shapely.Polygon([(127.6, 39.9), (127.61, 39.91), (127.61, 39.9), (127.6, 39.91)]))
