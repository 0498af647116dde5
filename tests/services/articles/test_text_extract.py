"""Mentions: facility name patterns and distractors, places without diacritics, systems, dates, figures."""

from __future__ import annotations

import pytest

from tests.support.articles import read
from tracker.articles.dates import find_dates


def names(result, kind):
    return [m.text for m in result.mentions if m.kind == kind]


def test_facility_patterns():
    r = read("Factory No. 26 and the Kusong Machine Tool Factory grew. In Italy, la Fabbrica n. 26 di Kanggye "
             "e il Complesso meccanico di Ryongsong. A yard known as \"Bong Dae\" shipyard; the \"Golden Star\" plant.")
    assert names(r, "facility") == ["Factory No. 26", "Kusong Machine Tool Factory", "Fabbrica n. 26",
                                     "Complesso meccanico di Ryongsong", "Bong Dae", "Golden Star"]


@pytest.mark.parametrize("text", [
    "The plant was expanded in 2020.",
    "A coal-fired power plant supplies the complex.",
    "The Nuclear Power Plant was shut.",
    "L'impianto di Hamhung e lo stabilimento sono cresciuti.",
    "Una centrale elettrica alimenta il complesso.",
    "He said \"it is big\" about the plant.",
])
def test_generic_words_are_not_facilities(text):
    assert names(read(text), "facility") == []


def test_headlines_in_title_case_do_not_make_names():
    r = read("North Korea Expands Missile Factory Near Hamhung\n\nThe work continues.")
    assert names(r, "facility") == []
    assert "Hamhung" in names(r, "place")


def test_places_match_without_diacritics():
    r = read("Hamhung and Hamhŭng are one city; so are Kiev and Kyiv. Sinpo is Sinp'o.")
    places = [(m.text, m.value) for m in r.mentions if m.kind == "place"]
    assert ("Hamhung", "Hamhŭng") in places and ("Hamhŭng", "Hamhŭng") in places
    assert ("Kiev", "Kyiv") in places and ("Sinpo", "Sinp’o") in places
    hamhung = next(m for m in r.mentions if m.text == "Hamhung")
    assert hamhung.data["country"] == "KP" and abs(hamhung.data["lat"] - 39.918) < 0.01


def test_regions_and_countries():
    r = read("Truppe nella regione di Kursk e in Corea del Nord; troops in the Kursk region.")
    assert {m.value for m in r.mentions if m.kind == "place"} == {"Kursk region", "North Korea"}


def test_systems_with_other_designations():
    r = read("It makes the KN-23 (Hwasong-11A), the Hwasong-11B and a new KN-99.")
    assert [(m.text, m.value) for m in r.mentions if m.kind == "system"] == [
        ("KN-23", "KN-23"), ("Hwasong-11A", "KN-23"), ("Hwasong-11B", "KN-24"), ("KN-99", "KN-99")]


def test_organisations_and_people():
    r = read("Sam Lair, a researcher at the James Martin Center for Nonproliferation Studies, and Kim Jong Un. "
             "The Ministry of Defence of Ukraine said so.")
    orgs = {(m.text, m.value) for m in r.mentions if m.kind == "organisation"}
    assert ("James Martin Center for Nonproliferation Studies", "CNS") in orgs
    assert any(t.startswith("Ministry of Defence") for t, _ in orgs)
    assert {"Sam Lair", "Kim Jong Un"} <= set(names(r, "person"))


@pytest.mark.parametrize(("text", "ref", "expected"), [
    ("l'espansione è iniziata nel 2020", None, [("2020", "year", "2020")]),
    ("expanding since 2020", None, [("since 2020", "year", "since 2020")]),
    ("work began in early October", "2024-11-25", [("early october", "approximate", "~2024-10")]),
    ("work began in early October", None, [("early october", None, "relative: needs the article date")]),
    ("lavori a fine dicembre", "2025-01-15", [("a fine dicembre", "approximate", "~2024-12")]),
    ("dall'inizio dell'anno 28 morti", "2024-11-25", [("dall'inizio dell'anno", "year", "since 2024")]),
    ("on 25 November 2024 and in March 2023", None, [("25 november 2024", "day", "2024-11-25"),
                                                       ("march 2023", "month", "2023-03")]),
    ("between 2022 and 2023, dal 2020 al 2024", None, [("between 2022 and 2023", "year", "2022/2023"),
                                                         ("dal 2020 al 2024", "year", "2020/2024")]),
    ("dall'8 all'11 aprile", "2025-05-01", [("dall'8 all'11 aprile", "day", "2025-04-08/2025-04-11")]),
    ("mid-2019 and 152 mm shells", None, [("mid-2019", "approximate", "~2019")]),
])
def test_dates(text, ref, expected):
    from facilities.dates import PartialDate
    from tracker.articles.patterns import fold

    found = find_dates(text, PartialDate.parse(ref) if ref else None)
    got = [(fold(text[d.start:d.end]), d.date.precision.value if d.date else None, d.value) for d in found]
    assert got == expected


def test_figures():
    r = read("Attacks killed at least 28 people? No: almeno 28 morti e 213 feriti; output rose 60-70 % "
             "on 12,000 square metres, by 40 per cento.")
    assert [m.value for m in r.mentions if m.kind == "figure"] == [
        "almeno 28 killed", "213 wounded", "60-70 %", "12,000 area", "40 %"]


def test_mentions_keep_their_sentence_and_span():
    r = read("First sentence here. The February 11 Plant is in Hamhung.")
    m = next(m for m in r.mentions if m.kind == "facility")
    assert r.article.text[m.start:m.end] == m.text == "February 11 Plant"
    assert m.sentence == "The February 11 Plant is in Hamhung." and m.sentence_index == 1
