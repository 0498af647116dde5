"""On-disk cache for what the licences let us keep: content-addressed blobs plus a provenance index.

Blobs are named by the sha256 of their bytes; an SQLite index keyed by URL records where each came
from (URL, time of fetch, status, selected headers, sha256, size, provider, kind). A blob is
written to a temporary file and renamed into place, and the index row is added only after that,
so a failed or truncated download never becomes an entry. Least-recently-used entries are evicted
above a size cap.

What may be stored is decided per endpoint kind: catalogue, tilemap and metadata answers are JSON
about imagery, not imagery, and are kept; imagery tiles are kept only for providers whose terms
allow server-side fetching (`TileProvider.server_fetch_allowed`). Esri tiles never reach disk.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from .errors import NotCacheable, OfflineError, UnknownProvider
from .http import HttpClient, Response
from .json_safe import parse_json
from .providers import get_provider

# Endpoint kinds that carry facts about imagery rather than imagery: always cacheable.
METADATA_KINDS = frozenset({"catalogue", "tilemap", "metadata", "tilehash"})
IMAGERY_KINDS = frozenset({"tile"})
KEPT_HEADERS = ("content-type", "content-length", "etag", "last-modified", "date", "cache-control", "server")


@dataclass(frozen=True)
class Entry:
    """One cached HTTP response: its body, status, selected headers and when and from which provider it was fetched."""

    url: str
    sha256: str
    size: int
    fetched_at: str  # ISO 8601 UTC
    status: int
    headers: Mapping[str, str]
    provider: str
    kind: str
    body: bytes

    def json(self) -> object:
        """The body parsed as JSON; BadResponse if it is not JSON or nests too deeply (imagery.json_safe)."""
        return parse_json(self.body, self.url, url=self.url, status=self.status)


@dataclass(frozen=True)
class CacheSummary:
    """What the cache holds for one provider and endpoint kind, and when it was fetched."""

    provider: str
    kind: str
    entries: int
    bytes: int
    oldest: dt.datetime  # UTC
    newest: dt.datetime  # UTC


@dataclass(frozen=True)
class Record:
    """Where one cached body came from: its URL, the sha256 and size of its bytes, when it was fetched (UTC)."""

    url: str
    sha256: str
    size: int
    fetched_at: dt.datetime  # UTC
    provider: str
    kind: str


def _utc(text: str) -> dt.datetime:
    when = dt.datetime.fromisoformat(text)
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)


def age_text(when: dt.datetime, now: dt.datetime) -> str:
    """How long ago `when` was, in the largest whole unit: "just now", "5 min", "3 h", "2 days", "7 weeks"."""
    seconds = (now - when).total_seconds()
    if seconds < 60:
        return "just now"
    for unit, size in (("week", 7 * 86400), ("day", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size * (2 if unit in ("week", "day") else 1):
            n = int(seconds // size)
            return f"{n} {unit}{'s' if unit in ('week', 'day') and n > 1 else ''}"
    return "just now"  # unreachable: every age of a minute or more has a unit


def cached_text(rows: list[CacheSummary], now: dt.datetime, noun: str = "answer") -> str:
    """One line for a service's cache rows: "12 answers, fetched 3 h to 2 days ago", or "nothing cached"."""
    if not rows:
        return "nothing cached"
    count = sum(r.entries for r in rows)
    newest, oldest = max(r.newest for r in rows), min(r.oldest for r in rows)
    span = age_text(newest, now)
    if age_text(oldest, now) != span:
        span = f"{span} to {age_text(oldest, now)}"
    return f"{count} {noun if count == 1 else noun + 's'}, fetched {span} ago".replace("just now ago", "just now")


def may_cache(provider_key: str, kind: str) -> bool:
    """True when the terms for this provider and endpoint kind allow keeping the bytes on disk."""
    if kind in METADATA_KINDS:
        return True
    if kind in IMAGERY_KINDS:
        try:
            return get_provider(provider_key).server_fetch_allowed
        except UnknownProvider:
            return False  # unknown terms: do not store
    return False


