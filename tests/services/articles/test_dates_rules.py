"""The date reader at its boundaries (issue 22): a month or a day named without a year against the article's
date of each precision (the same month, the month after, the last day), the weekday on the article's own day,
months counted back across a new year, day numbers out of range, ranges written backwards, month words inside
facility names, and every relation's value and best date."""

from __future__ import annotations

import pytest

from facilities.dates import PartialDate
from tracker.articles.dates import DateFound, find_dates
from tracker.articles.patterns import fold


def dates(text: str, ref: str | None) -> list[tuple[str, str]]:
    found = find_dates(text, PartialDate.parse(ref) if ref else None)
    return [(fold(text[d.start:d.end]), d.value) for d in found]


NEEDS = "relative: needs the article date"


@pytest.mark.parametrize(("text", "ref", "expected"), [
    # a month-day without a year: the latest such day not after the article
    ("on November 25", "2024-11-25", [("november 25", "2024-11-25")]),
    ("on November 26", "2024-11-25", [("november 26", "2023-11-26")]),
    ("on November 24", "2024-11-25", [("november 24", "2024-11-24")]),
    ("on December 1", "2024-11-25", [("december 1", "2023-12-01")]),
    ("on October 30", "2024-11-25", [("october 30", "2024-10-30")]),
    ("on November 30", "2024-11", [("november 30", "2024-11-30")]),  # the article's month: any day of it
    ("on December 1", "2024-11", [("december 1", "2023-12-01")]),
    ("on December 31", "2024", [("december 31", "2024-12-31")]),  # only the year known: that year
    ("on December 31", "~2024-11", [("december 31", "2023-12-31")]),
    ("on November 30", "~2024-11", [("november 30", "2024-11-30")]),
    ("on November 30", "~2024-11-15", [("november 30", "2023-11-30")]),
    ("on November 15", "~2024-11-15", [("november 15", "2024-11-15")]),
    ("on March 31", "2024-04-01", [("march 31", "2024-03-31")]),
    ("on March 32", "2024-04-01", []),
    ("on 31 March", "2024-04-01", [("31 march", "2024-03-31")]),
    ("on 0 March", "2024-04-01", []),
    ("on February 30", "2024-04-01", [("february 30", NEEDS)]),  # read as a date that does not exist
    ("on 25 novembre", None, [("25 novembre", NEEDS)]),
    # facility names are not dates
    ("the February 11 Plant", "2024-11-25", []),
    ("lo Stabilimento 11 Febbraio", "2024-11-25", []),
    ("the Complex of the 8 February", "2024-11-25", []),
    ("l'usine du 8 fevrier", "2024-11-25", []),
    ("Vinalon February 8", "2024-11-25", []),
    ("the February 8 Vinalon", "2024-11-25", []),
    ("the February 8 works", "2024-11-25", []),
    # weekdays: on the article's day itself, or a week back after 'last'
    ("on Monday", "2024-11-25", [("on monday", "2024-11-25")]),
    ("last Monday", "2024-11-25", [("last monday", "2024-11-18")]),
    ("last Sunday", "2024-11-25", [("last sunday", "2024-11-24")]),
    ("on Tuesday", "2024-11-25", [("on tuesday", "2024-11-19")]),
    ("on Tuesday", "2024-11", [("on tuesday", NEEDS)]),
    ("on Tuesday", "~2024-11-25", [("on tuesday", "2024-11-19")]),  # about a day is still a day
    ("yesterday", "2024-03-01", [("yesterday", "2024-02-29")]),
    ("last week", "2024-01-03", [("last week", "~2023-12-27")]),
    ("yesterday", "2024-03", [("yesterday", NEEDS)]),
    # months back, across the new year
    ("last month", "2024-01-15", [("last month", "2023-12")]),
    ("this month", "2024-01-15", [("this month", "2024-01")]),
    ("since last month", "2024-01-15", [("since last month", "since 2023-12")]),
    ("since last month", None, [("since last month", "since: needs the article date")]),
    ("last month", "2024", [("last month", NEEDS)]),
    ("last month", "~2024", [("last month", NEEDS)]),
    ("last month", "~2024-03", [("last month", "2024-02")]),
    ("in the past year", "2024-01-15", [("in the past year", "within 2023-01/2024-01")]),
    ("in the past year", "2024", [("in the past year", "within 2023/2024")]),
    ("in the past year", None, [("in the past year", "within: needs the article date")]),
    # a month named alone
    ("in December", "2024-12-02", [("in december", "2024-12")]),
    ("in January", "2024-12-02", [("in january", "2024-01")]),
    ("in December", "2024", [("in december", "2024-12")]),
    ("in December", None, [("in december", NEEDS)]),
    ("late December", "2025-01-10", [("late december", "~2024-12")]),
    ("late December 2019", "2025-01-10", [("late december 2019", "~2019-12")]),
    ("late December", None, [("late december", NEEDS)]),
    ("December 2019", None, [("december 2019", "2019-12")]),
    ("from 3 to 5 March", "2024-02-01", [("from 3 to 5 march", "2023-03-03/2023-03-05")]),
    ("from 3 to 5 March", "2024-03-01", [("from 3 to 5 march", "2024-03-03/2024-03-05")]),
    ("from 3 to 5 March", None, [("from 3 to 5 march", "range: needs the article date")]),
    # the year written: the whole range, not its last day alone (the day rule used to take "5 March 2020")
    ("from 3 to 5 March 2020", None, [("from 3 to 5 march 2020", "2020-03-03/2020-03-05")]),
    ("between 30 and 31 December 2019", "2024-01-01", [("between 30 and 31 december 2019", "2019-12-30/2019-12-31")]),
    ("dal 3 al 5 marzo 2020", None, [("dal 3 al 5 marzo 2020", "2020-03-03/2020-03-05")]),
    # years: counts, words, relations, ranges written backwards
    ("3 years ago", "2024-06-01", [("3 years ago", "2021")]),
    ("a year ago", "2024-06-01", [("a year ago", "2023")]),
    ("il y a deux ans", "2024-06-01", [("il y a deux ans", "2022")]),
    ("ten years ago", None, [("ten years ago", NEEDS)]),
    ("last year", "2024-06-01", [("last year", "2023")]),
    ("this year", "2024-06-01", [("this year", "2024")]),
    ("since the start of the year", "2024-06-01", [("since the start of the year", "since 2024")]),
    ("since the start of the year", None, [("since the start of the year", "since: needs the article date")]),
    ("until 2020", None, [("until 2020", "until 2020")]),
    ("entro il 2020", None, [("entro il 2020", "until 2020")]),
    ("by 2020", None, [("by 2020", "until 2020")]),
    ("fino al 2020", None, [("fino al 2020", "until 2020")]),
    ("depuis 2020", None, [("depuis 2020", "since 2020")]),
    ("from 2018 to 2020", None, [("from 2018 to 2020", "2018/2020")]),
    ("from 2020 to 2018", None, [("2020", "2020"), ("2018", "2018")]),
    ("2018-2020", None, [("2018-2020", "2018/2020")]),
    ("2020/2020", None, [("2020/2020", "2020/2020")]),
    ("2020-2018", None, []),
    ("late 2019", None, [("late 2019", "~2019")]),
    ("on 2024-02-29 and 5 March 2021", None, [("2024-02-29", "2024-02-29"), ("5 march 2021", "2021-03-05")]),
    ("March 5, 2021", None, [("march 5, 2021", "2021-03-05")]),
    ("depuis le debut de l'annee", "2024-06-01", [("depuis le debut de l'annee", "since 2024")]),
    ("since 2019, and 2021", None, [("since 2019", "since 2019"), ("2021", "2021")]),  # past a taken span
    # a match the rule turns down (a name, a backwards range) does not end the search for later ones
    ("the February 11 Plant opened on November 25", "2024-12-01", [("november 25", "2024-11-25")]),
    ("2020-2018 then 2019-2021", None, [("2019-2021", "2019/2021")]),
    # the head word of a name is looked for in the 30 characters before the date, no further
    ("lo stabilimento" + " " * 19 + "8 febbraio", "2024-11-25", [("8 febbraio", "2024-02-08")]),
    ("lo stabilimento" + " " * 17 + "8 febbraio", "2024-11-25", []),
])
def test_dates_at_their_boundaries(text, ref, expected):
    assert dates(text, ref) == expected


