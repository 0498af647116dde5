"""Sentinel-2 L2A scenes from a STAC API: search, cloudiness inside the area from SCL, windowed COG reads.

Earth Search is the default catalogue; Planetary Computer works when the `planetary-computer`
package is installed (its blobs refuse unsigned reads). Asset hrefs come from a remote catalogue,
so they are only read when their host is on the configured allow-list (no SSRF through a forged
item), and only the window covering the area is fetched, by HTTP range requests.

Every request goes through the project's HTTP client (imagery.http): pystac-client's searches
through `ClientStacIO`, GDAL's COG reads with the client's timeouts, retries and user agent, on a
URL whose redirects the client resolved and checked first (GDAL would follow them anywhere).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from dataclasses import dataclass, field, replace
from types import ModuleType
from typing import Any
from urllib.parse import urlparse, urlsplit

import numpy as np
import pystac
import requests
from pystac_client import Client
from pystac_client.exceptions import APIError
from pystac_client.stac_api_io import StacApiIO
from rasterio.errors import RasterioError, WindowError
from rasterio.warp import transform_bounds
from rasterio.windows import Window
from rasterio.windows import from_bounds as window_from_bounds

from imagery.base import BBox, Capture, Chip, DateCertainty
from imagery.bbox import check_bbox
from imagery.chips import Grid, gdal_env, grid_for_bbox, make_chip, open_source, read_with_retries
from imagery.errors import ImageryError, NoCoverage, RasterError, RefusedURL, StacError
from imagery.http import HttpClient, HttpConfig
from imagery.json_safe import parse_json

log = logging.getLogger(__name__)


def utc_date(when: dt.datetime) -> dt.date:
    """The UTC calendar date of a scene's time: an offset is converted to UTC first, a naive time is taken as UTC
    (as STAC requires); never the machine's time zone."""
    return when.astimezone(dt.UTC).date() if when.tzinfo is not None else when.date()

PROVIDER = "sentinel-2-l2a"
EARTH_SEARCH_URL = "https://earth-search.aws.element84.com/v1"
PLANETARY_COMPUTER_URL = "https://planetarycomputer.microsoft.com/api/stac/v1"
EARTH_SEARCH_ASSET_HOSTS = ("sentinel-cogs.s3.us-west-2.amazonaws.com",
                            "e84-earth-search-sentinel-data.s3.us-west-2.amazonaws.com")
PLANETARY_COMPUTER_ASSET_HOSTS = ("sentinel2l2a01.blob.core.windows.net",)
SCL_CLOUD_CLASSES = (3, 8, 9, 10)  # cloud shadow, cloud medium and high probability, thin cirrus
SCL_NO_DATA = 0
LICENCE = "Copernicus Sentinel data terms: free and open (Sentinel Data Legal Notice)"
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class StacConfig:
    """Where to search and which asset hosts may be read; tests point both at 127.0.0.1."""

    url: str = EARTH_SEARCH_URL
    collection: str = "sentinel-2-l2a"
    asset_hosts: tuple[str, ...] = EARTH_SEARCH_ASSET_HOSTS
    visual_asset: str = "visual"
    scl_asset: str = "scl"
    timeout: tuple[float, float] = (5.0, 30.0)  # connect, read: requests has no default
    max_retries: int = 3
    max_items: int = 50
    sign: bool = False  # Planetary Computer SAS signing
    headers: dict[str, str] = field(default_factory=dict)


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
    allowed |= {h for h in config.asset_hosts if h in _LOOPBACK}
    return HttpConfig(connect_timeout=connect, read_timeout=read, deadline=connect + read,
                      retries=config.max_retries, allow_hosts=frozenset(allowed))


def planetary_computer_config(**overrides: Any) -> StacConfig:
    """A StacConfig for Microsoft Planetary Computer (signed asset URLs), with `overrides` applied."""
    base = StacConfig(url=PLANETARY_COMPUTER_URL, asset_hosts=PLANETARY_COMPUTER_ASSET_HOSTS,
                      visual_asset="visual", scl_asset="SCL", sign=True)
    return replace(base, **overrides)


