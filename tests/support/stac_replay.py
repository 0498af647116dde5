"""STAC APIs on 127.0.0.1: the real recorded answers (tests/imagery/data/real-services/stac) and generated
multi-year answers in exactly their shape, plus Planetary Computer's token endpoint and blob files.

Recorded answers are served with only the catalogue host rewritten in absolute URLs (as a mirror would); the
items keep their real asset hosts, which a source reads through `StacConfig.asset_mirrors`.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
from affine import Affine
from rasterio.warp import transform_bounds

from tests.support.rasters import RangeServer, write_cog

DATA = Path(__file__).resolve().parents[1] / "imagery" / "data" / "real-services" / "stac"
EARTH_SEARCH = "https://earth-search.aws.element84.com"
PLANETARY = "https://planetarycomputer.microsoft.com"
C1_BLOB = "e84-earth-search-sentinel-data.s3.us-west-2.amazonaws.com"
PC_BLOB = "sentinel2l2a01.blob.core.windows.net"
PLANT = (127.6509, 39.9164, 127.6627, 39.9254)  # the February 11 Plant's outline bounds (seeds)
UTM52 = "EPSG:32652"


def recorded(name: str) -> dict[str, Any]:
    """One recorded exchange, {"request": ..., "response": ...}."""
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def rehost(obj: Any, real: str, local: str) -> Any:
    """`obj` with every string starting with `real` starting with `local` instead (nothing else changed)."""
    if isinstance(obj, str):
        return local + obj[len(real):] if obj.startswith(real) else obj
    if isinstance(obj, list):
        return [rehost(v, real, local) for v in obj]
    if isinstance(obj, dict):
        return {k: rehost(v, real, local) for k, v in obj.items()}
    return obj


class StacReplay:
    """A RangeServer that answers as Earth Search or Planetary Computer would."""

    def __init__(self, latency: float = 0.0) -> None:
        self.server = RangeServer(latency=latency)
        self.searches: list[dict[str, Any]] = []

    @property
    def url(self) -> str:
        """http://127.0.0.1:PORT."""
        return self.server.url

    def close(self) -> None:
        """Stop the server."""
        self.server.close()

    # -- recorded -----------------------------------------------------------------------------
    def earth_search_recorded(self, fail_after: int | None = None) -> str:
        """Serve the recorded Earth Search root and its two search pages (page 2's `next` link leads to a page
        that was not recorded: 503). The catalogue URL to open."""
        root = rehost(recorded("earth-search-v1-root.json")["response"], EARTH_SEARCH, self.url)
        pages = [rehost(recorded(f"earth-search-v1-search-page{n}.json")["response"], EARTH_SEARCH, self.url)
                 for n in (1, 2)]
        tokens = {recorded("earth-search-v1-search-page2.json")["request"]["body"]["next"]: 1}

        def search(body: bytes) -> Any:
            req = json.loads(body or b"{}")
            self.searches.append(req)
            index = tokens.get(req.get("next"), 0 if "next" not in req else 2)
            if index >= len(pages) or (fail_after is not None and index >= fail_after):
                return 503, {"code": "ServiceUnavailable", "description": "page not recorded"}
            return pages[index]

        self.server.json_routes.update({"/v1": root, "/v1/": root, "/v1/search": search})
        return f"{self.url}/v1"

    def planetary_recorded(self) -> str:
        """Serve the recorded Planetary Computer root and its search; the catalogue URL to open."""
        root = rehost(recorded("planetary-computer-root.json")["response"], PLANETARY, self.url)
        page = rehost(recorded("planetary-computer-search-s2-l2a.json")["response"], PLANETARY, self.url)

        def search(body: bytes) -> Any:
            self.searches.append(json.loads(body or b"{}"))
            return page

        self.server.json_routes.update({"/api/stac/v1": root, "/api/stac/v1/": root, "/api/stac/v1/search": search})
        return f"{self.url}/api/stac/v1"

    def token_endpoint(self, tokens: list[tuple[str, dt.datetime]]) -> str:
        """Planetary Computer's SAS token endpoint answering the given (token, expiry) in turn (the last one
        again when they run out); the endpoint URL for `token_url`."""
        served: list[str] = []
        self.tokens_served = served

        def answer(_body: bytes) -> Any:
            token, expiry = tokens[min(len(served), len(tokens) - 1)]
            served.append(token)
            return {"msft:expiry": expiry.strftime("%Y-%m-%dT%H:%M:%SZ"), "token": token}

        self.server.json_routes[f"/api/sas/v1/token/{PC_BLOB.split('.')[0]}/sentinel2-l2"] = answer
        return f"{self.url}/api/sas/v1/token"

    # -- generated ----------------------------------------------------------------------------
    def generated(self, items: list[dict[str, Any]], page_size: int = 100, matched_extra: int = 0,
                  fail_page: int | None = None) -> str:
        """Serve `items` as Earth Search v1 would (its root, pages of `page_size` with `next` tokens in the
        POST body, numberMatched/context); `matched_extra` more matched than served (a short answer),
        `fail_page` (1-based) answers 503. The catalogue URL to open."""
        root = rehost(recorded("earth-search-v1-root.json")["response"], EARTH_SEARCH, self.url)
        template = recorded("earth-search-v1-search-page1.json")["response"]

        def search(body: bytes) -> Any:
            req = json.loads(body or b"{}")
            self.searches.append(req)
            start = int(str(req.get("next", "0")).split(",")[0]) if "next" in req else 0
            number = start // page_size + 1
            if fail_page is not None and number == fail_page:
                return 502, {"code": "BadGateway", "description": "upstream timed out"}
            chunk = items[start:start + page_size]
            page = copy.deepcopy({k: v for k, v in template.items() if k != "features"})
            page["features"] = chunk
            page["numberMatched"] = len(items) + matched_extra
            page["numberReturned"] = len(chunk)
            page["context"] = {"limit": page_size, "matched": len(items) + matched_extra, "returned": len(chunk)}
            nxt = page["links"][0]
            page["links"] = [link for link in page["links"] if link["rel"] != "next"]
            page["links"] = rehost(page["links"], EARTH_SEARCH, self.url)
            if start + page_size < len(items):
                page["links"].insert(0, {**rehost(nxt, EARTH_SEARCH, self.url),
                                         "body": {"next": f"{start + page_size},{chunk[-1]['id']}"}})
            return page

        self.server.json_routes.update({"/v1": root, "/v1/": root, "/v1/search": search})
        return f"{self.url}/v1"


