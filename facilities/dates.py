"""Dates as analysts know them: a day, a month, a year, or roughly when.

A `PartialDate` keeps what the source said and nothing more precise. Its text form is the one
stored and exported: ``2024-11-25`` (day), ``2024-10`` (month), ``2011`` (year) and
``~2020-06`` (approximate: the value is the best guess, the tilde says how sure it is).
Every partial date covers an interval (`start`, `end`) so that date filters can test overlap.

Time zone convention: a date made from a time is that time's UTC date (`utc_date`; capture dates are
UTC dates), a naive time is taken as UTC, and "today" is today in UTC (`utc_today`). The machine's
time zone is never used.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum

from .errors import ValidationError


class DatePrecision(StrEnum):
    """How much of a PartialDate is known: the day, the month, the year, or only roughly."""

    DAY = "day"
    MONTH = "month"
    YEAR = "year"
    APPROXIMATE = "approximate"


_PATTERN = re.compile(r"^(?P<approx>~)?(?P<y>\d{4})(?:-(?P<m>\d{2})(?:-(?P<d>\d{2}))?)?$")
# An approximate date is read as this many days either side of its value when filtering.
_APPROX_SLACK = {"year": 365, "month": 45, "day": 15}


@dataclass(frozen=True, order=True)
class PartialDate:
    """A date known to a day, a month or a year, or roughly (~): `value` is its first day, `approx_unit` the unit of
    a rough one."""

    value: dt.date
    precision: DatePrecision = DatePrecision.DAY
    # for approximate dates: the unit the guess was given in (year, month or day)
    approx_unit: str = "day"

    @classmethod
    def parse(cls, text: str | dt.date | PartialDate) -> PartialDate:
        """Read ``2024``, ``2024-10``, ``2024-10-05`` or ``~2020-06``; reject impossible dates.

        >>> PartialDate.parse("2024-10").precision
        <DatePrecision.MONTH: 'month'>
        >>> str(PartialDate.parse("~2020-06"))
        '~2020-06'
        """
        if isinstance(text, PartialDate):
            return text
        if isinstance(text, dt.datetime):
            return cls(utc_date(text), DatePrecision.DAY)
        if isinstance(text, dt.date):
            return cls(text, DatePrecision.DAY)
        if not isinstance(text, str):
            raise ValidationError(f"date must be text such as 2024-10-05, got {type(text).__name__}")
        m = _PATTERN.match(text.strip())
        if not m:
            raise ValidationError(
                f"date {text!r} is not YYYY, YYYY-MM or YYYY-MM-DD (prefix ~ for approximate)"
            )
        y, mo, d = int(m["y"]), int(m["m"] or 1), int(m["d"] or 1)
        latest = utc_today().year + 1
        if y < 1800 or y > latest:
            raise ValidationError(f"date {text!r}: year {y} is outside 1800..{latest}")
        try:
            value = dt.date(y, mo, d)
        except ValueError as err:
            raise ValidationError(f"date {text!r} does not exist: {err}") from None
        unit = "day" if m["d"] else "month" if m["m"] else "year"
        if m["approx"]:
            return cls(value, DatePrecision.APPROXIMATE, unit)
        return cls(value, DatePrecision(unit), unit)

    def __str__(self) -> str:
        unit = self.approx_unit if self.precision is DatePrecision.APPROXIMATE else self.precision.value
        text = {
            "year": f"{self.value.year:04d}",
            "month": f"{self.value.year:04d}-{self.value.month:02d}",
            "day": self.value.isoformat(),
        }[unit]
        return ("~" if self.precision is DatePrecision.APPROXIMATE else "") + text

    @property
    def start(self) -> dt.date:
        """First day this date may mean."""
        if self.precision is DatePrecision.APPROXIMATE:
            return self._unit_start() - dt.timedelta(days=_APPROX_SLACK[self.approx_unit])
        return self._unit_start()

    @property
    def end(self) -> dt.date:
        """Last day this date may mean."""
        if self.precision is DatePrecision.APPROXIMATE:
            return self._unit_end() + dt.timedelta(days=_APPROX_SLACK[self.approx_unit])
        return self._unit_end()

    def _unit(self) -> str:
        return self.approx_unit if self.precision is DatePrecision.APPROXIMATE else self.precision.value

    def _unit_start(self) -> dt.date:
        unit, v = self._unit(), self.value
        return dt.date(v.year, 1, 1) if unit == "year" else dt.date(v.year, v.month, 1) if unit == "month" else v

    def _unit_end(self) -> dt.date:
        unit, v = self._unit(), self.value
        if unit == "year":
            return dt.date(v.year, 12, 31)
        if unit == "month":
            return dt.date(v.year, v.month, calendar.monthrange(v.year, v.month)[1])
        return v


def parse_timestamp(text: str) -> dt.datetime:
    """Read an ISO 8601 timestamp; naive ones are taken as UTC. Always returns an aware UTC time."""
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, AttributeError) as err:
        raise ValidationError(f"timestamp {text!r} is not ISO 8601 (e.g. 2024-11-25T10:00:00Z)") from err
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    try:
        return value.astimezone(dt.UTC)
    except OverflowError:  # 0001-01-01T00:00+01:00 is a year before 1 in UTC
        raise ValidationError(f"timestamp {text!r} is out of range once converted to UTC "
                              "(years 1 to 9999)") from None


def format_timestamp(value: dt.datetime) -> str:
    """GeoPackage DATETIME form: YYYY-MM-DDTHH:MM:SS.SSSZ in UTC; a naive time is taken as UTC (as parse_timestamp
    reads it), not as the machine's local time."""
    value = value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def utc_date(when: dt.datetime) -> dt.date:
    """The UTC calendar date of a time: an aware time is converted to UTC first, a naive one is taken as UTC.

    >>> utc_date(dt.datetime(2024, 6, 1, 20, 0, tzinfo=dt.timezone(dt.timedelta(hours=-8))))
    datetime.date(2024, 6, 2)
    """
    return when.astimezone(dt.UTC).date() if when.tzinfo is not None else when.date()


