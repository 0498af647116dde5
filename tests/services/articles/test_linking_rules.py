"""The text linker rule by rule (issue 22): month words count as numbers that must agree, how close is close
(the fuzzy and same-city thresholds, the 30 km city radius on the sphere), which place a mention is judged with,
the reasons' exact wording and the proposed facility's box, and the link's JSON form."""

from __future__ import annotations

import difflib
import math

import pytest
import shapely

from facilities.model import Alias, Facility, LocationPrecision
from tracker.articles.extract import AliasHit, Mention
from tracker.articles.linking import (
    CITY_SCORE,
    LINK_SCORE,
    NEW_SITE_HALF_DEG,
    SAME_CITY_KM,
    AliasIndex,
    FacilityRef,
    Link,
    _key,
    _km,
    _nearest_place,
    _score,
    link_all,
    link_mention,
    propose_facility,
)

GENERIC = frozenset({"plant", "factory", "complex", "the", "stabilimento", "works"})


def site(id_: str, name: str, lon: float = 125.0, lat: float = 40.0, aliases: tuple[Alias, ...] = ()) -> Facility:
    return Facility(id=id_, name=name, geometry=shapely.box(lon - 0.01, lat - 0.01, lon + 0.01, lat + 0.01),
                    aliases=aliases)


def facility_mention(value: str, start: int = 0, sentence: int = 0, via: str = "pattern", **data: object) -> Mention:
    return Mention("facility", value, value, start, start + len(value), sentence, f"s{sentence}", via, dict(data))


def place(name: str, lat: float | None, lon: float | None, start: int = 0, sentence: int = 0,
          kind: str = "city", country: str | None = "KP") -> Mention:
    return Mention("place", name, name, start, start + len(name), sentence, f"In {name} they built it.", "gazetteer",
                   {"lat": lat, "lon": lon, "place_kind": kind, "country": country})


def test_month_words_are_numbers_that_must_agree():
    assert _key(["february", "11", "plant"]) == ["11", "m2", "plant"]
    assert _key(["febbraio", "11"]) == _key(["11", "feb"]) == ["11", "m2"]
    assert _score(_key(["february", "8", "vinalon"]), _key(["february", "11", "vinalon"])) == 0.0
    assert _score(_key(["march", "8"]), _key(["february", "8"])) == 0.0
    assert _score(_key(["8", "march"]), _key(["marzo", "8"])) == 0.95
    assert _score(["26", "tool"], ["62", "tool"]) == 0.0
    assert _score(["kusong", "tool"], ["kusong", "machine", "tool"]) == difflib.SequenceMatcher(
        None, "kusong tool", "kusong machine tool").ratio()


def test_the_index_keeps_specific_names_folded_and_the_first_owner_of_a_shared_alias():
    a = site("a", "Kim-Chaek  Iron Works", aliases=(Alias("Kimchaek Works", "en"), Alias("Plant", "en"),
                                                      Alias("Ŭnjŏng Factory", "ko")))
    b = site("b", "Other Plant", aliases=(Alias("Kimchaek Works", "en"),))
    index = AliasIndex([a, b], GENERIC)
    assert set(index.by_alias) == {"kim chaek iron works", "kimchaek works", "unjong factory", "other plant"}
    assert index.by_alias["kimchaek works"] == FacilityRef("a", "Kim-Chaek  Iron Works", "Kimchaek Works", "en",
                                                           40.0, 125.0)
    assert [(r.alias, words) for r, words in index.refs] == [
        ("Kim-Chaek  Iron Works", ["chaek", "iron", "kim"]), ("Kimchaek Works", ["kimchaek"]),
        ("Ŭnjŏng Factory", ["unjong"]), ("Other Plant", ["other"]), ("Kimchaek Works", ["kimchaek"])]
    assert index.find("at kim-chaek  iron works") == [AliasHit(3, 24, "a", "Kim-Chaek  Iron Works",
                                                                "Kim-Chaek  Iron Works")]  # spaces and hyphens
    text = "the unjong factory and kim chaek iron works"
    assert index.find(text) == [AliasHit(4, 18, "a", "Kim-Chaek  Iron Works", "Ŭnjŏng Factory"),
                                AliasHit(23, 43, "a", "Kim-Chaek  Iron Works", "Kim-Chaek  Iron Works")]


def test_the_best_name_is_the_highest_score_and_a_tie_keeps_the_first():
    index = AliasIndex([site("a", "Sunchon Cement"), site("b", "Sunchon Cement Plant"), site("c", "Sunchan Cement")],
                       GENERIC)
    score, ref = index.best("Sunchon Cement Factory")
    assert (score, ref.id if ref else None) == (0.95, "a")
    score, ref = index.best("Sunchen Cement")
    assert ref is not None and ref.id == "a" and score == pytest.approx(
        difflib.SequenceMatcher(None, "cement sunchen", "cement sunchon").ratio())
    assert index.best("Sunchen Cement") == (score, ref)  # cached
    assert AliasIndex([], GENERIC).best("Anything") == (0.0, None)
    assert AliasIndex([site("z", "Nampo 5")], GENERIC).best("Nampo 6") == (0.0, None)


