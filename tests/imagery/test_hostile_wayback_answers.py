"""Wayback against the answers the real service gave (replayed from 127.0.0.1): the change scan decided by the
tilemap's `size` with no tile download, the request count against wayback-core's, capture dates in UTC, SRC_DESC
recorded as what it is, metadata that is missing or null as a per-release note, a metadata mirror, and tilemap
answers of any shape parsed into a typed answer or a BadResponse."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imagery.base import DateCertainty
from imagery.errors import BadResponse, Cancelled
from imagery.tiles import Tile
from imagery.wayback import CAPTURE_DATE_RULE, TilemapAnswer, Wayback, parse_tilemap, source_kind
from tests.support.replay_wayback import RECORDED_TILE, ReplayServer, load, wayback_core_scan

RECORDED_CHANGES = [39767, 20399, 6354]  # tilemaps.json's chain: three changes, then no imagery before 2016-02-04


@pytest.fixture(scope="module")
def replay_server() -> Iterator[ReplayServer]:
    srv = ReplayServer().start()
    yield srv
    srv.close()


@pytest.fixture
def replay(replay_server: ReplayServer) -> Iterator[ReplayServer]:
    replay_server.reset()
    yield replay_server
    assert replay_server.counts["unserved"] == 0, replay_server.paths


@pytest.fixture
def wayback(replay, client, cache) -> Wayback:
    return Wayback(client, cache, replay.endpoints(), zoom=20)


def recorded_tile_area() -> tuple[float, float, float, float]:
    z, x, y = RECORDED_TILE
    w, s, e, n = Tile(z, x, y).bounds()
    pad = (e - w) * 0.25
    return w + pad, s + pad, e - pad, n - pad


def test_the_real_catalogue_parses_with_every_release(wayback):
    rels = wayback.releases()
    assert len(rels) == 194
    assert rels[0].number == 10842 and rels[0].date == dt.date(2026, 5, 28) and rels[-1].number == 10
    renamed = next(r for r in rels if r.number == 15084)
    assert renamed.layer_identifier == "WB_2015_R14" and renamed.metadata_url.endswith(
        "/World_Imagery_Metadata_2015_r04/MapServer")


def test_sizes_decide_without_one_tile_download_and_the_walk_is_wayback_cores(replay, wayback):
    result = wayback.local_changes(recorded_tile_area(), 20)
    assert [r.number for r in result.releases] == RECORDED_CHANGES
    assert replay.counts["tile"] == 0 and result.tile_fetches == 0 and result.tile_bytes == 0
    assert result.by_size == 2
    # the same requests wayback-core makes, in its order: newest, then the release before each change
    z, x, y = RECORDED_TILE
    assert [p for p in replay.paths if "/tilemap/" in p] == [
        f"/wayback/MapServer/tilemap/{n}/{z}/{y}/{x}" for n in (10842, 12428, 7072, 3515)]
    ours = replay.counts["tilemap"]
    replay.reset()
    kept, core_requests = wayback_core_scan(replay.base, replay.config, RECORDED_TILE)
    assert kept == RECORDED_CHANGES  # the same answer as wayback-core's byte comparison
    assert core_requests == 4 + 3 and ours == 4 <= 1.5 * core_requests


def test_without_sizes_tiles_are_fetched_transiently_counted_and_never_stored(replay, wayback, cache):
    replay.replay.sizes = False
    result = wayback.local_changes(recorded_tile_area(), 20)
    assert [r.number for r in result.releases] == RECORDED_CHANGES
    assert result.tile_fetches == replay.counts["tile"] == 3 and result.tile_bytes == 16127 + 13899 + 13567
    assert all(kind != "tile" for _, kind, _ in cache.entries())  # hashes only: the pixels never reach disk
    for path in cache.root.rglob("*"):
        if path.is_file() and path.suffix not in (".sqlite", ".sqlite-wal", ".sqlite-shm"):
            assert not path.read_bytes().startswith(b"\xff\xd8\xff"), path


def test_a_zoom_beyond_the_services_tiles_is_scanned_at_its_native_zoom(replay, wayback):
    result = wayback.local_changes(recorded_tile_area(), 22)  # the real service has tiles to z20 only
    assert {t.z for t in result.tiles} == {20}
    assert wayback.endpoints.max_zoom == 20


def test_the_scan_reports_progress_and_can_be_cancelled(replay, wayback):
    seen: list[tuple[int, int]] = []
    wayback.local_changes(recorded_tile_area(), 20, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(1, 1)]
    replay.reset()
    with pytest.raises(Cancelled):
        wayback.local_changes(recorded_tile_area(), 20, cancelled=lambda: True)
    assert replay.counts["tilemap"] == 0


def test_capture_dates_are_utc_dates_and_src_desc_is_recorded_as_what_it_is(replay, wayback):
    rels = {r.number: r for r in wayback.releases()}
    cap = wayback.release_capture(rels[39767], recorded_tile_area(), 20)
    # SRC_DATE2 1714608000000 is 2024-05-02 00:00 UTC (Esri's app prints 2024-05-01 in California)
    assert cap.date == dt.date(2024, 5, 2) and cap.certainty is DateCertainty.CAPTURED
    assert cap.extra["date_rule"] == CAPTURE_DATE_RULE and "UTC" in CAPTURE_DATE_RULE
    assert cap.sensor is None  # "2024-06-27 Release" is a release note, not a sensor
    assert cap.extra["source_description"] == "2024-06-27 Release" and cap.extra["source_kind"] == "release note"
    assert cap.resolution_m == 0.075 and cap.extra["image_provider"] == "Nearmap"
    old = wayback.release_capture(rels[13161], recorded_tile_area(), 20)  # the whole ArcGIS answer, fields[] too
    assert old.date == dt.date(2015, 9, 16) and old.sensor == "WV03_VNIR" and old.resolution_m == 0.3


def test_metadata_nulls_are_kept_as_unknown(replay, wayback):
    rels = {r.number: r for r in wayback.releases()}
    cap = wayback.release_capture(rels[20399], recorded_tile_area(), 20)  # r2018_05: SAMP_RES, SRC_ACC null
    assert cap.date == dt.date(2017, 11, 13) and cap.resolution_m is None
    assert cap.extra["parts"][0]["accuracy_m"] is None and "note" not in cap.extra


@pytest.mark.parametrize("fault, words", [("missing", "metadata layer is missing"),
                                          ("null", "no capture date")])
def test_a_release_with_missing_or_null_metadata_gets_a_note_not_a_crash(replay, wayback, fault, words):
    rels = {r.number: r for r in wayback.releases()}
    getattr(replay.replay, f"{fault}_metadata").add("World_Imagery_Metadata_2024_r07")
    cap = wayback.release_capture(rels[39767], recorded_tile_area(), 20)
    assert cap.certainty is DateCertainty.RELEASED and cap.date == dt.date(2024, 6, 27)
    assert words in cap.extra["note"] and "39767" in cap.extra["note"]
    fine = wayback.release_capture(rels[20399], recorded_tile_area(), 20)  # the other releases are unaffected
    assert fine.certainty is DateCertainty.CAPTURED


def test_metadata_urls_follow_a_mirror_setting_with_the_catalogues_service_name(replay, client, cache):
    wb = Wayback(client, cache, replay.endpoints(metadata_root=f"{replay.base}/mirror"), zoom=20)
    rels = {r.number: r for r in wb.releases()}
    wb.capture_metadata(rels[15084], recorded_tile_area(), 20)
    metadata_paths = [p for p in replay.paths if "/query" in p]
    # WB_2015_R14 is served by World_Imagery_Metadata_2015_r04: the name comes from the catalogue
    assert metadata_paths and all(p.startswith("/mirror/World_Imagery_Metadata_2015_r04/MapServer/3/query")
                                  for p in metadata_paths)


def test_the_recorded_tilemap_answers_parse():
    chain = load("tilemaps.json")
    assert isinstance(chain, list)
    parsed = [parse_tilemap(a, 1) for a in chain]
    assert parsed == [TilemapAnswer(39767, 16127), TilemapAnswer(20399, 13899), TilemapAnswer(6354, 13567),
                      TilemapAnswer(None)]  # data [0] with a select: no imagery, whatever select says


def test_src_desc_kinds():
    doc = load("metadata.json")
    assert isinstance(doc, dict)
    kinds = {k: source_kind(v["features"][0]["attributes"]["SRC_DESC"]) for k, v in doc.items()}
    assert kinds == {"default": "place", "r2014_01": "sensor", "r2016_03": "release note",
                     "r2018_05": "release note", "r2024_07": "release note"}


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                                          max_size=4), max_leaves=12)
tilemap_like = st.fixed_dictionaries({}, optional={"data": json_values | st.lists(json_values, max_size=2),
                                                   "select": json_values | st.lists(json_values, max_size=2),
                                                   "size": json_values | st.lists(json_values, max_size=2),
                                                   "valid": json_values})


@settings(max_examples=300, deadline=None)
@given(doc=json_values | tilemap_like)
def test_any_tilemap_answer_is_an_answer_or_a_bad_response(doc):
    json.dumps(doc)  # only what a service could send
    try:
        answer = parse_tilemap(doc, 42)
    except BadResponse:
        return
    assert answer.release is None or (isinstance(answer.release, int) and answer.release >= 0)
    assert answer.size is None or (isinstance(answer.size, int) and answer.size > 0)
