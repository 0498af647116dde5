"""One reading of a bounding box for the CLI, notebooks and the store (facilities.bbox)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from facilities.bbox import parse_bbox, split_antimeridian
from facilities.errors import ValidationError

lon = st.floats(-180, 180)
lat = st.floats(-90, 90)


@given(lon, lat, lon, lat)
def test_text_and_numbers_give_the_same_box_or_the_same_refusal(w, s, e, n):
    text = f"{w!r},{s!r},{e!r},{n!r}"
    try:
        from_numbers = parse_bbox((w, s, e, n))
    except ValidationError:
        with pytest.raises(ValidationError):
            parse_bbox(text)
        assert s > n
        return
    assert parse_bbox(text) == from_numbers == (w, s, e, n)
    halves = split_antimeridian(from_numbers)
    assert len(halves) == (2 if w > e else 1)
    assert all(b[0] <= b[2] for b in halves)


@pytest.mark.parametrize("value, words", [
    ("1,2,3", "four numbers"), ("a,b,c,d", "four numbers"), ((1, 2, 3, 4, 5), "four numbers"), (b"1,2,3,4", "four"),
    ("nan,0,1,1", "finite"), ((0, 0, math.inf, 1), "finite"), ("-181,0,0,1", "outside"), ("0,-91,1,0", "outside"),
    ("0,2,1,1", "south > north"), (12, "four numbers"),
])
def test_bad_boxes_are_refused_naming_the_option(value, words):
    with pytest.raises(ValidationError, match=words) as err:
        parse_bbox(value, what="--bbox")
    assert str(err.value).startswith("--bbox")


def test_none_is_no_box():
    assert parse_bbox(None) is None
