"""Imagery for the compare view: the sources built from settings, the dated layers of an outline,
server-rendered overlays and the difference view. Streamlit caching lives here, not in imagery/.

Nothing here waits longer than settings.request_timeout per request (the HTTP client's deadline),
and a failing service becomes a message in `Catalogue.problems`, never an exception in the page.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import shapely
import streamlit as st
from shapely.geometry.base import BaseGeometry

from imagery.base import BBox, Capture
from imagery.cache import Cache
from imagery.catalogue import DatedLayer, capture_layers, mosaic_layers, timeline, wayback_layers
from imagery.chips import Grid, align, grid_for_bbox, to_rgba8, write_overlay_png
from imagery.compare import Comparison, compare, heatmap_rgba
from imagery.errors import ImageryError, OfflineError
from imagery.http import HttpClient, HttpConfig
from imagery.local import LocalSource
from imagery.mosaics import EoxMosaics
from imagery.stac import PROVIDER as SENTINEL2
from imagery.stac import Sentinel2Source, StacConfig
from imagery.wayback import Endpoints, Wayback, capture_from
from tracker.settings import Settings

OVERLAY_COMPONENT = "imagery_overlays"
METADATA_RELEASES = 24  # capture dates are looked up for at most this many changed releases
CHIP_PX = 768  # longest side of server-rendered overlays and difference grids
PAD_M = 150.0  # imagery around the outline, so change at its edge is seen in context


@dataclass(frozen=True)
class Services:
    client: HttpClient
    cache: Cache
    wayback: Wayback
    eox: EoxMosaics
    local: LocalSource
    endpoints: Endpoints
    sentinel2: Sentinel2Source


def endpoints_for(settings: Settings) -> Endpoints:
    default = Endpoints()
    return Endpoints(
        config_url=settings.wayback_config_url or default.config_url,
        service_root=settings.wayback_service_root or default.service_root,
        tile_url=settings.wayback_tile_url or default.tile_url,
        subdomains=tuple(settings.wayback_subdomains) if settings.wayback_subdomains is not None
        else default.subdomains,
    )


def _settings_key(settings: Settings) -> str:
    return settings.model_dump_json()


def services(settings: Settings) -> Services:
    """One client and cache per settings per process (thread-safe: shared by sessions)."""
    return _services(_settings_key(settings), settings)


@st.cache_resource(show_spinner=False)
def _services(settings_key: str, _settings: Settings) -> Services:
    del settings_key  # the cache key
    timeout = _settings.request_timeout
    config = HttpConfig(connect_timeout=min(5.0, timeout), read_timeout=timeout, deadline=timeout,
                        retries=2, allow_hosts=frozenset(h.lower() for h in _settings.imagery_allow_hosts))
    client = HttpClient(config, offline=_settings.offline)
    cache = Cache(Path(_settings.data_dir) / "imagery-cache")
    endpoints = endpoints_for(_settings)
    stac = StacConfig(timeout=(min(5.0, timeout), timeout), max_retries=2)
    if _settings.stac_url:
        stac = replace(stac, url=_settings.stac_url)
    if _settings.stac_asset_hosts is not None:
        stac = replace(stac, asset_hosts=tuple(_settings.stac_asset_hosts))
    return Services(client, cache, Wayback(client, cache, endpoints), EoxMosaics(client, cache),
                    LocalSource(_settings.data_dir), endpoints, Sentinel2Source(stac))


def padded_bbox(geometry: BaseGeometry, pad_m: float = PAD_M) -> BBox:
    """The outline's bbox grown by pad_m metres (degrees scaled by latitude)."""
    w, s, e, n = geometry.bounds
    dlat = pad_m / 111_320.0
    dlon = pad_m / (111_320.0 * max(0.01, math.cos(math.radians((s + n) / 2))))
    return (max(-180.0, w - dlon), max(-90.0, s - dlat), min(180.0, e + dlon), min(90.0, n + dlat))


@dataclass
class Catalogue:
    layers: list[DatedLayer]
    problems: dict[str, str] = field(default_factory=dict)  # service -> what went wrong
    wayback_scanned: bool = False  # the local-change scan ran: unchanged releases are hidden
    wayback_total: int = 0
    wayback_changed: int = 0


