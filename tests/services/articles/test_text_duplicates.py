"""Issue 19: an observation the registry already holds (same site, kind, overlapping date) is shown
as already recorded and not written again; reading the same article twice writes nothing new."""

from __future__ import annotations

from tests.support.articles import resources
from tracker.articles import Reader
from tracker.articles.ingest import find_recorded, recorded_notes, review_proposals
from tracker.seeding import ensure_seeded

ARTICLE = ("Missile plant grows\nPublished: 2024-12-02\n\n"
           "Images from early October show a new assembly building at the February 11 Plant in Hamhung. "
           "The plant also got new housing for workers last month. "
           "Kim Jong Un visited the February 11 Plant in 2013.")


def _read(store):
    (r,) = Reader(resources, store.list_facilities()).read(ARTICLE)
    return list(r.proposals)


def _review(store, proposals, echoed):
    return review_proposals(store, proposals, actor="tester", accept_all=True, confirm=lambda _: True,
                            echo=echoed.append)


def test_observations_in_the_seed_registry_are_already_recorded(store):
    ensure_seeded(store)
    proposals = _read(store)
    by_label = {p.label: p for p in proposals}
    visit = find_recorded(store, by_label["visit"])  # the seed has the 2013 visit
    assert visit is not None and visit.facility_id == "february-11-plant" and str(visit.date) == "2013"
    assert find_recorded(store, by_label["housing"]) is None  # nothing recorded in November 2024
    notes = recorded_notes(store, proposals)
    assert notes[proposals.index(by_label["visit"])].startswith("already recorded: ")
    echoed: list[str] = []
    written = _review(store, proposals, echoed)
    # the seed already has October's progress at the plant and the 2013 visit: only the housing is new
    assert [(w["kind"], w["date"]) for w in written] == [("progress", "2024-11")]
    assert find_recorded(store, by_label["new building"]) is not None
    assert any("already recorded" in line and "not written again" in line for line in echoed)


def test_reading_the_same_article_twice_writes_nothing_new(store):
    ensure_seeded(store)
    first = _review(store, _read(store), [])
    count = len(store.list_observations())
    echoed: list[str] = []
    second = _review(store, _read(store), echoed)
    assert first and second == [] and len(store.list_observations()) == count
    assert all(n.startswith("already recorded") for n in recorded_notes(store, _read(store)))


def test_a_repeat_within_one_article_is_marked():
    class Empty:
        def list_observations(self, flt):
            return []

    text = ("Missile plant grows\nPublished: 2024-12-02\n\nThe February 11 Plant got new housing in 2024. "
            "Workers at the February 11 Plant moved into new housing in 2024.")
    (r,) = Reader(resources, []).read(text)
    assert recorded_notes(Empty(), list(r.proposals)) in (["", ""], [])
