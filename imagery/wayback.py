"""Esri World Imagery Wayback: release catalogue, releases with local changes, capture metadata.

Ported from Esri's wayback-core (Apache-2.0): the catalogue is `waybackconfig.json`, keyed by an
arbitrary release number, so releases are ordered by the date in `itemTitle`, never by number.
A release's date is when the mosaic was published; the capture date of its pixels comes from the
release's metadata layer, and can differ between parts of a site.

Local changes follow wayback-core 1.1 per tile: walk the `tilemap` chain from the newest release
(each answer names the release where the tile last changed, `select`, and the tile's byte size
there, `size`), then, oldest to newest, drop a candidate whose tile has the same size as the
previous kept one. No tile is downloaded when the tilemap gives sizes (the real service does).
Only where an answer has no `size` are the two tiles' bytes fetched, to tell duplicates apart:
held in memory, hashed and dropped, and counted (`LocalChanges.tile_fetches`); the cache keeps
the sha256 (a fact about the imagery, not the imagery). The server never stores or analyses Esri
pixels (docs/decisions/0016). Here the walk runs for every tile covering the area and the
results are merged: a release counts if any tile changed. A second scan makes no requests.

Capture dates are the UTC calendar date of the metadata's `SRC_DATE2` (epoch milliseconds);
Esri's own app prints the viewer's local date, a day earlier west of Greenwich (CAPTURE_DATE_RULE).
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
from .errors import BadResponse, Cancelled, ImageryError, NotCacheable, NotFoundError, OfflineError
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
TILE_MAX_ZOOM = 20  # the Wayback service has tiles to z20 ...
METADATA_MAX_ZOOM = 23  # ... and metadata layers to z23 (sublayer 0), down to z10 (sublayer 13)
METADATA_HOST_ROOT = "https://metadata.maptiles.arcgis.com/arcgis/rest/services"
CAPTURE_DATE_RULE = ("capture date: the UTC calendar date of Esri's SRC_DATE2 (epoch ms); Esri's Wayback app "
                     "shows the viewer's local date, which can be one day earlier")
_RELEASE_NOTE = re.compile(r"^\d{4}-\d{2}-\d{2}\s+release$", re.IGNORECASE)
_SENSOR = re.compile(r"^[A-Z0-9][A-Z0-9_\-/]{1,19}$")  # WV03, WV03_VNIR, GE01, UC-G, SPOT6
Progress = Callable[[int, int], None]  # (done, total)


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
    metadata_root: str | None = None  # a mirror of the metadata services; None: the catalogue's URLs
    max_zoom: int = TILE_MAX_ZOOM  # deepest level with tiles (the service's native maximum)

    def metadata(self, release: Release) -> str:
        """The release's metadata MapServer: the catalogue's URL, or the same service under `metadata_root`.

        The service name (World_Imagery_Metadata_2015_r04) is taken from the catalogue's URL, never
        built from the release's layer identifier: the two differ for some releases (WB_2015_R14)."""
        if not self.metadata_root:
            return release.metadata_url
        parts = [p for p in release.metadata_url.split("/") if p]
        service = "/".join(parts[-2:]) if len(parts) >= 2 and parts[-1] == "MapServer" else parts[-1] if parts else ""
        return f"{self.metadata_root.rstrip('/')}/{service}"

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
    source_kind: str | None = None  # what SRC_DESC is: "sensor", "place" or "release note" (source_kind)


@dataclass(frozen=True)
class TilemapAnswer:
    """One tilemap answer: the release whose tile is shown (None: no imagery here) and its byte size if given."""

    release: int | None
    size: int | None = None


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
    tile_fetches: int = 0  # Esri tiles downloaded (transiently) because a tilemap answer had no size
    tile_bytes: int = 0  # their bytes, held in memory only
    by_size: int = 0  # candidates told apart (or collapsed) by the tilemap's size alone


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