def c1_template() -> dict[str, Any]:
    """A real sentinel-2-c1-l2a item of the recorded Earth Search page 1."""
    page = recorded("earth-search-v1-search-page1.json")["response"]
    return next(f for f in page["features"] if f["collection"] == "sentinel-2-c1-l2a")


def generated_item(template: dict[str, Any], *, tile: str, when: dt.datetime, cloud: float,
                   footprint: tuple[float, float, float, float], origin: tuple[float, float],
                   host: str = C1_BLOB, scl: bool = True) -> dict[str, Any]:
    """An item in the template's exact shape (same keys, asset names, proj:/s2:/mgrs fields, links) for a tile
    of UTM 52N at `origin` (upper left, metres), its data footprint `footprint` (degrees), dated `when`."""
    item = copy.deepcopy(template)
    stamp = when.strftime("%Y%m%dT%H%M%S")
    name = f"S2B_T{tile}_{stamp}_L2A"
    folder = f"sentinel-2-c1-l2a/{tile[:2]}/{tile[2]}/{tile[3:]}/{when.year}/{when.month}/{name}"
    west, south, east, north = footprint
    item["id"] = name
    item["bbox"] = [west, south, east, north]
    item["geometry"] = {"type": "Polygon", "coordinates": [[[west, south], [east, south], [east, north],
                                                            [west, north], [west, south]]]}
    props = item["properties"]
    props.update({"datetime": when.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "eo:cloud_cover": cloud, "proj:epsg": 32652,
                  "mgrs:utm_zone": int(tile[:2]), "mgrs:latitude_band": tile[2], "mgrs:grid_square": tile[3:],
                  "grid:code": f"MGRS-{tile}", "s2:tile_id": f"S2B_OPER_MSI_L2A_TL_2BPS_{stamp}_A000000_T{tile}_N05.11",
                  "proj:centroid": {"lat": (south + north) / 2, "lon": (west + east) / 2}})
    x0, y0 = origin
    for asset in item["assets"].values():
        if "href" in asset and asset["href"].startswith("https://"):
            asset["href"] = f"https://{host}/{folder}/{asset['href'].rsplit('/', 1)[-1]}"
        if "proj:transform" in asset:
            res = asset["proj:transform"][0]
            asset["proj:transform"] = [res, 0, x0, 0, -res, y0]
    if not scl:
        del item["assets"]["scl"]
    item["links"] = [{**link, "href": link["href"].replace(template["id"], name)} for link in item["links"]]
    return item


