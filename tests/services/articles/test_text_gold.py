"""The gold set (tests/services/articles/gold): facility mentions at the issue's targets, systems and places close."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.articles import reader
from tracker.articles.evaluate import Tally, norm, score_article, score_links

GOLD = Path(__file__).parent / "gold"


def gold_articles():
    for path in sorted(GOLD.glob("*.json")):
        doc = json.loads(path.read_text("utf-8"))
        yield path.stem, (path.parent / doc["text_file"]).read_text("utf-8"), doc


@pytest.fixture(scope="module")
def scores():
    tallies: dict[str, Tally] = {}
    links = [0, 0]
    for name, text, doc in gold_articles():
        results = reader.read(text, name=name)
        score_article(doc["expected"], [(m.kind, m.text) for r in results for m in r.mentions], tallies, name)
        ok, total = score_links(doc["links"], [(lk.mention.text, lk.facility_id) for r in results for lk in r.links])
        links[0] += ok
        links[1] += total
    return tallies, links


def test_gold_set_size():
    docs = [doc for _, _, doc in gold_articles()]
    assert len(docs) >= 11
    assert sum(d["language"] == "en" for d in docs) >= 4 and sum(d["language"] == "it" for d in docs) >= 4


def test_facility_mentions_meet_the_targets(scores):
    fac = scores[0]["facility"]
    assert fac.recall >= 0.9, fac.misses
    assert fac.precision >= 0.85, fac.false_positives


def test_systems_and_places(scores):
    assert scores[0]["system"].recall >= 0.9 and scores[0]["system"].precision >= 0.9
    assert scores[0]["place"].recall >= 0.8 and scores[0]["place"].precision >= 0.85


def test_links_as_annotated(scores):
    ok, total = scores[1]
    assert total >= 10 and ok / total >= 0.9


def test_scoring_is_by_distinct_name_ignoring_case_and_accents():
    tallies: dict[str, Tally] = {}
    score_article({"place": ["Hamhŭng", "Kanggye"]}, [("place", "HAMHUNG"), ("place", "Hamhung"), ("place", "Rome")],
                  tallies)
    t = tallies["place"]
    assert (t.tp, t.fp, t.fn) == (1, 1, 1) and norm("Sinp’o") == norm("Sinpo")
