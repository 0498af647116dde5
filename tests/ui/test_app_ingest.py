"""The 'Read articles' page: reading shows mentions and proposals; only ticked ones are written."""

from pathlib import Path

from streamlit.testing.v1 import AppTest

from facilities.store import Filter, GeoPackageStore

ROOT = Path(__file__).resolve().parents[2]
SEED_TEXT = (ROOT / "seeds" / "texts" / "000_0515937eac85bcd1.txt").read_text("utf-8")


def _page(database: str) -> None:
    # AppTest runs this function's source as the script: imports live inside it
    from facilities.store import open_store
    from tracker.seeding import ensure_seeded
    from tracker.settings import load_settings
    from ui.ingest_page import ingest_page

    store = open_store(database)
    ensure_seeded(store)
    ingest_page(store, load_settings())


def _app(tmp_path, monkeypatch) -> AppTest:
    at = AppTest.from_function(_page, kwargs={"database": str(tmp_path / "r.gpkg")}, default_timeout=60)
    return at.run()


def test_reading_the_seed_document_proposes_and_writes_only_accepted(tmp_path, monkeypatch):
    at = _app(tmp_path, monkeypatch)
    assert not at.exception
    at.text_area(key="ingest_text").set_value(SEED_TEXT)
    at.text_input(key="ingest_date").set_value("2024-11-25")
    at.button[0].click().run()
    assert not at.exception
    mentions = at.dataframe[0].value
    assert "Stabilimento 11 Febbraio" in set(mentions["text"])
    assert {"KN-23", "Hamhung"} <= set(mentions["value"]) | set(mentions["text"])
    store = GeoPackageStore(tmp_path / "r.gpkg")
    before = len(store.list_observations(Filter(facility_ids=("february-11-plant",))))
    proposals = at.dataframe[-1].value
    assert len(proposals) >= 1 and not proposals["accept"].any()
    assert (proposals["facility"] == "february-11-plant").any()
    at.button[1].click().run()  # write with nothing ticked: nothing changes
    assert not at.exception
    assert len(store.list_observations(Filter(facility_ids=("february-11-plant",)))) == before
    store.close()


def test_accepted_and_edited_proposals_are_written_with_their_source(tmp_path):
    from tracker.articles import Reader, load_resources
    from tracker.seeding import ensure_seeded
    from ui.ingest_page import _write_accepted, proposals_frame

    store = GeoPackageStore(tmp_path / "r.gpkg")
    ensure_seeded(store)
    results = Reader(load_resources(), store.list_facilities()).read(SEED_TEXT, published="2024-11-25")
    frame = proposals_frame(results)
    row = frame.index[frame["facility"] == "february-11-plant"][0]
    frame.loc[row, ["accept", "kind", "date", "confidence"]] = [True, "progress", "2024-10", "medium"]
    before = {o.id for o in store.list_observations()}
    _write_accepted(store, results, frame, "tester")
    new = [o for o in store.list_observations() if o.id not in before]
    assert len(new) == 1
    assert (new[0].kind.value, str(new[0].date), new[0].confidence.value) == ("progress", "2024-10", "medium")
    assert new[0].analyst == "tester" and store.list_sources(new[0].source_ids)
    store.close()


def test_empty_text_says_so(tmp_path, monkeypatch):
    at = _app(tmp_path, monkeypatch)
    at.button[0].click().run()
    assert not at.exception
    assert any("no text" in w.value for w in at.warning)


def test_the_seed_registry_s_own_observations_show_as_already_recorded(tmp_path, monkeypatch):
    at = _app(tmp_path, monkeypatch)
    at.text_area(key="ingest_text").set_value(SEED_TEXT)
    at.text_input(key="ingest_date").set_value("2024-11-25")
    at.button[0].click().run()
    assert not at.exception
    proposals = at.dataframe[-1].value
    assert list(proposals.columns[:2]) == ["accept", "status"]
    recorded = proposals[proposals["status"].str.startswith("already recorded")]
    assert len(recorded) >= 1 and (recorded["facility"] == "february-11-plant").all()
    assert not proposals["accept"].any()
    assert any("all or nothing" in c.value for c in at.caption)


def test_ticked_proposals_already_recorded_are_not_written_again(tmp_path):
    from tracker.articles import Reader, load_resources
    from tracker.articles.ingest import recorded_notes
    from tracker.seeding import ensure_seeded
    from ui.ingest_page import _write_accepted, proposals_frame

    store = GeoPackageStore(tmp_path / "r.gpkg")
    ensure_seeded(store)
    results = Reader(load_resources(), store.list_facilities()).read(SEED_TEXT, published="2024-11-25")
    proposals = [p for r in results for p in r.proposals]
    frame = proposals_frame(results, recorded_notes(store, proposals))
    frame["accept"] = True
    new_rows = int((frame["status"] == "new").sum())
    before = {o.id for o in store.list_observations()}
    _write_accepted(store, results, frame, "tester")
    assert len([o for o in store.list_observations() if o.id not in before]) == new_rows
    again = proposals_frame(results, recorded_notes(store, proposals))
    assert (again["status"] != "new").all()  # now every one is recorded: a second accept writes nothing
    again["accept"] = True
    after = len(store.list_observations())
    _write_accepted(store, results, again, "tester")
    assert len(store.list_observations()) == after
    store.close()


def test_two_uploads_are_read_at_once(tmp_path, monkeypatch):
    feed = (ROOT / "tests" / "services" / "articles" / "feeds" / "korea_watch.rss").read_bytes()
    at = _app(tmp_path, monkeypatch)
    uploader = at.file_uploader(key="ingest_files")
    assert uploader.accept_multiple_files
    uploader.set_value([("seed.txt", SEED_TEXT.encode("utf-8"), "text/plain"),
                        ("korea_watch.rss", feed, "application/rss+xml")])
    at.text_input(key="ingest_date").set_value("2024-11-25")
    at.button[0].click().run()
    assert not at.exception and not at.error
    assert [s.value for s in at.subheader] == ["4 article(s) read"]  # the text, and the feed's three items
    labels = [e.label for e in at.expander]
    assert len(labels) == 4 and "Missile plant in Hamhung keeps growing" in labels[1]
    sources = [t.value for t in at.text]
    assert sources[0].startswith("from seed.txt") and sources[1].startswith("from korea_watch.rss · Korea Watch")
    proposals = at.dataframe[-1].value
    assert set(proposals["article"]) >= {1, 2}