def _planetary_computer() -> ModuleType:
    try:
        import planetary_computer
    except ImportError as err:
        raise StacError("Planetary Computer needs the 'planetary-computer' package to sign asset URLs; "
                        "install it or use Earth Search") from err
    return planetary_computer


def attribution_for(year: int) -> str:
    """The attribution Copernicus requires for Sentinel data of `year`."""
    return f"Contains modified Copernicus Sentinel data {year}"


def scl_cloud_fraction(scl: np.ndarray) -> float | None:
    """Share of valid SCL pixels that are cloud, cloud shadow or cirrus; None when none is valid."""
    valid = scl != SCL_NO_DATA
    if not valid.any():
        return None
    return float(np.isin(scl[valid], SCL_CLOUD_CLASSES).mean())


class Sentinel2Source:
    """ImagerySource for Sentinel-2 L2A: one Capture per STAC item, read by window from its COGs."""

    key = PROVIDER

    def __init__(self, config: StacConfig | None = None, max_cloud: float | None = 30.0,
                 aoi_cloudiness: bool = True, *, client: HttpClient | None = None) -> None:
        self.config = config or StacConfig()
        self.max_cloud = max_cloud
        self.aoi_cloudiness = aoi_cloudiness
        self.client = client or HttpClient(http_config_for(self.config))

    # --- catalogue ---------------------------------------------------------------------------
    def _client(self) -> Client:
        modifier = _planetary_computer().sign_inplace if self.config.sign else None
        stac_io = ClientStacIO(self.client, headers=self.config.headers or None)
        try:
            return Client.open(self.config.url, stac_io=stac_io, modifier=modifier)
        except (APIError, requests.RequestException, pystac.STACError, ValueError) as err:
            log.warning("STAC catalogue %s unavailable: %s", self.config.url, err)
            raise StacError(f"STAC catalogue {self.config.url} unavailable: {err}") from err

    def search(self, bbox: BBox, start: dt.date | None = None, end: dt.date | None = None,
               max_cloud: float | None = None) -> list[pystac.Item]:
        """STAC items of the configured collection over `bbox`, between the dates, under the cloud cover limit;
        StacError if the search fails."""
        check_bbox(bbox)
        max_cloud = self.max_cloud if max_cloud is None else max_cloud
        interval = None if start is None and end is None else f"{start or '..'}/{end or '..'}"
        query = None if max_cloud is None else {"eo:cloud_cover": {"lt": max_cloud}}
        client = self._client()
        try:
            search = client.search(collections=[self.config.collection], bbox=list(bbox), datetime=interval,
                                   query=query, max_items=self.config.max_items)
            return list(search.items())
        except (APIError, requests.RequestException, pystac.STACError) as err:
            log.warning("STAC search on %s failed: %s", self.config.url, err)
            raise StacError(f"STAC search on {self.config.url} failed: {err}") from err

    def asset_href(self, item_or_capture: pystac.Item | Capture, asset: str) -> str:
        """The asset URL after the host allow-list check."""
        if isinstance(item_or_capture, Capture):
            href = item_or_capture.extra.get("assets", {}).get(asset)
        else:
            found = item_or_capture.assets.get(asset)
            href = found.href if found else None
        if not href:
            raise StacError(f"{self._name(item_or_capture)} has no '{asset}' asset")
        self.check_host(href)
        return href

    def check_host(self, href: str) -> None:
        """StacError unless `href` is https (http on loopback) to one of the configured asset hosts: item links are
        never followed elsewhere."""
        url = urlparse(href)
        host = url.hostname or ""
        allowed_scheme = url.scheme == "https" or (url.scheme == "http" and host in _LOOPBACK)
        if not allowed_scheme or host not in self.config.asset_hosts:
            allowed = ", ".join(self.config.asset_hosts)
            raise StacError(f"asset host {host or href!r} is not allowed (allowed: {allowed})")

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
                 max_cloud: float | None = None) -> list[Capture]:
        """Captures of the scenes found over `bbox`, oldest first; an item that cannot be read is logged and left
        out."""
        found = []
        for item in self.search(bbox, start, end, max_cloud):
            try:
                found.append(self._capture(item, bbox))
            except StacError as err:  # one forged or incomplete item must not hide the others
                log.warning("skipping STAC item %s: %s", item.id, err)
        return sorted(found, key=lambda c: (c.date or dt.date.min, c.capture_id))

    def _capture(self, item: pystac.Item, bbox: BBox) -> Capture:
        # A capture's date is its UTC date (the convention of every source: Wayback's metadata is UTC too)
        when = item.datetime or item.common_metadata.start_datetime
        if when is None:
            raise StacError(f"{item.id} has no datetime")
        assets = {"visual": self.asset_href(item, self.config.visual_asset)}
        extra: dict[str, Any] = {"assets": assets, "scene_cloud_cover": item.properties.get("eo:cloud_cover"),
                                 "datetime": when.isoformat(), "aoi_cloud_fraction": None}
        if self.config.scl_asset in item.assets:
            assets["scl"] = self.asset_href(item, self.config.scl_asset)
            if self.aoi_cloudiness:
                try:
                    extra["aoi_cloud_fraction"] = self.cloud_fraction(assets["scl"], bbox)
                except RasterError as err:  # a flaky SCL read leaves the cloudiness unknown, not the scene
                    extra["aoi_cloud_error"] = str(err)
        return Capture(
            provider=PROVIDER, capture_id=item.id, date=utc_date(when), certainty=DateCertainty.CAPTURED,
            resolution_m=10.0, licence=LICENCE, attribution=attribution_for(utc_date(when).year),
            sensor=str(item.properties.get("platform", "sentinel-2")), extra=extra,
        )

    def cloud_fraction(self, scl_href: str, bbox: BBox) -> float | None:
        """Cloud share inside the area from the SCL band's window (a few range requests)."""
        check_bbox(bbox)
        scl_href = self.resolve(scl_href)

        def once() -> np.ndarray:
            with gdal_env(self.client.config), open_source(scl_href) as src:
                left, bottom, right, top = transform_bounds("EPSG:4326", src.crs, *bbox, densify_pts=21)
                try:
                    win = window_from_bounds(left, bottom, right, top, transform=src.transform)
                    win = Window(math.floor(win.col_off), math.floor(win.row_off), math.ceil(win.width) + 1,
                                 math.ceil(win.height) + 1).intersection(Window(0, 0, src.width, src.height))
                except WindowError as err:
                    raise NoCoverage(f"{scl_href} does not cover the area") from err
                return src.read(1, window=win)

        try:
            scl = read_with_retries(scl_href, once)
        except RasterioError as err:
            raise RasterError(f"SCL read failed for {scl_href}: {err}") from err
        return scl_cloud_fraction(scl)

    def chip(self, capture: Capture, grid: Grid) -> Chip:
        """The capture's visual (true colour) COG warped onto a common grid, by window."""
        href = self.asset_href(capture, "visual")
        if self.config.sign:
            href = _planetary_computer().sign(href)  # SAS tokens expire: sign again at read time
        href = self.resolve(href)
        try:
            return make_chip(href, grid, capture=capture, http=self.client.config)
        except RasterioError as err:
            raise RasterError(f"reading {capture.capture_id} failed: {err}") from err

    def read(self, capture: Capture, bbox: BBox, size: tuple[int, int]) -> Chip:
        """Read a scene's visual asset over `bbox` into a chip of `size` pixels."""
        return self.chip(capture, grid_for_bbox(bbox, size=size))
