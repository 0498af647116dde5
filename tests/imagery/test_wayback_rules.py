"""Wayback's rules one by one, against a scripted in-memory client: the catalogue's fields and skips, tilemap
answers of every shape, the chain walk and duplicate removal with and without sizes, the scan's counts, progress,
errors and limits, metadata queries per zoom, capture notes and dates at the year and range boundaries, and the
capture's recorded extras (issue 22: these are the behaviours the mutation run found untested)."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
import shapely

from imagery.base import DateCertainty
from imagery.cache import Cache
from imagery.errors import AreaTooLarge, BadResponse, Cancelled, NotCacheable, NotFoundError, OfflineError
from imagery.providers import ESRI_WAYBACK, wayback_attribution
from imagery.tiles import Tile
from imagery.wayback import (
    CAPTURE_DATE_RULE,
    PROVIDER,
    Endpoints,
    PartMetadata,
    Release,
    TilemapAnswer,
    Wayback,
    _epoch_ms_date,
    _metadata_doc,
    _most_common,
    capture_from,
    parse_catalogue,
    parse_tilemap,
    source_kind,
)

ROOT = "https://svc.example/wayback"
EP = Endpoints(config_url="https://svc.example/config.json", service_root=ROOT,
               tile_url="https://{s}.tiles.example/{release}/{z}/{y}/{x}", subdomains=("a", "b", "c"))


@dataclass
class Scripted:
    """An HttpClient stand-in: answers by URL (bytes, or an exception to raise), counts and records requests."""

    answers: dict[str, bytes | Exception] = field(default_factory=dict)
    offline: bool = False
    concurrency: int = 1
    asked: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.stats = SimpleNamespace(requests=0)
        self.config = SimpleNamespace(concurrency=self.concurrency)

    def get(self, url: str, expect: str | None = None) -> SimpleNamespace:
        self.asked.append(url)
        self.stats.requests += 1
        if url not in self.answers:
            raise NotFoundError(f"not served: {url}", url=url, status=404)
        a = self.answers[url]
        if isinstance(a, Exception):
            raise a
        return SimpleNamespace(url=url, status=200, headers={}, body=a, elapsed=0.0)


def rel(number: int, date: str) -> Release:
    return Release(number, dt.date.fromisoformat(date), f"World Imagery (Wayback {date})", f"{ROOT}/item/{number}",
                   f"https://meta.example/services/World_Imagery_Metadata_{number}/MapServer", f"WB_{number}")


RELS = [rel(40, "2024-06-01"), rel(30, "2023-06-01"), rel(20, "2022-06-01"), rel(10, "2021-06-01")]
T1, T2 = Tile(17, 5, 2), Tile(17, 6, 2)


def tilemap(select: int | None, size: int | None = None) -> bytes:
    doc: dict = {"data": [1 if select else 0], "select": [select or 0]}
    if size is not None:
        doc["size"] = [size]
    return json.dumps(doc).encode()


@contextlib.contextmanager
def opened_cache(tmp_path: Path) -> Iterator[Cache]:
    c = Cache(tmp_path / "cache")
    try:
        yield c
    finally:
        c.close()


def answer_chain(client: Scripted, t: Tile, chain: dict[int, bytes]) -> None:
    for number, body in chain.items():
        client.answers[EP.tilemap(number, t)] = body


# -- the catalogue ------------------------------------------------------------------------------------------------


def item(n: int, date: str, **over: object) -> dict:
    doc = {"itemID": f"id{n}", "itemTitle": f"World Imagery (Wayback {date})", "itemURL": f"u{n}",
           "metadataLayerUrl": f"https://m/x/{n}/MapServer/", "metadataLayerItemID": f"mid{n}",
           "layerIdentifier": f"WB_{n}"}
    doc.update(over)
    return doc


def test_the_catalogue_keeps_every_field_skips_bad_items_wherever_they_are_and_orders_ties_by_number():
    doc = {
        "abc": item(1, "2020-01-01"),  # key not a number
        "7": "not an object",
        "8": item(8, "2020-01-01", itemURL=None),  # a field of the wrong type
        "9": item(9, "no date"),
        "11": item(11, "2021-13-45"),  # a date-looking title that is no date
        "5": item(5, "2019-03-04"),
        "6": item(6, "2019-03-04"),
        "4": item(4, "2018-01-02", metadataLayerUrl="https://m/x/4/MapServerX/"),
    }
    got = parse_catalogue(doc)
    assert [r.number for r in got] == [6, 5, 4]
    assert got[0] == Release(6, dt.date(2019, 3, 4), "World Imagery (Wayback 2019-03-04)", "u6",
                             "https://m/x/6/MapServer", "WB_6", "id6", "mid6")
    assert got[2].metadata_url == "https://m/x/4/MapServerX"


def test_a_catalogue_of_the_wrong_kind_or_without_releases_says_so():
    with pytest.raises(BadResponse, match=r"^Wayback catalogue is a JSON list, not an object$"):
        parse_catalogue([])
    with pytest.raises(BadResponse, match=r"^Wayback catalogue holds no valid release$"):
        parse_catalogue({"1": item(1, "none")})


def test_releases_are_cached_for_half_a_day_and_named_in_errors(tmp_path):
    doc = {"1": item(1, "2020-01-01")}
    client = Scripted({EP.config_url: json.dumps(doc).encode()})
    with opened_cache(tmp_path) as cache:
        wb = Wayback(client, cache, EP)  # type: ignore[arg-type]
        assert [r.number for r in wb.releases()] == [1]
        assert [r.number for r in wb.releases()] == [1] and len(client.asked) == 1
        entry = cache.get(EP.config_url, max_age=12 * 3600.0)
        assert entry is not None
    client = Scripted({EP.config_url: b"{"})
    with pytest.raises(BadResponse, match=r"^Wayback catalogue: malformed JSON"):
        Wayback(client, None, EP).releases()  # type: ignore[arg-type]


def test_the_catalogue_goes_stale_after_twelve_hours(tmp_path):
    doc = json.dumps({"1": item(1, "2020-01-01")}).encode()
    client = Scripted({EP.config_url: doc})

    def age(cache: Cache, hours: float) -> None:
        then = dt.datetime.now(dt.UTC) - dt.timedelta(hours=hours)
        cache._db.execute("UPDATE entries SET fetched_at = ?", (then.isoformat(),))

    with opened_cache(tmp_path) as cache:
        wb = Wayback(client, cache, EP)  # type: ignore[arg-type]
        wb.releases()
        age(cache, 11)
        wb.releases()
        assert len(client.asked) == 1
        age(cache, 13)
        wb.releases()
        assert len(client.asked) == 2


# -- tilemap answers ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("doc, expected", [
    ({"data": [1], "select": ["39767"], "size": [1234]}, TilemapAnswer(39767, 1234)),
    ({"data": [1], "select": [39767], "size": [1]}, TilemapAnswer(39767, 1)),
    ({"data": [1], "select": [39767], "size": [0]}, TilemapAnswer(39767, None)),
    ({"data": [1], "select": [39767], "size": [-3]}, TilemapAnswer(39767, None)),
    ({"data": [1], "select": [39767]}, TilemapAnswer(39767, None)),
    ({"data": [1], "select": "57"}, TilemapAnswer(7, None)),  # not a list
    ({"data": [1], "select": []}, TilemapAnswer(7, None)),
    ({"data": [1], "select": [True]}, TilemapAnswer(7, None)),
    ({"data": [1], "select": ["١٢"]}, TilemapAnswer(7, None)),  # digits, not ASCII ones
    ({"data": [1], "select": [3.5]}, TilemapAnswer(7, None)),
    ({"data": [1], "select": ["12a"]}, TilemapAnswer(7, None)),
    ({"data": [1], "select": [-1]}, TilemapAnswer(7, None)),  # no release is numbered 0 or below (found by
    ({"data": [1], "select": ["0"]}, TilemapAnswer(7, None)),   # test_hostile_wayback_answers' hypothesis search)
    ({"data": [0], "select": [99], "size": [5]}, TilemapAnswer(None)),
    ({"data": [], "select": [99]}, TilemapAnswer(None)),
    ({"select": [99]}, TilemapAnswer(None)),
])
def test_tilemap_answers(doc, expected):
    assert parse_tilemap(doc, 7) == expected


@pytest.mark.parametrize("doc", [[1], "x", {"data": "1"}])
def test_a_tilemap_answer_of_another_shape_names_the_release(doc):
    with pytest.raises(BadResponse, match=r"^tilemap for release 7: unexpected shape$"):
        parse_tilemap(doc, 7)


# -- the chain walk -----------------------------------------------------------------------------------------------


def test_the_walk_asks_from_the_newest_release_and_jumps_to_each_change():
    client = Scripted()
    answer_chain(client, T1, {40: tilemap(30, 100), 20: tilemap(20, 90), 10: tilemap(None)})
    wb = Wayback(client, None, EP)  # type: ignore[arg-type]
    got = wb.local_changes(shapely.box(*T1.bounds()).buffer(-1e-6), 17, RELS)
    assert client.asked == [EP.tilemap(40, T1), EP.tilemap(20, T1), EP.tilemap(10, T1)]
    assert got.per_tile == {T1: [30, 20]} and [r.number for r in got.releases] == [30, 20]
    assert got.by_size == 1 and got.requests == 3 and got.naive_requests == 4


@pytest.mark.parametrize("last", [
    tilemap(99, 5),  # a release the catalogue does not hold
    tilemap(40, 5),  # an answer that would walk forwards
])
def test_the_walk_stops_on_an_answer_it_cannot_follow(last):
    client = Scripted()
    answer_chain(client, T1, {40: tilemap(30, 100), 20: last})
    got = Wayback(client, None, EP).local_changes(  # type: ignore[arg-type]
        shapely.box(*T1.bounds()).buffer(-1e-6), 17, RELS[:3])
    assert got.per_tile == {T1: [30]}
    assert len(client.asked) == 2


def test_an_answer_without_select_names_the_release_asked_for():
    client = Scripted()
    answer_chain(client, T1, {40: b'{"data": [1], "size": [7]}', 30: tilemap(None)})
    got = Wayback(client, None, EP).local_changes(  # type: ignore[arg-type]
        shapely.box(*T1.bounds()).buffer(-1e-6), 17, RELS[:2])
    assert got.per_tile == {T1: [40]}


def test_a_missing_tilemap_ends_the_walk_and_a_bad_one_is_an_error_of_that_tile(caplog):
    client = Scripted()
    answer_chain(client, T1, {40: tilemap(30, 100)})  # 20: 404
    answer_chain(client, T2, {40: b"[1, 2]"})
    area = shapely.box(T1.bounds()[0] + 1e-6, T1.bounds()[1] + 1e-6, T2.bounds()[2] - 1e-6, T2.bounds()[3] - 1e-6)
    with caplog.at_level(logging.WARNING, logger="imagery.wayback"):
        got = Wayback(client, None, EP).local_changes(area, 17, RELS)  # type: ignore[arg-type]
    assert got.per_tile == {T1: [30]}
    assert got.errors == {T2: "tilemap for release 40: unexpected shape"}
    assert [r.message for r in caplog.records] == [
        f"Wayback change scan: 1 of 2 tiles failed (first, {T2}: tilemap for release 40: unexpected shape)"]


def test_when_every_tile_fails_the_first_tiles_error_is_raised():
    client = Scripted()
    answer_chain(client, T1, {40: b"{"})
    answer_chain(client, T2, {40: b"[1]"})
    area = shapely.box(T1.bounds()[0] + 1e-6, T1.bounds()[1] + 1e-6, T2.bounds()[2] - 1e-6, T2.bounds()[3] - 1e-6)
    with pytest.raises(BadResponse, match=r"^tilemap: malformed JSON"):
        Wayback(client, None, EP).local_changes(area, 17, RELS)  # type: ignore[arg-type]


def test_a_cancelled_scan_stops_before_its_next_request():
    client = Scripted()
    answer_chain(client, T1, {40: tilemap(30, 100), 20: tilemap(20, 90)})
    asked = iter([False, True])
    with pytest.raises(Cancelled, match=r"^the Wayback change scan was cancelled$"):
        Wayback(client, None, EP).local_changes(  # type: ignore[arg-type]
            shapely.box(*T1.bounds()).buffer(-1e-6), 17, RELS, cancelled=lambda: next(asked))
    assert client.asked == [EP.tilemap(40, T1)]


def test_progress_counts_every_tile_once_and_the_scan_counts_only_its_own_requests():
    client = Scripted()
    client.stats.requests = 17  # requests made before this scan
    for t in (T1, T2):
        answer_chain(client, t, {40: tilemap(None)})
    area = shapely.box(T1.bounds()[0] + 1e-6, T1.bounds()[1] + 1e-6, T2.bounds()[2] - 1e-6, T2.bounds()[3] - 1e-6)
    seen: list[tuple[int, int]] = []
    got = Wayback(client, None, EP).local_changes(  # type: ignore[arg-type]
        area, 17, RELS, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(1, 2), (2, 2)]
    assert got.requests == 2 and got.releases == [] and got.per_tile == {T1: [], T2: []}


def test_the_scan_refuses_more_tiles_than_its_limit_and_never_goes_below_the_services_zoom():
    client = Scripted()
    w, s, _, n = Tile(17, 5, 2).bounds()
    _, _, e, _ = Tile(17, 7, 2).bounds()
    with pytest.raises(AreaTooLarge):
        Wayback(client, None, EP, max_tiles=2).local_changes(  # type: ignore[arg-type]
            (w + 1e-6, s + 1e-6, e - 1e-6, n - 1e-6), 17, RELS)
    deep = Wayback(client, None, Endpoints(service_root=ROOT, max_zoom=16), zoom=19)  # type: ignore[arg-type]
    got = deep.local_changes((w + 1e-6, s + 1e-6, w + 2e-6, s + 2e-6), releases=[])
    assert {t.z for t in got.tiles} == {16}


def test_without_releases_given_the_scan_reads_the_catalogue():
    client = Scripted({EP.config_url: json.dumps({"40": item(40, "2024-06-01")}).encode()})
    answer_chain(client, T1, {40: tilemap(40, 10)})
    got = Wayback(client, None, EP).local_changes(  # type: ignore[arg-type]
        shapely.box(*T1.bounds()).buffer(-1e-6), 17)
    assert [r.number for r in got.releases] == [40]


# -- duplicates told apart by the bytes when the tilemap gives no size --------------------------------------------


def test_without_sizes_the_bytes_decide_a_missing_tile_is_skipped_and_counts_add_up_over_tiles(tmp_path):
    client = Scripted()
    rels = [rel(50, "2025-01-01"), *RELS]
    for t in (T1, T2):
        answer_chain(client, t, {50: tilemap(50), 40: tilemap(40), 30: tilemap(30), 20: tilemap(20),
                                 10: tilemap(10)})
        # oldest to newest: 10 (A), 20 (A again: duplicate), 30 (no tile after all), 40 (B), 50 (B again)
        client.answers[EP.tile(10, t)] = b"A" * 3
        client.answers[EP.tile(20, t)] = b"A" * 3
        client.answers[EP.tile(40, t)] = b"B" * 5
        client.answers[EP.tile(50, t)] = b"B" * 5
    area = shapely.box(T1.bounds()[0] + 1e-6, T1.bounds()[1] + 1e-6, T2.bounds()[2] - 1e-6, T2.bounds()[3] - 1e-6)
    with opened_cache(tmp_path) as cache:
        got = Wayback(client, cache, EP).local_changes(area, 17, rels)  # type: ignore[arg-type]
        assert got.per_tile == {T1: [40, 10], T2: [40, 10]}
        assert got.tile_fetches == 8 and got.tile_bytes == 2 * (3 + 3 + 5 + 5) and got.by_size == 0
        a, b = hashlib.sha256(b"AAA").hexdigest(), hashlib.sha256(b"BBBBB").hexdigest()
        assert got.tile_sha256 == {(t, n): h for t in (T1, T2)
                                   for n, h in ((10, a), (20, a), (30, ""), (40, b), (50, b))}
        hit = cache.get(f"wayback-tilehash:30/{T1.z}/{T1.y}/{T1.x}")
        assert hit is not None and hit.body == b""
        hit = cache.get(f"wayback-tilehash:40/{T1.z}/{T1.y}/{T1.x}")
        assert hit is not None and hit.body == b.encode("ascii")
        # a second scan takes every hash from the cache: no tile is fetched again
        again = Wayback(client, cache, EP).local_changes(area, 17, rels)  # type: ignore[arg-type]
        assert again.tile_fetches == 0 and again.tile_bytes == 0 and again.per_tile == got.per_tile
        client.offline = True
        with pytest.raises(OfflineError, match=r"^tile hash for release 7 not in the cache \(offline\)$") as err:
            Wayback(client, cache, EP)._tile_hash(7, T1)  # type: ignore[arg-type]
        assert err.value.url == f"wayback-tilehash:7/{T1.z}/{T1.y}/{T1.x}"


def test_a_size_on_one_side_only_falls_back_to_the_bytes():
    client = Scripted()
    answer_chain(client, T1, {40: tilemap(40, 5), 30: tilemap(30)})
    client.answers[EP.tile(30, T1)] = b"same"
    client.answers[EP.tile(40, T1)] = b"same"
    got = Wayback(client, None, EP).local_changes(  # type: ignore[arg-type]
        shapely.box(*T1.bounds()).buffer(-1e-6), 17, RELS[:2])
    assert got.per_tile == {T1: [30]} and got.by_size == 0 and got.tile_fetches == 2


def test_tile_urls_spread_over_subdomains_by_column_plus_row():
    assert EP.tile(9, Tile(3, 5, 2)) == "https://b.tiles.example/9/3/2/5"
    assert EP.tile(9, Tile(3, 4, 2)) == "https://a.tiles.example/9/3/2/4"
    plain = Endpoints(tile_url="https://t/{s}/{release}/{z}/{y}/{x}", subdomains=())
    assert plain.tile(9, Tile(3, 4, 2)) == "https://t//9/3/2/4"
    assert EP.tilemap(9, Tile(3, 4, 2)) == f"{ROOT}/tilemap/9/3/2/4"


def test_metadata_urls_under_a_mirror_keep_the_catalogues_service_name():
    r = rel(1, "2020-01-01")
    assert EP.metadata(r) == r.metadata_url
    mirror = Endpoints(metadata_root="https://mirror.example/root/")
    assert mirror.metadata(r) == "https://mirror.example/root/World_Imagery_Metadata_1/MapServer"
    odd = Release(1, r.date, r.title, "", "https://h/services/Foo", "X")
    assert mirror.metadata(odd) == "https://mirror.example/root/Foo"
    assert mirror.metadata(Release(1, r.date, r.title, "", "MapServer", "X")) == "https://mirror.example/root/MapServer"
    assert mirror.metadata(Release(1, r.date, r.title, "", "", "X")) == "https://mirror.example/root/"
    assert mirror.metadata(Release(1, r.date, r.title, "", "Svc/MapServer", "X")) == (
        "https://mirror.example/root/Svc/MapServer")
    ending_x = Endpoints(metadata_root="https://mirror.example/X/")
    assert ending_x.metadata(r) == "https://mirror.example/X/World_Imagery_Metadata_1/MapServer"


def test_the_server_never_reads_wayback_pixels():
    wb = Wayback(Scripted(), None, EP)  # type: ignore[arg-type]
    with pytest.raises(NotCacheable, match=r"^Esri Wayback tiles may only be shown by the browser, not read by the "
                                           r"server$"):
        wb.read(capture_from(RELS[0], []), (0, 0, 1, 1), (4, 4))


# -- metadata -----------------------------------------------------------------------------------------------------


def ms(d: dt.datetime) -> int:
    return int(d.replace(tzinfo=dt.UTC).timestamp() * 1000)


@pytest.fixture
def tokyo(monkeypatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_capture_dates_are_utc_dates_from_1971_to_2099(tokyo):
    assert _epoch_ms_date(ms(dt.datetime(2024, 6, 27, 23, 30))) == dt.date(2024, 6, 27)
    assert _epoch_ms_date(ms(dt.datetime(1971, 1, 1))) == dt.date(1971, 1, 1)
    assert _epoch_ms_date(ms(dt.datetime(1970, 12, 31, 12))) is None
    assert _epoch_ms_date(ms(dt.datetime(2099, 12, 31, 12))) == dt.date(2099, 12, 31)
    assert _epoch_ms_date(ms(dt.datetime(2100, 1, 1, 12))) is None
    assert _epoch_ms_date(True) is None and _epoch_ms_date("1") is None and _epoch_ms_date(1e30) is None


def test_most_common_ignores_unknowns():
    assert _most_common([None, None, None, "a", "b", "b"]) == "b"
    assert _most_common([None]) is None and _most_common([]) is None


@pytest.mark.parametrize("desc, kind", [("2024-06-27 Release", "release note"), ("WV03", "sensor"),
                                        ("Redlands, CA", "place"), ("", None), (None, None)])
def test_source_kinds(desc, kind):
    assert source_kind(desc) == kind


def test_metadata_service_errors_name_the_release():
    with pytest.raises(BadResponse, match=r"^metadata for release 5: service error \{'code': 400\}$"):
        _metadata_doc(b'{"error": {"code": 400}}', 5)
    with pytest.raises(BadResponse, match=r"^metadata for release 5: service error 'list'$"):
        _metadata_doc(b"[]", 5)
    with pytest.raises(BadResponse, match=r"^metadata for release 5: malformed JSON"):
        _metadata_doc(b"{", 5)


def point_of(url: str) -> tuple[int, float, float]:
    parts = urlsplit(url)
    q = parse_qs(parts.query)
    geom = json.loads(q["geometry"][0])
    assert q["outFields"] == ["SRC_DATE2,NICE_DESC,SRC_DESC,SAMP_RES,SRC_ACC"] and q["f"] == ["json"]
    assert q["returnGeometry"] == ["false"] and q["geometryType"] == ["esriGeometryPoint"]
    assert q["where"] == ["1=1"] and q["spatialRel"] == ["esriSpatialRelIntersects"]
    assert " " not in q["geometry"][0]  # compact JSON: one cache key per point
    assert geom["spatialReference"] == {"wkid": 4326}
    return int(parts.path.split("/")[-2]), geom["x"], geom["y"]


class MetadataClient(Scripted):
    """Answers every metadata query with `attrs` (a dict, or the whole document when `doc` is set)."""

    def __init__(self, attrs: object = None, doc: object = None) -> None:
        super().__init__()
        self.doc = doc if doc is not None else {"features": [{"attributes": attrs}] if attrs is not None else []}

    def get(self, url: str, expect: str | None = None) -> SimpleNamespace:
        self.asked.append(url)
        self.stats.requests += 1
        return SimpleNamespace(url=url, status=200, headers={}, body=json.dumps(self.doc).encode(), elapsed=0.0)


@pytest.mark.parametrize("zoom, layer", [(17, 6), (5, 13), (25, 0), (None, 4)])
def test_the_metadata_layer_follows_the_zoom_between_10_and_23(zoom, layer):
    client = MetadataClient({"SRC_DATE2": ms(dt.datetime(2020, 5, 1))})
    wb = Wayback(client, None, EP, zoom=19)  # type: ignore[arg-type]
    w, s, _, _ = Tile(17, 5, 2).bounds()
    wb.capture_metadata(RELS[0], shapely.box(w + 1e-7, s + 1e-7, w + 2e-7, s + 2e-7), zoom)
    assert {point_of(u)[0] for u in client.asked} == {layer}
    assert all(u.startswith(f"{RELS[0].metadata_url}/{layer}/query?") for u in client.asked)


def test_metadata_attributes_are_read_as_typed_values():
    attrs = {"SRC_DATE2": ms(dt.datetime(2020, 5, 1, 22)), "NICE_DESC": " Maxar ", "SRC_DESC": "WV03",
             "SAMP_RES": 0.31, "SRC_ACC": 4, "extra": 1}
    client = MetadataClient(attrs)
    box = shapely.box(*Tile(17, 5, 2).bounds()).buffer(-1e-5)
    wb = Wayback(client, None, EP)  # type: ignore[arg-type]
    (p,) = wb.capture_metadata(RELS[0], box, 17)
    _, lon, lat = point_of(client.asked[0])
    assert p == PartMetadata(Tile(17, 5, 2), lon, lat, dt.date(2020, 5, 1), "Maxar", "WV03", 0.31, 4.0, "sensor")
    assert (lon, lat) == (round(lon, 6), round(lat, 6))


@pytest.mark.parametrize("doc", [
    {"features": "x"}, {"features": [1]}, {"features": [{"attributes": [1]}]}, {"features": [{}]}, {},
    {"features": [{"attributes": {"SRC_DATE2": "2020", "NICE_DESC": "  ", "SRC_DESC": 3, "SAMP_RES": True,
                                  "SRC_ACC": "4"}}]},
])
def test_metadata_of_any_other_shape_is_unknown_not_an_error(doc):
    wb = Wayback(MetadataClient(doc=doc), None, EP)  # type: ignore[arg-type]
    (p,) = wb.capture_metadata(RELS[0], shapely.box(*Tile(17, 5, 2).bounds()).buffer(-1e-5), 17)
    assert (p.date, p.provider, p.sensor, p.resolution_m, p.accuracy_m, p.source_kind) == (None,) * 6


def test_sample_points_one_per_tile_coarser_past_the_cap_and_down_to_the_whole_world():
    wb = Wayback(Scripted(), None, EP)  # type: ignore[arg-type]
    w, s, _, n = Tile(17, 0, 100).bounds()
    _, _, e, _ = Tile(17, 16, 100).bounds()
    row = (w + 1e-7, s + 1e-7, e - 1e-7, n - 1e-7)  # 17 tiles in a row at z17
    pts = wb.sample_points(row, 17)
    assert {t.z for t, _, _ in pts} == {16} and len(pts) == 9
    four = (Tile(17, 0, 100).bounds()[0] + 1e-7, Tile(17, 0, 101).bounds()[1] + 1e-7,
            Tile(17, 1, 100).bounds()[2] - 1e-7, Tile(17, 0, 100).bounds()[3] - 1e-7)
    assert {t for t, _, _ in wb.sample_points(four, 17, max_points=4)} == {
        Tile(17, 0, 100), Tile(17, 1, 100), Tile(17, 0, 101), Tile(17, 1, 101)}
    assert [t for t, _, _ in wb.sample_points(four, 17, max_points=1)] == [Tile(16, 0, 50)]
    world = (-179.0, -80.0, 179.0, 80.0)
    assert [t for t, _, _ in wb.sample_points(world, 3, max_points=0)] == [Tile(0, 0, 0)]
    for t, lon, lat in pts:
        assert shapely.box(*t.bounds()).contains(shapely.Point(lon, lat))
        assert (lon, lat) == (round(lon, 6), round(lat, 6))


def test_sample_points_refuse_more_than_four_times_the_tile_limit():
    wb = Wayback(Scripted(), None, EP, max_tiles=2)  # type: ignore[arg-type]
    w, s, _, n = Tile(17, 0, 100).bounds()
    _, _, e, _ = Tile(17, 8, 100).bounds()
    with pytest.raises(AreaTooLarge):
        wb.sample_points((w + 1e-7, s + 1e-7, e - 1e-7, n - 1e-7), 17, max_points=100)
    _, _, e8, _ = Tile(17, 7, 100).bounds()
    assert len(wb.sample_points((w + 1e-7, s + 1e-7, e8 - 1e-7, n - 1e-7), 17, max_points=4)) == 4


# -- captures -----------------------------------------------------------------------------------------------------


def test_a_release_capture_notes_why_it_is_dated_by_the_release(caplog):
    box = shapely.box(*Tile(17, 5, 2).bounds()).buffer(-1e-5)
    r = RELS[1]

    class Failing(Scripted):
        def __init__(self, err: Exception) -> None:
            super().__init__()
            self.err = err

        def get(self, url: str, expect: str | None = None) -> SimpleNamespace:
            raise self.err

    with caplog.at_level(logging.WARNING, logger="imagery.wayback"):
        cap = Wayback(Failing(NotFoundError("gone")), None, EP).release_capture(r, box)  # type: ignore[arg-type]
    assert cap.extra["note"] == ("release 30 (2023-06-01): its metadata layer is missing (HTTP 404); dated by the "
                                 "release only")
    assert cap.extra["parts"] == [] and cap.date == r.date and cap.certainty == DateCertainty.RELEASED
    assert caplog.records[-1].getMessage() == "Wayback release 30: metadata layer missing: gone"
    with caplog.at_level(logging.WARNING, logger="imagery.wayback"):
        cap = Wayback(MetadataClient(doc={"error": 1}), None, EP).release_capture(r, box)  # type: ignore[arg-type]
    assert cap.extra["note"] == ("release 30 (2023-06-01): its metadata answer cannot be used (metadata for release "
                                 "30: service error 1); dated by the release only")
    assert cap.extra["parts"] == [] and cap.date == r.date
    assert caplog.records[-1].getMessage() == ("Wayback release 30: metadata unusable: metadata for release 30: "
                                               "service error 1")
    cap = Wayback(MetadataClient(), None, EP).release_capture(r, box)  # type: ignore[arg-type]
    assert cap.extra["note"] == ("release 30 (2023-06-01): the metadata layer gives no capture date here (no feature, "
                                 "or SRC_DATE2 null); dated by the release only")
    assert len(cap.extra["parts"]) == 1
    dated = MetadataClient({"SRC_DATE2": ms(dt.datetime(2023, 1, 2))})
    cap = Wayback(dated, None, EP).release_capture(r, box, 17, max_points=16)  # type: ignore[arg-type]
    assert "note" not in cap.extra and cap.date == dt.date(2023, 1, 2) and cap.certainty == DateCertainty.CAPTURED
    five = shapely.box(Tile(17, 0, 100).bounds()[0] + 1e-7, Tile(17, 0, 100).bounds()[1] + 1e-7,
                       Tile(17, 16, 100).bounds()[2] - 1e-7, Tile(17, 0, 100).bounds()[3] - 1e-7)
    cap = Wayback(dated, None, EP).release_capture(r, five, 17)  # type: ignore[arg-type]
    assert len(cap.extra["parts"]) == 9  # 17 tiles > 16 points: one zoom coarser
    cap = Wayback(dated, None, EP, zoom=12).release_capture(r, box, None, max_points=1)  # type: ignore[arg-type]
    assert [p["tile"][0] for p in cap.extra["parts"]] == [12]


def part(date: dt.date | None, sensor: str | None = "WV03", kind: str | None = "sensor", res: float | None = 0.3,
         who: str | None = "Maxar", x: int = 0) -> PartMetadata:
    return PartMetadata(Tile(17, x, 1), 1.5, 2.5, date, who, sensor, res, 4.0, kind)


def test_a_capture_records_its_parts_and_its_most_common_facts():
    r = RELS[0]
    d1, d2, d3 = dt.date(2024, 1, 1), dt.date(2024, 2, 1), dt.date(2023, 12, 1)
    parts = [part(d1, x=1), part(d2, "Paris", "place", 0.5, None, x=2), part(d2, "GE01", x=3),
             part(d1, "Paris", "place", 0.5, "Vantor", x=4), part(d3, "2024-06-01 Release", "release note", 0.5, x=5),
             part(None, None, None, None, None, x=6)]
    cap = capture_from(r, parts, note="n")
    assert (cap.date, cap.certainty, cap.other_dates) == (d2, DateCertainty.CAPTURED, (d3, d1))  # tie: later date
    assert (cap.resolution_m, cap.sensor, cap.provider, cap.capture_id) == (0.5, "WV03", PROVIDER, "40")
    assert cap.attribution.startswith("Esri World Imagery Wayback (2024-06-01) | ")
    assert cap.extra == {
        "release": 40, "release_date": "2024-06-01", "layer": "WB_40", "date_rule": CAPTURE_DATE_RULE, "note": "n",
        "parts": [{"tile": (17, p.tile.x, 1), "lon": 1.5, "lat": 2.5, "date": p.date.isoformat() if p.date else None,
                   "provider": p.provider, "sensor": p.sensor, "source_kind": p.source_kind,
                   "resolution_m": p.resolution_m, "accuracy_m": 4.0} for p in parts],
        "source_description": "Paris", "source_kind": "place", "image_provider": "Maxar",
    }
    assert cap.licence == ESRI_WAYBACK.licence
    assert cap.attribution == wayback_attribution("2024-06-01", html=False)
    older = capture_from(r, [part(d3, x=1), part(d3, x=2), part(d2, x=3)])
    assert (older.date, older.other_dates) == (d3, (d2,))
    sensors = capture_from(r, [part(d1, x=1), part(d1, x=2), part(d1, x=3), part(d1, "Paris", "place", x=4)])
    assert (sensors.extra["source_description"], sensors.extra["source_kind"], sensors.sensor) == (
        "Paris", "place", "WV03")
    bare = capture_from(r, [part(None, None, None, None, None)])
    assert (bare.date, bare.certainty, bare.other_dates, bare.sensor, bare.resolution_m) == (
        r.date, DateCertainty.RELEASED, (), None, None)
    assert set(bare.extra) == {"release", "release_date", "layer", "date_rule", "parts"}


def test_captures_keep_the_range_ends_and_drop_releases_older_than_the_start():
    client = Scripted()
    answer_chain(client, T1, {40: tilemap(40, 3), 30: tilemap(30, 2), 20: tilemap(20, 1), 10: tilemap(None)})
    catalogue = {str(x.number): item(x.number, x.date.isoformat()) for x in RELS}
    client.answers[EP.config_url] = json.dumps(catalogue).encode()
    dates = {40: dt.date(2024, 5, 1), 30: dt.date(2023, 5, 1)}  # 20: no metadata

    class Meta(Scripted):
        def get(self, url: str, expect: str | None = None) -> SimpleNamespace:
            if "/query?" not in url:
                return super().get(url, expect)
            number = int(url.split("/x/")[1].split("/")[0])
            d = dates.get(number)
            doc = {"features": [{"attributes": {"SRC_DATE2": ms(dt.datetime(d.year, d.month, d.day))}}] if d else []}
            return SimpleNamespace(url=url, status=200, headers={}, body=json.dumps(doc).encode(), elapsed=0.0)

    meta = Meta(client.answers)
    wb = Wayback(meta, None, EP)  # type: ignore[arg-type]
    box = shapely.box(*T1.bounds()).buffer(-1e-6)
    got = wb.captures(box, dt.date(2023, 5, 1), dt.date(2024, 5, 1))
    assert [(c.capture_id, c.date) for c in got] == [("40", dt.date(2024, 5, 1)), ("30", dt.date(2023, 5, 1))]
    got = wb.captures(box, dt.date(2022, 6, 1), dt.date(2024, 4, 30))
    assert [(c.capture_id, c.date) for c in got] == [("30", dt.date(2023, 5, 1)), ("20", dt.date(2022, 6, 1))]
    got = wb.captures(box, dt.date(2022, 6, 2))
    assert [c.capture_id for c in got] == ["40", "30"]  # 20 is older than the start, even undated
    assert [c.capture_id for c in wb.captures(box)] == ["40", "30", "20"]
