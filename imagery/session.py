"""The imagery session: what the compare view asks of imagery, one method per kind of work.

`catalogue` lists the dated layers of an area from the chosen sources, `overlay` renders a
readable layer to a PNG once, `difference` measures change between two readable dates, and
`status` says which services answer and what is kept on this machine. The session holds the
parts (one HTTP client, one cache, the sources, the overlay directory) built once from settings
(tracker.wiring), so callers never dispatch on provider strings. No Streamlit: callers cache.

Nothing here waits longer than the HTTP client's deadline per request, and a failing service
becomes a message in `Catalogue.problems`, never an exception in the caller.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import re
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from shapely.geometry.base import BaseGeometry

from .aoi import AreaOfInterest
from .base import BBox, Capture, Chip, ImagerySource
from .cache import Cache, cached_text
from .catalogue import DatedLayer, capture_layers, mosaic_layers, timeline, wayback_layers
from .chips import Grid, align, grid_bbox, grid_for_bbox, to_rgba8, valid_mask, write_overlay_png
from .compare import Comparison, compare, heatmap_rgba
from .errors import NO_ADDRESS, Cancelled, DisplayOnly, ImageryError, OfflineError, short_reason
from .http import HttpClient
from .keys import ImageKey
from .local import LocalSource
from .mosaics import KEY as EOX
from .mosaics import EoxMosaics
from .stac import Sentinel2Source
from .wayback import PROVIDER as WAYBACK
from .wayback import Endpoints, Release, Wayback

log = logging.getLogger(__name__)

METADATA_RELEASES = 24  # capture dates are looked up for at most this many changed releases
StageProgress = Callable[[str, int, int], None]  # (stage, done, total)
MIN_KEY_PREFIX = 8  # a shortened image id must keep at least this many characters to name one image
PROBE_S = 5.0  # longest wait for one service probe (less when the request timeout is shorter)
OFF = "off (offline mode)"  # a service's status in offline mode


@dataclass(frozen=True)
class Catalogue:
    """Every dated layer of an area from the chosen sources, oldest first, and what went wrong."""

    layers: tuple[DatedLayer, ...] = ()
    problems: Mapping[str, str] = field(default_factory=dict)  # service -> what went wrong
    wayback_scanned: bool = False  # the local-change scan ran: unchanged releases are hidden
    wayback_total: int = 0
    wayback_changed: int = 0


@dataclass(frozen=True)
class Overlay:
    """A PNG in the session's overlay directory and where it lies on the map."""

    path: Path
    bounds: list[list[float]]  # [[south, west], [north, east]], as folium's ImageOverlay takes them


@dataclass(frozen=True)
class Difference:
    """A comparison of two chips and the heat map overlay drawn from it."""

    result: Comparison
    overlay: Overlay  # the heat map


@dataclass(frozen=True)
class _WaybackScan:
    releases: list[Release]
    changed: list[int] | None  # None: the change scan failed, every release is offered
    captures: dict[int, Capture]
    problems: dict[str, str]


def unreadable(*layers: DatedLayer) -> str | None:
    """Why no difference can be computed from these layers (their terms allow display only), or None.

    Pure, so a page can say so without asking the session."""
    for layer in layers:
        if not layer.readable:
            return (f"{layer.title}: its terms allow display only, so no difference can be computed; "
                    "compare it by swipe, or pick local, Sentinel-2 or Sentinel-2 cloudless dates")
    return None


def _reason(err: BaseException) -> str:
    """A service's failure in a few words for `Catalogue.problems` (imagery.errors.short_reason); the library's
    text goes to the log only."""
    if isinstance(err, OfflineError):
        return "offline mode: nothing cached for this site yet"
    return short_reason(err)


def _scene_day(image_id: str) -> dt.date | None:
    """The UTC date in a Sentinel-2 item id (S2A_52SCG_20240105_0_L2A), None when it has none."""
    m = re.search(r"(?<!\d)(20\d{2})(\d{2})(\d{2})(?!\d)", image_id)
    if m is None:
        return None
    try:
        return dt.date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return None


