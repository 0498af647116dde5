"""Esri World Imagery Wayback: release catalogue, releases with local changes, capture metadata.

Ported from Esri's wayback-core (Apache-2.0): the catalogue is `waybackconfig.json`, keyed by an
arbitrary release number, so releases are ordered by the date in `itemTitle`, never by number.
A release's date is when the mosaic was published; the capture date of its pixels comes from the
release's metadata layer, and can differ between parts of a site.

Local changes follow wayback-core per tile: walk the `tilemap` chain from the newest release (each
answer names the release where the tile last changed), then drop candidates whose tile bytes equal
the previous kept one. Here the walk runs for every tile covering the area and the results are
merged: a release counts if any tile changed. Tile bytes are held in memory only; the cache keeps
their sha256 (a fact about the imagery, not the imagery), so a second scan makes no requests.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import TypeVar
from urllib.parse import urlencode

import shapely
from shapely.geometry.base import BaseGeometry

from .base import BBox, Capture, Chip, DateCertainty
from .cache import Cache, fetch
from .errors import BadResponse, ImageryError, NotCacheable, NotFoundError, OfflineError
from .http import HttpClient
from .json_safe import parse_json
from .providers import ESRI_WAYBACK, WAYBACK_CONFIG_URL, WAYBACK_SERVICE_ROOT, WAYBACK_TILE_URL, wayback_attribution
from .tiles import Tile, as_geometry, tiles_for_area

log = logging.getLogger(__name__)

PROVIDER = ESRI_WAYBACK.key
ITEM_FIELDS = ("itemID", "itemTitle", "itemURL", "metadataLayerUrl", "metadataLayerItemID", "layerIdentifier")
TITLE_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
METADATA_FIELDS = "SRC_DATE2,NICE_DESC,SRC_DESC,SAMP_RES,SRC_ACC"
T = TypeVar("T")
CATALOGUE_MAX_AGE = 12 * 3600.0  # new releases arrive about monthly; tilemaps and metadata never change


@dataclass(frozen=True)
class Release:
    """One Esri World Imagery Wayback release: number, publication date and its service URLs."""

    number: int
    date: dt.date  # publication date of the release, from its title
    title: str
    item_url: str
    metadata_url: str
    layer_identifier: str
    item_id: str = ""
    metadata_item_id: str = ""


@dataclass(frozen=True)
class Endpoints:
    """Service addresses; production by default, a local fake server in tests."""

    config_url: str = WAYBACK_CONFIG_URL
    service_root: str = WAYBACK_SERVICE_ROOT
    tile_url: str = WAYBACK_TILE_URL
    subdomains: tuple[str, ...] = ESRI_WAYBACK.subdomains

    def tilemap(self, release: int, t: Tile) -> str:
        """URL of a release's tilemap at tile `t`, which names the release whose imagery the tile shows."""
        return f"{self.service_root}/tilemap/{release}/{t.z}/{t.y}/{t.x}"

    def tile(self, release: int, t: Tile) -> str:
        """URL of a release's tile `t`, spread over the subdomains."""
        s = self.subdomains[(t.x + t.y) % len(self.subdomains)] if self.subdomains else ""
        return self.tile_url.format(s=s, release=release, z=t.z, y=t.y, x=t.x)


@dataclass(frozen=True)
class PartMetadata:
    """What the metadata layer says about one sampled point of the area in one release."""

    tile: Tile
    lon: float
    lat: float
    date: dt.date | None  # capture date (SRC_DATE2, UTC)
    provider: str | None  # NICE_DESC
    sensor: str | None  # SRC_DESC
    resolution_m: float | None  # SAMP_RES
    accuracy_m: float | None  # SRC_ACC


@dataclass
class LocalChanges:
    """The releases whose imagery changed over an area (newest first), per tile, with the request counts the scan
    took."""

    releases: list[Release]  # releases whose imagery changed somewhere in the area, newest first
    tiles: list[Tile]
    per_tile: dict[Tile, list[int]]  # release numbers kept per tile, newest first
    tile_sha256: dict[tuple[Tile, int], str] = field(default_factory=dict)
    errors: dict[Tile, str] = field(default_factory=dict)  # tiles that could not be scanned
    requests: int = 0  # HTTP attempts this scan made
    naive_requests: int = 0  # one tile request per release per tile


