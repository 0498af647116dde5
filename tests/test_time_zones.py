"""Capture dates are UTC dates, whatever the machine's time zone: each test runs under a zone far from UTC
(America/Los_Angeles, 8 hours behind in winter) as well as the one `make test` sets."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from facilities.dates import PartialDate, format_timestamp, parse_timestamp, utc_date, utc_today
from imagery import stac

PACIFIC = dt.timezone(dt.timedelta(hours=-8))
TOKYO = dt.timezone(dt.timedelta(hours=9))


@pytest.fixture(params=["America/Los_Angeles", "Asia/Tokyo"])
def machine_zone(request, monkeypatch):
    monkeypatch.setenv("TZ", request.param)
    time.tzset()
    yield request.param
    monkeypatch.undo()
    time.tzset()


def test_the_utc_date_of_a_time_is_not_the_machines_date(machine_zone):
    evening = dt.datetime(2024, 12, 31, 20, 30, tzinfo=PACIFIC)  # already 2025-01-01 in UTC
    assert utc_date(evening) == dt.date(2025, 1, 1)
    assert utc_date(dt.datetime(2025, 1, 1, 7, 0, tzinfo=TOKYO)) == dt.date(2024, 12, 31)
    assert utc_date(dt.datetime(2024, 12, 31, 23, 59)) == dt.date(2024, 12, 31)  # naive: taken as UTC
    assert PartialDate.parse(evening) == PartialDate.parse("2025-01-01")
    assert str(PartialDate.parse(dt.datetime(2024, 2, 29, 23, 0))) == "2024-02-29"


def test_naive_timestamps_are_utc_both_ways(machine_zone):
    naive = dt.datetime(2024, 11, 25, 23, 30, 0, 123000)
    assert format_timestamp(naive) == "2024-11-25T23:30:00.123Z"
    assert parse_timestamp(format_timestamp(naive)) == naive.replace(tzinfo=dt.UTC)
    assert format_timestamp(dt.datetime(2024, 11, 25, 20, 0, tzinfo=PACIFIC)) == "2024-11-26T04:00:00.000Z"


def test_today_is_todays_utc_date(machine_zone):
    before = dt.datetime.now(dt.UTC).date()
    assert utc_today() in (before, dt.datetime.now(dt.UTC).date())


def test_a_scene_time_with_an_offset_is_dated_in_utc(machine_zone):
    assert stac.utc_date(dt.datetime(2024, 6, 1, 23, 59, tzinfo=PACIFIC)) == dt.date(2024, 6, 2)
    assert stac.utc_date(dt.datetime(2024, 6, 1, 2, 0, tzinfo=TOKYO)) == dt.date(2024, 5, 31)
    assert stac.utc_date(dt.datetime(2024, 6, 1, 23, 59)) == dt.date(2024, 6, 1)