def test_an_alias_links_with_its_language_in_the_reason():
    index = AliasIndex([site("f11", "February 11 Plant", aliases=(Alias("Feb 11", "en"), Alias("Fabbrica X", None)))],
                       GENERIC)
    lk = link_mention(facility_mention("FEB  11", via="alias", alias="FEB  11"), index, None)
    assert (lk.facility_id, lk.facility_name, lk.score, lk.reason) == (
        "f11", "February 11 Plant", 1.0, "alias 'Feb 11' (en) of February 11 Plant")
    lk = link_mention(facility_mention("Fabbrica X", via="alias", alias="Fabbrica X"), index, None)
    assert lk.reason == "alias 'Fabbrica X' of February 11 Plant"


def test_same_name_words_link_above_the_link_score_with_the_score_in_the_reason():
    index = AliasIndex([site("v8", "February 8 Vinalon Complex")], GENERIC)
    lk = link_mention(facility_mention("Complesso Vinalon 8 Febbraio"), index, None)
    assert lk.facility_id is None  # 'complesso' is not a head word here: the words differ
    lk = link_mention(facility_mention("Vinalon Complex February 8"), index, None)
    assert (lk.facility_id, lk.score, lk.reason) == ("v8", 0.95, "same name words as 'February 8 Vinalon Complex' "
                                                                 "(score 0.95)")
    assert lk.facility_name == "February 8 Vinalon Complex"


def scored(a: str, b: str) -> float:
    return _score(_key(a.split()), _key(b.split()))


def test_a_fair_score_links_only_within_the_city_radius():
    index = AliasIndex([site("k", "Kusong Machine Tool", lon=125.0, lat=40.0)], GENERIC)
    score = scored("kusong tool", "kusong machine tool")
    assert CITY_SCORE <= score < LINK_SCORE
    km_per_deg = 6371.0 * math.pi / 180
    inside = place("Kusong", 40.0 + 29.9 / km_per_deg, 125.0)
    lk = link_mention(facility_mention("Kusong Tool"), index, inside)
    assert (lk.facility_id, lk.facility_name, lk.score) == ("k", "Kusong Machine Tool", score)
    assert lk.reason == f"similar to 'Kusong Machine Tool' (score {score:.2f}) and in the same city, Kusong (30 km)"
    outside = place("Kusong", 40.0 + 30.1 / km_per_deg, 125.0)
    lk = link_mention(facility_mention("Kusong Tool"), index, outside)
    assert lk.facility_id is None and lk.reason == ("no registry facility matches; closest registry name "
                                                    f"'Kusong Machine Tool' scores {score:.2f}")
    assert lk.new_facility is not None
    lk = link_mention(facility_mention("Kusong Tool"), index, None)
    assert lk.facility_id is None and lk.new_facility is None


def test_below_the_city_score_nothing_links_even_in_the_city_and_a_poor_match_is_not_named():
    index = AliasIndex([site("k", "Kusong Machine Tool Repair", lon=125.0, lat=40.0)], GENERIC)
    score = scored("kusong tool", "kusong machine tool repair")
    assert 0.5 < score < CITY_SCORE
    lk = link_mention(facility_mention("Kusong Tool"), index, place("Kusong", 40.0, 125.0))
    assert lk.facility_id is None and lk.score == score
    assert lk.reason == f"no registry facility matches; closest registry name 'Kusong Machine Tool Repair' scores " \
                        f"{score:.2f}"
    half = link_mention(facility_mention("Ab"), AliasIndex([site("ac", "Ac")], GENERIC), None)
    assert half.score == 0.5 and half.reason == "no registry facility matches"  # a half match is not named
    lk = link_mention(facility_mention("Wonsan Shipyard"), index, None)
    assert lk.reason == "no registry facility matches" and lk.score <= 0.5


def test_a_proposed_facility_is_a_box_around_the_city_and_says_so():
    sentence = "x" * 250
    city = Mention("place", "Hamhung", "Hamhung", 0, 7, 0, sentence, "gazetteer",
                   {"lat": 39.9, "lon": 127.5, "country": "KP"})
    f = propose_facility(facility_mention("Hamhung Fertiliser " + "Y" * 400), city)
    assert f is not None
    assert f.id.startswith("hamhung-fertiliser-") and len(f.name) == 300
    assert f.geometry.bounds == pytest.approx((127.5 - NEW_SITE_HALF_DEG, 39.9 - NEW_SITE_HALF_DEG,
                                               127.5 + NEW_SITE_HALF_DEG, 39.9 + NEW_SITE_HALF_DEG))
    assert f.location_precision == LocationPrecision.CITY and f.country == "KP"
    assert f.notes == (f"Proposed from text: located only to Hamhung (named in: \"{'x' * 200}\"); the outline is a "
                       "box around the city centre, not the site.")
    nowhere = Mention("place", "Atlantis", "Atlantis", 0, 8, 0, "s", "gazetteer", {"lat": 1.0, "lon": 2.0})
    g = propose_facility(facility_mention("Deep Works"), nowhere)
    assert g is not None and g.country is None
    assert propose_facility(facility_mention("Deep Works"), None) is None