@st.cache_data(ttl=3600, show_spinner="Finding the dates imagery changed here…", max_entries=64)
def _wayback(_settings: Settings, settings_key: str, area_wkb: bytes) -> tuple[list, list[int] | None,
                                                                             dict[int, Capture], dict[str, str]]:
    del settings_key  # part of the cache key only
    svc = services(_settings)
    area = shapely.from_wkb(area_wkb)
    problems: dict[str, str] = {}
    try:
        releases = svc.wayback.releases()
    except ImageryError as err:
        return [], None, {}, {"Wayback": _reason(err)}
    changed: list[int] | None
    try:
        changes = svc.wayback.local_changes(area)
        changed = [r.number for r in changes.releases]
        if changes.errors:
            problems["Wayback"] = f"{len(changes.errors)} of {len(changes.tiles)} tiles could not be scanned"
    except ImageryError as err:
        changed, problems["Wayback"] = None, f"change scan failed ({_reason(err)}); every release is listed"
    captures: dict[int, Capture] = {}
    if changed:
        wanted = [r for r in releases if r.number in set(changed)][:METADATA_RELEASES]
        for rel in wanted:
            try:
                captures[rel.number] = capture_from(rel, svc.wayback.capture_metadata(rel, area))
            except ImageryError as err:
                problems.setdefault("Wayback metadata", _reason(err))
                break  # the service is failing: do not wait once per release
    return releases, changed, captures, problems


def _reason(err: BaseException) -> str:
    if isinstance(err, OfflineError):
        return "offline mode: nothing cached for this site yet"
    return str(err)


@st.cache_data(ttl=3600, show_spinner="Searching Sentinel-2 scenes…", max_entries=64)
def _scenes(_settings: Settings, settings_key: str, bbox: BBox) -> tuple[list[Capture], str | None]:
    del settings_key
    if _settings.offline:
        return [], "offline mode: scenes are searched online"
    try:
        return services(_settings).sentinel2.captures(bbox), None
    except ImageryError as err:
        return [], str(err)


def catalogue(settings: Settings, outline: BaseGeometry, *, wayback: bool = True, mosaics: bool = True,
              local: bool = True, scenes: bool = False, show_all: bool = False) -> Catalogue:
    """Every dated layer of the outline's area from the chosen sources, oldest first."""
    svc = services(settings)
    groups: list[list[DatedLayer]] = []
    result = Catalogue([])
    if wayback:
        releases, changed, captures, problems = _wayback(settings, _settings_key(settings), outline.wkb)
        result.problems.update(problems)
        result.wayback_total = len(releases)
        result.wayback_changed = len(changed or [])
        result.wayback_scanned = changed is not None
        groups.append(wayback_layers(releases, changed, captures, svc.endpoints, show_all=show_all))
    if mosaics and not settings.offline:
        groups.append(mosaic_layers())
    if local:
        try:
            groups.append(capture_layers(svc.local.captures(padded_bbox(outline)), "Local image"))
        except (ImageryError, OSError) as err:
            result.problems["Local images"] = str(err)
    if scenes:
        found, problem = _scenes(settings, _settings_key(settings), padded_bbox(outline))
        if problem:
            result.problems["Sentinel-2 scenes"] = problem
        groups.append(capture_layers(found, "Sentinel-2 scene"))
    result.layers = timeline(*groups)
    return result


# -- overlays: pixels the server may read, as PNGs the browser loads from the app ---------------------


@dataclass(frozen=True)
class Overlay:
    url: str
    bounds: list[list[float]]  # [[south, west], [north, east]]


def overlay_dir(settings: Settings) -> tuple[Path, str]:
    """The directory of rendered PNGs and the URL the browser reaches it at (a component path, so
    Streamlit serves the files with their MIME types)."""
    from streamlit import config
    from streamlit.components.v1 import declare_component

    directory = Path(settings.data_dir) / "overlays"
    directory.mkdir(parents=True, exist_ok=True)
    component = declare_component(OVERLAY_COMPONENT, path=str(directory))
    base = (config.get_option("server.baseUrlPath") or "").strip("/")
    return directory, "/" + "/".join(p for p in (base, "component", component.name) if p)


def _stem(*parts: object) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:24]


def _read(settings: Settings, layer: DatedLayer, bbox: BBox):
    svc = services(settings)
    if layer.capture is not None and layer.capture.provider == "local":
        return svc.local.read(layer.capture, bbox, (CHIP_PX, CHIP_PX))
    if layer.capture is not None and layer.capture.provider == SENTINEL2:
        return svc.sentinel2.read(layer.capture, bbox, (CHIP_PX, CHIP_PX))
    if layer.readable and layer.key.startswith("eox-"):
        cap = next(c for c in svc.eox.captures(bbox) if c.provider == layer.key)
        return svc.eox.read(cap, bbox, (CHIP_PX, CHIP_PX))
    raise ImageryError(f"{layer.title}: the server may not read these pixels (display only)")