def scl_cog(path: Path, origin: tuple[float, float], size: int, cloudy_west: float) -> bytes:
    """An SCL COG (20 m, UTM 52N, nodata 0) over `size` pixels from `origin`: class 9 (cloud) over the west
    `cloudy_west` share of the plant's columns, class 4 (vegetation) elsewhere."""
    x0, y0 = origin
    transform = Affine(20, 0, x0, 0, -20, y0)
    scl = np.full((1, size, size), 4, dtype=np.uint8)
    west, south, east, north = transform_bounds("EPSG:4326", UTM52, *PLANT)
    c0, c1 = int((west - x0) // 20), int((east - x0) // 20) + 1
    r0, r1 = int((y0 - north) // 20), int((y0 - south) // 20) + 1
    if cloudy_west > 0:
        scl[0, r0:r1, c0:c0 + max(1, round((c1 - c0) * cloudy_west))] = 9
    return write_cog(path, scl, UTM52, transform, nodata=0, BLOCKSIZE=256).read_bytes()


def plant_timeline(folder: Path, start: dt.date, end: dt.date, every_days: int = 5,
                   stitched: bool = True, host: str = C1_BLOB) -> tuple[list[dict[str, Any]], dict[str, bytes]]:
    """Items over the February 11 Plant every `every_days` days, newest first (as Earth Search sorts), and the
    SCL files to serve at their paths. With `stitched`, the plant lies on a tile edge: tile 52SDG's data ends
    at the plant's middle meridian and 52SEG's begins there, so each date needs both. Cloud over the plant's
    west: none, 40 % or all of it, in turn by date (the fraction the whole plant then has: 0, 0.4, 1.0)."""
    west, _, east, _ = PLANT
    middle = (west + east) / 2
    utm = transform_bounds("EPSG:4326", UTM52, *PLANT)
    origin = (utm[0] // 20 * 20 - 2000, utm[3] // 20 * 20 + 2000)
    variants = [scl_cog(folder / f"scl{n}.tif", origin, 256, share) for n, share in enumerate((0.0, 0.4, 1.0))]
    tiles = [("52SDG", (127.0, 39.5, middle, 40.4)), ("52SEG", (middle, 39.5, 128.3, 40.4))] if stitched else \
        [("52SDG", (127.0, 39.5, 128.3, 40.4))]
    template = c1_template()
    items, files = [], {}
    day, n = start, 0
    while day <= end:
        when = dt.datetime.combine(day, dt.time(2, 25, 31), tzinfo=dt.UTC)
        for tile, footprint in tiles:
            item = generated_item(template, tile=tile, when=when, cloud=float(n % 3) * 30 + 5, footprint=footprint,
                                  origin=origin, host=host)
            files["/" + item["assets"]["scl"]["href"].split("/", 3)[3]] = variants[n % 3]
            items.append(item)
        day += dt.timedelta(days=every_days)
        n += 1
    items.reverse()
    return items, files
