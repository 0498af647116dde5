"""Linking facility mentions to the registry: aliases, name words, fuzzy + same city, new facilities."""

from __future__ import annotations

import shapely

from facilities.model import Alias, Facility
from tests.support.articles import read, resources
from tracker.articles import Reader


def links(result):
    return [(lk.mention.text, lk.facility_id) for lk in result.links]


def test_aliases_in_any_language_link():
    r = read("The February 11 Factory, or Feb 11, is also called Stabilimento 11 Febbraio.")
    assert links(r) == [("February 11 Factory", "february-11-plant"), ("Feb 11", "february-11-plant"),
                        ("Stabilimento 11 Febbraio", "february-11-plant")]
    assert all(lk.score == 1.0 and "alias" in lk.reason for lk in r.links)


def test_same_name_words_across_languages():
    r = read("Il Complesso Vinalon 8 Febbraio e la Fabbrica 11 Febbraio crescono.")
    assert links(r) == [("Complesso Vinalon 8 Febbraio", "february-8-vinalon-complex"),
                        ("Fabbrica 11 Febbraio", "february-11-plant")]
    assert "same name words" in r.links[0].reason


def test_numbers_must_agree():
    r = read("The February 12 Plant is elsewhere.")
    (lk,) = r.links
    assert lk.facility_id is None and "no registry facility" in lk.reason


def test_fuzzy_plus_same_city():
    site = Facility(id="kusong-tool", name="Kusong Machine Tool Factory",
                    geometry=shapely.box(125.2, 39.95, 125.26, 40.0))
    reader = Reader(resources, [site])
    near = reader.read("The Kusong Tool Factory in Kusong added a hall.")[0]
    assert near.links[0].facility_id == "kusong-tool" and "same city" in near.links[0].reason
    far = reader.read("The Kusong Tool Factory in Kanggye added a hall.")[0]
    assert far.links[0].facility_id is None


def test_new_facility_is_located_to_the_city_with_a_reason():
    r = read("Factory No. 26 in Kanggye added a tunnel.")
    (lk,) = r.links
    new = lk.new_facility
    assert lk.facility_id is None and new is not None
    assert new.id == "factory-no-26" and new.location_precision.value == "city" and new.country == "KP"
    assert abs(new.geometry.centroid.y - 40.97) < 0.1 and "Kanggye" in new.notes


def test_a_generic_alias_never_links():
    site = Facility(id="plant-x", name="Plant", aliases=(Alias("Impianto", "it"), Alias("Shahid Hemmat Plant")),
                    geometry=shapely.box(51, 32, 51.1, 32.1))
    r = Reader(resources, [site]).read("The plant and l'impianto grew; so did the Shahid Hemmat Plant.")[0]
    assert links(r) == [("Shahid Hemmat Plant", "plant-x")]


def test_korean_alias_links_in_mixed_script_text():
    site = Facility(id="feb11", name="February 11 Plant", aliases=(Alias("2월11일공장", "ko"),),
                    geometry=shapely.box(127.65, 39.91, 127.66, 39.92))
    r = Reader(resources, [site]).read("북한은 함흥의 2월11일공장에서 KN-23 미사일을 생산한다. Hamhung is the city.")[0]
    assert links(r) == [("2월11일공장", "feb11")]
    assert {m.value for m in r.mentions if m.kind in ("system", "place")} == {"KN-23", "Hamhŭng"}