def overlay(settings: Settings, layer: DatedLayer, outline: BaseGeometry) -> Overlay:
    """A PNG of a readable layer around the outline, rendered once and served by the app."""
    directory, prefix = overlay_dir(settings)
    bbox = padded_bbox(outline)
    stem = _stem("overlay", layer.key, bbox, CHIP_PX)
    png, meta = directory / f"{stem}.png", directory / f"{stem}.bounds"
    if not (png.is_file() and meta.is_file()):
        chip = _read(settings, layer, bbox)
        bounds = write_overlay_png(to_rgba8(chip.data, chip.nodata), Grid.of(chip), png)
        meta.write_text(json.dumps(bounds))
    return Overlay(f"{prefix}/{png.name}", json.loads(meta.read_text()))


@dataclass(frozen=True)
class Difference:
    result: Comparison
    overlay: Overlay


def difference(settings: Settings, before: DatedLayer, after: DatedLayer, outline: BaseGeometry,
               structures: Mapping[str, BaseGeometry] | None = None) -> Difference:
    """Change between two readable layers on one UTM grid, with the changed area inside the outline."""
    for layer in (before, after):
        if not layer.readable:
            raise ImageryError(f"{layer.title}: its terms allow display only, so no difference can be computed; "
                               "compare it by swipe, or pick local, Sentinel-2 or Sentinel-2 cloudless dates")
    bbox = padded_bbox(outline)
    grid = grid_for_bbox(bbox, size=_grid_size(bbox))
    a, b = align(_read(settings, before, bbox), grid), align(_read(settings, after, bbox), grid)
    result = compare(a, b, outline=outline, structures=structures)
    directory, prefix = overlay_dir(settings)
    png = directory / f"{_stem('diff', before.key, after.key, bbox, grid.width)}.png"
    bounds = write_overlay_png(heatmap_rgba(result), grid, png)
    return Difference(result, Overlay(f"{prefix}/{png.name}", bounds))


def _grid_size(bbox: BBox) -> tuple[int, int]:
    w, s, e, n = bbox
    aspect = (e - w) * math.cos(math.radians((s + n) / 2)) / (n - s)
    return (CHIP_PX, max(1, round(CHIP_PX / aspect))) if aspect >= 1 else (max(1, round(CHIP_PX * aspect)), CHIP_PX)


# -- service status --------------------------------------------------------------------------------


@st.cache_data(ttl=60, show_spinner=False)
def _probe(_settings: Settings, settings_key: str) -> dict[str, str]:
    """One light request per service, in parallel, each within min(5 s, request timeout)."""
    del settings_key
    if _settings.offline:
        return {"Wayback": "off (offline mode)", "Sentinel-2 cloudless": "off (offline mode)"}
    svc = services(_settings)
    deadline = min(5.0, _settings.request_timeout)
    checks = {"Wayback": (svc.endpoints.config_url, "json"),
              "Sentinel-2 cloudless": ((mosaic_layers()[-1].tiles or "").format(z=0, x=0, y=0), "image")}

    def one(url: str, expect: str) -> str:
        try:
            svc.client.get(url, expect=expect, deadline=deadline)
            return "reachable"
        except ImageryError as err:
            return f"unreachable: {err}"

    with ThreadPoolExecutor(max_workers=len(checks)) as pool:
        futures = {name: pool.submit(one, *check) for name, check in checks.items()}
        return {name: fut.result() for name, fut in futures.items()}


def status(settings: Settings) -> list[dict[str, object]]:
    """One row per service: reachable or why not, and what is kept on this machine."""
    svc = services(settings)
    probes = _probe(settings, _settings_key(settings))
    entries = svc.cache.entries()
    by_provider: dict[str, int] = {}
    for _url, _kind, provider in entries:
        by_provider[provider] = by_provider.get(provider, 0) + 1
    local = list(svc.local.dir.glob("*.json")) if svc.local.dir.is_dir() else []
    return [
        {"service": "Esri Wayback", "status": probes.get("Wayback", ""),
         "on this machine": f"{by_provider.get('esri-wayback', 0)} catalogue/metadata answers cached (tiles never)"},
        {"service": "Sentinel-2 cloudless (EOX)", "status": probes.get("Sentinel-2 cloudless", ""),
         "on this machine": f"{sum(v for k, v in by_provider.items() if k.startswith('eox-'))} tiles cached"},
        {"service": "Local images", "status": "always available",
         "on this machine": f"{len(local)} imported images"},
    ]


