"""facilities.dates.covering: the narrowest partial date holding a bracket of days (what an accepted dating stores)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from facilities.dates import PartialDate, covering
from facilities.errors import ValidationError

DAYS = st.dates(dt.date(1990, 1, 1), dt.date(2024, 12, 31))


@given(DAYS, st.integers(0, 500))
def test_the_date_holds_the_bracket_and_no_listed_form_holding_it_is_narrower(first, length):
    last = first + dt.timedelta(days=length)
    got = covering(first, last)
    assert got.start <= first and last <= got.end
    middle = first + (last - first) // 2
    rivals = [PartialDate.parse(t) for t in (first.isoformat(), first.strftime("%Y-%m"), str(first.year),
                                             "~" + middle.strftime("%Y-%m"), f"~{middle.year}")]
    holding = [r for r in rivals if r.start <= first and last <= r.end]
    assert got.end - got.start == min(r.end - r.start for r in holding)


def test_examples_and_a_reversed_bracket():
    assert str(covering(dt.date(2021, 4, 18), dt.date(2021, 4, 18))) == "2021-04-18"
    assert str(covering(dt.date(2021, 3, 5), dt.date(2021, 3, 28))) == "2021-03"
    assert str(covering(dt.date(2021, 1, 5), dt.date(2021, 9, 28))) == "2021"
    assert str(covering(dt.date(2020, 12, 20), dt.date(2021, 1, 10))) == "~2020-12"
    with pytest.raises(ValidationError, match="before the first"):
        covering(dt.date(2021, 3, 5), dt.date(2021, 3, 4))
