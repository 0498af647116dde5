"""Change.magnitude, the per-pixel change in noise sigmas that the evidence export writes as a COG: high over a new
roof, near 1 elsewhere, NaN exactly where either image has no data, also when nothing is significant."""

from __future__ import annotations

import numpy as np

from imagery.change import PIXEL_K, measure_change
from tests.imagery.test_change import ROOF, _chip, _ground, _noisy, _roof_after


def test_the_magnitude_is_in_sigmas_over_the_roof_and_nan_where_either_image_has_no_data():
    before, after = _noisy(_ground(), 1), _noisy(_roof_after(), 2)
    before[:, :30, :] = 0  # nodata on the earlier image only
    after[:, :, -20:] = 0  # ... and on the later one only
    result = measure_change(_chip(before, nodata=0), _chip(after, nodata=0))
    mag = result.magnitude
    assert mag.shape == result.grid.shape and mag.dtype == np.float32
    assert np.isnan(mag[:30]).all() and np.isnan(mag[:, -20:]).all()
    assert np.isfinite(mag[30:, :-20]).all()
    assert float(np.median(mag[ROOF])) > PIXEL_K  # the roof beats the noise ...
    assert 0.5 < float(np.median(mag[500:, :200])) < 2.0  # ... the untouched ground is about one sigma


def test_a_pair_without_significant_change_still_has_its_magnitude():
    result = measure_change(_chip(_noisy(_ground(), 1)), _chip(_noisy(_ground(), 7)))
    assert not result.significant
    assert np.isfinite(result.magnitude).all() and float(np.median(result.magnitude)) < 2.0