def utc_today() -> dt.date:
    """Today's date in UTC (not the machine's time zone)."""
    return dt.datetime.now(dt.UTC).date()


def utcnow() -> dt.datetime:
    """The current time in UTC, cut to milliseconds: the resolution the GeoPackage text form keeps, so stored values
    round-trip exactly."""
    # millisecond resolution: what the GeoPackage text form keeps, so values round-trip exactly
    now = dt.datetime.now(dt.UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def covering(first: dt.date, last: dt.date) -> PartialDate:
    """The narrowest PartialDate whose interval holds every day from `first` to `last` (a bracket).

    Of a day, the month and the year of `first`, a rough month (~YYYY-MM, read as 45 days either side)
    and a rough year (~YYYY, 365 days either side) of the bracket's middle day, the one holding the
    bracket whose interval is shortest (a rough month, 121 days or so, before a stated year).
    A bracket too long even for a rough year gets the rough year of its middle, which does not hold
    all of it: callers name the bracket's bounds beside the date.

    >>> str(covering(dt.date(2021, 3, 5), dt.date(2021, 3, 28)))
    '2021-03'
    >>> str(covering(dt.date(2021, 2, 20), dt.date(2021, 4, 2)))
    '~2021-03'
    >>> str(covering(dt.date(2020, 11, 5), dt.date(2021, 4, 18)))
    '~2021'
    """
    if last < first:
        raise ValidationError(f"bracket {first}..{last}: the last day is before the first")
    middle = first + (last - first) // 2
    candidates = [
        PartialDate(first, DatePrecision.DAY),
        PartialDate(dt.date(first.year, first.month, 1), DatePrecision.MONTH),
        PartialDate(dt.date(first.year, 1, 1), DatePrecision.YEAR),
        PartialDate(dt.date(middle.year, middle.month, 1), DatePrecision.APPROXIMATE, "month"),
        PartialDate(dt.date(middle.year, 1, 1), DatePrecision.APPROXIMATE, "year"),
    ]
    holding = [c for c in candidates if c.start <= first and last <= c.end]
    return min(holding, key=lambda c: c.end - c.start) if holding else candidates[-1]