def _first_int(value: object) -> int | None:
    """The first element of a one-number list ([39767], ["39767"]) as an int, else None."""
    if not isinstance(value, list) or not value:
        return None
    v = value[0]
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, str) and v.isascii() and v.isdigit():
        return int(v)
    return None


def parse_tilemap(doc: object, requested: int) -> TilemapAnswer:
    """A tilemap answer: the release where the tile last changed (None when `data` is [0]: no imagery here,
    whatever `select` says) and the tile's byte size there (`size`, None when absent or not a count)."""
    if not isinstance(doc, dict) or not isinstance(doc.get("data", []), list):
        raise BadResponse(f"tilemap for release {requested}: unexpected shape")
    data = doc.get("data") or []
    if not data or not data[0]:
        return TilemapAnswer(None)
    size, select = _first_int(doc.get("size")), _first_int(doc.get("select"))
    # release numbers are positive: a select of 0 or below names none, so the tile is the requested release's
    return TilemapAnswer(select if select and select > 0 else requested, size if size and size > 0 else None)


def _tilemap_next(doc: object, requested: int) -> int | None:
    """The release where the tile last changed, or None when the tile has no data."""
    return parse_tilemap(doc, requested).release


def _checked_tilemap(body: bytes, requested: int) -> int | None:
    return _tilemap_next(_json(body, "tilemap"), requested)


