"""Generated high-resolution scenes with buildings of known outline, for the footprint tests and bench.

A scene is 8-bit RGB in UTM 52N at 0.5 m (by default): textured ground (smooth variation, blotches and
pixel noise), the target building (a rotated rectangle or L-shape) with a textured roof, a shadow strip
on its sun-away side, neighbouring buildings of the same roof colour a few pixels away, a little sensor
blur and noise. The true outline is kept in the scene's CRS, so a proposal is scored by IoU exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from affine import Affine
from rasterio.features import rasterize
from scipy import ndimage
from shapely import affinity
from shapely.geometry.base import BaseGeometry

from tests.support.rasters import UTM52_ORIGIN

CRS = "EPSG:32652"


@dataclass(frozen=True)
class BuildingScene:
    """data (3, h, w) uint8; transform and crs of its grid; truth the target's outline (CRS metres); seed_xy a
    point inside it where an analyst would click; neighbours the other roofs' outlines."""

    data: np.ndarray
    transform: Affine
    crs: str
    truth: BaseGeometry
    seed_xy: tuple[float, float]
    neighbours: tuple[BaseGeometry, ...]


def _outline(rng: np.random.Generator, shape: str) -> BaseGeometry:
    """A target outline centred on (0, 0) in metres."""
    w, h = rng.uniform(22, 45), rng.uniform(14, 30)
    if shape == "rectangle":
        geom = shapely.box(-w / 2, -h / 2, w / 2, h / 2)
    else:  # an L: a long wing and a short one at one end
        arm = rng.uniform(0.4, 0.55) * h
        wing = shapely.box(-w / 2, -h / 2, w / 2, -h / 2 + arm)
        leg = shapely.box(-w / 2, -h / 2, -w / 2 + rng.uniform(0.35, 0.5) * w, h / 2)
        geom = wing.union(leg).normalize()
    return affinity.rotate(geom, rng.uniform(-35, 35), origin=(0, 0))


def building_scene(seed: int, shape: str = "rectangle", size_px: int = 300, pixel_m: float = 0.5,
                   gap_px: float | None = None, roof_like_ground: bool = False,
                   touching_neighbour: bool = False) -> BuildingScene:
    """One scene (see the module docstring). `gap_px`: the pixels between the target and its same-colour
    neighbour (default 3-6); `roof_like_ground`: the roof has the ground's colour (where proposals fail);
    `touching_neighbour`: the neighbour shares the target's wall (no gap at all)."""
    rng = np.random.default_rng(seed)
    h = w = size_px
    x0, y0 = UTM52_ORIGIN
    transform = Affine(pixel_m, 0, x0, 0, -pixel_m, y0)
    centre = (x0 + w * pixel_m / 2 + rng.uniform(-5, 5), y0 - h * pixel_m / 2 + rng.uniform(-5, 5))
    local = _outline(rng, shape)
    truth = affinity.translate(local, *centre)

    # the ground: smooth variation, blotches of vegetation and bare soil, pixel noise
    ground_colour = np.array([rng.uniform(95, 140), rng.uniform(95, 130), rng.uniform(70, 105)])
    yy, xx = np.mgrid[0:h, 0:w]
    smooth = (np.sin(xx / rng.uniform(25, 45)) + np.cos(yy / rng.uniform(20, 40))) * 8
    blotch = ndimage.gaussian_filter(rng.normal(0, 1, (h, w)), 6) * 60
    img = np.empty((3, h, w))
    for b in range(3):
        img[b] = ground_colour[b] + smooth + blotch * (1.0 if b != 2 else 0.6) + rng.normal(0, 5, (h, w))

    # roofs: the target and same-coloured neighbours a few pixels away
    if roof_like_ground:
        roof = ground_colour + rng.normal(0, 3, 3)
    else:
        roof = np.array(rng.choice([[175, 178, 182], [120, 140, 170], [165, 95, 80], [210, 205, 195]]), float)
        roof = roof + rng.normal(0, 6, 3)
    gap_m = (rng.uniform(3, 6) if gap_px is None else gap_px) * pixel_m
    minx, miny, maxx, maxy = truth.bounds
    angle = rng.uniform(-10, 10)
    if touching_neighbour:
        neighbours = [shapely.box(maxx - 2, miny + 2, maxx + 15, maxy - 2).difference(truth)]
    else:
        nb = affinity.rotate(shapely.box(0, 0, rng.uniform(12, 25), rng.uniform(10, 20)), angle, origin=(0, 0))
        nb_minx, nb_miny, _, _ = nb.bounds
        # east of the target's bounding box, `gap_m` clear of it; then nudged until clear of the outline too
        nb = affinity.translate(nb, maxx + gap_m - nb_minx, (miny + maxy) / 2 - nb_miny - 5)
        while nb.distance(truth) > gap_m + pixel_m:
            nb = affinity.translate(nb, -pixel_m / 2, 0)
        nb2 = affinity.translate(affinity.rotate(shapely.box(0, 0, 18, 12), -angle, origin=(0, 0)),
                                 minx - 18 - gap_m * 1.5, maxy + gap_m)
        neighbours = [nb, nb2]
    # shadows on the sun-away side (north-west here: sun in the south-east): each roof's outline shifted
    sun = (-rng.uniform(2, 4), rng.uniform(2, 4))
    roofs = [truth, *neighbours]
    shadow = shapely.union_all([affinity.translate(r, *sun) for r in roofs]).difference(shapely.union_all(roofs))
    sh = _mask(shadow, transform, (h, w))
    img[:, sh] *= rng.uniform(0.35, 0.5)
    roof_texture = rng.normal(0, 4, (h, w)) + ndimage.gaussian_filter(rng.normal(0, 1, (h, w)), 3) * 10
    for r in roofs:
        m = _mask(r, transform, (h, w))
        for b in range(3):
            img[b][m] = roof[b] + roof_texture[m]
    img = ndimage.gaussian_filter(img, sigma=(0, 0.7, 0.7)) + rng.normal(0, 3, img.shape)
    data = np.clip(img, 1, 254).astype(np.uint8)
    click = _interior_point(local, rng)
    return BuildingScene(data, transform, CRS, truth, (click[0] + centre[0], click[1] + centre[1]),
                         tuple(neighbours))


def _interior_point(local: BaseGeometry, rng: np.random.Generator) -> tuple[float, float]:
    """A point at least 3 m inside the outline (an analyst clicks well inside a roof)."""
    inner = local.buffer(-3)
    minx, miny, maxx, maxy = inner.bounds
    for _ in range(1000):
        p = shapely.Point(rng.uniform(minx, maxx), rng.uniform(miny, maxy))
        if inner.contains(p):
            return p.x, p.y
    p = inner.representative_point()
    return p.x, p.y


def _mask(geom: BaseGeometry, transform: Affine, shape: tuple[int, int]) -> np.ndarray:
    if geom.is_empty:
        return np.zeros(shape, dtype=bool)
    return rasterize([geom], out_shape=shape, transform=transform, fill=0, default_value=1, dtype="uint8") == 1


def iou(a: BaseGeometry, b: BaseGeometry) -> float:
    """Intersection over union of two outlines."""
    union = a.union(b).area
    return a.intersection(b).area / union if union else 0.0
