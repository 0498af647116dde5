"""Issue item 5: the seed document read against the seed registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.articles import reader, resources
from tracker.articles import Reader
from tracker.seeding import SEEDS_DIR, ensure_seeded

SEED_TEXT = SEEDS_DIR / "texts" / "000_0515937eac85bcd1.txt"


@pytest.fixture(scope="module")
def result():
    (r,) = reader.read(Path(SEED_TEXT).read_text("utf-8"), published="2024-11-25")
    return r


def values(r, kind):
    return {m.value for m in r.mentions if m.kind == kind}


def test_language_and_title(result):
    assert result.article.language == "it"
    assert result.article.title.startswith("La Corea del Nord potenzia")


def test_finds_the_february_11_plant_linked_to_the_registry(result):
    (lk,) = result.links
    assert lk.mention.text == "Stabilimento 11 Febbraio" and lk.facility_id == "february-11-plant"
    assert "alias" in lk.reason and "(it)" in lk.reason


def test_finds_places_systems_organisations_people(result):
    assert {"Hamhŭng", "Kursk region", "North Korea", "Russia", "Ukraine", "Seoul"} <= values(result, "place")
    systems = [(m.text, m.value) for m in result.mentions if m.kind == "system"]
    assert systems == [("KN-23", "KN-23"), ("Hwasong-11A", "KN-23"), ("KN-24", "KN-24"), ("Hwasong-11B", "KN-24")]
    assert "CNS" in values(result, "organisation")
    assert {"Sam Lair", "Kim Jong-un", "Rustem Umerov"} <= values(result, "person")


def test_casualty_figures_with_their_sentence(result):
    figures = [m for m in result.mentions if m.kind == "figure"]
    assert [m.value for m in figures] == ["almeno 28 killed", "213 wounded"]
    assert "dall'inizio dell'anno" in figures[0].sentence
    since = next(m for m in result.mentions if m.kind == "date" and "inizio" in m.text)
    assert since.data["date"] == "2024" and since.data["relation"] == "since"


def test_the_expansion_began_in_2020(result):
    starts = [p for p in result.proposals if p.kind.value == "construction-start"]
    assert len(starts) == 1
    p = starts[0]
    assert p.facility_id == "february-11-plant" and str(p.date) == "2020" and p.date.precision.value == "year"
    assert "iniziata nel 2020" in p.evidence and p.confidence.value == "low"
    assert p.source.language == "it" and p.source.excerpt == p.evidence[:300]
    assert p.source.title.startswith("La Corea del Nord")


def test_other_proposals_new_building_housing_visit(result):
    labels = {p.label for p in result.proposals}
    assert {"new building", "housing", "visit", "construction started"} <= labels
    assert all(p.facility_id == "february-11-plant" for p in result.proposals)


def test_against_a_seeded_store(store):
    ensure_seeded(store)
    (r,) = Reader(resources, store.list_facilities()).read(Path(SEED_TEXT).read_text("utf-8"))
    assert [lk.facility_id for lk in r.links] == ["february-11-plant"]
    # without an article date, 'dall'inizio dell'anno' is found but has no value
    since = next(m for m in r.mentions if m.kind == "date" and "inizio" in m.text)
    assert since.data["date"] is None