def parse_catalogue(doc: object) -> list[Release]:
    """Valid releases, newest first. Items failing wayback-core's isValidWaybackItem are skipped."""
    if not isinstance(doc, dict):
        raise BadResponse(f"Wayback catalogue is a JSON {type(doc).__name__}, not an object")
    out = []
    for key, item in doc.items():
        if not (isinstance(key, str) and key.isdigit()) or not isinstance(item, dict):
            continue
        if not all(isinstance(item.get(f), str) for f in ITEM_FIELDS):
            continue
        m = TITLE_DATE.search(item["itemTitle"])
        if not m:
            continue
        try:
            date = dt.date.fromisoformat(m.group(0))
        except ValueError:
            continue
        out.append(Release(int(key), date, item["itemTitle"], item["itemURL"], item["metadataLayerUrl"].rstrip("/"),
                           item["layerIdentifier"], item["itemID"], item["metadataLayerItemID"]))
    if not out:
        raise BadResponse("Wayback catalogue holds no valid release")
    # date first; the number only breaks ties so the order is stable
    return sorted(out, key=lambda r: (r.date, r.number), reverse=True)


def _json(body: bytes, what: str) -> object:
    return parse_json(body, what)  # BadResponse when malformed or nested too deeply


def _tilemap_next(doc: object, requested: int) -> int | None:
    """The release where the tile last changed, or None when the tile has no data."""
    if not isinstance(doc, dict) or not isinstance(doc.get("data", []), list):
        raise BadResponse(f"tilemap for release {requested}: unexpected shape")
    data = doc.get("data") or []
    if not data or not data[0]:
        return None
    select = doc.get("select")
    if isinstance(select, list) and select and isinstance(select[0], int | str) and str(select[0]).isdigit():
        return int(select[0])
    return requested


def _checked_tilemap(body: bytes, requested: int) -> int | None:
    return _tilemap_next(_json(body, "tilemap"), requested)


def _metadata_doc(body: bytes, release: int) -> dict:
    """The query answer as a dict; BadResponse for malformed JSON or an ArcGIS error object."""
    doc = _json(body, f"metadata for release {release}")
    if not isinstance(doc, dict) or "error" in doc:
        detail = doc.get("error") if isinstance(doc, dict) else type(doc).__name__
        raise BadResponse(f"metadata for release {release}: service error {detail!r}")
    return doc


def _epoch_ms_date(value: object) -> dt.date | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        d = dt.datetime.fromtimestamp(value / 1000, dt.UTC).date()
    except (OverflowError, OSError, ValueError):
        return None
    return d if 1970 < d.year < 2100 else None