def source_kind(desc: str | None) -> str | None:
    """What a metadata SRC_DESC names: "release note" ("2024-06-27 Release"), "sensor" (WV03, UC-G) or "place"
    ("Redlands, CA"); None when empty."""
    if not desc:
        return None
    if _RELEASE_NOTE.match(desc):
        return "release note"
    if _SENSOR.match(desc):
        return "sensor"
    return "place"


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

    def _chain(self, t: Tile, releases: Sequence[Release],
               cancelled: Callable[[], bool] | None = None) -> list[TilemapAnswer]:
        """wayback-core's tilemap walk for one tile: the releases where it changed with the tile's size there (when
        the answer gives it), newest first."""
        pos = {r.number: i for i, r in enumerate(releases)}
        found: list[TilemapAnswer] = []
        i = 0
        while i < len(releases):
            if cancelled is not None and cancelled():
                raise Cancelled("the Wayback change scan was cancelled")
            requested = releases[i].number
            try:
                body = self._get(self.endpoints.tilemap(requested, t), "tilemap",
                                 validate=partial(_checked_tilemap, requested=requested))
            except NotFoundError:
                break
            answer = parse_tilemap(_json(body, "tilemap"), requested)
            last = answer.release
            if last is None or last not in pos or pos[last] < i:
                break  # no data here, or an answer that would walk forwards: stop rather than loop
            found.append(answer)
            i = pos[last] + 1
        return found

    def _tile_hash(self, release: int, t: Tile) -> tuple[str, int]:
        """(sha256 of a tile's bytes, bytes downloaded for it): the bytes stay in memory and are dropped; a cached
        hash costs nothing. '' when the release has no tile here."""
        key = f"wayback-tilehash:{release}/{t.z}/{t.y}/{t.x}"
        if self.cache is not None:
            hit = self.cache.get(key)
            if hit is not None:
                return hit.body.decode("ascii"), 0
        if self.client.offline:
            raise OfflineError(f"tile hash for release {release} not in the cache (offline)", url=key)
        fetched = 0
        try:
            body = self.client.get(self.endpoints.tile(release, t), expect="image").body
            fetched = len(body)
            digest = hashlib.sha256(body).hexdigest()
            del body
        except NotFoundError:
            digest = ""
        if self.cache is not None:
            self.cache.put(key, digest.encode("ascii"), provider=PROVIDER, kind="tilehash")
        return digest, fetched

    def _scan_tile(self, t: Tile, releases: Sequence[Release],
                   cancelled: Callable[[], bool] | None = None) -> tuple[list[int], dict[int, str], Counter[str]]:
        """Releases where this tile changed (newest first), the hashes of tiles fetched to tell duplicates apart,
        and counts (tile fetches, tile bytes, decisions by size)."""
        candidates = self._chain(t, releases, cancelled)
        kept: list[int] = []
        hashes: dict[int, str] = {}
        counts: Counter[str] = Counter()

        def digest(number: int) -> str:
            if number not in hashes:
                hashes[number], fetched = self._tile_hash(number, t)
                counts["tile_fetches"] += 1 if fetched else 0
                counts["tile_bytes"] += fetched
            return hashes[number]

        previous: TilemapAnswer | None = None
        for answer in reversed(candidates):  # oldest to newest, as wayback-core removes duplicates
            assert answer.release is not None
            if previous is None:
                same = False
            elif answer.size is not None and previous.size is not None:
                same = answer.size == previous.size  # wayback-core 1.1: equal size along the chain, same tile
                counts["by_size"] += 1
            else:  # no size in an answer: only the bytes can tell
                assert previous.release is not None
                if not digest(answer.release):
                    continue  # the release has no tile here after all
                same = digest(answer.release) == digest(previous.release)
            if not same:
                kept.append(answer.release)
                previous = answer
        return kept[::-1], hashes, counts

    def local_changes(self, area: BBox | BaseGeometry, zoom: int | None = None,
                      releases: Sequence[Release] | None = None, *, progress: Progress | None = None,
                      cancelled: Callable[[], bool] | None = None) -> LocalChanges:
        """Releases whose imagery changed anywhere in the area at this zoom (at most the service's native zoom),
        newest first. `progress(done, total)` is called as tiles finish; `cancelled()` returning True stops the
        scan with Cancelled (what was fetched stays cached, so the next scan resumes cheaply)."""
        z = min(zoom if zoom is not None else self.zoom, self.endpoints.max_zoom)
        tiles = tiles_for_area(area, z, max_tiles=self.max_tiles)
        before = self.client.stats.requests
        rels = list(releases) if releases is not None else self.releases()
        result = LocalChanges([], tiles, {}, naive_requests=len(rels) * len(tiles))
        workers = max(1, min(self.client.config.concurrency, len(tiles)))
        done = 0
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = {t: pool.submit(self._scan_tile, t, rels, cancelled) for t in tiles}
            for t, fut in futures.items():
                try:
                    kept, hashes, counts = fut.result()
                except Cancelled:
                    for other in futures.values():
                        other.cancel()
                    raise
                except ImageryError as err:  # one failing tile does not sink the others
                    result.errors[t] = str(err)
                    continue
                finally:
                    done += 1
                    if progress is not None:
                        progress(done, len(tiles))
                result.per_tile[t] = kept
                result.tile_sha256.update({(t, n): h for n, h in hashes.items()})
                result.tile_fetches += counts["tile_fetches"]
                result.tile_bytes += counts["tile_bytes"]
                result.by_size += counts["by_size"]
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
        z = max(10, min(METADATA_MAX_ZOOM, zoom if zoom is not None else self.zoom))  # metadata: z10-23 only
        layer = min(METADATA_MAX_ZOOM - z, 13)
        root = self.endpoints.metadata(release)
        parts = []
        for t, lon, lat in self.sample_points(area, z, max_points):
            query = urlencode({
                "f": "json", "where": "1=1", "outFields": METADATA_FIELDS,
                "geometry": json.dumps({"spatialReference": {"wkid": 4326}, "x": lon, "y": lat}, separators=(",", ":")),
                "geometryType": "esriGeometryPoint", "spatialRel": "esriSpatialRelIntersects",
                "returnGeometry": "false",
            })
            url = f"{root}/{layer}/query?{query}"
            doc = _metadata_doc(self._get(url, "metadata", validate=partial(_metadata_doc, release=release.number)),
                                release.number)
            feats = doc.get("features") or []
            attrs = feats[0].get("attributes", {}) if isinstance(feats, list) and feats and isinstance(
                feats[0], dict) else {}
            attrs = attrs if isinstance(attrs, dict) else {}
            desc = _str(attrs.get("SRC_DESC"))
            parts.append(PartMetadata(t, lon, lat, _epoch_ms_date(attrs.get("SRC_DATE2")), _str(attrs.get("NICE_DESC")),
                                      desc, _num(attrs.get("SAMP_RES")), _num(attrs.get("SRC_ACC")),
                                      source_kind(desc)))
        return parts

    def release_capture(self, release: Release, area: BBox | BaseGeometry, zoom: int | None = None,
                        max_points: int = 16) -> Capture:
        """A release's Capture from its metadata; a metadata layer that is missing (404) or answers something
        unusable, or nulls, gives a Capture dated by the release with a note saying so (`extra["note"]`),
        never an exception or a dropped release. Network failures still raise (the service is down)."""
        try:
            parts = self.capture_metadata(release, area, zoom, max_points)
        except NotFoundError as err:
            log.warning("Wayback release %s: metadata layer missing: %s", release.number, err)
            return capture_from(release, [], note=f"release {release.number} ({release.date}): its metadata "
                                                  "layer is missing (HTTP 404); dated by the release only")
        except BadResponse as err:
            log.warning("Wayback release %s: metadata unusable: %s", release.number, err)
            return capture_from(release, [], note=f"release {release.number} ({release.date}): its metadata "
                                                  f"answer cannot be used ({err}); dated by the release only")
        note = None
        if not parts or all(p.date is None for p in parts):
            note = (f"release {release.number} ({release.date}): the metadata layer gives no capture date here "
                    "(no feature, or SRC_DATE2 null); dated by the release only")
        return capture_from(release, parts, note=note)

    # -- ImagerySource ------------------------------------------------------------------------------

    def captures(self, bbox: BBox | BaseGeometry, start: dt.date | None = None, end: dt.date | None = None,
                 ) -> list[Capture]:
        """One Capture per release with local changes, dated from the metadata, within [start, end]."""
        changes = self.local_changes(bbox)
        out = []
        for rel in changes.releases:
            if start is not None and rel.date < start:
                continue  # pixels are never newer than their release
            cap = self.release_capture(rel, bbox)
            if cap.date is not None and ((start and cap.date < start) or (end and cap.date > end)):
                continue
            out.append(cap)
        return out

    def read(self, capture: Capture, bbox: BBox, size: tuple[int, int]) -> Chip:
        """Always NotCacheable: Esri's terms let the browser show Wayback tiles, not the server read them."""
        raise NotCacheable("Esri Wayback tiles may only be shown by the browser, not read by the server")


