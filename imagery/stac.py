"""Sentinel-2 L2A scenes from a STAC API: search, cloudiness inside the area from SCL, windowed COG reads.

Earth Search (collection `sentinel-2-c1-l2a`, the legacy `sentinel-2-l2a` still readable) is the default
catalogue; Planetary Computer works when the `planetary-computer` package is installed (its blobs refuse
unsigned reads: imagery.planetary signs hrefs when they are read). The search pages through every match
(imagery.scenes says what a limit or a failed page left out); per date the item(s) covering the site are one
capture, two tiles of one date stitched (the capture's id names both, joined by '+'). Asset hrefs come from
a remote catalogue, so they are only read when their host is on the configured allow-list (no SSRF through a
forged item), and only the window covering the area is fetched, by HTTP range requests.

Every request goes through the project's HTTP client (imagery.http): pystac-client's searches
through `ClientStacIO`, GDAL's COG reads with the client's timeouts, retries and user agent, on a
URL whose redirects the client resolved and checked first (GDAL would follow them anywhere).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlparse, urlsplit, urlunsplit

import pystac
import requests
from pystac_client import Client
from pystac_client.exceptions import APIError
from pystac_client.stac_api_io import StacApiIO
from rasterio.errors import RasterioError
from shapely.geometry import box
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union

from imagery.addresses import host_allowed
from imagery.base import BBox, Capture, Chip, DateCertainty
from imagery.bbox import check_bbox
from imagery.chips import Grid, grid_for_bbox, make_chip, valid_mask
from imagery.cloudiness import SCL_CLOUD_CLASSES, SCL_NO_DATA, SclCount, read_scl_count, scl_cloud_fraction
from imagery.errors import ImageryError, NoCoverage, RasterError, RefusedURL, StacError
from imagery.http import HttpClient, HttpConfig
from imagery.json_safe import parse_json
from imagery.planetary import BlobSigner, planetary_computer_module
from imagery.scenes import CaptureList, DateScene, SceneItem, SceneSearch, item_footprint, page_through, scenes_per_date

log = logging.getLogger(__name__)


def utc_date(when: dt.datetime) -> dt.date:
    """The UTC calendar date of a scene's time: an offset is converted to UTC first, a naive time is taken as UTC
    (as STAC requires); never the machine's time zone."""
    return when.astimezone(dt.UTC).date() if when.tzinfo is not None else when.date()

__all__ = ["SCL_CLOUD_CLASSES", "SCL_NO_DATA", "scl_cloud_fraction"]  # kept here for callers of the old home

PROVIDER = "sentinel-2-l2a"  # the provider part of every scene's ImageKey, whatever the catalogue
EARTH_SEARCH = "earth-search"
PLANETARY_COMPUTER = "planetary-computer"
COLLECTION = "sentinel-2-c1-l2a"  # Earth Search's current collection (Collection 1, reprocessed)
LEGACY_COLLECTION = "sentinel-2-l2a"  # Earth Search's superseded collection; Planetary Computer's only one
# The one table of asset names: (catalogue, collection) -> (true colour, scene classification, red (B04) and
# near-infrared (B08) reflectance: the two NDVI is made of, read only when the change measure asks)
ASSET_KEYS: dict[tuple[str, str], tuple[str, str, str, str]] = {
    (EARTH_SEARCH, COLLECTION): ("visual", "scl", "red", "nir"),
    (EARTH_SEARCH, LEGACY_COLLECTION): ("visual", "scl", "red", "nir"),
    (PLANETARY_COMPUTER, LEGACY_COLLECTION): ("visual", "SCL", "B04", "B08"),
}
DEFAULT_COLLECTIONS = {EARTH_SEARCH: COLLECTION, PLANETARY_COMPUTER: LEGACY_COLLECTION}
EARTH_SEARCH_URL = "https://earth-search.aws.element84.com/v1"
PLANETARY_COMPUTER_URL = "https://planetarycomputer.microsoft.com/api/stac/v1"
EARTH_SEARCH_ASSET_HOSTS = ("sentinel-cogs.s3.us-west-2.amazonaws.com",
                            "e84-earth-search-sentinel-data.s3.us-west-2.amazonaws.com")
