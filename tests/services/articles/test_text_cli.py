"""`facilities ingest` as a user runs it: a real process, a temporary registry (TRACKER_DATABASE)."""

from __future__ import annotations

import json

from facilities.store import GeoPackageStore
from tests.support.articles import observations
from tracker.seeding import SEEDS_DIR

SEED_TEXT = str(SEEDS_DIR / "texts" / "000_0515937eac85bcd1.txt")


def test_ingest_json(cli):
    out = json.loads(cli("ingest", SEED_TEXT, "--json").stdout)
    (article,) = out["files"][0]["articles"]
    assert article["language"] == "it" and out["accepted"] == []
    assert article["links"][0]["facility_id"] == "february-11-plant"
    kinds = {(m["kind"], m["value"]) for m in article["mentions"]}
    assert {("place", "Hamhŭng"), ("place", "Kursk region"), ("system", "KN-23"), ("system", "KN-24"),
            ("organisation", "CNS"), ("person", "Sam Lair"), ("figure", "almeno 28 killed")} <= kinds
    start = next(p for p in article["proposals"] if p["kind"] == "construction-start")
    assert start["date"] == "2020" and start["date_precision"] == "year" and "2020" in start["evidence"]


def test_ingest_text_report(cli):
    out = cli("ingest", SEED_TEXT).stdout
    assert "Stabilimento 11 Febbraio -> february-11-plant" in out and "construction-start" in out


def test_review_without_a_terminal_writes_nothing(cli, tmp_path):
    res = cli("ingest", SEED_TEXT, "--review")
    assert "nothing accepted" in res.stderr
    assert observations(tmp_path) == []


def test_review_accept_all_writes_sources_then_observations(cli, tmp_path):
    res = cli("ingest", SEED_TEXT, "--review", "--accept-all", "--date", "2024-11-25", "--json")
    accepted = json.loads(res.stdout)["accepted"]
    obs = observations(tmp_path)
    assert len(obs) == len(accepted) >= 1
    # the seed registry (init) already holds the 2020 start and October's progress: shown, not written again
    assert "already recorded" in res.stderr and "construction-start" not in {o.kind.value for o in obs}
    store = GeoPackageStore(tmp_path / "r.gpkg")
    try:
        src = store.get_source(obs[0].source_ids[0])
    finally:
        store.close()
    assert src.language == "it" and src.excerpt and str(src.published) == "2024-11-25"
    again = cli("ingest", SEED_TEXT, "--review", "--accept-all", "--date", "2024-11-25", "--json")
    assert json.loads(again.stdout)["accepted"] == [] and len(observations(tmp_path)) == len(obs)


def test_review_accepts_a_new_facility_located_to_the_city(cli, tmp_path):
    article = tmp_path / "a.md"
    article.write_text("# Kanggye report\n\nDate: 2024-09-02\n\nFactory No. 26 in Kanggye began construction of a "
                       "new tunnel in 2023.\n", "utf-8")
    cli("ingest", str(article), "--review", "--accept-all")
    store = GeoPackageStore(tmp_path / "r.gpkg")
    try:
        f = store.get_facility("factory-no-26")
    finally:
        store.close()
    assert f.location_precision.value == "city" and f.country == "KP"
    assert [o.facility_id for o in observations(tmp_path)] == ["factory-no-26"]


def test_bad_files_give_a_message_not_a_traceback(cli, tmp_path):
    binary = tmp_path / "x.pdf"
    binary.write_bytes(b"%PDF-1.7\n\x00\x01")
    empty = tmp_path / "e.txt"
    empty.write_text("")
    res = cli("ingest", str(binary), str(empty), str(tmp_path / "missing.txt"), SEED_TEXT, ok=False)
    assert "binary" in res.stderr and "no text" in res.stderr and "cannot read" in res.stderr
    assert "Traceback" not in res.stderr and "february-11-plant" in res.stdout


def test_html_with_script_via_cli(cli, tmp_path):
    page = tmp_path / "p.html"
    page.write_text("<p>The February 11 Plant.</p><script>document.write('Plant No. 99')</script>", "utf-8")
    out = json.loads(cli("ingest", str(page), "--json").stdout)
    texts = [m["text"] for a in out["files"][0]["articles"] for m in a["mentions"]]
    assert texts == ["February 11 Plant"]


def test_ingest_a_folder_with_progress(cli, tmp_path):
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "a.txt").write_text("Plant grows\nPublished: 2024-12-02\n\nThe February 11 Plant got new housing.")
    (folder / "b.html").write_text("<html lang='en'><head><meta property='og:title' content='Second one'></head>"
                                   "<body><p>Kim Jong Un visited the February 11 Plant in 2013.</p></body></html>")
    (folder / "notes.bin").write_bytes(b"\x00\x01")
    res = cli("ingest", "--json", str(folder))
    assert "[1/2]" in res.stderr and "[2/2]" in res.stderr
    files = json.loads(res.stdout)["files"]
    assert [f["file"].rsplit("/", 1)[-1] for f in files] == ["a.txt", "b.html"]
    assert files[1]["articles"][0]["title"] == "Second one"
