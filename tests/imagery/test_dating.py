"""Temporal cluster matching on generated series (tests/support/series.py): a building appearing between two
known dates under clouds, nodata, one-pixel misregistration and illumination changes; a demolition; a building
standing throughout; and the pieces (divergence, change point, ring) on their own."""

from __future__ import annotations

import numpy as np
import pytest
from shapely.geometry import box

from imagery.chips import Grid, valid_mask
from imagery.dating import (
    MIN_STEP,
    change_point,
    js_divergence,
    ring_masks,
    score_image,
    steady_state,
)
from tests.support.series import CRS, Series, building_series


def _scores(series: Series):
    h, w = series.images[0].shape[1:]
    masks = ring_masks(series.footprint_lonlat, Grid(CRS, series.transform, w, h))
    return [score_image(img, valid_mask(img, 0), masks) for img in series.images]


def _bracket(series: Series):
    scores = _scores(series)
    used = [i for i, s in enumerate(scores) if s.score is not None]
    step = change_point([scores[i].score for i in used])
    assert step is not None
    return step, used[step.split - 1], used[step.split], scores


def test_the_bracket_holds_the_true_date_in_nine_of_ten_series_and_is_as_tight_as_the_images_allow():
    held, tight = 0, 0
    for seed in range(10):
        series = building_series(seed)
        step, last_absent, first_present, scores = _bracket(series)
        assert step.direction == "appeared" and step.confidence in ("medium", "high")
        held += last_absent < series.first_new <= first_present
        # only skipped images lie inside the bracket: it spans one usable interval
        tight += all(scores[i].score is None for i in range(last_absent + 1, first_present))
        assert first_present - last_absent <= 3  # at most two skipped images between the bounds
    assert held >= 9 and tight >= 9, (held, tight)


def test_a_demolition_is_a_disappearance_bracketed_the_same_way():
    series = building_series(3, change="disappeared")
    step, last_present, first_absent, _ = _bracket(series)
    assert step.direction == "disappeared" and step.before > step.after
    assert last_present < series.first_new <= first_absent


def test_a_building_standing_on_every_image_shows_no_change_and_says_present():
    series = building_series(5, change=None)
    step, *_ , scores = _bracket(series)
    assert step.direction is None and step.confidence is None
    assert steady_state([s.score for s in scores if s.score is not None]) == "present-throughout"


def test_bare_ground_on_every_image_shows_no_change_and_says_absent():
    series = building_series(4)
    scores = [s.score for s in _scores(series)[: series.first_new] if s.score is not None]
    step = change_point(scores)
    assert step is not None and step.direction is None
    assert steady_state(scores) == "absent-throughout"


def test_cloudy_and_nodata_dates_are_skipped_each_with_its_reason():
    series = building_series(7, clouds=3, holes=2)
    scores = _scores(series)
    skipped = {i: s.skipped for i, s in enumerate(scores) if s.score is None}
    assert set(skipped) == series.cloudy | series.holes
    assert all(skipped[i].startswith("cloud:") for i in series.cloudy)
    assert all(skipped[i].startswith("nodata:") and "footprint" in skipped[i] for i in series.holes)


def test_a_one_pixel_shift_and_a_darker_date_leave_the_score_where_it_was():
    series = building_series(1, change=None, clouds=0, holes=0)
    h, w = series.images[0].shape[1:]
    masks = ring_masks(series.footprint_lonlat, Grid(CRS, series.transform, w, h))
    img = series.images[0]
    base = score_image(img, valid_mask(img, 0), masks).score
    moved = np.roll(img, (1, -1), axis=(1, 2))
    darker = np.clip(img.astype(float) * 0.6 + 5, 1, 254).astype(np.uint8)
    for other in (moved, darker):
        assert score_image(other, valid_mask(other, 0), masks).score == pytest.approx(base, abs=0.05)


def test_the_ring_keeps_a_gap_from_the_footprint_and_a_footprint_off_the_grid_is_refused():
    series = building_series(0, clouds=0, holes=0)
    grid = Grid(CRS, series.transform, 200, 200)
    masks = ring_masks(series.footprint_lonlat, grid)
    assert masks.gap_px >= 2 and masks.width_px >= 4
    from scipy import ndimage

    near = ndimage.binary_dilation(masks.footprint, iterations=masks.gap_px + 1)
    assert not (near & masks.ring).any() and masks.ring.sum() > masks.footprint.sum()
    far = box(0, 0, 0.001, 0.001)  # off the grid, in lon/lat
    with pytest.raises(ValueError, match="no pixel"):
        ring_masks(far, grid)


def test_divergence_is_zero_for_equal_and_one_bit_for_disjoint_histograms():
    assert js_divergence(np.array([3.0, 1, 0]), np.array([6.0, 2, 0])) == pytest.approx(0.0)
    assert js_divergence(np.array([1.0, 0]), np.array([0.0, 5])) == pytest.approx(1.0)


def test_the_change_point_ignores_one_odd_image_and_refuses_a_step_within_the_noise():
    series = [0.05, 0.06, 0.04, 0.9, 0.05, 0.06, 0.95, 0.97, 0.96, 0.94]  # one odd image before the change
    step = change_point(series)
    assert step is not None and step.split == 6 and step.direction == "appeared" and step.confidence == "high"
    noise = [0.3, 0.3 + MIN_STEP / 2, 0.3, 0.31, 0.3 + MIN_STEP / 2, 0.29]
    assert change_point(noise).direction is None  # type: ignore[union-attr]
    assert change_point([0.4]) is None
    few = change_point([0.05, 0.9])
    assert few is not None and few.direction == "appeared" and few.confidence == "low"
