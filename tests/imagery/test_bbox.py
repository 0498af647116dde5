"""One check for the boxes imagery is asked for (imagery.bbox)."""

from __future__ import annotations

import math

import pytest

from imagery.bbox import check_bbox, split_antimeridian
from imagery.errors import AntimeridianCrossing


@pytest.mark.parametrize("bbox", [(0, 0, 0, 1), (0, 1, 1, 1), (math.nan, 0, 1, 1), (0, 0, 1, math.inf),
                                  (0, 2, 1, 1), (-181, 0, 0, 1), (0, -91, 1, 0), (0, 0, 1)])
def test_boxes_no_chip_can_be_made_of_are_refused(bbox):
    with pytest.raises(ValueError):
        check_bbox(bbox)


def test_a_box_across_the_antimeridian_is_split_not_chipped():
    with pytest.raises(AntimeridianCrossing, match="split"):
        check_bbox((179.5, 0, -179.5, 1))
    assert split_antimeridian((179.5, 0, -179.5, 1)) == [(179.5, 0, 180.0, 1), (-180.0, 0, -179.5, 1)]
    assert split_antimeridian((1, 2, 3, 4)) == [(1, 2, 3, 4)]
    with pytest.raises(ValueError):
        split_antimeridian((0, 0, 1, math.nan))
