"""EOX mosaics rule by rule (issue 22): reads spanning several tiles put every pixel where the tile grid says
(checked against pyproj's Web Mercator), the zoom is the coarsest that gives the pixels asked within the tile
budget, tiles of every odd kind decode or are refused with their reason, and the yearly periods' boundaries."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np
import pytest
import rasterio
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pyproj import Transformer
from rasterio.io import MemoryFile

from imagery.base import Capture, DateCertainty
from imagery.errors import AntimeridianCrossing, BadResponse, NotFoundError, UnknownProvider
from imagery.http import looks_like_image
from imagery.mosaics import HALF_WORLD, TILE_PX, EoxMosaics, _mercator, decode_tile, fetch_tiles, tile_px
from imagery.providers import EOX_MOSAICS, get_provider
from imagery.tiles import Tile, lat2tile, lon2tile

TEMPLATE = "https://eox.example/{year}/{z}/{y}/{x}.png"
TO_3857 = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)


def png(data: np.ndarray) -> bytes:
    with MemoryFile() as mem:
        with mem.open(driver="PNG", width=data.shape[2], height=data.shape[1], count=data.shape[0],
                      dtype=data.dtype.name) as dst:
            dst.write(data)
        return bytes(mem.read())


def jpeg(data: np.ndarray) -> bytes:
    with MemoryFile() as mem:
        with mem.open(driver="JPEG", width=data.shape[2], height=data.shape[1], count=data.shape[0],
                      dtype="uint8", quality=100) as dst:
            dst.write(data)
        return bytes(mem.read())


@functools.lru_cache(maxsize=512)
def coded_tile(t: Tile) -> bytes:
    """Red = column in the tile, green = row in the tile, blue = which tile."""
    cols, rows = np.meshgrid(np.arange(TILE_PX), np.arange(TILE_PX))
    blue = np.full((TILE_PX, TILE_PX), (t.x * 3 + t.y * 5) % 256)
    return png(np.stack([cols, rows, blue]).astype(np.uint8))


@dataclass
class Tiles:
    """An HttpClient stand-in serving coded tiles for any URL of TEMPLATE (or an error for listed tiles)."""

    failing: dict[tuple[int, int, int], Exception] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)
    offline: bool = False
    make: Callable[[Tile], bytes] = coded_tile

    def __post_init__(self) -> None:
        self.stats = SimpleNamespace(requests=0)
        self.config = SimpleNamespace(concurrency=3)

    def get(self, url: str, expect: str | None = None) -> SimpleNamespace:
        self.asked.append(url)
        z, y, x = (int(v) for v in url.removesuffix(".png").split("/")[-3:])
        if (z, x, y) in self.failing:
            raise self.failing[(z, x, y)]
        return SimpleNamespace(url=url, status=200, headers={}, body=self.make(Tile(z, x, y)), elapsed=0.0)


def zooms(client: Tiles) -> set[int]:
    return {int(u.split("/")[-3]) for u in client.asked}


def capture(year: int = 2020) -> Capture:
    return next(c for c in EoxMosaics(Tiles()).captures((0, 0, 1, 1)) if c.capture_id == str(year))  # type: ignore[arg-type]


@settings(max_examples=25, deadline=None)
@given(lon=st.floats(-179.0, 178.0), lat=st.floats(-80.0, 79.0), dx=st.floats(0.001, 0.5), dy=st.floats(0.001, 0.5),
       width=st.integers(3, 300), height=st.integers(3, 300))
@example(lon=7.0, lat=0.0, dx=0.03125, dy=0.5, width=183, height=3)  # the tile budget, not the pixels, decides
def test_a_read_over_several_tiles_puts_every_pixel_where_the_tile_grid_says(lon, lat, dx, dy, width, height):
    client = Tiles()
    bbox = (lon, lat, lon + dx, lat + dy)
    chip = EoxMosaics(client, url_template=TEMPLATE).read(capture(), bbox, (width, height))  # type: ignore[arg-type]
    (z,) = zooms(client)
    x0, x1, y0, y1 = lon2tile(lon, z), lon2tile(lon + dx, z), lat2tile(lat + dy, z), lat2tile(lat, z)
    assert sorted(client.asked) == sorted(TEMPLATE.format(year=2020, z=z, x=x, y=y)
                                          for x in range(x0, x1 + 1) for y in range(y0, y1 + 1))
    assert chip.data.shape == (3, height, width) and chip.crs == "EPSG:3857" and chip.nodata is None
    mx0, my0 = TO_3857.transform(lon, lat)
    mx1, my1 = TO_3857.transform(lon + dx, lat + dy)
    assert chip.transform == pytest.approx(((mx1 - mx0) / width, 0.0, mx0, 0.0, -(my1 - my0) / height, my1),
                                           rel=1e-9, abs=1e-6)
    res = 2 * HALF_WORLD / 2**z / TILE_PX
    # the coarsest zoom giving at least `width` pixels across, or the native one, or the last within the tile budget
    finer = (lon2tile(lon + dx, z + 1) - lon2tile(lon, z + 1) + 1) * (lat2tile(lat, z + 1) - lat2tile(lat + dy, z + 1)
                                                                      + 1)
    assert (mx1 - mx0) / res >= width * (1 - 1e-9) or z == 14 or finer > 64
    if z > 0:
        assert (mx1 - mx0) / (2 * res) < width * (1 + 1e-9)
    # every pixel: the coded tile under its centre (away from pixel edges, where rounding may differ)
    for i in range(0, height, max(1, height // 7)):
        for j in range(0, width, max(1, width // 7)):
            x = mx0 + (j + 0.5) * (mx1 - mx0) / width
            y = my1 - (i + 0.5) * (my1 - my0) / height
            gc, gr = (x + HALF_WORLD) / res, (HALF_WORLD - y) / res
            if min(abs(gc - round(gc)), abs(gr - round(gr))) < 1e-6:
                continue
            col, row = int(gc), int(gr)
            tx, ty = col // TILE_PX, row // TILE_PX
            assert tuple(chip.data[:, i, j]) == (col % TILE_PX, row % TILE_PX, (tx * 3 + ty * 5) % 256), (i, j)


def test_the_zoom_is_capped_by_the_tile_budget_and_by_the_native_zoom():
    bbox = (10.0, 45.0, 10.6, 45.4)
    many = EoxMosaics(Tiles(), max_tiles=1)  # type: ignore[arg-type]
    budget = [z for z in range(15) if (lon2tile(10.6, z) - lon2tile(10.0, z) + 1)
              * (lat2tile(45.0, z) - lat2tile(45.4, z) + 1) > 1][0]
    assert many._zoom(bbox, (10_000, 10_000), 14) == budget - 1
    assert EoxMosaics(Tiles(), max_tiles=0)._zoom(bbox, (8, 8), 14) == 0  # type: ignore[arg-type]
    assert EoxMosaics(Tiles(), max_tiles=10**9)._zoom(bbox, (10**9, 8), 14) == 14  # type: ignore[arg-type]
    # exactly enough pixels at z: z, not z + 1
    w, _, e, _ = bbox
    for z in (5, 8, 11):
        px = (TO_3857.transform(e, 45.0)[0] - TO_3857.transform(w, 45.0)[0]) / (2 * HALF_WORLD / 2**z / TILE_PX)
        assert EoxMosaics(Tiles(), max_tiles=10**9)._zoom(bbox, (math.floor(px), 8), 14) == z  # type: ignore[arg-type]


def test_mercator_against_pyproj_and_clamped_at_the_poles():
    for lon, lat in [(180.0, 0.0), (-180.0, 85.0511287798066), (12.5, -33.9), (0.0, 0.0)]:
        assert _mercator(lon, lat) == pytest.approx(TO_3857.transform(lon, lat), abs=1e-6)
    assert _mercator(10.0, 90.0) == pytest.approx((10 * HALF_WORLD / 180, HALF_WORLD), abs=1e-6)
    assert _mercator(10.0, -90.0) == pytest.approx((10 * HALF_WORLD / 180, -HALF_WORLD), abs=1e-6)


def test_the_first_failing_tile_fails_the_read_and_reads_refuse_what_they_cannot_do():
    err = NotFoundError("tile gone", url="u", status=404)
    lon, lat = 10.0, 45.0
    z = 14
    t = Tile(z, lon2tile(lon, z), lat2tile(lat, z))
    client = Tiles(failing={(t.z, t.x, t.y): err})
    src = EoxMosaics(client, url_template=TEMPLATE)  # type: ignore[arg-type]
    with pytest.raises(NotFoundError) as got:
        src.read(capture(), (lon, lat - 1e-4, lon + 1e-4, lat), (2000, 2000))
    assert got.value is err
    with pytest.raises(UnknownProvider, match=r"^not an EOX mosaic: eox-s2cloudless:1999$"):
        src.read(Capture("eox-s2cloudless", "1999", None, DateCertainty.COMPOSITE), (0, 0, 1, 1), (4, 4))
    with pytest.raises(UnknownProvider, match=r"^not an EOX mosaic: local:2020$"):
        src.read(Capture("local", "2020", None, DateCertainty.COMPOSITE), (0, 0, 1, 1), (4, 4))
    with pytest.raises(AntimeridianCrossing, match=r"^bbox \(179\.9, -1, -179\.9, 1\) crosses the antimeridian; read "
                                                   r"each side separately$"):
        src.read(capture(), (179.9, -1, -179.9, 1), (8, 8))


def test_fetch_tiles_returns_each_tiles_bytes_or_error_and_fills_extra_placeholders():
    err = BadResponse("bad")
    client = Tiles(failing={(3, 1, 2): err})
    layer = EOX_MOSAICS[0]
    got = fetch_tiles(client, None, layer, [Tile(3, 1, 2), Tile(3, 2, 2)],  # type: ignore[arg-type]
                      "https://eox.example/{year}/{z}/{y}/{x}.png{q}", q="")
    assert got[Tile(3, 1, 2)] is err and got[Tile(3, 2, 2)] == coded_tile(Tile(3, 2, 2))
    assert sorted(client.asked) == [f"https://eox.example/{layer.year}/3/2/1.png",
                                    f"https://eox.example/{layer.year}/3/2/2.png"]
    assert fetch_tiles(client, None, layer, []) == {}  # type: ignore[arg-type]


def test_tile_urls_follow_the_template_or_the_providers_url():
    layer = EOX_MOSAICS[-1]
    assert EoxMosaics(Tiles(), url_template=TEMPLATE).tile_url(layer, 5, 6, 7) == (  # type: ignore[arg-type]
        f"https://eox.example/{layer.year}/5/7/6.png")
    assert EoxMosaics(Tiles()).tile_url(layer, 5, 6, 7) == layer.tile_url(5, 6, 7)  # type: ignore[arg-type]
    assert "{" not in layer.tile_url(5, 6, 7)


# -- decoding -----------------------------------------------------------------------------------------------------


def test_grey_rgba_sixteen_bit_and_jpeg_tiles_decode_to_three_bytes_per_pixel():
    grey = np.arange(64, dtype=np.uint8).reshape(1, 8, 8)
    assert np.array_equal(decode_tile(png(grey)), np.repeat(grey, 3, axis=0))
    rgba = np.arange(4 * 64, dtype=np.uint8).reshape(4, 8, 8)
    out = decode_tile(png(rgba))
    assert out.dtype == np.uint8 and np.array_equal(out, rgba[:3])
    two = np.array([[[7, 300]]], dtype=np.uint16)
    assert decode_tile(png(two)).tolist() == [[[7, 44]]] * 3  # cast, as astype(uint8) does
    flat = np.full((3, 16, 16), 128, dtype=np.uint8)
    assert np.abs(decode_tile(jpeg(flat)).astype(int) - 128).max() <= 1
    wide = np.zeros((1, 1, 1024), dtype=np.uint8)
    assert decode_tile(png(wide)).shape == (3, 1, 1024)


@pytest.mark.parametrize("shape", [(1, 1, 1025), (1, 1025, 1)])
def test_an_oversized_tile_is_refused_with_its_size(shape):
    with pytest.raises(BadResponse, match=rf"^tile of {shape[2]}x{shape[1]}x1 is not a map tile$"):
        decode_tile(png(np.zeros(shape, dtype=np.uint8)))


def test_what_is_not_a_png_or_jpeg_tile_is_refused_with_the_reason():
    with pytest.raises(BadResponse, match=r"^tile is not a complete image \(9 bytes\)$"):
        decode_tile(b"<html>hi!")
    with pytest.raises(BadResponse, match=r"^tile is neither JPEG nor PNG$"):
        decode_tile(b"GIF89a....")
    body = png(np.random.default_rng(0).integers(0, 255, (3, 64, 64), dtype=np.uint8))
    broken = body[:40] + b"\x00" * 300 + body[340:]
    with pytest.raises(BadResponse, match=r"^tile cannot be decoded \("):
        decode_tile(broken)
    assert rasterio.__version__


# -- yearly periods -----------------------------------------------------------------------------------------------


def test_each_years_period_bounds_the_range_filter():
    src = EoxMosaics(Tiles())  # type: ignore[arg-type]
    years = [p.year for p in EOX_MOSAICS]

    def kept(start: dt.date | None, end: dt.date | None) -> list[int]:
        return [c.extra["year"] for c in src.captures((0, 0, 1, 1), start, end)]

    assert kept(None, None) == sorted(years, reverse=True)
    assert 2016 in kept(dt.date(2017, 12, 31), None) and 2016 not in kept(dt.date(2018, 1, 1), None)
    assert 2018 in kept(None, dt.date(2018, 1, 1)) and 2018 not in kept(None, dt.date(2017, 12, 31))
    assert kept(dt.date(2019, 12, 31), dt.date(2020, 1, 1)) == [2020, 2019]
    cap = next(c for c in src.captures((0, 0, 1, 1)) if c.extra["year"] == 2016)
    p = EOX_MOSAICS[years.index(2016)]
    assert (cap.provider, cap.capture_id, cap.date, cap.certainty, cap.resolution_m, cap.sensor) == (
        "eox-s2cloudless", "2016", None, DateCertainty.COMPOSITE, 10.0, "Sentinel-2")
    assert (cap.licence, cap.attribution) == (p.licence, p.attribution_text)
    assert cap.extra == {"year": 2016, "period": ("2016-01-01", "2017-12-31"), "composite": True,
                         "label": f"{p.title}: a blend of many dates; cannot date an event", "tile_url": p.url,
                         "max_native_zoom": p.max_native_zoom, "licence_url": p.licence_url}


# -- boundaries the survivors of the mutation run moved (issue 22) ---------------------------------------------------


def global_px_lonlat(z: int, gx: float, gy: float) -> tuple[float, float]:
    """(lon, lat) of a point given in global pixels of zoom z (column gx from 180°W, row gy from the top)."""
    res = 2 * HALF_WORLD / 2**z / TILE_PX
    return gx / (TILE_PX * 2**z) * 360 - 180, math.degrees(math.atan(math.sinh((HALF_WORLD - gy * res) / HALF_WORLD
                                                                               * math.pi)))


def tile_pixels(t: Tile, h: int, w: int) -> np.ndarray:
    """A (3, h, w) tile: red = column mod 256, green = row mod 256, blue = which tile, +100 right of column 255 and
    +50 below row 255 (so the part of an oversized tile that was kept can be told)."""
    cols, rows = np.meshgrid(np.arange(w), np.arange(h))
    blue = (t.x * 3 + t.y * 5 + 100 * (cols >= TILE_PX) + 50 * (rows >= TILE_PX)) % 256
    return np.stack([cols % 256, rows % 256, blue]).astype(np.uint8)


@pytest.mark.parametrize(("z", "gx0", "gy0", "sx", "sy", "width", "height", "all_rows"), [
    # one tile; the first output pixel in the mosaic's row 0 and column 0, the last in its last row and column
    (10, 256 * 530 + 0.3, 256 * 350 + 0.3, 255.5, 255.5, 255, 255, True),
    # three tiles across, two down, output pixels half a mosaic pixel high; the last column is the mosaic's last
    (12, 256 * 2000 + 200.3, 256 * 1500 + 10.3, 567.5, 300.5, 567, 601, False),
])
def test_every_pixel_of_a_read_to_the_mosaics_edges(z, gx0, gy0, sx, sy, width, height, all_rows):
    client = Tiles()
    w, n = global_px_lonlat(z, gx0, gy0)
    e, s = global_px_lonlat(z, gx0 + sx, gy0 + sy)
    cap = capture()
    chip = EoxMosaics(client, url_template=TEMPLATE).read(cap, (w, s, e, n), (width, height))  # type: ignore[arg-type]
    assert zooms(client) == {z} and chip.capture is cap
    gc = gx0 + (np.arange(width) + 0.5) * sx / width  # output pixel centres in global pixels of zoom z
    gr = gy0 + (np.arange(height) + 0.5) * sy / height
    assert min(np.abs(gc - np.round(gc)).min(), np.abs(gr - np.round(gr)).min()) > 1e-6  # no centre on an edge
    col, row = np.floor(gc).astype(int)[None, :], np.floor(gr).astype(int)[:, None]
    want = np.stack(np.broadcast_arrays(col % 256, row % 256, ((col // 256) * 3 + (row // 256) * 5) % 256))
    assert np.array_equal(chip.data, want)
    assert col.max() + 1 == (lon2tile(e, z) + 1) * TILE_PX  # the mosaic's last column was read
    assert not all_rows or (col.min() % TILE_PX, row.min() % TILE_PX, row.max() + 1) == (0, 0, (lat2tile(s, z) + 1)
                                                                                         * TILE_PX)


@pytest.mark.parametrize(("h", "w"), [(512, 512), (128, 256), (256, 128), (300, 200)])
def test_a_tile_of_another_size_is_resampled_to_its_place(h, w):
    """A tile covers the same ground at any pixel count: one of another size is resampled to 256 x 256 (nearest pixel
    centre), not cropped (a 512-pixel tile once broke every read over two tiles or more with numpy's ValueError)."""
    z, gx0, gy0 = 10, 256 * 530 + 150.25, 256 * 350 + 120.25
    client = Tiles(make=lambda t: png(tile_pixels(t, h, w)))
    w_, n = global_px_lonlat(z, gx0, gy0)
    e, s = global_px_lonlat(z, gx0 + 255.5, gy0 + 255.5)
    chip = EoxMosaics(client, url_template=TEMPLATE).read(capture(), (w_, s, e, n), (255, 255))  # type: ignore[arg-type]
    assert zooms(client) == {z} and len(client.asked) == 4
    gc = np.floor(gx0 + (np.arange(255) + 0.5) * 255.5 / 255).astype(int)[None, :]
    gr = np.floor(gy0 + (np.arange(255) + 0.5) * 255.5 / 255).astype(int)[:, None]
    # the source pixel each 256-grid pixel takes: its centre scaled to the tile's own size
    sc = np.floor((gc % 256 + 0.5) * w / 256).astype(int)
    sr = np.floor((gr % 256 + 0.5) * h / 256).astype(int)
    blue = ((gc // 256) * 3 + (gr // 256) * 5 + 100 * (sc >= 256) + 50 * (sr >= 256)) % 256
    want = np.stack(np.broadcast_arrays(sc % 256, sr % 256, blue)).astype(np.uint8)
    assert np.array_equal(chip.data, want)


def test_tile_px_keeps_a_256_tile_and_resamples_others_by_pixel_centre():
    square = np.arange(3 * 256 * 256, dtype=np.uint32).reshape(3, 256, 256).astype(np.uint8)
    assert tile_px(square) is square
    big = np.arange(512, dtype=np.uint16)[None, None, :].repeat(2, axis=1).repeat(3, axis=0)  # (3, 2, 512)
    out = tile_px(big)
    assert out.shape == (3, 256, 256)
    assert list(out[0, 0, :4]) == [1, 3, 5, 7] and out[0, 0, -1] == 511  # centres of 512 pixels in 256
    assert set(out[0, :, 0]) == {1}  # 2 rows stretched to 256


def test_a_point_on_a_tile_edge_reads_the_edge_pixel_of_the_tile_the_grid_chose():
    """Where lon2tile/lat2tile and the metre grid disagree in the last bit, the clip keeps the read on the tile the
    tile index chose: its last column and row (not a pixel past the mosaic, nor a black one)."""
    z = 7
    lon = math.nextafter(Tile(z, 22, 0).bounds()[0], -math.inf)  # just west of column 22's edge
    lat = Tile(z, 0, 7).bounds()[3]  # row 7's top edge
    res = 2 * HALF_WORLD / 2**z / TILE_PX
    assert (lon2tile(lon, z), lat2tile(lat, z)) == (21, 6)
    mx, my = _mercator(lon, lat)
    assert (mx + HALF_WORLD) / res >= 22 * TILE_PX and (HALF_WORLD - my) / res >= 7 * TILE_PX  # past those tiles
    layer = dataclasses.replace(EOX_MOSAICS[-1], max_native_zoom=z)
    client = Tiles()
    src = EoxMosaics(client, layers=[layer], url_template=TEMPLATE)  # type: ignore[arg-type]
    cap = src.captures((0, 0, 1, 1))[0]  # type: ignore[arg-type]
    chip = src.read(cap, (lon, lat, lon, lat), (3, 2))
    assert client.asked == [TEMPLATE.format(year=layer.year, z=7, y=6, x=21)]
    assert chip.data.tolist() == [[[255] * 3] * 2, [[255] * 3] * 2, [[(21 * 3 + 6 * 5) % 256] * 3] * 2]
    assert chip.transform == (0.0, 0.0, mx, 0.0, -0.0, my)


def test_zoom_boundaries_zero_native_and_exactly_enough_pixels():
    src = EoxMosaics(Tiles(), max_tiles=10**9)  # type: ignore[arg-type]
    assert src._zoom((-10.0, 0.0, 10.0, 10.0), (8, 8), 14) == 0  # 14.2 pixels across at z0
    # 10.01° - 10° is 116.5 pixels at z14, 7.3 at z10: not enough at the native zoom gives the native zoom
    assert src._zoom((10.0, 45.0, 10.01, 45.01), (200, 8), 14) == 14
    assert src._zoom((10.0, 45.0, 10.01, 45.01), (10, 8), 10) == 10
    assert src._zoom((10.0, 45.0, 10.01, 45.01), (50, 8), 14) == 13  # 29.1 at z12, 58.3 at z13
    # 45° is exactly 256 pixels at z3
    for width, z in [(255, 3), (256, 3), (257, 4)]:
        assert src._zoom((0.0, 0.0, 45.0, 10.0), (width, 8), 14) == z


def test_the_default_tile_budget_is_64_tiles():
    # one row of tiles; columns 100..164 at z8 (65 tiles), 50..82 at z7 (33)
    bbox = (100.5 / 256 * 360 - 180, 0.1, 164.5 / 256 * 360 - 180, 0.2)
    assert [lon2tile(bbox[2], z) - lon2tile(bbox[0], z) + 1 for z in (7, 8)] == [33, 65]
    assert lat2tile(0.1, 8) == lat2tile(0.2, 8)
    assert EoxMosaics(Tiles())._zoom(bbox, (10**6, 8), 14) == 7  # type: ignore[arg-type]
    assert EoxMosaics(Tiles(), max_tiles=65)._zoom(bbox, (10**6, 8), 14) == 8  # type: ignore[arg-type]


@dataclass
class AnyUrl:
    """An HttpClient stand-in answering every URL with one small PNG."""

    asked: list[str] = field(default_factory=list)
    offline: bool = False

    def __post_init__(self) -> None:
        self.stats = SimpleNamespace(requests=0)
        self.config = SimpleNamespace(concurrency=2)

    def get(self, url: str, expect: str | None = None) -> SimpleNamespace:
        self.asked.append(url)
        return SimpleNamespace(url=url, status=200, headers={}, body=coded_tile(Tile(0, 0, 0)), elapsed=0.0)


def test_fetch_tiles_without_a_template_asks_the_providers_urls_with_their_extra_placeholders():
    client = AnyUrl()
    layer = EOX_MOSAICS[-1]
    got = fetch_tiles(client, None, layer, [Tile(5, 6, 7), Tile(9, 300, 200)])  # type: ignore[arg-type]
    assert got == {Tile(5, 6, 7): coded_tile(Tile(0, 0, 0)), Tile(9, 300, 200): coded_tile(Tile(0, 0, 0))}
    assert sorted(client.asked) == sorted([layer.tile_url(5, 6, 7), layer.tile_url(9, 300, 200)])
    assert layer.tile_url(5, 6, 7).endswith("/5/7/6.jpg")
    client = AnyUrl()
    wayback = get_provider("esri-wayback")
    assert list(fetch_tiles(client, None, wayback, [Tile(17, 112014, 49659)], release=56102)) == [  # type: ignore[arg-type]
        Tile(17, 112014, 49659)]
    assert client.asked == [wayback.tile_url(17, 112014, 49659, release=56102)]
    assert client.asked[0].endswith("/tile/56102/17/49659/112014")


def test_a_tall_tile_of_1024_rows_decodes():
    assert decode_tile(png(np.zeros((1, 1024, 1), dtype=np.uint8))).shape == (3, 1024, 1)


VRT = b'<VRTDataset rasterXSize="4" rasterYSize="3"><VRTRasterBand dataType="Byte" band="1"/></VRTDataset>'


@pytest.mark.parametrize("body", [b"\xff\xd8\xff\xe0" + VRT + b"\xff\xd9",
                                  b"\x89PNG\r\n\x1a\n" + VRT + b"IEND\xaeB`\x82"], ids=["jpeg", "png"])
def test_a_vrt_behind_image_magic_bytes_is_not_opened_as_a_vrt(body):
    """The driver is named, never sniffed: GDAL would open these bytes as a VRT (which may read local files)."""
    assert looks_like_image(body)
    with MemoryFile(body) as mem, mem.open() as sniffed:
        assert sniffed.driver == "VRT"  # what sniffing would do
    with pytest.raises(BadResponse, match=r"^tile cannot be decoded \("):
        decode_tile(body)
