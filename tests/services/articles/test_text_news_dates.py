"""Issue 19: dates as news writes them, relative to the article's date, with their precision; a
proposal says where its date comes from or why it has none."""

from __future__ import annotations

import pytest

from facilities.dates import PartialDate
from tests.support.articles import read
from tracker.articles.dates import find_dates
from tracker.articles.patterns import fold


def dates(text: str, ref: str | None) -> list[tuple[str, str]]:
    found = find_dates(text, PartialDate.parse(ref) if ref else None)
    return [(fold(text[d.start:d.end]), d.value) for d in found]


@pytest.mark.parametrize(("text", "ref", "expected"), [
    ("researchers said on Monday, November 25.", "2024-11-26", [("monday, november 25", "2024-11-25")]),
    ("SEOUL, Nov 25 (Reuters) - said on Monday", "2024-11-25", [("nov 25", "2024-11-25"),
                                                                ("on monday", "2024-11-25")]),
    ("the hall moved out on Tuesday", "2024-09-27", [("on tuesday", "2024-09-24")]),
    ("Kim toured it last month", "2024-07-12", [("last month", "2024-06")]),
    ("fired missiles since last December", "2024-11-25", [("since last december", "2023-12")]),
    ("growing steadily since 2020", "2024-09-18", [("since 2020", "since 2020")]),
    ("images from early October", "2024-11-25", [("early october", "~2024-10")]),
    ("a hall was completed in the past year", "2024-07-12", [("in the past year", "within 2023-07/2024-07")]),
    ("satellite images taken last week", "2025-01-15", [("last week", "~2025-01-08")]),
    ("in December", "2024-11-25", [("in december", "2023-12")]),
    ("two years ago", "2024-10-30", [("two years ago", "2022")]),
    # Italian and French
    ("Lunedì 25 novembre SI Analytics", "2024-11-26", [("lunedi 25 novembre", "2024-11-25")]),
    ("immagini del mese scorso; ieri; la settimana scorsa", "2024-10-03",
     [("del mese scorso", "2024-09"), ("ieri", "2024-10-02"), ("la settimana scorsa", "~2024-09-26")]),
    ("nell'ultimo anno; a metà luglio; due anni fa", "2024-08-14",
     [("nell'ultimo anno", "within 2023-08/2024-08"), ("a meta luglio", "~2024-07"), ("due anni fa", "2022")]),
    ("début octobre; mi-octobre; le mois dernier; l'an dernier; mardi; depuis 2022", "2025-02-05",
     [("debut octobre", "~2024-10"), ("mi-octobre", "~2024-10"), ("le mois dernier", "2025-01"),
      ("l'an dernier", "2024"), ("mardi", "2025-02-04"), ("depuis 2022", "since 2022")]),
    # without the article's date a relative expression is found, with no value
    ("last month", None, [("last month", "relative: needs the article date")]),
    ("on Monday, November 25", None, [("monday, november 25", "relative: needs the article date")]),
])
def test_relative_news_dates(text, ref, expected):
    assert dates(text, ref) == expected


def test_names_with_a_month_and_a_day_are_not_dates():
    text = ("The February 11 plant, the March 16 factory, the Vinalon 8 February complex, la fabbrica 11 Febbraio "
            "fa parte, l'usine du 11 Février.")
    assert dates(text, "2024-11-25") == []


def test_precision_is_the_texts():
    (d,) = find_dates("in early October", PartialDate.parse("2024-11-25"))
    assert d.date.precision.value == "approximate" and d.date.approx_unit == "month"
    (d,) = find_dates("on Monday", PartialDate.parse("2024-11-25"))
    assert d.date.precision.value == "day"
    (d,) = find_dates("on Monday", PartialDate.parse("2024-11"))
    assert d.date is None  # a weekday needs the article's day


def test_every_proposal_has_a_date_or_says_why_not():
    r = read("North Korea expands missile plant\nNovember 26, 2024\n\n"
             "Images from early October show a new assembly building at the February 11 Plant. "
             "The plant also got new housing for workers. "
             "In the past year the February 11 Plant completed a hall.")
    assert r.article.published == "2024-11-26"
    first, second, third = (p for p in r.proposals if p.label in ("new building", "housing", "completed"))
    assert str(first.date) == "~2024-10" and "early October" in first.date_reason
    assert first.date.precision.value == "approximate"
    assert second.date is None and "article's date (2024-11-26)" in second.date_reason
    assert str(third.date) == "~2024-11"  # within the past year: by the article's month, approximate
    undated = read("The February 11 Plant got new housing for workers last month.")
    (p,) = undated.proposals
    assert p.date is None and "relative" in p.date_reason and "last month" in p.date_reason
    assert read("The February 11 Plant got new housing.").proposals[0].date_reason.startswith("neither")


def test_the_seed_document_dates_keep_working():
    r = read("Il 25 novembre 2024 l'espansione dello Stabilimento 11 Febbraio è iniziata nel 2020. "
             "Dall'inizio dell'anno 28 morti.", published="2024-11-25")
    assert {m.data["date"] for m in r.mentions if m.kind == "date"} == {"2024-11-25", "2020", "2024"}
