"""EOX Sentinel-2 cloudless yearly mosaics: yearly context layers, never evidence of a date.

Each mosaic blends many acquisition days into one cloud-free picture, so its Captures carry
DateCertainty.COMPOSITE and no date; a capture is provider "eox-s2cloudless" with the year as its
id (image key "eox-s2cloudless:2020"), the year also in `extra`. The cache still records tiles
under each year's tile-provider key ("eox-s2cloudless-2020"), which carries that year's licence.
Their licences (CC BY 4.0 for 2016, CC BY-NC-SA 4.0 from 2018) allow server-side copies, so tiles
go through the cache and a site once read can be read again offline. Tiles are decoded with an
explicit JPEG/PNG driver after a magic byte check, never by GDAL's format sniffing (see the
reliability brief on disguised VRT files).
"""

from __future__ import annotations

import datetime as dt
import math
import warnings
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .base import BBox, Capture, Chip, DateCertainty
from .cache import Cache, fetch
from .errors import AntimeridianCrossing, BadResponse, ImageryError, UnknownProvider
from .http import HttpClient, looks_like_image
from .providers import EOX_MOSAICS, TileProvider
from .tiles import Tile, lat2tile, lon2tile

KEY = "eox-s2cloudless"
HALF_WORLD = 20037508.342789244  # Web Mercator metres from 0 to 180°
TILE_PX = 256


def fetch_tiles(client: HttpClient, cache: Cache | None, provider: TileProvider, tiles: Iterable[Tile],
                url_template: str | None = None, **params: object) -> dict[Tile, bytes | ImageryError]:
    """Tile bytes (or the typed error) per tile, in parallel; cached only where the provider allows it.

    url_template replaces the provider's URL (a local server in tests); the licence stays the provider's.
    """
    tile_list = list(tiles)

    def one(t: Tile) -> bytes | ImageryError:
        url = (url_template.format(z=t.z, x=t.x, y=t.y, year=provider.year, **params) if url_template
               else provider.tile_url(t.z, t.x, t.y, **params))
        try:
            return fetch(client, cache, url, provider=provider.key, kind="tile", expect="image")[0]
        except ImageryError as err:
            return err

    if not tile_list:
        return {}
    with ThreadPoolExecutor(max_workers=min(client.config.concurrency, len(tile_list))) as pool:
        return dict(zip(tile_list, pool.map(one, tile_list), strict=True))


def tile_px(px: np.ndarray) -> np.ndarray:
    """A decoded tile on TILE_PX x TILE_PX pixels. An XYZ tile covers the same ground whatever its pixel count (a
    512-pixel tile is the same place at twice the detail), so another size is resampled (nearest pixel centre),
    never cropped or padded."""
    _, h, w = px.shape
    if (h, w) == (TILE_PX, TILE_PX):
        return px
    rows = ((np.arange(TILE_PX) + 0.5) * h / TILE_PX).astype(int)
    cols = ((np.arange(TILE_PX) + 0.5) * w / TILE_PX).astype(int)
    return px[:, rows[:, None], cols[None, :]]


def decode_tile(body: bytes) -> np.ndarray:
    """(3, 256, 256) uint8 from JPEG or PNG bytes; BadResponse for anything else."""
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning, RasterioError
    from rasterio.io import MemoryFile

    if not looks_like_image(body):
        raise BadResponse(f"tile is not a complete image ({len(body)} bytes)")
    driver = "PNG" if body.startswith(b"\x89PNG") else "JPEG" if body.startswith(b"\xff\xd8") else None
    if driver is None:
        raise BadResponse("tile is neither JPEG nor PNG")
    try:
        with warnings.catch_warnings(), rasterio.Env(GDAL_PAM_ENABLED="NO"), MemoryFile(body) as mem:
            warnings.simplefilter("ignore", NotGeoreferencedWarning)  # tiles carry no georeferencing by design
            src = mem.open(driver=driver)
            with src:
                if src.width > 1024 or src.height > 1024 or src.count > 4:
                    raise BadResponse(f"tile of {src.width}x{src.height}x{src.count} is not a map tile")
                data = src.read()
    except RasterioError as err:
        raise BadResponse(f"tile cannot be decoded ({err})") from err
    if data.shape[0] == 1:
        data = np.repeat(data, 3, axis=0)
    return data[:3].astype(np.uint8)


def _mercator(lon: float, lat: float) -> tuple[float, float]:
    lat = max(-85.0511287798066, min(85.0511287798066, lat))
    return lon * HALF_WORLD / 180, math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)) * HALF_WORLD / math.pi


