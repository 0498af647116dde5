"""What the cache holds per provider and kind and how old it is (imagery.cache.Cache.summary), and the
status panel's words for it (age_text, cached_text)."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from imagery.cache import Cache, CacheSummary, age_text, cached_text

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


def _backdate(root: Path, url: str, when: dt.datetime) -> None:
    with sqlite3.connect(root / "index.sqlite") as db:
        db.execute("UPDATE entries SET fetched_at = ? WHERE url = ?", (when.isoformat(timespec="seconds"), url))


def test_summary_groups_by_provider_and_kind_with_oldest_and_newest(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    cache.put("http://127.0.0.1/config", b"{}", provider="esri-wayback", kind="catalogue")
    cache.put("http://127.0.0.1/tilemap/1", b'{"a": 1}', provider="esri-wayback", kind="tilemap")
    cache.put("http://127.0.0.1/tilemap/2", b'{"a": 2}', provider="esri-wayback", kind="tilemap")
    cache.put("http://127.0.0.1/xyz/1.png", b"png", provider="eox-s2cloudless-2020", kind="tile")
    cache.close()
    _backdate(tmp_path, "http://127.0.0.1/tilemap/1", NOW - dt.timedelta(days=3))
    _backdate(tmp_path, "http://127.0.0.1/tilemap/2", NOW - dt.timedelta(hours=2))
    cache = Cache(tmp_path)
    rows = {(r.provider, r.kind): r for r in cache.summary()}
    assert set(rows) == {("esri-wayback", "catalogue"), ("esri-wayback", "tilemap"), ("eox-s2cloudless-2020", "tile")}
    tilemaps = rows[("esri-wayback", "tilemap")]
    assert tilemaps.entries == 2 and tilemaps.bytes == len(b'{"a": 1}') * 2
    assert tilemaps.oldest == NOW - dt.timedelta(days=3) and tilemaps.newest == NOW - dt.timedelta(hours=2)
    assert tilemaps.oldest.tzinfo is not None
    assert cached_text([rows[("esri-wayback", "tilemap")]], NOW) == "2 answers, fetched 2 h to 3 days ago"
    cache.close()


def test_empty_cache_says_nothing_cached(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    assert cache.summary() == []
    assert cached_text(cache.summary(), NOW) == "nothing cached"
    cache.close()


def test_naive_fetch_times_are_read_as_utc(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    cache.put("http://127.0.0.1/a", b"{}", provider="esri-wayback", kind="catalogue")
    cache.close()
    with sqlite3.connect(tmp_path / "index.sqlite") as db:  # an index written by an older version
        db.execute("UPDATE entries SET fetched_at = '2026-12-01T11:00:00'")
    cache = Cache(tmp_path)
    (row,) = cache.summary()
    assert row.newest == NOW - dt.timedelta(hours=1)
    cache.close()


def test_words() -> None:
    assert age_text(NOW, NOW) == "just now"
    assert age_text(NOW - dt.timedelta(seconds=59), NOW) == "just now"
    assert age_text(NOW - dt.timedelta(minutes=5), NOW) == "5 min"
    assert age_text(NOW - dt.timedelta(hours=30), NOW) == "30 h"
    assert age_text(NOW - dt.timedelta(days=2), NOW) == "2 days"
    assert age_text(NOW - dt.timedelta(days=13), NOW) == "13 days"
    assert age_text(NOW - dt.timedelta(days=20), NOW) == "2 weeks"
    assert age_text(NOW - dt.timedelta(days=60), NOW) == "8 weeks"
    one = CacheSummary("p", "tile", 1, 3, NOW, NOW)
    assert cached_text([one], NOW, "tile") == "1 tile, fetched just now"
    assert age_text(NOW + dt.timedelta(hours=1), NOW) == "just now"  # a clock that went back: never negative


@given(st.integers(min_value=0, max_value=10**9), st.integers(min_value=0, max_value=10**9))
def test_older_never_reads_younger(a: int, b: int) -> None:
    """The larger unit wins: an older entry's words never name a smaller age than a younger one's."""
    def seconds(text: str) -> float:
        if text == "just now":
            return 0
        n, unit = text.split()
        return int(n) * {"min": 60, "h": 3600, "day": 86400, "days": 86400, "week": 604800, "weeks": 604800}[unit]

    young, old = sorted((a, b))
    assert seconds(age_text(NOW - dt.timedelta(seconds=young), NOW)) <= seconds(
        age_text(NOW - dt.timedelta(seconds=old), NOW))
    assert seconds(age_text(NOW - dt.timedelta(seconds=old), NOW)) <= old
