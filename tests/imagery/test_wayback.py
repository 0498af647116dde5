"""Wayback against the fake server: catalogue order, local changes over several tiles, capture dates, cache."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import shapely

from imagery.base import DateCertainty
from imagery.errors import BadResponse, NotCacheable, OfflineError
from imagery.tiles import Tile, tiles_for_area
from imagery.wayback import Wayback, capture_from, parse_catalogue
from tests.support.fake_wayback import MIXED_RELEASE, NO_METADATA_RELEASE, SITE_TILES, SPECIAL_TILE

EXPECTED = [64001, 13192, 45134, 23448, 10]  # 39767 repeats 45134's bytes: a duplicate, dropped


def site_bbox() -> tuple[float, float, float, float]:
    w, _, _, n = Tile(17, 112014, 49659).bounds()
    _, s, e, _ = Tile(17, 112015, 49660).bounds()
    eps = 1e-7
    return w + eps, s + eps, e - eps, n - eps


@pytest.fixture
def wayback(client, cache, endpoints) -> Wayback:
    return Wayback(client, cache, endpoints)


def test_releases_sorted_by_title_date_not_number(server, wayback):
    rels = wayback.releases()
    dates = [r.date for r in rels]
    assert dates == sorted(dates, reverse=True)
    numbers = [r.number for r in rels]
    assert numbers[0] == 32246 and numbers[-1] == 10
    assert numbers != sorted(numbers, reverse=True)  # the fixture's numbers are out of date order
    assert 99999 not in numbers  # an item missing fields is skipped, as wayback-core does
    assert len(rels) == 16


def test_parse_catalogue_rejects_documents_without_releases():
    with pytest.raises(BadResponse):
        parse_catalogue([1, 2])
    with pytest.raises(BadResponse):
        parse_catalogue({"10": {"itemTitle": "no date here"}})


@pytest.mark.parametrize("mode", ["malformed", "not-object"])
def test_bad_catalogue_is_typed_error_and_not_cached(server, wayback, cache, mode):
    server.scenario.config_mode = mode
    with pytest.raises(BadResponse):
        wayback.releases()
    assert cache.entries() == []  # a wrong answer is not kept: the next try asks again


def test_local_changes_chain_and_duplicate_removal_over_tiles(server, wayback):
    result = wayback.local_changes(site_bbox(), 17)
    assert sorted((t.z, t.x, t.y) for t in result.tiles) == sorted(SITE_TILES)
    assert [r.number for r in result.releases] == EXPECTED
    plain = Tile(*SITE_TILES[1])
    assert result.per_tile[plain] == [13192, 45134, 23448, 10]
    assert result.per_tile[Tile(*SPECIAL_TILE)] == EXPECTED
    # the tilemap's sizes decide (wayback-core 1.1): 39767's tile has 45134's size, and no tile is downloaded
    assert server.counts["tile"] == 0 and result.tile_fetches == 0 and result.tile_bytes == 0
    assert result.by_size == 3 * 4 + 5 and not result.tile_sha256
    # tilemap chain: 5 steps per tile (6 on the special one) instead of 16 releases
    assert server.counts["tilemap"] == 3 * 5 + 6
    assert result.requests == server.counts["total"] < result.naive_requests == 16 * 4
    assert not result.errors


def test_second_scan_is_served_from_cache_with_no_requests(server, wayback, make_client, cache, endpoints):
    first = wayback.local_changes(site_bbox(), 17)
    server.counts.clear()
    again = Wayback(make_client(), cache, endpoints).local_changes(site_bbox(), 17)
    assert server.counts["total"] == 0 and again.requests == 0
    assert [r.number for r in again.releases] == [r.number for r in first.releases]


def test_offline_mode_uses_only_the_cache(server, wayback, make_client, cache, endpoints, tmp_path):
    wayback.local_changes(site_bbox(), 17)
    server.counts.clear()
    offline = Wayback(make_client(offline=True), cache, endpoints)
    assert [r.number for r in offline.local_changes(site_bbox(), 17).releases] == EXPECTED
    assert server.counts["total"] == 0
    from imagery.cache import Cache

    empty = Cache(tmp_path / "empty")
    with pytest.raises(OfflineError):
        Wayback(make_client(offline=True), empty, endpoints).releases()
    empty.close()


def test_esri_tile_bytes_never_reach_disk(server, wayback, cache):
    wayback.local_changes(site_bbox(), 17)
    assert all(kind != "tile" for _, kind, _ in cache.entries())
    for path in Path(cache.root).rglob("*"):
        if path.is_file() and path.suffix not in (".sqlite", ".sqlite-wal", ".sqlite-shm"):
            assert b"\x89PNG" not in path.read_bytes(), path
    with pytest.raises(NotCacheable):
        cache.put("https://wayback.maptiles.arcgis.com/x", b"\x89PNG", provider="esri-wayback", kind="tile")


def test_capture_metadata_per_part_and_mixed_dates(server, wayback):
    rels = {r.number: r for r in wayback.releases()}
    parts = wayback.capture_metadata(rels[MIXED_RELEASE], site_bbox(), 17)
    assert len(parts) == 4
    assert {p.date for p in parts} == {dt.date(2022, 11, 4), dt.date(2022, 5, 1)}
    assert all(p.provider == "Maxar" and p.sensor == "WV03" and p.resolution_m == 0.31 for p in parts)
    assert any(path.endswith("/MapServer/6/query") for path in server.paths)  # z17 -> sublayer 6
    cap = capture_from(rels[MIXED_RELEASE], parts)
    assert cap.certainty is DateCertainty.CAPTURED and cap.mixed_dates
    assert cap.date == dt.date(2022, 11, 4) and cap.other_dates == (dt.date(2022, 5, 1),)
    assert cap.capture_id == str(MIXED_RELEASE) and cap.provider == "esri-wayback"
    assert "Powered by Esri" in cap.attribution and "2022-12-14" in cap.attribution


def test_release_without_metadata_is_dated_by_release_only(server, wayback):
    rels = {r.number: r for r in wayback.releases()}
    cap = capture_from(rels[NO_METADATA_RELEASE], wayback.capture_metadata(rels[NO_METADATA_RELEASE], site_bbox()))
    assert cap.certainty is DateCertainty.RELEASED and cap.date == dt.date(2014, 2, 20)
    assert not cap.mixed_dates


def test_captures_lists_dated_releases_in_range(server, wayback):
    caps = wayback.captures(site_bbox(), start=dt.date(2018, 1, 1), end=dt.date(2025, 12, 31))
    assert [c.capture_id for c in caps] == ["13192", "45134", "23448"]
    assert all(c.certainty is DateCertainty.CAPTURED for c in caps)
    assert [c.mixed_dates for c in caps] == [False, True, False]


def test_metadata_sample_points_are_capped_and_inside_the_area(wayback):
    poly = shapely.Point(127.6571, 39.9202).buffer(0.01)
    points = wayback.sample_points(poly, 17, max_points=8)
    assert 1 <= len(points) <= 8
    assert all(poly.intersects(shapely.Point(lon, lat)) for _, lon, lat in points)


def test_antimeridian_bbox_tiles_on_both_sides():
    tiles = tiles_for_area((179.95, -0.05, -179.95, 0.05), 12)
    xs = {t.x for t in tiles}
    assert xs == {0, 4095}
    assert len(tiles) == 2 * len({t.y for t in tiles})


def test_antimeridian_geometry_beyond_180_is_wrapped():
    geom = shapely.box(179.95, -0.05, 180.05, 0.05)
    assert {t.x for t in tiles_for_area(geom, 12)} == {0, 4095}


def test_a_failing_tile_is_reported_and_the_others_still_scanned(server, wayback, cache):
    server.scenario.failing_tilemaps = {SPECIAL_TILE}
    result = wayback.local_changes(site_bbox(), 17)
    assert set(result.errors) == {Tile(*SPECIAL_TILE)}
    assert "HTTP 500" in result.errors[Tile(*SPECIAL_TILE)]
    assert [r.number for r in result.releases] == [13192, 45134, 23448, 10]  # the other tiles' changes
    assert not any(f"/{SPECIAL_TILE[2]}/{SPECIAL_TILE[1]}" in url for url, _, _ in cache.entries())


def test_every_tile_failing_raises_the_typed_error(server, wayback):
    from imagery.errors import ServiceUnavailable

    server.scenario.failing_tilemaps = set(SITE_TILES)
    with pytest.raises(ServiceUnavailable):
        wayback.local_changes(site_bbox(), 17)


@pytest.mark.parametrize("mode", ["error", "malformed"])
def test_metadata_service_errors_are_bad_responses(server, wayback, cache, mode):
    rels = {r.number: r for r in wayback.releases()}
    server.scenario.metadata_mode = mode
    with pytest.raises(BadResponse):
        wayback.capture_metadata(rels[MIXED_RELEASE], site_bbox(), 17)
    assert all(kind != "metadata" for _, kind, _ in cache.entries())  # error objects are not kept


def test_local_changes_across_the_antimeridian(server, wayback):
    from tests.support.fake_wayback import DEFAULT_CHANGES

    server.scenario.default_changes = list(DEFAULT_CHANGES)
    result = wayback.local_changes((179.99, -0.005, -179.99, 0.005), 14)
    assert {t.x for t in result.tiles} == {0, 2**14 - 1}
    assert [r.number for r in result.releases] == [13192, 45134, 23448, 10]
    points = wayback.sample_points((179.99, -0.005, -179.99, 0.005), 14)
    assert {lon > 0 for _, lon, _ in points} == {True, False}


def test_metadata_url_from_the_catalogue_is_checked_like_any_other(server, wayback):
    import dataclasses

    from imagery.errors import RefusedURL

    rel = wayback.releases()[0]
    evil = dataclasses.replace(rel, metadata_url="http://169.254.169.254/latest/meta-data")
    with pytest.raises(RefusedURL):
        wayback.capture_metadata(evil, site_bbox(), 17)
    assert server.counts["metadata"] == 0