def _stem(*parts: object) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:24]


class ImagerySession:
    """Thread-safe: the parts are (one client and cache shared by every browser session)."""

    def __init__(self, *, client: HttpClient, cache: Cache, wayback: Wayback, eox: EoxMosaics, local: LocalSource,
                 sentinel2: Sentinel2Source, endpoints: Endpoints, overlay_dir: str | os.PathLike[str]) -> None:
        self.client = client
        self.cache = cache
        self.wayback = wayback
        self.eox = eox
        self.local = local
        self.sentinel2 = sentinel2
        self.endpoints = endpoints
        self.overlay_dir = Path(overlay_dir)
        # the sources whose pixels the server may read, by the provider of their image keys
        self._readers: dict[str, ImagerySource] = {local.key: local, sentinel2.key: sentinel2, eox.key: eox}

    @property
    def offline(self) -> bool:
        """Whether the HTTP client is in offline mode (cache only)."""
        return self.client.offline

    def close(self) -> None:
        """Close the HTTP client and the cache."""
        self.client.close()
        self.cache.close()

    # -- catalogue ----------------------------------------------------------------------------------

    def catalogue(self, aoi: AreaOfInterest, *, wayback: bool = True, mosaics: bool = True, local: bool = True,
                  scenes: bool = False, show_all: bool = False, progress: StageProgress | None = None,
                  cancelled: Callable[[], bool] | None = None) -> Catalogue:
        """Every dated layer of the area from the chosen sources, oldest first; each source reads
        the same padded box. A failing source adds a message to `problems`, the others still list.
        `progress(stage, done, total)` is called as the Wayback scan's tiles and capture dates finish;
        `cancelled()` returning True stops it with imagery.errors.Cancelled (what was fetched stays cached)."""
        groups: list[list[DatedLayer]] = []
        problems: dict[str, str] = {}
        scanned, total, changed_count = False, 0, 0
        if wayback:
            scan = self._wayback(aoi, progress, cancelled)
            problems.update(scan.problems)
            total, changed_count, scanned = len(scan.releases), len(scan.changed or []), scan.changed is not None
            groups.append(wayback_layers(scan.releases, scan.changed, scan.captures, self.endpoints,
                                         show_all=show_all))
        if mosaics and not self.offline:
            groups.append(mosaic_layers(tuple(self.eox.layers.values())))
        if local:
            try:
                groups.append(capture_layers(self.local.captures(aoi.bbox), "Local image"))
            except (ImageryError, OSError) as err:
                log.warning("local images could not be listed: %s", err)
                problems["Local images"] = str(err)
        if scenes:
            found, problem = self._scenes(aoi)
            if problem:
                problems["Sentinel-2 scenes"] = problem
            groups.append(capture_layers(found, "Sentinel-2 scene"))
        return Catalogue(tuple(timeline(*groups)), problems, scanned, total, changed_count)

    def _wayback(self, aoi: AreaOfInterest, progress: StageProgress | None = None,
                 cancelled: Callable[[], bool] | None = None) -> _WaybackScan:
        """Releases, those that changed over the padded box, and capture dates of at most
        METADATA_RELEASES of them, sampled inside the outline (the date of the site's own pixels)."""
        try:
            releases = self.wayback.releases()
        except ImageryError as err:
            log.warning("Wayback catalogue failed: %s", err)
            return _WaybackScan([], None, {}, {"Wayback": _reason(err)})
        problems: dict[str, str] = {}
        changed: list[int] | None
        try:
            changes = self.wayback.local_changes(
                aoi.bbox, releases=releases, cancelled=cancelled,
                progress=(lambda d, t: progress("Wayback change scan", d, t)) if progress else None)
            changed = [r.number for r in changes.releases]
            if changes.errors:
                problems["Wayback"] = f"{len(changes.errors)} of {len(changes.tiles)} tiles could not be scanned"
        except Cancelled:
            raise
        except ImageryError as err:
            log.warning("Wayback change scan failed over %s: %s", aoi.bbox, err)
            changed, problems["Wayback"] = None, f"change scan failed ({_reason(err)}); every release is listed"
        captures: dict[int, Capture] = {}
        if changed:
            wanted = [r for r in releases if r.number in set(changed)][:METADATA_RELEASES]
            for n, rel in enumerate(wanted, 1):
                if cancelled is not None and cancelled():
                    raise Cancelled("the Wayback capture-date lookup was cancelled")
                try:  # a release whose metadata layer is missing or null gets a note on its capture (release_capture)
                    captures[rel.number] = self.wayback.release_capture(rel, aoi.outline)
                except ImageryError as err:
                    log.warning("Wayback capture metadata failed for release %s: %s", rel.number, err)
                    problems.setdefault("Wayback metadata", _reason(err))
                    break  # the service is failing: do not wait once per release
                if progress is not None:
                    progress("Wayback capture dates", n, len(wanted))
        return _WaybackScan(releases, changed, captures, problems)

    def _scenes(self, aoi: AreaOfInterest) -> tuple[list[Capture], str | None]:
        if self.offline:
            return [], "offline mode: scenes are searched online"
        try:
            return self.sentinel2.captures(aoi.bbox), None
        except ImageryError as err:
            log.warning("Sentinel-2 scene search failed: %s", err)
            return [], f"the catalogue did not answer ({_reason(err)})"

    # -- pixels the server may read -------------------------------------------------------------------

    def _read(self, layer: DatedLayer, aoi: AreaOfInterest) -> Chip:
        """The layer's pixels over the padded box on the area's grid size. Wayback never gets here:
        Esri's terms let the browser show its tiles, not the server read them."""
        source = self._readers.get(layer.provider)
        if not layer.readable or source is None:
            raise DisplayOnly(f"{layer.title}: the server may not read these pixels (display only)")
        capture = layer.capture
        if capture is None:  # listed without a capture (yearly mosaics): ask the source for it
            capture = next((c for c in source.captures(aoi.bbox) if c.capture_id == layer.image_id), None)
            if capture is None:
                raise ImageryError(f"{layer.title}: {layer.provider} no longer lists {layer.image_id}")
        return source.read(capture, aoi.bbox, aoi.grid_size)

    def capture_for(self, key: ImageKey, bbox: BBox) -> Capture:
        """The capture an image key names, as its source lists it over `bbox`; the key's id may be shortened
        to a unique prefix of at least MIN_KEY_PREFIX characters, as outputs print it ("local:7ffd88d2f399c2…").

        DisplayOnly for Esri Wayback (the browser may show it, the server may not read it) and for
        providers the server has no reader for; ImageryError when the source no longer lists the image
        over this area (a deleted import, a scene outside the box); OfflineError when only a search could
        find it (Sentinel-2 offline)."""
        if key.provider == WAYBACK:
            raise DisplayOnly(f"{key}: Esri's terms let the browser show Wayback imagery, not the server read it; "
                              "pick a local, Sentinel-2 or Sentinel-2 cloudless image")
        source = self._readers.get(key.provider)
        if source is None:
            raise DisplayOnly(f"{key}: no reader for provider {key.provider!r} (readable: "
                              f"{', '.join(sorted(self._readers))})")
        start = end = None
        if key.provider == self.sentinel2.key:  # item ids carry their UTC date: search that day only
            day = _scene_day(key.image_id)
            start = end = day
        listed = source.captures(bbox, start, end)
        found = next((c for c in listed if c.capture_id == key.image_id), None)
        if found is not None:
            return found
        # A shortened id as outputs print it ("local:7ffd88d2f399c2…") names the one image it starts.
        prefix = key.image_id.rstrip("…").removesuffix("...")
        starting = [c for c in listed if len(prefix) >= MIN_KEY_PREFIX and c.capture_id.startswith(prefix)]
        if len(starting) == 1:
            return starting[0]
        if starting:
            raise ImageryError(f"{key}: {len(starting)} images start with {prefix!r} "
                               f"({', '.join(c.capture_id[:16] + '…' for c in starting[:3])}); give more of the id")
        raise ImageryError(f"{key}: {key.provider} does not list this image over the site "
                           "(deleted, or it does not cover the area)")

    def read_image(self, key: ImageKey, grid: Grid, *, capture: Capture | None = None,
                   bands: list[int] | None = None) -> Chip:
        """The pixels of the image `key` names, warped onto `grid` (bands 1-3 unless `bands` says; local
        imports only). `capture` skips the lookup when the caller has it (reading one image many times)."""
        if capture is None:
            capture = self.capture_for(key, grid_bbox(grid))
        if key.provider == self.local.key:
            return self.local.chip(capture, grid, bands)
        if key.provider == self.sentinel2.key:
            return self.sentinel2.chip(capture, grid)
        return align(self.eox.read(capture, grid_bbox(grid), (grid.width, grid.height)), grid)

    def read_red_nir(self, key: ImageKey, grid: Grid, *, capture: Capture | None = None,
                     ) -> tuple[np.ndarray, np.ndarray] | None:
        """The image's red and near-infrared bands on `grid` as float32 arrays (NaN without data), for NDVI: a
        Sentinel-2 scene's B04/B08 reflectance assets, a local import's bands described as NIR (and red); None for
        an image without a near-infrared band (EOX composites, RGB imports). DisplayOnly for Wayback keys."""
        if capture is None:
            capture = self.capture_for(key, grid_bbox(grid))
        if key.provider == self.sentinel2.key:
            chips = [self.sentinel2.chip(capture, grid, asset=name) for name in ("red", "nir")]
        elif key.provider == self.local.key:
            bands = self.local.red_nir_bands(capture)
            if bands is None:
                return None
            chips = [self.local.chip(capture, grid, [band]) for band in bands]
        else:
            return None
        out = []
        for chip in chips:
            band = chip.data[0].astype(np.float32)
            if chip.nodata is not None:
                band[~valid_mask(chip.data[:1], chip.nodata)] = np.nan
            out.append(band)
        return out[0], out[1]

    def _write_png(self, rgba: np.ndarray, grid: Grid, stem: str) -> Overlay:
        """PNG and bounds written under temporary names, then renamed: a browser (or a second
        session rendering the same layer) never sees half a file."""
        self.overlay_dir.mkdir(parents=True, exist_ok=True)
        png, meta = self.overlay_dir / f"{stem}.png", self.overlay_dir / f"{stem}.bounds"
        tmp = uuid.uuid4().hex[:8]
        tmp_png, tmp_meta = self.overlay_dir / f".{stem}.{tmp}.png", self.overlay_dir / f".{stem}.{tmp}.bounds"
        try:
            bounds = write_overlay_png(rgba, grid, tmp_png)
            tmp_meta.write_text(json.dumps(bounds))
            os.replace(tmp_png, png)
            os.replace(tmp_meta, meta)
        finally:
            tmp_png.unlink(missing_ok=True)
            tmp_meta.unlink(missing_ok=True)
        return Overlay(png, bounds)

    def overlay(self, layer: DatedLayer, aoi: AreaOfInterest) -> Overlay:
        """A PNG of a readable layer over the area, rendered once: a file already there is reused."""
        stem = _stem("overlay", layer.key, aoi.key)
        png, meta = self.overlay_dir / f"{stem}.png", self.overlay_dir / f"{stem}.bounds"
        if png.is_file() and meta.is_file():
            try:
                return Overlay(png, json.loads(meta.read_text()))
            except (OSError, ValueError) as err:
                log.warning("overlay %s is damaged (%s): rendering it again", meta.name, err)
        chip = self._read(layer, aoi)
        return self._write_png(to_rgba8(chip.data, chip.nodata), Grid.of(chip), stem)

    def difference(self, before: DatedLayer, after: DatedLayer, aoi: AreaOfInterest,
                   structures: Mapping[str, BaseGeometry] | None = None) -> Difference:
        """Change between two readable layers on one UTM grid over the padded box, with the changed
        area inside the outline and per structure, and a heat map PNG."""
        refusal = unreadable(before, after)
        if refusal:
            raise DisplayOnly(refusal)
        grid = grid_for_bbox(aoi.bbox, size=aoi.grid_size)
        a, b = align(self._read(before, aoi), grid), align(self._read(after, aoi), grid)
        result = compare(a, b, outline=aoi.outline, structures=structures)
        return Difference(result, self._write_png(heatmap_rgba(result), grid,
                                                  _stem("diff", before.key, after.key, aoi.key)))

    # -- service status -------------------------------------------------------------------------------

    def _probe(self) -> dict[str, str]:
        """One light request per service, in parallel, each within min(PROBE_S, the request deadline)."""
        if self.offline:
            return {"Wayback": OFF, "Sentinel-2 cloudless": OFF, "Sentinel-2 scenes": OFF}
        deadline = min(PROBE_S, self.client.config.deadline)
        newest = max(self.eox.layers.values(), key=lambda p: p.year or 0)
        checks = {"Wayback": (self.endpoints.config_url, "json"),
                  "Sentinel-2 cloudless": (self.eox.tile_url(newest, 0, 0, 0), "image")}

        def one(url: str, expect: str) -> str:
            try:
                self.client.get(url, expect=expect, deadline=deadline)
                return "reachable"
            except ImageryError as err:
                log.warning("status probe of %s failed: %s", url, err)
                return f"unreachable ({short_reason(err)})"

        with ThreadPoolExecutor(max_workers=len(checks)) as pool:
            futures = {name: pool.submit(one, *check) for name, check in checks.items()}
            found = {name: fut.result() for name, fut in futures.items()}
        # the scene catalogue is not probed (a search is the only honest check): said from the others
        no_network = all(NO_ADDRESS in v for v in found.values())
        found["Sentinel-2 scenes"] = ("not searched: no network (the other services cannot be reached)" if no_network
                                      else "searched when you pick 'Sentinel-2 scenes'")
        return found

    def status(self, *, probe: bool = True) -> list[dict[str, object]]:
        """One row per service: reachable or why not (empty without `probe`), and what is kept on this machine."""
        probes = self._probe() if probe else {}
        cached = self.cache.summary()
        now = dt.datetime.now(dt.UTC)
        wayback = [r for r in cached if r.provider == WAYBACK]
        eox = [r for r in cached if r.provider.startswith(EOX)]  # one tile provider per year
        scenes = [r for r in cached if r.provider == self.sentinel2.key]
        local = list(self.local.dir.glob("*.json")) if self.local.dir.is_dir() else []
        return [
            {"service": "Esri Wayback", "status": probes.get("Wayback", ""),
             "on this machine": f"{sum(r.entries for r in wayback)} catalogue/metadata answers cached (tiles never)",
             "cached": cached_text(wayback, now)},
            {"service": "Sentinel-2 cloudless (EOX)", "status": probes.get("Sentinel-2 cloudless", ""),
             "on this machine": f"{sum(r.entries for r in eox)} tiles cached", "cached": cached_text(eox, now, "tile")},
            {"service": "Sentinel-2 scenes (STAC)", "status": probes.get("Sentinel-2 scenes", ""),
             "on this machine": f"{sum(r.entries for r in scenes)} scene listings cached",
             "cached": cached_text(scenes, now, "listing")},
            {"service": "Local images", "status": "always available",
             "on this machine": f"{len(local)} imported images", "cached": "kept until deleted"},
        ]