PLANETARY_COMPUTER_ASSET_HOSTS = ("sentinel2l2a01.blob.core.windows.net",)
PROVIDER_URLS = {EARTH_SEARCH: EARTH_SEARCH_URL, PLANETARY_COMPUTER: PLANETARY_COMPUTER_URL}
PROVIDER_ASSET_HOSTS = {EARTH_SEARCH: EARTH_SEARCH_ASSET_HOSTS, PLANETARY_COMPUTER: PLANETARY_COMPUTER_ASSET_HOSTS}
LICENCE = "Copernicus Sentinel data terms: free and open (Sentinel Data Legal Notice)"
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class StacConfig:
    """Where to search and which asset hosts may be read; tests point both at 127.0.0.1."""

    url: str = EARTH_SEARCH_URL
    collection: str = COLLECTION
    asset_hosts: tuple[str, ...] = EARTH_SEARCH_ASSET_HOSTS  # host or host:port
    visual_asset: str | None = None  # None: from ASSET_KEYS
    scl_asset: str | None = None
    timeout: tuple[float, float] = (5.0, 30.0)  # connect, read: requests has no default
    max_retries: int = 3
    max_items: int = 5000  # a search listing more says how many it left out (never a silent cap)
    page_size: int = 100
    sign: bool = False  # Planetary Computer SAS signing
    headers: dict[str, str] = field(default_factory=dict)
    provider: str = EARTH_SEARCH  # which table row of ASSET_KEYS applies
    token_url: str | None = None  # Planetary Computer's SAS token endpoint (None: the public one)
    # asset host (as in the items) -> base URL of a mirror serving the same paths (a local copy, a test server)
    asset_mirrors: dict[str, str] = field(default_factory=dict)

    def _row(self) -> tuple[str, str, str, str]:
        return ASSET_KEYS.get((self.provider, self.collection)) or (
            ("visual", "SCL", "B04", "B08") if self.provider == PLANETARY_COMPUTER else ("visual", "scl", "red", "nir"))

    def asset_keys(self) -> tuple[str, str]:
        """(visual, SCL) asset names: the explicit ones, else the table's row for the catalogue and collection,
        else the catalogue's usual names."""
        default = self._row()
        return self.visual_asset or default[0], self.scl_asset or default[1]

    def band_asset_keys(self) -> tuple[str, str]:
        """(red, near-infrared) asset names from the table's row (Earth Search 'red'/'nir', Planetary Computer
        'B04'/'B08')."""
        row = self._row()
        return row[2], row[3]


