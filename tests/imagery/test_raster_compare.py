"""Comparison: a new building of known size is measured inside the outline; lighting alone is no change."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from affine import Affine
from PIL import Image
from pyproj import Transformer
from shapely.geometry import box

from imagery.base import Capture, Chip, DateCertainty
from imagery.compare import (
    change_mask,
    compare,
    match_histograms,
    polygon_mask,
    write_heatmap,
)
from imagery.errors import GridMismatch
from tests.support.rasters import UTM52_ORIGIN, scene

T = Affine(0.5, 0, UTM52_ORIGIN[0], 0, -0.5, UTM52_ORIGIN[1])
CAP = Capture("local", "x", None, DateCertainty.STATED)
N = 600
ROWS, COLS = slice(200, 260), slice(300, 340)  # 60 x 40 px = 30 m x 20 m = 600 m²
TRUE_M2 = 60 * 40 * 0.25


def _chip(data: np.ndarray, nodata: float | None = None) -> Chip:
    return Chip(CAP, data, "EPSG:32652", tuple(T)[:6], nodata)


def _lonlat_box(col0: float, row0: float, col1: float, row1: float):
    to_ll = Transformer.from_crs("EPSG:32652", "EPSG:4326", always_xy=True)
    (x0, y0), (x1, y1) = T @ (col0, row1), T @ (col1, row0)
    lon0, lat0 = to_ll.transform(x0, y0)
    lon1, lat1 = to_ll.transform(x1, y1)
    return box(lon0, lat0, lon1, lat1)


def _pair(brightness: bool = True, building: bool = True, seed: int = 0):
    before = scene(N, N, seed=seed)
    rng = np.random.default_rng(seed + 100)
    after = before.astype(np.float64)
    if brightness:  # lower sun, different exposure: a monotone change of every band
        after = after * 0.6 + 20
    after += rng.normal(0, 3, after.shape)
    if building:  # a bright new roof with a darker ridge
        after[:, ROWS, COLS] = 245
        after[:, 228:232, COLS] = 150
    return _chip(before), _chip(np.clip(after, 0, 255).astype(np.uint8))


def test_new_building_measured_inside_outline_and_per_structure():
    before, after = _pair()
    outline = _lonlat_box(250, 150, 450, 350)  # the facility, around the new building
    structures = {"hall": _lonlat_box(295, 195, 345, 265), "yard": _lonlat_box(380, 280, 440, 340)}
    result = compare(before, after, outline=outline, structures=structures)
    assert result.changed_m2_inside == pytest.approx(TRUE_M2, rel=0.10)
    assert result.per_structure_m2["hall"] == pytest.approx(TRUE_M2, rel=0.10)
    assert result.per_structure_m2["yard"] < 5
    assert result.changed_m2 - result.changed_m2_inside < 0.01 * N * N * 0.25  # near zero outside
    assert result.valid_fraction == 1.0


def test_illumination_change_alone_is_not_change():
    before, after = _pair(building=False)
    result = compare(before, after)
    assert result.changed_m2 < 0.001 * N * N * 0.25
    raw = np.abs(before.data.astype(int) - after.data.astype(int)).mean()
    assert raw > 10  # the raw difference would have flagged it


def test_histogram_matching_undoes_a_monotone_change():
    ref = scene(200, 200, seed=4)
    changed = (ref.astype(np.float64) * 0.6 + 50).astype(np.uint8)
    matched = match_histograms(changed, ref)
    assert np.abs(matched - ref).mean() < 2.0
    floats = match_histograms(changed.astype(np.float32) / 7, ref)  # the non-integer path
    assert np.abs(floats - ref).mean() < 2.0


def test_nodata_is_neither_change_nor_valid():
    before, after = _pair(building=False)
    data = after.data.copy()
    data[:, :, :100] = 0
    result = compare(before, dataclasses.replace(after, data=data, nodata=0))
    assert np.isnan(result.difference[:, :100]).all() and not result.mask[:, :100].any()
    assert result.valid_fraction == pytest.approx(500 / 600, abs=0.01)


def test_specks_are_removed_and_grids_must_match():
    diff = np.zeros((50, 50), dtype=np.float32)
    diff[10, 10] = 1.0
    diff[20:30, 20:30] = 1.0
    mask = change_mask(diff, 0.2, open_px=1)
    assert not mask[10, 10] and mask[20:30, 20:30].all() and mask.sum() == 100
    before, after = _pair()
    shifted = Chip(CAP, after.data, "EPSG:32652", tuple(T @ Affine.translation(1, 0))[:6])
    with pytest.raises(GridMismatch):
        compare(before, shifted)
    with pytest.raises(GridMismatch):
        compare(before, _chip(after.data[:, :-1]))


def test_polygon_mask_counts_pixel_centres():
    from imagery.chips import Grid

    grid = Grid("EPSG:32652", T, N, N)
    assert polygon_mask(_lonlat_box(300, 200, 340, 260), grid).sum() == pytest.approx(2400, rel=0.03)


def test_heatmap_png(tmp_path):
    before, after = _pair()
    result = compare(before, after)
    bounds = write_heatmap(result, tmp_path / "heat.png")
    img = np.asarray(Image.open(tmp_path / "heat.png"))
    assert img.shape[2] == 4 and img[:, :, 3].max() == 210
    (lat0, lon0), (lat1, lon1) = bounds
    assert lat0 < lat1 and lon0 < lon1
