"""A registry with one generated site and its local imagery, for the app tests of issue 16 (dating, change,
footprints): facility 'plant' ("Test Plant") over a generated image series (tests/support/series.py) or a
0.5 m building scene (tests/support/scenes.py), imported as local images into the data directory the app reads."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import Point

from facilities.model import Facility, Structure
from facilities.store import GeoPackageStore
from imagery.keys import ImageKey
from imagery.local import import_image
from tests.support.rasters import write_tif
from tests.support.scenes import BuildingScene, building_scene
from tests.support.series import Series, building_series, write_series


@dataclass(frozen=True)
class SeriesSite:
    """The registry file, the app's data directory, the series and its image keys (oldest first)."""

    database: Path
    data_dir: Path
    series: Series
    keys: list[ImageKey]


def _registry(database: Path, outline, structure_geometry) -> None:
    store = GeoPackageStore(database)
    try:
        store.add_facility(Facility(id="plant", name="Test Plant", geometry=outline), actor="tester")
        store.add_structure(Structure(id="b1", facility_id="plant", name="Building B", geometry=structure_geometry),
                            actor="tester")
    finally:
        store.close()


def series_site(root: Path, seed: int = 11, n: int = 12) -> SeriesSite:
    """Facility 'plant' over the series' extent, structure 'b1' ("Building B") with the series' footprint, and
    every image of the series imported with its date (a building appears at series.first_new)."""
    series = building_series(seed, n=n)
    database, data = root / "registry.gpkg", root / "data"
    _registry(database, series.site_lonlat, series.footprint_lonlat)
    paths = write_series(series, root / "src")
    keys = [ImageKey("local", import_image(p, data, d).capture_id) for p, d in zip(paths, series.dates, strict=True)]
    return SeriesSite(database, data, series, keys)


@dataclass(frozen=True)
class SceneSite:
    """The registry, the data directory, the scene and its key; click_lonlat is a point inside the building."""

    database: Path
    data_dir: Path
    scene: BuildingScene
    key: ImageKey
    click_lonlat: tuple[float, float]

    def truth_lonlat(self):
        """The building's true outline in lon/lat."""
        to_ll = Transformer.from_crs(self.scene.crs, "EPSG:4326", always_xy=True)
        return shapely.transform(self.scene.truth,
                                 lambda xy: np.column_stack(to_ll.transform(xy[:, 0], xy[:, 1])))


def scene_site(root: Path, seed: int = 3, captured: dt.date = dt.date(2024, 4, 2)) -> SceneSite:
    """Facility 'plant' over a 0.5 m building scene, structure 'b1' located by a point (no footprint yet), and the
    scene imported as a local image."""
    scene = building_scene(seed)
    to_ll = Transformer.from_crs(scene.crs, "EPSG:4326", always_xy=True)
    h, w = scene.data.shape[1:]
    x0, y0 = scene.transform.c, scene.transform.f
    px = scene.transform.a
    west, north = to_ll.transform(x0 + 10 * px, y0 - 10 * px)
    east, south = to_ll.transform(x0 + (w - 10) * px, y0 - (h - 10) * px)
    click = to_ll.transform(*scene.seed_xy)
    database, data = root / "registry.gpkg", root / "data"
    _registry(database, shapely.box(west, south, east, north), Point(click))
    path = write_tif(root / "scene.tif", scene.data, scene.crs, scene.transform)
    key = ImageKey("local", import_image(path, data, captured).capture_id)
    return SceneSite(database, data, scene, key, (float(click[0]), float(click[1])))
