"""Issue 19: name variants (word order, case, numbered names) and attribution (the facility each
sentence states a fact about; a neighbour is not the plant; the evidence is the stating sentence)."""

from __future__ import annotations

import pytest

from tests.support.articles import read


def facilities(r):
    return {(lk.mention.text, lk.facility_id) for lk in r.links}


@pytest.mark.parametrize(("text", "name", "facility_id"), [
    ("New construction at the Vinalon 8 February complex in Hamhung.", "Vinalon 8 February complex",
     "february-8-vinalon-complex"),
    ("Nuove costruzioni nel vicino complesso Vinalon 8 Febbraio.", "complesso Vinalon 8 Febbraio",
     "february-8-vinalon-complex"),
    ("De nouvelles constructions au complexe Vinalon du 8 Février.", "complexe Vinalon du 8 Février",
     "february-8-vinalon-complex"),
    ("La fabbrica 11 Febbraio fa parte del complesso.", "fabbrica 11 Febbraio", "february-11-plant"),
    ("La Corée du Nord agrandit l'usine du 11 Février, à Hamhung.", "usine du 11 Février", "february-11-plant"),
])
def test_name_variants_link_to_the_registry(text, name, facility_id):
    assert (name, facility_id) in facilities(read(text))


def test_lower_case_and_numbered_names():
    r = read("Kim toured the March 16 factory in Pyongsong. At the Kanggye Tractor Plant No. 93 and at "
             "Factory No. 361 near Manpo work went on.")
    names = {m.text for m in r.mentions if m.kind == "facility"}
    assert {"March 16 factory", "Kanggye Tractor Plant No. 93", "Factory No. 361"} <= names
    assert not any(m.kind == "date" for m in r.mentions)  # 'March 16' in a name is not a date


def test_a_quoted_remark_is_not_a_facility():
    r = read('"The throughput of this factory is clearly going up," one of the researchers said.')
    assert not [m for m in r.mentions if m.kind == "facility"]


def test_a_neighbouring_complex_is_not_an_observation_of_the_plant():
    r = read("SEOUL, Nov 25, 2024 - The February 11 plant in Hamhung assembles KN-23 missiles. "
             "Images from early October show a new assembly building at the plant. "
             "SI Analytics also reported new construction at the neighbouring complex, suspected of making fuel.")
    assert [p.evidence[:12] for p in r.proposals] == ["Images from "]
    assert all(p.facility_id == "february-11-plant" for p in r.proposals)


def test_each_fact_goes_to_the_facility_it_is_stated_of():
    r = read("SI Analytics reported new construction at the neighbouring Vinalon 8 February complex in Hamhung, "
             "which is suspected of supplying the February 11 Plant.\n\n"
             "The complex began a large renovation in 2022.")
    assert {(p.facility_id, p.sentence_index) for p in r.proposals} == {
        ("february-8-vinalon-complex", 0), ("february-8-vinalon-complex", 1)}
    second = next(p for p in r.proposals if p.sentence_index == 1)
    assert second.evidence.startswith("The complex began") and "refers back" in second.reason
    assert str(second.date) == "2022"


def test_a_sentence_that_goes_on_about_the_plant():
    r = read("The February 11 plant is part of the Ryongsong Machine Complex in Hamhung. "
             "Images captured in early October show new apartment blocks for workers.", published="2024-11-25")
    (p,) = r.proposals
    assert p.facility_id == "february-11-plant" and p.label == "housing" and str(p.date) == "~2024-10"
    assert "goes on from" in p.reason
