"""A building's footprint proposed from the pixels around an analyst's click (pure: arrays and Grids in,
polygons out; no model weights, nothing downloaded).

Classical image processing with scikit-image on a high-resolution chip (0.3-2 m pixels):

1. Colour: the chip's first three bands stretched to 0-1 (2-98 % per band) and smoothed (Gaussian,
   ~0.5 m), then CIE Lab; the roof colour is the median Lab around the click (a 1 m disc).
2. Edges: the Sobel gradient of each Lab channel, combined (root of the summed squares).
3. Markers: the click's disc (pixels of the roof colour) is the building; every pixel whose colour
   differs from the roof by more than an adaptive threshold (Lab distance, at least `MIN_STEP`, more
   on a textured roof) is background: ground, shadow, the gap between two roofs of one colour.
4. Watershed of the gradient from those markers (`skimage.segmentation.watershed`): the boundary
   settles on the strongest edges between roof and background.
5. Clean-up: holes filled, an opening of ~0.5 m removes one-pixel bridges, the component holding the
   click kept.
6. The mask traced into a polygon on the chip's grid (`rasterio.features.shapes`), regularised into
   right angles (imagery.regularise), and brought to EPSG:4326; area_m2 is the ellipsoidal area of the
   lon/lat outline (pyproj.Geod on WGS 84).

Confidence: the share of the outline's outer ring whose colour clearly differs from the roof
(`closure`). A roof that matches the ground or touches a same-coloured roof leaves parts of its
outline without a colour step (low closure); an outline that reaches the chip's edge or fills most of
it means the region leaked (low). Known failure: two roofs of one colour that touch (no gap, no
shadow line between them) come out as one building, with a closed outline and so no warning of its own
beyond its size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from affine import Affine
from pyproj import Geod, Transformer
from rasterio.features import shapes
from scipy import ndimage
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from skimage import color, filters, measure, morphology, segmentation

from .base import Chip
from .chips import valid_mask
from .errors import ImageryError
from .regularise import regularise_projected

MIN_STEP = 10.0  # Lab distance (ΔE76) from the roof colour beyond which a pixel is surely not roof
MAX_RESOLUTION_M = 2.0  # coarser pixels cannot outline a building
LEAK_FRACTION = 0.4  # a region filling this share of the chip leaked into the ground
STRONG_EDGE = 4.0  # an outline pixel is on a wall when its gradient is this many times the roof's own (median)
HIGH_SCORE, LOW_SCORE = 0.85, 0.6  # confidence from min(closure, edge_support): high at or above, low below
_GEOD = Geod(ellps="WGS84")


@dataclass(frozen=True)
class FootprintProposal:
    """A proposed footprint, to be shown to the analyst to accept or edit.

    geometry: the regularised outline in EPSG:4326 (lon, lat): what is saved when accepted.
    geometry_grid: the same outline in the chip's CRS (metres on a UTM grid).
    traced: the outline as segmented, before regularisation, in EPSG:4326.
    area_m2: ground area of `geometry`, ellipsoidal (pyproj.Geod, WGS 84), m².
    confidence: "high" (score ≥ 0.85), "medium", or "low" (score < 0.6, or the region reached the chip's
        edge or filled most of it); `notes` say why it is not high.
    score: min(closure, edge_support), 0-1.
    closure: share (0-1) of the outline's outer ring whose colour clearly differs from the roof (Lab distance
        above the roof's own threshold): 1 is a roof bounded all round by ground, shadow or a gap.
    edge_support: share (0-1) of the outline's pixels on a strong edge (gradient ≥ 4x the roof's median):
        low where the outline follows texture, as when the roof matches the ground.
    edge_contrast: mean gradient on the outline over the median gradient inside the roof.
    touches_border: the region reached the chip's edge (cut off, or leaked into the ground).
    regularisation: how the outline was squared up (library and tolerance, or its fallback).
    pixels: the segmented region (rows x cols of the chip, True inside).
    notes: plain-language reasons for a confidence below high.
    """

    geometry: BaseGeometry
    geometry_grid: BaseGeometry
    traced: BaseGeometry
    area_m2: float
    confidence: str
    score: float
    closure: float
    edge_support: float
    edge_contrast: float
    touches_border: bool
    regularisation: str
    pixels: np.ndarray
    notes: tuple[str, ...] = ()


def pixel_size_m(chip: Chip) -> float:
    """The chip's pixel size in CRS units (metres on a projected grid)."""
    t = Affine(*chip.transform)
    return float(np.sqrt(abs(t.a * t.e - t.b * t.d)))