class Cache:
    """Thread-safe; one index connection shared under a lock."""

    def __init__(self, root: str | os.PathLike[str], *, max_bytes: int = 512 * 1024 * 1024) -> None:
        self.root = Path(root)
        self.blobs = self.root / "blobs"
        self.blobs.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.root / "index.sqlite", check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # a cache: losing the last index rows on power loss only costs refetches, so no fsync per commit
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS entries (url TEXT PRIMARY KEY, sha256 TEXT NOT NULL, size INTEGER NOT NULL,"
            " fetched_at TEXT NOT NULL, status INTEGER NOT NULL, headers TEXT NOT NULL, provider TEXT NOT NULL,"
            " kind TEXT NOT NULL, accessed REAL NOT NULL)"
        )
        self._db.execute("CREATE INDEX IF NOT EXISTS entries_sha ON entries (sha256)")

    def close(self) -> None:
        """Close the cache database."""
        with self._lock:
            self._db.close()

    def _blob(self, sha: str) -> Path:
        return self.blobs / sha[:2] / sha

    def get(self, url: str, *, max_age: float | None = None) -> Entry | None:
        """The entry for this URL, or None if absent, older than max_age seconds, or its blob is damaged."""
        with self._lock:
            row = self._db.execute(
                "SELECT sha256, size, fetched_at, status, headers, provider, kind FROM entries WHERE url = ?", (url,)
            ).fetchone()
            if row is None:
                return None
            sha, size, fetched_at, status, headers, provider, kind = row
            if max_age is not None:
                age = (dt.datetime.now(dt.UTC) - dt.datetime.fromisoformat(fetched_at)).total_seconds()
                if age > max_age:
                    return None
            try:
                body = self._blob(sha).read_bytes()
            except FileNotFoundError:
                body = b""
            if hashlib.sha256(body).hexdigest() != sha:  # damaged or deleted behind our back: forget it
                self._db.execute("DELETE FROM entries WHERE url = ?", (url,))
                return None
            self._db.execute("UPDATE entries SET accessed = ? WHERE url = ?", (time.time(), url))
        return Entry(url, sha, size, fetched_at, status, json.loads(headers), provider, kind, body)

    def put(self, url: str, body: bytes, *, provider: str, kind: str, status: int = 200,
            headers: Mapping[str, str] | None = None) -> Entry:
        """Store a complete response. Raises NotCacheable where the provider's terms forbid it."""
        if not may_cache(provider, kind):
            raise NotCacheable(f"{provider}: {kind} responses may not be stored (provider terms)")
        sha = hashlib.sha256(body).hexdigest()
        kept = {k.lower(): v for k, v in (headers or {}).items() if k.lower() in KEPT_HEADERS}
        fetched_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        path = self._blob(sha)
        if not path.exists():
            path.parent.mkdir(exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(body)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (url, sha, len(body), fetched_at, status, json.dumps(kept), provider, kind, time.time()),
            )
        self._evict()
        return Entry(url, sha, len(body), fetched_at, status, kept, provider, kind, body)

    def size(self) -> int:
        """Bytes held in blobs (each blob counted once, however many URLs share it)."""
        with self._lock:
            row = self._db.execute("SELECT COALESCE(SUM(size), 0) FROM (SELECT DISTINCT sha256, size FROM entries)")
            return int(row.fetchone()[0])

    def entries(self) -> list[tuple[str, str, str]]:
        """(url, kind, provider) of every entry, for audits and tests."""
        with self._lock:
            return list(self._db.execute("SELECT url, kind, provider FROM entries ORDER BY url"))

    def records(self, provider: str, kind: str, *, url_prefix: str = "") -> list[Record]:
        """The provenance of every entry of one provider and kind (URL, sha256, size, fetch time), oldest fetch
        first, without reading a blob: what a provenance appendix lists as the bytes the server kept."""
        with self._lock:
            rows = list(self._db.execute(
                "SELECT url, sha256, size, fetched_at FROM entries WHERE provider = ? AND kind = ? AND"
                " substr(url, 1, ?) = ? ORDER BY fetched_at, url", (provider, kind, len(url_prefix), url_prefix)))
        return [Record(url, sha, int(size), _utc(at), provider, kind) for url, sha, size, at in rows]

    def summary(self) -> list[CacheSummary]:
        """Per (provider, kind): how many entries, their bytes and the oldest and newest fetch time (the status
        panel's "what is cached and how old")."""
        with self._lock:
            rows = list(self._db.execute(
                "SELECT provider, kind, COUNT(*), COALESCE(SUM(size), 0), MIN(fetched_at), MAX(fetched_at)"
                " FROM entries GROUP BY provider, kind ORDER BY provider, kind"))
        return [CacheSummary(p, k, int(n), int(b), _utc(lo), _utc(hi)) for p, k, n, b, lo, hi in rows]

    def _evict(self) -> None:
        if self.size() <= self.max_bytes:
            return
        with self._lock:
            rows = self._db.execute("SELECT url, sha256, size FROM entries ORDER BY accessed").fetchall()
            total = int(self._db.execute(
                "SELECT COALESCE(SUM(size), 0) FROM (SELECT DISTINCT sha256, size FROM entries)").fetchone()[0])
            for url, sha, size in rows:
                if total <= self.max_bytes:
                    break
                self._db.execute("DELETE FROM entries WHERE url = ?", (url,))
                still_used = self._db.execute("SELECT 1 FROM entries WHERE sha256 = ? LIMIT 1", (sha,)).fetchone()
                if not still_used:
                    self._blob(sha).unlink(missing_ok=True)
                    total -= size


def fetch(client: HttpClient, cache: Cache | None, url: str, *, provider: str, kind: str,
          expect: str | None = None, max_age: float | None = None,
          validate: Callable[[bytes], object] | None = None) -> tuple[bytes, bool]:
    """Bytes for a URL from the cache if allowed and present, else the network (then stored if allowed).

    Returns (body, from_cache). Offline, a stale entry is served rather than nothing; a missing one
    raises OfflineError. Only complete, checked responses reach `Cache.put`: `validate` raises on
    an answer that is well-formed but wrong (an ArcGIS error object), which must not be kept either.
    """
    storable = cache is not None and may_cache(provider, kind)
    if storable:
        assert cache is not None
        hit = cache.get(url, max_age=None if client.offline else max_age)
        if hit is not None:
            return hit.body, True
    if client.offline:
        raise OfflineError(f"{url.split('/')[2] if '//' in url else url}: offline and not in the cache", url=url)
    resp: Response = client.get(url, expect=expect)
    if validate is not None:
        validate(resp.body)
    if storable:
        assert cache is not None
        cache.put(url, resp.body, provider=provider, kind=kind,
                  status=resp.status, headers=resp.headers)
    return resp.body, False