def capture_from(release: Release, parts: Sequence[PartMetadata], note: str | None = None) -> Capture:
    """A Capture for one release: the most common capture date, and the others as mixed dates.

    SRC_DESC is recorded as what it is: the Capture's `sensor` only when it names a sensor; a place
    or a release note goes to `extra["source_description"]` with its kind."""
    dates = Counter(p.date for p in parts if p.date is not None)
    extra: dict = {
        "release": release.number, "release_date": release.date.isoformat(), "layer": release.layer_identifier,
        "date_rule": CAPTURE_DATE_RULE,
        "parts": [{"tile": (p.tile.z, p.tile.x, p.tile.y), "lon": p.lon, "lat": p.lat,
                   "date": p.date.isoformat() if p.date else None, "provider": p.provider, "sensor": p.sensor,
                   "source_kind": p.source_kind,
                   "resolution_m": p.resolution_m, "accuracy_m": p.accuracy_m} for p in parts],
    }
    if note:
        extra["note"] = note
    res = _most_common(p.resolution_m for p in parts)
    sensor = _most_common(p.sensor for p in parts if p.source_kind == "sensor")
    described = _most_common((p.sensor, p.source_kind) for p in parts if p.sensor and p.source_kind != "sensor")
    if described:
        extra["source_description"], extra["source_kind"] = described
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