def lab_image(chip: Chip, valid: np.ndarray, sigma_px: float) -> np.ndarray:
    """The chip's first three bands as smoothed CIE Lab (rows x cols x 3); one band is repeated as grey.

    One stretch for all three bands (0.5-99.5 % of their valid values together), so colours keep their
    ratios: a stretch per band would magnify the noise of a band with little range into false colour."""
    data = chip.data
    rgb = (data[:3] if data.shape[0] >= 3 else np.repeat(data[:1], 3, axis=0)).astype("float64")
    values = rgb[:, valid]
    values = values[np.isfinite(values)]
    lo, hi = np.percentile(values, (0.5, 99.5)) if values.size else (0.0, 1.0)
    out = np.clip((np.nan_to_num(rgb) - lo) / (hi - lo if hi > lo else 1.0), 0, 1)
    out = ndimage.gaussian_filter(out, sigma=(0, sigma_px, sigma_px))
    return color.rgb2lab(np.moveaxis(out, 0, -1))


def gradient(lab: np.ndarray) -> np.ndarray:
    """Edge strength: Sobel of each Lab channel, combined as the root of the summed squares."""
    return np.sqrt(sum(filters.sobel(lab[..., k]) ** 2 for k in range(3)))


def segment(lab: np.ndarray, grad: np.ndarray, seed_rc: tuple[int, int], valid: np.ndarray,
            pixel_m: float) -> tuple[np.ndarray, np.ndarray, float]:
    """The roof region grown from `seed_rc` (row, col): (mask, Lab distance to the roof colour, threshold)."""
    r, c = seed_rc
    radius = max(1, round(1.0 / pixel_m))
    disc = np.zeros(valid.shape, dtype=bool)
    disc[max(r - radius, 0):r + radius + 1, max(c - radius, 0):c + radius + 1] = True
    disc &= valid
    roof = np.median(lab[disc], axis=0)
    distance = np.linalg.norm(lab - roof, axis=-1)
    spread = float(np.percentile(distance[disc], 90)) if disc.any() else 0.0
    threshold = max(MIN_STEP, 3.0 * spread)
    markers = np.zeros(valid.shape, dtype=np.int32)
    markers[(distance > threshold) & valid] = 2
    markers[disc & (distance <= threshold)] = 1
    markers[r, c] = 1
    labels = segmentation.watershed(grad, markers, mask=valid)
    region = ndimage.binary_fill_holes(labels == 1)
    region = ndimage.binary_opening(region, structure=morphology.disk(max(1, round(0.5 / pixel_m))))
    parts = measure.label(region, connectivity=1)
    if parts[r, c] == 0:  # the opening removed the click itself: keep the part nearest to it
        if parts.max() == 0:
            return np.zeros_like(region), distance, threshold
        rows, cols = np.nonzero(parts)
        k = np.argmin((rows - r) ** 2 + (cols - c) ** 2)
        return parts == parts[rows[k], cols[k]], distance, threshold
    return parts == parts[r, c], distance, threshold


def refine(region: np.ndarray, lab: np.ndarray, distance: np.ndarray, threshold: float,
           pixel_m: float) -> np.ndarray:
    """The region's edge moved to where each pixel's colour is nearer the roof's than the ground's next to it.

    The watershed's background markers start on the blurred edge pixels that already differ from the roof
    by more than the threshold, so its outline sits a pixel or two inside the wall. Each pixel within ~1.5 m
    of the outline is given to the roof when its colour is nearer the roof's (the median of the region's
    core) than the local background's (the mean of the clearly-not-roof pixels 1.5-3 m outside it, by
    normalised convolution): the half-way point of the blurred edge, wherever the wall meets ground, shadow
    or a gap."""
    step = max(1, round(1.5 / pixel_m))
    core = ndimage.binary_erosion(region, structure=morphology.disk(1))
    if not core.any():
        return region
    roof = np.median(lab[core], axis=0)
    near = ndimage.binary_dilation(region, structure=morphology.disk(step))
    far = ndimage.binary_dilation(region, structure=morphology.disk(2 * step)) & ~near & (distance > threshold)
    size = 4 * step + 1
    weight = ndimage.uniform_filter(far.astype("float64"), size)
    local = np.stack([ndimage.uniform_filter(lab[..., k] * far, size) for k in range(3)], axis=-1)
    has_bg = weight > 1e-6
    local[has_bg] /= weight[has_bg][:, None]
    band = near & ~core & has_bg
    to_roof = np.linalg.norm(lab - roof, axis=-1)
    to_bg = np.linalg.norm(lab - local, axis=-1)
    out = region.copy()
    out[band] = to_roof[band] < to_bg[band]
    out = ndimage.binary_fill_holes(out)
    parts = measure.label(out, connectivity=1)
    counts = np.bincount(parts[core & (parts > 0)])
    return parts == int(np.argmax(counts)) if counts.size > 1 else region


@dataclass(frozen=True)
class _Assessment:
    closure: float
    edge_support: float
    edge_contrast: float
    touches_border: bool
    leaked: bool
    notes: tuple[str, ...]

    @property
    def score(self) -> float:
        return min(self.closure, self.edge_support)

    @property
    def confidence(self) -> str:
        if self.touches_border or self.leaked or self.score < LOW_SCORE:
            return "low"
        return "high" if self.score >= HIGH_SCORE else "medium"