@pytest.mark.parametrize(("text", "ref", "relation"), [
    ("on Tuesday", "2024-11-25", "relative"), ("yesterday", "2024-11-25", "relative"),
    ("last week", "2024-11-25", "relative"), ("two years ago", "2024-11-25", "relative"),
    ("from 3 to 5 March", "2024-11-25", "range"), ("from 3 to 5 March", None, "range"),
    ("2018-2020", None, "range"), ("late December 2019", None, "at"), ("late December", "2024-11-25", "relative"),
    ("December 2019", None, "at"), ("in December", "2024-11-25", "relative"), ("on November 24", "2024-11-25",
                                                                             "relative"),
    ("since last month", "2024-11-25", "since"), ("last month", "2024-11-25", "relative"),
    ("in the past year", "2024-11-25", "within"), ("last year", "2024-11-25", "relative"),
    ("by 2020", None, "until"), ("2020", None, "at"),
])
def test_each_expression_says_how_its_date_relates(text, ref, relation):
    (found,) = find_dates(text, PartialDate.parse(ref) if ref else None)
    assert found.relation == relation


def test_value_and_best_of_each_relation():
    p = PartialDate.parse
    assert DateFound(0, 1, p("2024-03")).value == "2024-03"
    assert DateFound(0, 1, p("2020"), relation="since").value == "since 2020"
    assert DateFound(0, 1, p("2020"), relation="until").value == "until 2020"
    assert DateFound(0, 1, p("2018"), p("2020"), "range").value == "2018/2020"
    assert DateFound(0, 1, p("2024-03"), relation="relative").value == "2024-03"
    assert DateFound(0, 1, None, relation="since").value == "since: needs the article date"
    within = DateFound(0, 1, p("2023-07"), p("2024-07"), "within")
    assert within.value == "within 2023-07/2024-07" and str(within.best) == "~2024-07"
    assert DateFound(0, 1, p("2018"), p("2020"), "range").best == p("2018")
    assert DateFound(0, 1, None, relation="within").best is None
    (found,) = find_dates("in the past year", p("2024-07-12"))
    assert str(found.best) == "~2024-07" and (found.start, found.end) == (0, 16)


def test_spans_are_the_texts_and_do_not_overlap():
    text = "Between 3 and 5 March, then on Monday, and in 2021."
    found = find_dates(text, PartialDate.parse("2024-03-20"))
    assert [(text[d.start:d.end], d.value) for d in found] == [
        ("Between 3 and 5 March", "2024-03-03/2024-03-05"), ("on Monday", "2024-03-18"), ("2021", "2021")]
