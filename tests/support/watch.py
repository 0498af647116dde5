"""A watched registry for the watch tests and benches: the seed sites plus generated ones, local imports and an
imagery session on the fake Wayback (tests.support.fake_wayback), with what a scan must find.

Since 2026-01-01 (`SINCE`), the site scenario's only new Wayback release with local change is 64001
(2026-02-26), on the seed plant's tile; `yard` gets a local image with a new 7,200 m² roof (a change finding
with figures), `depot` a first local image (new imagery, nothing to compare), `quiet` and the Vinalon complex
nothing, and `broken`'s tiles answer HTTP 500 (a failed site).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from affine import Affine
from pyproj import Transformer
from shapely.geometry import box

from facilities.model import Facility
from facilities.store import Store, open_store
from imagery.aoi import AreaOfInterest
from imagery.cache import Cache
from imagery.http import HttpClient
from imagery.local import LocalSource, import_image
from imagery.mosaics import EoxMosaics
from imagery.session import ImagerySession
from imagery.stac import Sentinel2Source, StacConfig
from imagery.tiles import tiles_for_area
from imagery.wayback import Endpoints, Wayback
from tests.support.fake_wayback import FakeServer, site_scenario, small_config
from tests.support.rasters import UTM52_ORIGIN, write_tif
from tracker.seeding import ensure_seeded
from tracker.watch.run import watch_tables

SINCE = dt.date(2026, 1, 1)
PLANT = "february-11-plant"
ROOF = (slice(400, 640), slice(380, 500))  # 120 m x 60 m at 0.5 m
ROOF_M2 = 7200.0
N = 1000  # 500 m x 500 m at 0.5 m
_TO_LL = Transformer.from_crs("EPSG:32652", "EPSG:4326", always_xy=True)


def _ground(seed: int, roof: bool = False) -> np.ndarray:
    yy, xx = np.mgrid[0:N, 0:N]
    base = (np.sin(xx / 37.0) + np.cos(yy / 23.0)) * 40 + 110
    out = np.stack([base, base + 15, base + 30])
    if roof:
        for b, v in enumerate((70, 120, 200)):
            out[b][ROOF] = v
    return np.clip(np.round(out + np.random.default_rng(seed).normal(0, 4, out.shape)), 0, 255).astype(np.uint8)


def _site(dx: float) -> tuple[Affine, object]:
    """A 500 m image `dx` metres east of the raster origin, and a 100 m site in its middle."""
    x0, y0 = UTM52_ORIGIN[0] + dx, UTM52_ORIGIN[1]
    (w, s), (e, n) = _TO_LL.transform(x0 + 200, y0 - 300), _TO_LL.transform(x0 + 300, y0 - 200)
    return Affine(0.5, 0, x0, 0, -0.5, y0), box(w, s, e, n)


@dataclass
class WatchWorld:
    """A registry with a watchlist, the local images and a session factory over the fake services."""

    store: Store
    data_dir: Path
    endpoints: Endpoints
    server: FakeServer
    tmp: Path

    def session(self, cache_dir: str = "cache") -> ImagerySession:
        """A fresh session (own client, shared cache folder unless told) on the fakes."""
        client = HttpClient(small_config(), rng=random.Random(0))
        cache = Cache(self.tmp / cache_dir)
        return ImagerySession(client=client, cache=cache, wayback=Wayback(client, cache, self.endpoints),
                              eox=EoxMosaics(client, cache), local=LocalSource(self.data_dir),
                              sentinel2=Sentinel2Source(StacConfig(url="http://127.0.0.1:9/stac"), client=client),
                              endpoints=self.endpoints, overlay_dir=self.tmp / "overlays")


EXPECTED_NEWS = {PLANT: {"new-wayback-release"}, "yard": {"new-local-image", "change"}, "depot": {"new-local-image"}}
FAILING = "broken"


def watch_world(tmp: Path, server: FakeServer, endpoints: Endpoints) -> WatchWorld:
    """The seed registry plus yard, depot, quiet and broken, every facility watched (added before SINCE)."""
    store = open_store(str(tmp / "r.gpkg"))
    ensure_seeded(store)
    data_dir = tmp / "data"
    sites = {}
    for n, name in enumerate(("yard", "depot", "quiet", "broken"), 1):
        transform, outline = _site(20_000.0 * n)
        sites[name] = transform
        store.add_facility(Facility(id=name, name=f"Generated {name}", country="KP", category="test",
                                    geometry=outline), actor="tester")
    images = {"yard": [(1, False, dt.date(2025, 6, 1)), (2, True, dt.date(2026, 3, 1))],
              "depot": [(3, False, dt.date(2026, 4, 2))]}
    for name, shots in images.items():
        for seed, roof, day in shots:
            path = write_tif(tmp / f"{name}-{seed}.tif", _ground(seed, roof), "EPSG:32652", sites[name])
            import_image(path, data_dir, day)
    scenario = site_scenario()
    broken = store.get_facility(FAILING)
    scenario.failing_tilemaps = {(t.z, t.x, t.y) for t in tiles_for_area(AreaOfInterest.of(broken.geometry).bbox, 17)}
    server.reset(scenario)
    watch_tables(store).add([f.id for f in store.list_facilities()], actor="tester")
    return WatchWorld(store, data_dir, endpoints, server, tmp)