def _num(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _str(value: object) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


class Wayback:
    """Wayback for one area at a time; also an ImagerySource (captures only: tiles are browser-only)."""

    key = PROVIDER

    def __init__(self, client: HttpClient, cache: Cache | None = None, endpoints: Endpoints | None = None,
                 *, zoom: int = 17, max_tiles: int = 256) -> None:
        self.client = client
        self.cache = cache
        self.endpoints = endpoints or Endpoints()
        self.zoom = zoom
        self.max_tiles = max_tiles

    def _get(self, url: str, kind: str, expect: str | None = "json", max_age: float | None = None,
             validate: Callable[[bytes], object] | None = None) -> bytes:
        body, _hit = fetch(self.client, self.cache, url, provider=PROVIDER, kind=kind, expect=expect, max_age=max_age,
                           validate=validate)
        return body

    # -- catalogue -------------------------------------------------------------------------------

    def releases(self) -> list[Release]:
        """Every Wayback release, from the catalogue (cached for CATALOGUE_MAX_AGE)."""
        def check(body: bytes) -> object:
            return parse_catalogue(_json(body, "Wayback catalogue"))

        return parse_catalogue(_json(self._get(self.endpoints.config_url, "catalogue", max_age=CATALOGUE_MAX_AGE,
                                               validate=check), "Wayback catalogue"))

    # -- releases with local changes ----------------------------------------------------------------

    def _chain(self, t: Tile, releases: Sequence[Release]) -> list[int]:
        """wayback-core's tilemap walk for one tile: release numbers where it changed, newest first."""
        pos = {r.number: i for i, r in enumerate(releases)}
        found: list[int] = []
        i = 0
        while i < len(releases):
            requested = releases[i].number
            try:
                body = self._get(self.endpoints.tilemap(requested, t), "tilemap",
                                 validate=partial(_checked_tilemap, requested=requested))
            except NotFoundError:
                break
            last = _tilemap_next(_json(body, "tilemap"), requested)
            if last is None or last not in pos or pos[last] < i:
                break  # no data here, or an answer that would walk forwards: stop rather than loop
            found.append(last)
            i = pos[last] + 1
        return found

    def _tile_hash(self, release: int, t: Tile) -> str:
        """sha256 of a tile's bytes; the bytes stay in memory. '' when the release has no tile here."""
        key = f"wayback-tilehash:{release}/{t.z}/{t.y}/{t.x}"
        if self.cache is not None:
            hit = self.cache.get(key)
            if hit is not None:
                return hit.body.decode("ascii")
        if self.client.offline:
            raise OfflineError(f"tile hash for release {release} not in the cache (offline)", url=key)
        try:
            digest = hashlib.sha256(self.client.get(self.endpoints.tile(release, t), expect="image").body).hexdigest()
        except NotFoundError:
            digest = ""
        if self.cache is not None:
            self.cache.put(key, digest.encode("ascii"), provider=PROVIDER, kind="tilehash")
        return digest

    def _scan_tile(self, t: Tile, releases: Sequence[Release]) -> tuple[list[int], dict[int, str]]:
        candidates = self._chain(t, releases)
        kept: list[int] = []
        hashes: dict[int, str] = {}
        previous = None
        for number in reversed(candidates):  # oldest to newest, as wayback-core removes duplicates
            digest = self._tile_hash(number, t)
            hashes[number] = digest
            if digest and digest != previous:
                kept.append(number)
                previous = digest
        return kept[::-1], hashes

    def local_changes(self, area: BBox | BaseGeometry, zoom: int | None = None,
                      releases: Sequence[Release] | None = None) -> LocalChanges:
        """Releases whose imagery changed anywhere in the area at this zoom, newest first."""
        z = zoom if zoom is not None else self.zoom
        tiles = tiles_for_area(area, z, max_tiles=self.max_tiles)
        before = self.client.stats.requests
        rels = list(releases) if releases is not None else self.releases()
        result = LocalChanges([], tiles, {}, naive_requests=len(rels) * len(tiles))
        workers = max(1, min(self.client.config.concurrency, len(tiles)))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = {t: pool.submit(self._scan_tile, t, rels) for t in tiles}
            for t, fut in futures.items():
                try:
                    kept, hashes = fut.result()
                except ImageryError as err:  # one failing tile does not sink the others
                    result.errors[t] = str(err)
                    continue
                result.per_tile[t] = kept
                result.tile_sha256.update({(t, n): h for n, h in hashes.items()})
        if result.errors:
            first_tile, first_error = next(iter(result.errors.items()))
            log.warning("Wayback change scan: %d of %d tiles failed (first, %s: %s)", len(result.errors),
                        len(tiles), first_tile, first_error)
        if tiles and len(result.errors) == len(tiles):
            first = futures[tiles[0]].exception()
            assert first is not None
            raise first
        changed = {n for kept in result.per_tile.values() for n in kept}
        result.releases = [r for r in rels if r.number in changed]
        result.requests = self.client.stats.requests - before
        return result

    # -- capture metadata -----------------------------------------------------------------------------

    def sample_points(self, area: BBox | BaseGeometry, zoom: int,
                      max_points: int = 16) -> list[tuple[Tile, float, float]]:
        """One point per covering tile, inside the area; coarser tiles when there would be too many."""
        geom = as_geometry(area)
        z = zoom
        tiles = tiles_for_area(geom, z, max_tiles=self.max_tiles * 4)
        while len(tiles) > max_points and z > 0:
            z -= 1
            tiles = tiles_for_area(geom, z, max_tiles=self.max_tiles * 4)
        points = []
        for t in tiles:
            part = shapely.box(*t.bounds()).intersection(geom)
            p = (part if not part.is_empty else geom).representative_point()
            points.append((t, round(p.x, 6), round(p.y, 6)))  # rounded: stable cache keys
        return points

    def capture_metadata(self, release: Release, area: BBox | BaseGeometry, zoom: int | None = None,
                         max_points: int = 16) -> list[PartMetadata]:
        """Capture date, provider, sensor, resolution and accuracy at sample points of the area."""
        z = max(10, min(23, zoom if zoom is not None else self.zoom))  # metadata exists for z10-23 only
        layer = min(23 - z, 13)
        parts = []
        for t, lon, lat in self.sample_points(area, z, max_points):
            query = urlencode({
                "f": "json", "where": "1=1", "outFields": METADATA_FIELDS,
                "geometry": json.dumps({"spatialReference": {"wkid": 4326}, "x": lon, "y": lat}, separators=(",", ":")),
                "geometryType": "esriGeometryPoint", "spatialRel": "esriSpatialRelIntersects",
                "returnGeometry": "false",
            })
            url = f"{release.metadata_url}/{layer}/query?{query}"
            doc = _metadata_doc(self._get(url, "metadata", validate=partial(_metadata_doc, release=release.number)),
                                release.number)
            feats = doc.get("features") or []
            attrs = feats[0].get("attributes", {}) if isinstance(feats, list) and feats and isinstance(
                feats[0], dict) else {}
            attrs = attrs if isinstance(attrs, dict) else {}
            parts.append(PartMetadata(t, lon, lat, _epoch_ms_date(attrs.get("SRC_DATE2")), _str(attrs.get("NICE_DESC")),
                                      _str(attrs.get("SRC_DESC")), _num(attrs.get("SAMP_RES")),
                                      _num(attrs.get("SRC_ACC"))))
        return parts

    # -- ImagerySource ------------------------------------------------------------------------------

    def captures(self, bbox: BBox | BaseGeometry, start: dt.date | None = None, end: dt.date | None = None,
                 ) -> list[Capture]:
        """One Capture per release with local changes, dated from the metadata, within [start, end]."""
        changes = self.local_changes(bbox)
        out = []
        for rel in changes.releases:
            if start is not None and rel.date < start:
                continue  # pixels are never newer than their release
            cap = capture_from(rel, self.capture_metadata(rel, bbox))
            if cap.date is not None and ((start and cap.date < start) or (end and cap.date > end)):
                continue
            out.append(cap)
        return out

    def read(self, capture: Capture, bbox: BBox, size: tuple[int, int]) -> Chip:
        """Always NotCacheable: Esri's terms let the browser show Wayback tiles, not the server read them."""
        raise NotCacheable("Esri Wayback tiles may only be shown by the browser, not read by the server")


def capture_from(release: Release, parts: Sequence[PartMetadata]) -> Capture:
    """A Capture for one release: the most common capture date, and the others as mixed dates."""
    dates = Counter(p.date for p in parts if p.date is not None)
    extra = {
        "release": release.number, "release_date": release.date.isoformat(), "layer": release.layer_identifier,
        "parts": [{"tile": (p.tile.z, p.tile.x, p.tile.y), "lon": p.lon, "lat": p.lat,
                   "date": p.date.isoformat() if p.date else None, "provider": p.provider, "sensor": p.sensor,
                   "resolution_m": p.resolution_m, "accuracy_m": p.accuracy_m} for p in parts],
    }
    res, sensor = _most_common(p.resolution_m for p in parts), _most_common(p.sensor for p in parts)
    who = _most_common(p.provider for p in parts)
    if who:
        extra["image_provider"] = who
    if dates:
        main = max(dates.items(), key=lambda kv: (kv[1], kv[0]))[0]  # most parts; ties go to the later date
        date, certainty, others = main, DateCertainty.CAPTURED, tuple(sorted(set(dates) - {main}))
    else:  # no metadata: only the publication date is known, and the pixels are older
        date, certainty, others = release.date, DateCertainty.RELEASED, ()
    return Capture(
        provider=PROVIDER, capture_id=str(release.number), date=date, certainty=certainty,
        resolution_m=res, licence=ESRI_WAYBACK.licence,
        attribution=wayback_attribution(release.date.isoformat(), html=False),
        sensor=sensor, other_dates=others, extra=extra,
    )


def _most_common(values: Iterable[T | None]) -> T | None:
    counts = Counter(v for v in values if v is not None).most_common(1)
    return counts[0][0] if counts else None