def test_a_link_as_json():
    city = place("Hamhung", 39.912345678, 127.512345678)
    lk = link_mention(facility_mention("Hamhung Fertiliser", start=17), AliasIndex([], GENERIC), city)
    assert lk.new_facility is not None
    assert lk.as_dict() == {
        "mention": "Hamhung Fertiliser", "start": 17, "facility_id": None, "facility_name": None, "score": 0.0,
        "reason": "no registry facility matches",
        "new_facility": {"id": "hamhung-fertiliser", "name": "Hamhung Fertiliser", "location_precision": "city",
                         "country": "KP", "lat": 39.91235, "lon": 127.51235, "notes": lk.new_facility.notes}}
    linked = Link(facility_mention("A"), "a", "A Plant", 0.87654, "r")
    assert linked.as_dict() == {"mention": "A", "start": 0, "facility_id": "a", "facility_name": "A Plant",
                                "score": 0.877, "reason": "r"}


def test_great_circle_kilometres():
    assert _km(40.0, 125.0, 40.0, 125.0) == pytest.approx(0.0, abs=1e-3)
    assert _km(0.0, 0.0, 1.0, 0.0) == pytest.approx(6371.0 * math.pi / 180)
    assert _km(0.0, 0.0, 0.0, 180.0) == pytest.approx(6371.0 * math.pi)  # antipodes: acos clamped, no domain error
    assert _km(60.0, 0.0, 60.0, 1.0) == pytest.approx(6371.0 * math.acos(
        math.sin(math.radians(60)) ** 2 + math.cos(math.radians(60)) ** 2 * math.cos(math.radians(1))))
    assert SAME_CITY_KM == 30.0
    # rounding puts the cosine just outside [-1, 1] here: clamped, not a math domain error
    assert _km(37.1, 10.0, 37.1, 10.0) == 0.0
    assert _km(37.1, 0.0, -37.1, 180.0) == pytest.approx(6371.0 * math.pi)


def test_the_place_a_mention_is_judged_with():
    a = place("A", 1.0, 1.0, start=0, sentence=0)
    b = place("B", 2.0, 2.0, start=50, sentence=1)
    c = place("C", 3.0, 3.0, start=90, sentence=1)
    d = place("D", 4.0, 4.0, start=200, sentence=3)
    located = [a, b, c, d]
    starts = [p.start for p in located]
    assert _nearest_place(facility_mention("M", start=70, sentence=1), located, starts) is b  # 20 before vs 20 after
    assert _nearest_place(facility_mention("M", start=75, sentence=1), located, starts) is c  # same sentence, nearer
    assert _nearest_place(facility_mention("M", start=60, sentence=1), located, starts) is b
    assert _nearest_place(facility_mention("M", start=120, sentence=2), located, starts) is c  # the last before
    assert _nearest_place(facility_mention("M", start=10, sentence=0), [b, c, d], [50, 90, 200]) is b  # first after
    assert _nearest_place(facility_mention("M", start=300, sentence=5), located, starts) is d
    assert _nearest_place(facility_mention("M"), [], []) is None
    a0, b0 = place("A", 1.0, 1.0, start=0, sentence=0), place("B", 2.0, 2.0, start=100, sentence=0)
    assert _nearest_place(facility_mention("M", start=10, sentence=0), [a0, b0], [0, 100]) is a0  # both in the window
    b1 = place("B", 2.0, 2.0, start=50, sentence=1)
    assert _nearest_place(facility_mention("M", start=60, sentence=0), [a0, b1], [0, 50]) is b1  # only the neighbours
    c0 = place("C", 3.0, 3.0, start=52, sentence=0)
    assert _nearest_place(facility_mention("M", start=40, sentence=0), [a0, b1, c0], [0, 50, 52]) is a0


def test_link_all_judges_facilities_with_located_cities_only():
    index = AliasIndex([site("k", "Kusong Machine Tool", lon=125.0, lat=40.0)], GENERIC)
    mentions = [
        place("Kusong", 40.0, 125.0, start=0),
        place("Korea", 40.0, 127.0, start=10, kind="country"),
        place("Nowhere", None, None, start=20),
        facility_mention("Kusong Tool", start=30),
        Mention("date", "2020", "2020", 40, 44, 0, "s0"),
        facility_mention("Pyongyang Works", start=50),
    ]
    got = link_all(mentions, index)
    assert [(lk.mention.text, lk.facility_id) for lk in got] == [("Kusong Tool", "k"), ("Pyongyang Works", None)]
    assert "Kusong" in got[0].reason
    assert got[1].new_facility is not None and got[1].new_facility.geometry.centroid.x == pytest.approx(125.0)
    only_country = [mentions[1], facility_mention("Kusong Tool", start=30)]
    (lk,) = link_all(only_country, index)
    assert lk.facility_id is None and lk.new_facility is None
