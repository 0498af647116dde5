"""Places misspelled as outlets write them ('Hamhun' for Hamhung): one edit from a city of a
country the article names (by name or adjective), from five letters, and only one such city."""

from __future__ import annotations

import pytest

from tests.support.articles import read
from tracker.articles.extract import _one_edit


def places(text: str) -> list[tuple[str, str, str]]:
    return [(m.text, m.value, m.via) for m in read(text).mentions if m.kind == "place"]


@pytest.mark.parametrize("text", [
    "Satellite images show a new hall at a plant in Hamhun, North Korea.",
    "A North Korean plant in the eastern city of Hamhun is being enlarged.",
    "Lo stabilimento nordcoreano di Hamhun si allarga.",
    "L'usine de Hamhong, en Corée du Nord, s'agrandit.",
])
def test_a_misspelled_city_of_a_named_country_is_that_city(text):
    found = [p for p in places(text) if p[2] == "fuzzy"]
    assert len(found) == 1 and found[0][1].startswith("Hamh") and found[0][0] in ("Hamhun", "Hamhong")
    m = next(m for m in read(text).mentions if m.via == "fuzzy")
    assert m.data["country"] == "KP" and m.data["lat"] and m.data["spelled"] == m.text


@pytest.mark.parametrize("text", [
    "Satellite images show a new hall at a plant in Hamhun.",  # no country named: no guess
    "Satellite images show a new hall at a plant in Hamhongg, North Korea.",  # two edits away
    "Satellite images show a new hall at a plant in Anjo, North Korea.",  # too short to judge
    "Satellite images show a new hall at a plant in Hamhun, Ukraine.",  # Hamhung is not a Ukrainian city
])
def test_no_guess_without_the_country_or_beyond_one_edit(text):
    assert not [p for p in places(text) if p[2] == "fuzzy"]


def test_a_correctly_spelled_city_is_not_a_fuzzy_match():
    assert ("Hamhung", "Hamhŭng", "gazetteer") in places("A plant in Hamhung, North Korea, grows.")


def test_one_edit():
    assert _one_edit("hamhun", "hamhung") and _one_edit("hamhong", "hamhung") and _one_edit("hamhungg", "hamhung")
    assert not _one_edit("hamhung", "hamhung") and not _one_edit("hamhn", "hamhung") and not _one_edit("ab", "ba")
