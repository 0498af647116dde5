"""Registries and imagery made by the report tests: the February 11 Plant at Hamhung, local only."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import rasterio
import shapely
from affine import Affine
from pyproj import Transformer

from facilities.model import Alias, Facility, ImageRef, Observation, Source, Structure
from facilities.store import GeoPackageStore
from imagery.base import Capture
from imagery.local import import_image

PLANT = (127.6568, 39.9209)  # lon, lat
HOSTILE = "<img src=x onerror=alert(1)> & Co"
KOREAN = "2.11 공장 (함흥)"


def plant_box(d: float = 0.0015) -> shapely.Polygon:
    return shapely.box(PLANT[0] - d, PLANT[1] - d, PLANT[0] + d, PLANT[1] + d)


def make_store(path: Path, *, name: str = "February 11 Plant", observations: int = 4,
               structures: bool = True, facility_id: str = "february-11-plant") -> GeoPackageStore:
    """A registry with one facility, two structures and `observations` dated observations."""
    store = GeoPackageStore(path)
    src = Source(id="cns", title="Valentine's <b>Day</b> report", publisher="CNS",
                 url="https://example.org/feb11", published="2024-11")
    store.add_source(src, actor="test")
    store.add_facility(Facility(id=facility_id, name=name, geometry=plant_box(), country="KP",
                                category="missile production", status="expanding",
                                aliases=(Alias(KOREAN, "ko"),), source_ids=("cns",)), actor="test")
    x, y = PLANT
    if structures:
        store.add_structure(Structure(id=f"{facility_id}.building-a", facility_id=facility_id, name="Building A",
                                      geometry=shapely.box(x - 0.0010, y - 0.0005, x - 0.0002, y + 0.0005),
                                      built="2011"), actor="test")
        store.add_structure(Structure(id=f"{facility_id}.building-b", facility_id=facility_id, name=name,
                                      geometry=shapely.box(x + 0.0002, y - 0.0008, x + 0.0011, y + 0.0002),
                                      built="~2020-06"), actor="test")
    dates = ["2019-05-01", "2020-06", "~2021-03", "2022", "2023-07-15", "2024-10", "2024-11-02",
             "2025-01", "2025-03-10", "2025-06-01"]
    for i in range(observations):
        date = dates[i % len(dates)]
        geom = shapely.box(x + 0.0003, y - 0.0007, x + 0.0009, y) if i % 2 == 0 else None
        store.add_observation(Observation(
            id=f"obs-{i:02d}", facility_id=facility_id, date=date, kind="progress" if i % 3 else "construction-start",
            summary=f"Observation {i}: {name} roof work " + ("very long text " * (30 if i == 1 else 0)),
            structure_id=f"{facility_id}.building-b" if structures and i % 2 else None, geometry=geom,
            image=ImageRef("local", f"scene-{i}", "2024-10-05") if i % 2 == 0 else None,
            confidence=("low", "medium", "high")[i % 3], source_ids=("cns",)), actor="test")
    return store


def write_scene(path: Path, seed: int, built: float, size: int = 800) -> Path:
    """A 3-band 1 m GeoTIFF in UTM 52N, `size` m square around the plant; `built` brightens a roof."""
    to_utm = Transformer.from_crs("EPSG:4326", "EPSG:32652", always_xy=True)
    cx, cy = to_utm.transform(*PLANT)
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    base = (np.sin(xx / 29.0) + np.cos(yy / 17.0)) * 30 + 100
    data = np.stack([base + 10 * b + rng.normal(0, 5, (size, size)) for b in range(3)])
    rows = slice(size // 2 - 60, size // 2 + 20)
    cols = slice(size // 2 + 20, size // 2 + 20 + int(75 * built))
    data[:, rows, cols] = 230
    transform = Affine(1.0, 0, round(cx) - size // 2, 0, -1.0, round(cy) + size // 2)
    with rasterio.open(path, "w", driver="GTiff", width=size, height=size, count=3, dtype="uint8",
                       crs="EPSG:32652", transform=transform) as dst:
        dst.write(np.clip(data, 0, 255).astype("uint8"))
    return path


def make_imagery(tmp: Path, data_dir: Path, dates: list[str], size: int = 800) -> list[Capture]:
    """Local imports, one per date, with a provider attribution line to caption."""
    captures = []
    for i, day in enumerate(dates):
        tif = write_scene(tmp / f"scene-{i}.tif", seed=i, built=(i + 1) / len(dates), size=size)
        captures.append(import_image(tif, data_dir, dt.date.fromisoformat(day), sensor="test-sat",
                                     licence="CC BY 4.0", attribution="Imagery © Test Imaging Co."))
    return captures
