"""The Compare page's pixel difference, rule by rule, with exact expectations (issue 22, imagery/compare.py).

Each test pins one rule at the value where a small slip would show: the 2-98 % range of a band, the threshold
itself, the chip's edge in the speck filter, a no-data pixel beside a change, an empty structure, the heat map's
colours at t = 0, 0.5 and beyond 1. References are independent where one exists: scikit-image's histogram
matching, scipy's binary erosion and dilation, numpy's unique.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest
from scipy import ndimage
from shapely.geometry import Polygon
from skimage.exposure import match_histograms as sk_match_histograms

from imagery.chips import Grid
from imagery.compare import (
    Comparison,
    _quantiles,
    change_mask,
    compare,
    heatmap_rgba,
    match_histograms,
    normalised_difference,
    polygon_mask,
    same_grid,
)
from imagery.errors import GridMismatch
from tests.imagery.test_raster_compare import T, _chip, _lonlat_box  # one 0.5 m grid for both files
from tests.support.rasters import scene


def _opening_reference(changed: np.ndarray, open_px: int) -> np.ndarray:
    """scipy's opening with the same borders: the chip's edge erodes nothing, dilation adds nothing beyond it."""
    square = np.ones((3, 3), bool)
    out = changed
    for _ in range(open_px):
        out = ndimage.binary_erosion(out, square, border_value=1)
    for _ in range(open_px):
        out = ndimage.binary_dilation(out, square, border_value=0)
    return out


# same_grid


def test_grid_mismatch_names_both_grids_and_band_counts():
    three, two = _chip(np.ones((3, 10, 12), np.uint8)), _chip(np.ones((2, 10, 12), np.uint8))
    grid = Grid("EPSG:32652", T, 12, 10)
    assert same_grid(three, three) == grid
    with pytest.raises(GridMismatch) as err:
        same_grid(three, two)
    assert str(err.value) == (f"chips are on different grids: {grid} (3 bands) vs {grid} (2 bands); "
                              "make both with the same Grid")


# _quantiles and match_histograms


@pytest.mark.parametrize("values", [
    np.array([7, 3, 3, 9, 7, 7], np.uint8),
    np.array([-300, 5, -300, 40000], np.int32),
    np.array([-(2 ** 62), 0, 2 ** 62, 0], np.int64),  # a range far beyond the bincount path's 2**17
    np.array([2 ** 64 - 3, 2 ** 64 - 5, 2 ** 64 - 3], np.uint64),  # above int64's range
    np.array([0.5, -1.25, 0.5, 3.0], np.float32),
], ids=["uint8", "int32", "int64-wide", "uint64-high", "float32"])
def test_quantiles_against_numpy_unique(values):
    uniq, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    distinct, quantiles, index = _quantiles(values)
    assert distinct.tolist() == uniq.tolist()
    np.testing.assert_array_equal(quantiles, np.cumsum(counts) / values.size)
    np.testing.assert_array_equal(index, inverse)


def test_a_uint64_chip_above_int64s_range_is_compared():
    data = np.arange(48, dtype=np.uint64).reshape(3, 4, 4) + np.uint64(2 ** 63)
    result = compare(_chip(data), _chip(data[:, ::-1].copy()))  # it raised OverflowError (fixed)
    # float32 and float64 hold every 2**63 + k (k < 48) as 2**63, so the difference is 0 (not NaN) everywhere
    np.testing.assert_array_equal(result.difference, np.zeros((4, 4), np.float32))


def test_histogram_matching_by_hand():
    source = np.array([[[40, 10, 30, 20]]], np.uint8)
    reference = np.array([[[4, 1, 2, 3]]], np.uint8)
    out = match_histograms(source, reference)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [[[4.0, 1.0, 3.0, 2.0]]])


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "float32"])
def test_histogram_matching_against_scikit_image(dtype):
    source = scene(30, 40, seed=7, dtype=dtype)
    reference = (scene(30, 40, seed=8).astype(np.float64) * 0.5 + 60).astype(dtype)
    if dtype == "float32":
        source = source / np.float32(7)
    expected = np.stack([sk_match_histograms(s, r) for s, r in zip(source, reference, strict=True)])
    np.testing.assert_array_equal(match_histograms(source, reference), expected.astype(np.float32))


def test_histogram_matching_reads_only_valid_pixels():
    source = np.array([[[10, 20, 30, 99]]], np.uint16)
    reference = np.array([[[1, 2, 3, 500]]], np.uint16)
    valid = np.array([[True, True, True, False]])
    # three valid values each side: quantiles 1/3, 2/3, 1 map 10, 20, 30 onto 1, 2, 3; the invalid pixel keeps 99
    out = match_histograms(source, reference, valid, valid)
    np.testing.assert_array_equal(out, [[[1.0, 2.0, 3.0, 99.0]]])


def test_histogram_matching_without_valid_reference_pixels_returns_the_source():
    source = np.array([[[10, 20], [30, 40]]], np.uint8)
    out = match_histograms(source, source + 1, np.ones((2, 2), bool), np.zeros((2, 2), bool))
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, source)


# normalised_difference


def test_difference_is_the_mean_over_bands_of_the_2_98_percent_range():
    a = np.stack([np.arange(101, dtype=np.float32), np.arange(101, dtype=np.float32) * 2]).reshape(2, 1, 101)
    b = np.stack([a[0] + 48, a[1] - 48])  # band 0: 48 / (98 - 2); band 1: 48 / (196 - 4)
    diff = normalised_difference(a.astype(np.uint8), b, np.ones((1, 101), bool))
    assert diff.dtype == np.float32
    np.testing.assert_array_equal(diff, np.full((1, 101), (0.5 + 0.25) / 2, np.float32))


def test_difference_of_a_flat_band_divides_by_one_millionth():
    a = np.full((1, 2, 2), 0.25, np.float32)
    b = a.copy()
    b[0, 1, 1] = 0.75
    diff = normalised_difference(a, b, np.ones((2, 2), bool))
    assert diff[0, 0] == diff[0, 1] == diff[1, 0] == 0.0
    assert diff[1, 1] == pytest.approx(0.5 / 1e-6, rel=1e-6)


def test_difference_is_nan_without_data_and_needs_one_matched_band_per_band():
    a = np.arange(12, dtype=np.uint8).reshape(1, 3, 4)
    valid = np.ones((3, 4), bool)
    valid[:, 0] = False
    diff = normalised_difference(a, a.astype(np.float32), valid)
    assert np.isnan(diff[:, 0]).all() and (diff[:, 1:] == 0).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan(normalised_difference(a, a.astype(np.float32), np.zeros((3, 4), bool))).all()
    with pytest.raises(ValueError, match=r"zip\(\)"):
        normalised_difference(np.zeros((3, 2, 2)), np.zeros((2, 2, 2), np.float32), np.ones((2, 2), bool))


# change_mask (the 3x3 opening)


def test_change_is_strictly_above_the_threshold():
    diff = np.zeros((9, 9), np.float32)
    diff[1:6, 1:6] = 0.25
    assert not change_mask(diff, 0.25).any()
    assert change_mask(diff, 0.2499).sum() == 25


def test_default_threshold_and_one_opening():
    diff = np.zeros((12, 12), np.float32)
    diff[2:5, 2:5] = 0.21  # a 3 x 3 block survives one opening (two would remove it)
    diff[8:11, 8:11] = 0.2  # at the default threshold: no change
    expected = np.zeros((12, 12), bool)
    expected[2:5, 2:5] = True
    np.testing.assert_array_equal(change_mask(diff), expected)


def test_change_along_the_chip_edge_is_not_a_speck():
    diff = np.zeros((8, 10), np.float32)
    diff[0:2, :] = 1.0  # a 2-pixel band along the top edge: the edge counts as changed for the erosion
    diff[:, 8:10] = 1.0  # and one along the right edge
    np.testing.assert_array_equal(change_mask(diff, 0.2), diff > 0.2)


def test_no_data_beside_a_thin_change_does_not_hold_it_up():
    diff = np.zeros((10, 10), np.float32)
    diff[:, :5] = np.nan
    diff[:, 5:7] = 1.0  # two pixels wide: the opening removes it; no data is not change
    assert not change_mask(diff, 0.2).any()
    diff[:, 5:8] = 1.0  # three wide: kept, and never spilling into the no-data
    expected = np.zeros((10, 10), bool)
    expected[:, 5:8] = True
    np.testing.assert_array_equal(change_mask(diff, 0.2), expected)


@pytest.mark.parametrize("open_px", [1, 2])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_opening_against_scipy(seed, open_px):
    rng = np.random.default_rng(seed)
    blobs = np.kron(rng.random((6, 8)), np.ones((4, 4)))[:, :31]  # 4 x 4 blocks, so two openings keep some
    diff = (blobs * 0.6 + rng.random((24, 31)) * 0.4).astype(np.float32)
    diff[rng.random((24, 31)) < 0.05] = np.nan
    changed = np.nan_to_num(diff) > 0.3
    expected = _opening_reference(changed, open_px) & ~np.isnan(diff)
    assert 0 < expected.sum() < changed.sum()  # the opening both keeps and removes pixels here
    np.testing.assert_array_equal(change_mask(diff, 0.3, open_px), expected)


# polygon_mask and areas


def test_an_empty_structure_covers_no_pixel():
    grid = Grid("EPSG:32652", T, 7, 5)
    empty = polygon_mask(Polygon(), grid)
    assert empty.dtype == bool and empty.shape == (5, 7) and not empty.any()


def _two_blocks(size: int = 80):
    """Before and after equal except two 6 x 6 blocks that swap a dark and a bright roof.

    Both chips have the same histogram, so matching is the identity and the difference outside the blocks is 0.
    """
    before = scene(size, size, seed=3)
    before[:, 10:16, 10:16] = 20
    before[:, 50:56, 60:66] = 250
    after = before.copy()
    after[:, 10:16, 10:16] = 250
    after[:, 50:56, 60:66] = 20
    return _chip(before), _chip(after)


def test_areas_overall_inside_the_outline_and_per_structure():
    before, after = _two_blocks()
    expected = np.zeros((80, 80), bool)
    expected[10:16, 10:16] = expected[50:56, 60:66] = True
    outline = _lonlat_box(5, 5, 25, 25)  # holds the first block only
    result = compare(before, after, outline=outline, structures={"gone": Polygon(), "hall": outline})
    np.testing.assert_array_equal(result.mask, expected)
    np.testing.assert_array_equal(result.difference[~expected], 0.0)
    assert result.changed_m2 == 72 * 0.25
    assert result.changed_m2_inside == 36 * 0.25
    assert result.per_structure_m2 == {"gone": 0.0, "hall": 36 * 0.25}
    assert compare(before, after).changed_m2_inside is None


def test_open_px_reaches_the_mask():
    before = _chip(scene(40, 40, seed=5))
    data = before.data.copy()
    data[:, 20, 20] = 255  # one changed pixel, a speck
    data[:, 20, 20 - 1] = 1  # and its neighbour darker (both ends of the histogram)
    after = _chip(data)
    kept = compare(before, after, open_px=0)
    assert kept.mask[20, 19] and kept.mask[20, 20] and kept.mask.sum() == 2
    assert not compare(before, after).mask.any()


def test_no_data_of_either_chip_is_left_out_of_the_matching():
    base = scene(40, 40, seed=6)
    holed = base.copy()
    holed[:, :, :10] = 0  # no data (scene values are 1..254)
    for before, after in ((_chip(base), _chip(holed, nodata=0)), (_chip(holed, nodata=0), _chip(base))):
        result = compare(before, after)
        # the valid pixels are the same in both chips, so matching is the identity and the difference is 0
        assert np.isnan(result.difference[:, :10]).all()
        np.testing.assert_array_equal(result.difference[:, 10:], 0.0)
        assert not result.mask.any() and result.valid_fraction == 0.75


def test_no_data_in_the_earlier_chip_is_not_compared():
    base = scene(40, 40, seed=6)
    holed = base.copy()
    holed[:, :, :10] = 0
    after = base.copy()
    after[:, :, :10] = 200  # would be change if the earlier chip's no-data were read as pixels
    result = compare(_chip(holed, nodata=0), dataclasses.replace(_chip(after), nodata=None))
    assert np.isnan(result.difference[:, :10]).all() and not result.mask[:, :10].any()
    assert result.valid_fraction == 0.75


# heatmap_rgba


@pytest.mark.filterwarnings("error")  # no NaN or out-of-range value is cast to uint8
def test_heatmap_colours_by_hand():
    # threshold 0.25: t = difference / 0.5, clipped to 0..1; green 255 * (1 - t); alpha t * 90, 210 on changed
    difference = np.array([[0.0, 0.25, 0.5, 1.0, np.nan], [0.0, 0.25, 0.5, 1.0, 1.0]], np.float32)
    mask = np.array([[False] * 5, [False, False, False, False, True]])
    result = Comparison(Grid("EPSG:32652", T, 5, 2), difference, mask, 0.25, 0.25)
    rgba = heatmap_rgba(result)
    assert rgba.dtype == np.uint8 and rgba.shape == (4, 2, 5)
    assert (rgba[0] == 255).all() and (rgba[2] == 0).all()
    assert rgba[1].tolist() == [[255, 127, 0, 0, 255], [255, 127, 0, 0, 0]]
    assert rgba[3].tolist() == [[0, 45, 90, 90, 0], [0, 45, 90, 90, 210]]