class ClientStacIO(StacApiIO):
    """pystac-client's IO with every request sent by the project's HttpClient (timeout, retries,
    user agent, allowed hosts), so a catalogue link to a private address is refused like any other."""

    def __init__(self, client: HttpClient, headers: dict[str, str] | None = None) -> None:
        super().__init__(headers=headers, max_retries=None)
        self.client = client

    def request(self, href: str, method: str | None = None, headers: dict[str, str] | None = None,
                parameters: dict[str, Any] | None = None) -> str:
        """pystac-client's request hook, sent through our HttpClient (its timeouts, retries, host rules and user
        agent) instead of a bare requests session; errors become APIError."""
        method = (method or "GET").upper()
        body = parameters if method in ("POST", "PUT", "PATCH") else None
        query = None if body is not None else {**self.session.params, **(parameters or {})}
        sent_headers = {k: v for k, v in {**self.session.headers, **(headers or {})}.items()
                        if k.lower() not in ("user-agent", "accept-encoding", "connection")}
        try:
            resp = self.client.request(method, href, params={k: str(v) for k, v in (query or {}).items()},
                                       json_body=body, headers=sent_headers, expect="json")
        except ImageryError as err:
            raise APIError(str(err)) from err
        return resp.body.decode("utf-8", errors="replace")

    def json_loads(self, txt: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """Parse hook of pystac, through the one safe parse (imagery.json_safe): deep nesting or
        malformed JSON becomes APIError with a clear message, never RecursionError."""
        try:
            return parse_json(txt, "STAC catalogue")
        except ImageryError as err:
            raise APIError(str(err)) from err


def http_config_for(config: StacConfig) -> HttpConfig:
    """A client for a source built without one: the StacConfig's timeouts and retries; the
    configured catalogue's host and loopback asset hosts (tests, a local mirror) allow-listed."""
    connect, read = config.timeout
    catalogue = urlsplit(config.url)
    allowed = {h for h in (catalogue.hostname, catalogue.netloc) if h}
    allowed |= {h for h in config.asset_hosts if _is_loopback(h)}
    for url in (*config.asset_mirrors.values(), config.token_url or ""):
        if _is_loopback(urlsplit(url).netloc):
            allowed.add(urlsplit(url).netloc)
    return HttpConfig(connect_timeout=connect, read_timeout=read, deadline=connect + read,
                      retries=config.max_retries, allow_hosts=frozenset(allowed))


def planetary_computer_config(**overrides: Any) -> StacConfig:
    """A StacConfig for Microsoft Planetary Computer (signed asset URLs), with `overrides` applied."""
    base = StacConfig(url=PLANETARY_COMPUTER_URL, asset_hosts=PLANETARY_COMPUTER_ASSET_HOSTS,
                      collection=LEGACY_COLLECTION, provider=PLANETARY_COMPUTER, sign=True)
    return replace(base, **overrides)


def _is_loopback(host_port: str) -> bool:
    host = host_port.rsplit(":", 1)[0] if host_port.count(":") == 1 else host_port
    return host.strip("[]") in _LOOPBACK


def attribution_for(year: int) -> str:
    """The attribution Copernicus requires for Sentinel data of `year`."""
    return f"Contains modified Copernicus Sentinel data {year}"


class Sentinel2Source:
    """ImagerySource for Sentinel-2 L2A: per date the STAC item(s) covering the site as one Capture, read by window
    from its COGs."""

    key = PROVIDER

    def __init__(self, config: StacConfig | None = None, max_cloud: float | None = 30.0,
                 aoi_cloudiness: bool = True, *, client: HttpClient | None = None) -> None:
        self.config = config or StacConfig()
        self.max_cloud = max_cloud
        self.aoi_cloudiness = aoi_cloudiness
        self.client = client or HttpClient(http_config_for(self.config))
        self._signer: BlobSigner | None = None
        self._opened: Client | None = None  # the catalogue's root, opened once per source (a watch scan searches
        # thousands of sites: one root request, not one a site)
        self._open_lock = threading.Lock()

    @property
    def service(self) -> str:
        """The catalogue and collection, as messages name them."""
        return f"{self.config.provider} {self.config.collection} ({self.config.url})"

    # --- catalogue ---------------------------------------------------------------------------
    def _client(self) -> Client:
        if self.config.sign:
            planetary_computer_module()  # say what is missing before searching
        with self._open_lock:  # held while opening: threads that arrive first wait for the one root request
            if self._opened is None:
                stac_io = ClientStacIO(self.client, headers=self.config.headers or None)
                try:
                    self._opened = Client.open(self.config.url, stac_io=stac_io)
                except (APIError, requests.RequestException, pystac.STACError, ValueError) as err:
                    log.warning("STAC catalogue %s unavailable: %s", self.config.url, err)
                    raise StacError(f"STAC catalogue {self.config.url} unavailable: {err}") from err
            return self._opened

    def search_scenes(self, bbox: BBox, start: dt.date | None = None, end: dt.date | None = None,
                      max_cloud: float | None = None) -> SceneSearch:
        """Every item of the configured collection over `bbox` between the dates (inclusive, UTC) under the scene
        cloud cover limit, page by page, up to `max_items`; what is not listed is counted and said
        (SceneSearch.left_out, .problem). StacError when the catalogue or the first page fails."""
        check_bbox(bbox)
        max_cloud = self.max_cloud if max_cloud is None else max_cloud
        interval = None if start is None and end is None else f"{start or '..'}/{end or '..'}"
        query = None if max_cloud is None else {"eo:cloud_cover": {"lt": max_cloud}}
        client = self._client()
        failures = (APIError, requests.RequestException, pystac.STACError)
        try:
            search = client.search(collections=[self.config.collection], bbox=list(bbox), datetime=interval,
                                   query=query, limit=self.config.page_size)
            return page_through(search.pages_as_dicts(), limit=self.config.max_items, service=self.service,
                                errors=failures)
        except failures as err:
            log.warning("STAC search on %s failed: %s", self.config.url, err)
            raise StacError(f"STAC search on {self.config.url} failed: {err}") from err

    def search(self, bbox: BBox, start: dt.date | None = None, end: dt.date | None = None,
               max_cloud: float | None = None) -> list[pystac.Item]:
        """The items of `search_scenes` as pystac Items (what is left out is logged; use search_scenes to show it)."""
        found = self.search_scenes(bbox, start, end, max_cloud)
        if found.problem:
            log.warning("%s", found.problem)
        return [pystac.Item.from_dict(item) for item in found.items]

    # --- asset URLs --------------------------------------------------------------------------
    def item_asset(self, item: dict[str, Any], role: str) -> str | None:
        """The href of the item's 'visual' or 'scl' asset under this catalogue's name for it (ASSET_KEYS; the
        other spelling of the name is accepted too), None when the item has none."""
        visual, scl = self.config.asset_keys()
        red, nir = self.config.band_asset_keys()
        name = {"visual": visual, "red": red, "nir": nir}.get(role, scl)
        assets = item.get("assets")
        if not isinstance(assets, dict):
            return None
        found = assets.get(name)
        if found is None:  # 'scl' on Earth Search, 'SCL' on Planetary Computer
            found = next((a for k, a in assets.items() if isinstance(k, str) and k.lower() == name.lower()), None)
        href = found.get("href") if isinstance(found, dict) else None
        return href if isinstance(href, str) and href else None

    def asset_href(self, item_or_capture: pystac.Item | Capture, asset: str) -> str:
        """The asset URL after the host allow-list check."""
        if isinstance(item_or_capture, Capture):
            href = item_or_capture.extra.get("assets", {}).get(asset)
        else:
            name = dict(zip(("visual", "scl"), self.config.asset_keys(), strict=True)).get(asset, asset)
            found = item_or_capture.assets.get(name)
            href = found.href if found else None
        if not href:
            raise StacError(f"{self._name(item_or_capture)} has no '{asset}' asset")
        self.check_host(href)
        return href

    def _allowed_hosts(self) -> tuple[str, ...]:
        mirrors = tuple(urlsplit(u).netloc for u in self.config.asset_mirrors.values())
        return (*self.config.asset_hosts, *mirrors)

    def check_host(self, href: str) -> None:
        """StacError unless `href` is https (http on loopback) to one of the configured asset hosts (`host` or
        `host:port`) or a configured mirror: item links are never followed elsewhere."""
        url = urlparse(href)
        host = url.hostname or ""
        try:
            port = url.port
        except ValueError:
            port = -1
        allowed_scheme = url.scheme == "https" or (url.scheme == "http" and host in _LOOPBACK)
        if not allowed_scheme or port == -1 or not host_allowed(host, port, self._allowed_hosts()):
            allowed = ", ".join(self._allowed_hosts())
            raise StacError(f"asset host {url.netloc or href!r} is not allowed (allowed: {allowed})")

    def _mirrored(self, href: str) -> str:
        parts = urlsplit(href)
        base = self.config.asset_mirrors.get(parts.netloc) or self.config.asset_mirrors.get(parts.hostname or "")
        if not base:
            return href
        m = urlsplit(base)
        return urlunsplit((m.scheme, m.netloc, m.path.rstrip("/") + parts.path, parts.query, ""))

    @property
    def signer(self) -> BlobSigner:
        """The Planetary Computer signer (tokens from config.token_url through this source's client)."""
        if self._signer is None:
            self._signer = BlobSigner(self.client, self.config.token_url)
        return self._signer

    def read_url(self, href: str) -> str:
        """The URL GDAL is given for an item's asset href: host checked, signed (Planetary Computer, a token
        still valid), moved to its mirror when one is configured, redirects resolved and checked. A signed URL
        the blob server refuses (HTTP 403: the token expired or was revoked) is signed once more with a new
        token; refused again, StacError says so."""
        self.check_host(href)
        for attempt in (1, 2):
            signed = self.signer.sign(href, fresh=attempt == 2) if self.config.sign else href
            try:
                return self.resolve(self._mirrored(signed))
            except RasterError as err:
                if not self.config.sign or getattr(err.__cause__, "status", None) != 403:
                    raise
                if attempt == 2:
                    raise StacError(f"{urlsplit(href).hostname}: the signed URL of {href.rsplit('/', 1)[-1]} was "
                                    f"refused (HTTP 403) even with a new token from {self.signer.token_url}") from err
                log.info("signed URL refused (403), signing %s again with a new token", href)
        raise AssertionError("unreachable")  # pragma: no cover

    def resolve(self, href: str) -> str:
        """The asset's final URL: redirects followed by the HTTP client, every hop checked against
        the asset hosts before it is requested, so GDAL is never sent somewhere it may not go."""
        self.check_host(href)
        try:
            return self.client.resolve(href, check=self.check_host)
        except (StacError, RefusedURL):
            raise
        except ImageryError as err:
            raise RasterError(f"cannot reach {href}: {err}") from err

    @staticmethod
    def _name(obj: pystac.Item | Capture) -> str:
        return obj.capture_id if isinstance(obj, Capture) else obj.id

    # --- ImagerySource -----------------------------------------------------------------------
    def captures(self, bbox: BBox, start: dt.date | None = None, end: dt.date | None = None,
                 max_cloud: float | None = None, *, outline: BaseGeometry | None = None) -> CaptureList:
        """Per UTC date the scene(s) covering the site, oldest first, with the cloudiness inside `outline`
        (EPSG:4326; default the bbox) from SCL. The list says what the search left out (`left_out`, `problem`)
        and which items were skipped and why (`skipped`: an asset host not allowed, no visual asset, no date)."""
        check_bbox(bbox)
        site = outline if outline is not None else box(*bbox)
        found = self.search_scenes(bbox, start, end, max_cloud)
        usable, skipped = [], []
        for raw in found.items:
            try:
                usable.append(self._scene_item(raw))
            except StacError as err:  # one forged or incomplete item must not hide the others
                log.warning("skipping STAC item %s: %s", raw.get("id") if isinstance(raw, dict) else "?", err)
                skipped.append(str(err))
        dates = scenes_per_date(usable, site)
        workers = max(1, min(self.client.config.concurrency, len(dates)))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            captures = list(pool.map(lambda scene: self._capture(scene, site), dates))
        result = CaptureList(captures, matched=found.matched, left_out=found.left_out, problem=found.problem,
                             items=len(found.items))
        result.skipped = skipped
        return result

    def _scene_item(self, raw: Any) -> SceneItem:
        if not isinstance(raw, dict) or not isinstance(raw.get("id"), str) or not raw["id"]:
            raise StacError("an item without an id")
        name = raw["id"]
        if raw.get("collection") not in (None, self.config.collection):
            raise StacError(f"{name} is of collection {raw.get('collection')!r}, not {self.config.collection!r}")
        try:
            item = pystac.Item.from_dict(raw, preserve_dict=True)
        except (pystac.STACError, KeyError, TypeError, ValueError, AttributeError) as err:
            raise StacError(f"{name} is not a STAC item: {err}") from err
        # A capture's date is its UTC date (the convention of every source: Wayback's metadata is UTC too)
        when = item.datetime or item.common_metadata.start_datetime
        if when is None:
            raise StacError(f"{name} has no datetime")
        footprint = item_footprint(raw)
        if footprint is None:
            raise StacError(f"{name} has no polygon footprint")
        visual = self.item_asset(raw, "visual")
        if visual is None:
            raise StacError(f"{name} has no '{self.config.asset_keys()[0]}' asset")
        self.check_host(visual)
        scl = self.item_asset(raw, "scl")
        if scl is not None:
            self.check_host(scl)
        cover = item.properties.get("eo:cloud_cover")
        utc = when.astimezone(dt.UTC) if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)
        return SceneItem(name, utc, footprint, float(cover) if isinstance(cover, int | float) else None, raw=raw)

    def _capture(self, scene: DateScene, site: BaseGeometry) -> Capture:
        parts: list[dict[str, Any]] = [
            {"id": i.id, "assets": {role: self.item_asset(i.raw, role) for role in ("visual", "scl", "red", "nir")},
             "datetime": i.when.isoformat()} for i in scene.items]
        covers = [i.cloud_cover for i in scene.items if i.cloud_cover is not None]
        platforms = sorted({str(i.raw.get("properties", {}).get("platform") or "sentinel-2") for i in scene.items})
        extra: dict[str, Any] = {
            "assets": {k: v for k, v in parts[0]["assets"].items() if v}, "parts": parts,
            "items": [i.id for i in scene.items], "collection": self.config.collection,
            "catalogue": self.config.provider, "coverage": round(scene.coverage, 4),
            "scene_cloud_cover": max(covers) if covers else None, "datetime": parts[0]["datetime"],
            "aoi_cloud_fraction": None, "cloud_reason": None,
        }
        fraction, reason = self._cloudiness(scene, site) if self.aoi_cloudiness else (None, "not computed")
        extra["aoi_cloud_fraction"], extra["cloud_reason"] = fraction, reason
        if reason and reason.startswith("SCL read failed"):
            extra["aoi_cloud_error"] = reason
        return Capture(
            provider=PROVIDER, capture_id=scene.capture_id, date=scene.day, certainty=DateCertainty.CAPTURED,
            resolution_m=10.0, licence=LICENCE, attribution=attribution_for(scene.day.year),
            sensor=", ".join(platforms), extra=extra, cloud_fraction=fraction,
        )

    def _cloudiness(self, scene: DateScene, site: BaseGeometry) -> tuple[float | None, str | None]:
        """Cloud fraction inside the site over the scene's items (each item counts the part of the site no earlier
        item covered, so an overlap is counted once), and why it is None when it is."""
        total, seen = SclCount(), None
        for item in scene.items:
            part = item.footprint.intersection(site)
            if seen is not None:
                part = part.difference(seen)
            seen = item.footprint if seen is None else unary_union([seen, item.footprint])
            if part.is_empty:
                continue
            href = self.item_asset(item.raw, "scl")
            if href is None:
                return None, f"{item.id} has no SCL asset ('{self.config.asset_keys()[1]}')"
            try:
                total = total + read_scl_count(self.read_url(href), part, self.client.config)
            except NoCoverage:
                continue
            except (RasterError, StacError) as err:  # a flaky SCL read leaves the cloudiness unknown, not the scene
                return None, f"SCL read failed: {err}"
        if total.fraction is None:
            return None, "no SCL pixel with data inside the outline"
        return total.fraction, None

    def cloud_fraction(self, scl_href: str, bbox: BBox) -> float | None:
        """Cloud share inside the area from the SCL band's window (a few range requests)."""
        check_bbox(bbox)
        return read_scl_count(self.read_url(scl_href), box(*bbox), self.client.config).fraction

    def chip(self, capture: Capture, grid: Grid, asset: str = "visual") -> Chip:
        """The capture's visual (true colour) COG, or its 'red' or 'nir' band when `asset` says, warped onto a
        common grid, by window; a capture stitched from two tiles is read from each, the first item's pixels kept
        where both have data."""
        parts = capture.extra.get("parts") or [{"id": capture.capture_id, "assets": capture.extra.get("assets", {})}]
        merged: Chip | None = None
        for part in parts:
            href = (part.get("assets") or {}).get(asset)
            if not href:
                raise StacError(f"{part.get('id') or capture.capture_id} has no '{asset}' asset")
            url = self.read_url(href)
            try:
                chip = make_chip(url, grid, capture=capture, http=self.client.config)
            except NoCoverage:
                if len(parts) == 1:
                    raise
                continue
            except RasterioError as err:
                raise RasterError(f"reading {capture.capture_id} failed: {err}") from err
            if merged is None:
                merged = chip
            else:
                empty = ~valid_mask(merged.data, merged.nodata)
                data = merged.data.copy()
                data[:, empty] = chip.data[:, empty]
                merged = replace(merged, data=data)
        if merged is None:
            raise NoCoverage(f"{capture.capture_id} does not cover the area")
        return merged

    def read(self, capture: Capture, bbox: BBox, size: tuple[int, int]) -> Chip:
        """Read a scene's visual asset over `bbox` into a chip of `size` pixels."""
        return self.chip(capture, grid_for_bbox(bbox, size=size))