class EoxMosaics:
    """ImagerySource for the yearly Sentinel-2 cloudless mosaics."""

    key = KEY

    def __init__(self, client: HttpClient, cache: Cache | None = None, *, layers: Sequence[TileProvider] = EOX_MOSAICS,
                 max_tiles: int = 64, url_template: str | None = None) -> None:
        self.url_template = url_template  # {z} {x} {y} {year}: injectable for tests; production uses the providers'
        self.client = client
        self.cache = cache
        self.layers = {str(p.year): p for p in layers}  # by capture id: the year
        self.max_tiles = max_tiles

    def tile_url(self, layer: TileProvider, z: int, x: int, y: int) -> str:
        """Where the server reads one tile of `layer`: the injected template if any (a mirror, a test server),
        else the provider's public URL. (Maps in the browser always use the provider's URL.)"""
        if self.url_template:
            return self.url_template.format(z=z, x=x, y=y, year=layer.year)
        return layer.tile_url(z, x, y)

    def captures(self, bbox: BBox, start: dt.date | None = None, end: dt.date | None = None) -> list[Capture]:
        """One composite per year overlapping [start, end]; newest first. They cover the whole globe."""
        out = []
        for p in self.layers.values():
            assert p.year is not None
            first, last = dt.date(p.year, 1, 1), dt.date(p.year + (1 if p.year == 2016 else 0), 12, 31)
            if (start and last < start) or (end and first > end):
                continue
            out.append(Capture(
                provider=KEY, capture_id=str(p.year), date=None, certainty=DateCertainty.COMPOSITE, resolution_m=10.0,
                licence=p.licence, attribution=p.attribution_text, sensor="Sentinel-2",
                extra={"year": p.year, "period": (first.isoformat(), last.isoformat()), "composite": True,
                       "label": f"{p.title}: a blend of many dates; cannot date an event",
                       "tile_url": p.url, "max_native_zoom": p.max_native_zoom, "licence_url": p.licence_url},
            ))
        return sorted(out, key=lambda c: c.extra["year"], reverse=True)

    def _zoom(self, bbox: BBox, size: tuple[int, int], native: int) -> int:
        """The coarsest zoom giving at least the requested pixels, capped by native zoom and tile budget."""
        w, s, e, n = bbox
        for z in range(0, native + 1):
            tx = lon2tile(e, z) - lon2tile(w, z) + 1
            ty = lat2tile(s, z) - lat2tile(n, z) + 1
            if tx * ty > self.max_tiles:
                return max(0, z - 1)
            x0, _ = _mercator(w, n)
            x1, _ = _mercator(e, s)
            if (x1 - x0) / (2 * HALF_WORLD / 2**z / TILE_PX) >= size[0]:
                return z
        return native

    def read(self, capture: Capture, bbox: BBox, size: tuple[int, int]) -> Chip:
        """The mosaic cut to bbox as (3, height, width) in EPSG:3857, nearest-neighbour resampled."""
        layer = self.layers.get(capture.capture_id) if capture.provider == KEY else None
        if layer is None:
            raise UnknownProvider(f"not an EOX mosaic: {capture.provider}:{capture.capture_id}")
        w, s, e, n = bbox
        if w > e:
            raise AntimeridianCrossing(f"bbox {bbox} crosses the antimeridian; read each side separately")
        width, height = size
        z = self._zoom(bbox, size, layer.max_native_zoom)
        x0, x1, y0, y1 = lon2tile(w, z), lon2tile(e, z), lat2tile(n, z), lat2tile(s, z)
        tiles = [Tile(z, x, y) for y in range(y0, y1 + 1) for x in range(x0, x1 + 1)]
        got = fetch_tiles(self.client, self.cache, layer, tiles, self.url_template)
        errors = [v for v in got.values() if isinstance(v, ImageryError)]
        if errors:
            raise errors[0]
        mosaic = np.zeros((3, (y1 - y0 + 1) * TILE_PX, (x1 - x0 + 1) * TILE_PX), dtype=np.uint8)
        for t, body in got.items():
            assert isinstance(body, bytes)
            r, c = (t.y - y0) * TILE_PX, (t.x - x0) * TILE_PX
            mosaic[:, r:r + TILE_PX, c:c + TILE_PX] = tile_px(decode_tile(body))
        # output grid in metres, then nearest mosaic pixel per output pixel
        mx0, my1 = _mercator(w, n)
        mx1, my0 = _mercator(e, s)
        res = 2 * HALF_WORLD / 2**z / TILE_PX
        origin_x, origin_y = x0 * TILE_PX * res - HALF_WORLD, HALF_WORLD - y0 * TILE_PX * res
        xs = mx0 + (np.arange(width) + 0.5) * (mx1 - mx0) / width
        ys = my1 - (np.arange(height) + 0.5) * (my1 - my0) / height
        cols = np.clip(((xs - origin_x) / res).astype(int), 0, mosaic.shape[2] - 1)
        rows = np.clip(((origin_y - ys) / res).astype(int), 0, mosaic.shape[1] - 1)
        data = mosaic[:, rows[:, None], cols[None, :]]
        transform = ((mx1 - mx0) / width, 0.0, mx0, 0.0, -(my1 - my0) / height, my1)
        return Chip(capture=capture, data=data, crs="EPSG:3857", transform=transform, nodata=None)