def _assess(region: np.ndarray, distance: np.ndarray, grad: np.ndarray, threshold: float,
            valid: np.ndarray, pixel_m: float) -> _Assessment:
    """How well the outline is supported by the pixels, and the notes behind a confidence below high."""
    notes: list[str] = []
    width = max(1, round(1.0 / pixel_m))
    outer = ndimage.binary_dilation(region, structure=morphology.disk(width + 1)) & ~ndimage.binary_dilation(
        region, morphology.disk(1)) & valid
    closure = float(np.mean(distance[outer] > threshold)) if outer.any() else 0.0
    edge = region ^ ndimage.binary_erosion(region, structure=morphology.disk(1))
    inner = ndimage.binary_erosion(region, structure=morphology.disk(2))
    inside = max(float(np.median(grad[inner] if inner.any() else grad[region])), 1e-3)
    support = float(np.mean(grad[edge] > STRONG_EDGE * inside)) if edge.any() else 0.0
    contrast = float(np.mean(grad[edge]) / inside) if edge.any() else 0.0
    border = np.zeros_like(region)
    border[[0, -1], :] = True
    border[:, [0, -1]] = True
    touches = bool((region & (border | ~ndimage.binary_erosion(valid, structure=morphology.disk(1)))).any())
    leaked = bool(region.mean() > LEAK_FRACTION)
    if touches:
        notes.append("the outline reaches the edge of the image or its nodata (the building is cut off, or its "
                     "roof runs into ground of the same colour)")
    if leaked:
        notes.append(f"the region covers {region.mean():.0%} of the chip: it leaked into the surroundings")
    if closure < HIGH_SCORE:
        notes.append(f"only {closure:.0%} of the outline has a clear colour step to its surroundings (a roof "
                     "like the ground, or touching a roof of the same colour)")
    if support < HIGH_SCORE:
        notes.append(f"only {support:.0%} of the outline lies on a strong edge: parts of it may follow texture, "
                     "not a wall")
    return _Assessment(closure, support, contrast, touches, leaked, tuple(notes))


def propose_footprint(chip: Chip, seed_xy: tuple[float, float], *, regularise: bool = True) -> FootprintProposal:
    """The footprint of the building under `seed_xy` (x, y in the chip's CRS, a projected grid in metres).

    ImageryError when the click is outside the chip or on nodata, when the pixels are coarser than
    MAX_RESOLUTION_M, or when nothing could be segmented there."""
    pixel_m = pixel_size_m(chip)
    if pixel_m > MAX_RESOLUTION_M:
        raise ImageryError(f"{pixel_m:g} m pixels are too coarse to outline a building (at most "
                           f"{MAX_RESOLUTION_M:g} m); trace it by hand instead")
    transform = Affine(*chip.transform)
    col, row = ~transform @ seed_xy
    r, c = int(np.floor(row)), int(np.floor(col))
    h, w = chip.data.shape[1:]
    if not (0 <= r < h and 0 <= c < w):
        raise ImageryError(f"the click {seed_xy} is outside the image chip")
    valid = valid_mask(chip.data, chip.nodata)
    if not valid[r, c]:
        raise ImageryError("the click is on a part of the image without data (nodata)")
    lab = lab_image(chip, valid, sigma_px=max(0.5, 0.5 / pixel_m))
    grad = gradient(lab)
    region, distance, threshold = segment(lab, grad, (r, c), valid, pixel_m)
    region = refine(region, lab, distance, threshold, pixel_m) & valid
    if region.sum() < 4:
        raise ImageryError("no building could be outlined at the click (its colour does not stand out there)")
    checks = _assess(region, distance, grad, threshold, valid, pixel_m)
    traced_grid = _polygon(region, transform, (r, c))
    if regularise:
        done = regularise_projected(traced_grid, chip.crs)
        grid_geom, method = done.geometry, done.method
    else:
        grid_geom, method = traced_grid, "none"
    to_lonlat = Transformer.from_crs(chip.crs, "EPSG:4326", always_xy=True)
    geometry = _reproject(grid_geom, to_lonlat)
    area = abs(_GEOD.geometry_area_perimeter(geometry)[0])
    return FootprintProposal(geometry=geometry, geometry_grid=grid_geom, traced=_reproject(traced_grid, to_lonlat),
                             area_m2=float(area), confidence=checks.confidence, score=checks.score,
                             closure=checks.closure, edge_support=checks.edge_support,
                             edge_contrast=checks.edge_contrast, touches_border=checks.touches_border,
                             regularisation=method, pixels=region, notes=checks.notes)


def _polygon(region: np.ndarray, transform: Affine, seed_rc: tuple[int, int]) -> BaseGeometry:
    """The region as one polygon on the grid (holes dropped: a footprint is its outer wall)."""
    polys = [shape(g) for g, v in shapes(region.astype(np.uint8), mask=region, transform=transform,
                                          connectivity=4) if v == 1]
    if not polys:
        raise ImageryError("no building could be outlined at the click")
    poly = max(polys, key=lambda p: p.area)
    return shapely.Polygon(poly.exterior)


def _reproject(geom: BaseGeometry, transformer: Transformer) -> BaseGeometry:
    def apply(xy: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geom, apply)
