"""When a structure appeared or disappeared, from a dated series of images: temporal cluster matching.

The idea is Microsoft's (Robinson et al., "Temporal Cluster Matching for Change Detection of Structures
from Satellite Imagery", ACM COMPASS 2021): on an image where a building stands, the pixels of its
footprint are distributed unlike those of the ground around it; where it does not, the footprint is
ground like its surroundings. Per image the footprint and a ring around it (beyond a small gap, so a
one-pixel misregistration does not mix them) are clustered together in colour (k-means fitted on that image
alone, so a brighter or darker date clusters the same way; bands standardised per image so each weighs
alike whatever its range), and the Jensen-Shannon
divergence between the footprint's and the ring's cluster memberships is the image's score, 0 (same
distribution) to 1 bit (nothing in common). Over the dates the scores make a series; a one-step model
fitted by least absolute deviations (robust to one odd image) gives the change point, its direction
(up: appeared, down: disappeared) and a bracket: the last image of the old state and the first of the
new one. The step's size against the spread within the two segments is the bracket's score.

Pure numpy/scipy on arrays and a Grid: reading images and choosing them is tracker.dating's work.
The paper also compares each image with the latest one; that is left out here (the ring comparison
alone carries the change, and one image per read keeps dating at the speed of reading).
"""

from __future__ import annotations

import datetime as dt
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from pyproj import Transformer
from rasterio.features import rasterize
from scipy import ndimage
from scipy.cluster.vq import kmeans2, vq
from shapely.geometry.base import BaseGeometry

from .chips import Grid, grid_for_bbox, utm_crs_for

METHOD = "temporal cluster matching (k-means footprint vs ring, Jensen-Shannon divergence, one-step change point)"
CLUSTERS = 6  # k of the per-image k-means
FIT_SAMPLE = 4_000  # pixels the k-means is fitted on (all pixels are then assigned)
MIN_FOOTPRINT_VALID = 0.8  # share of the footprint that must hold pixels
MIN_RING_VALID = 0.5  # share of the ring that must hold pixels
MAX_RING_CLOUD = 0.3  # share of the ring that may look like cloud (bright and grey, 8-bit images)
MIN_STEP = 0.12  # smallest step in divergence (bits) that counts as a change
SPREAD_FLOOR = 0.03  # the within-segment spread is never taken as smaller than this (bits)
PRESENT_LEVEL = 0.3  # median divergence above which a structure reads as standing (no change found)
LOW, MEDIUM, HIGH = 3.0, 5.0, 8.0  # step / spread at which a bracket is low, medium, high


@dataclass(frozen=True)
class RingMasks:
    """Where the footprint and the ring around it lie on a grid (rows x cols booleans).

    `footprint` is the footprint shrunk by one pixel (a misregistered edge stays out), `ring` the band
    `gap_px` to `gap_px + width_px` pixels outside the footprint's edge."""

    footprint: np.ndarray
    ring: np.ndarray
    gap_px: int
    width_px: int


@dataclass(frozen=True)
class ImageScore:
    """One image's measurement: its score, or why it was left out.

    `score`: Jensen-Shannon divergence (bits, 0..1) between the footprint's and the ring's colour
    clusters, None when `skipped` says why the image was not measured (cloud, nodata)."""

    score: float | None
    skipped: str = ""
    footprint_valid: float = 1.0  # share of the footprint with pixels
    ring_valid: float = 1.0  # share of the ring with pixels


@dataclass(frozen=True)
class Step:
    """The change point of a score series.

    `split`: index of the first image of the new state (1..n-1) in the series given; `before`/`after`:
    the median score of each segment; `direction`: "appeared" (scores rose), "disappeared" (fell),
    or None when the step is below MIN_STEP or `strength` below LOW (no change shown); `strength`: the
    step divided by the pooled spread within the segments (robust, floored at SPREAD_FLOOR); `confidence`:
    low/medium/high from `strength` and how many images support each side, None without a change."""

    split: int
    before: float
    after: float
    strength: float
    direction: str | None
    confidence: str | None


def ring_masks(footprint_lonlat: BaseGeometry, grid: Grid, *, gap_m: float | None = None,
               width_m: float | None = None) -> RingMasks:
    """The footprint (a lon/lat Polygon) and its ring rasterised on `grid`.

    The gap defaults to 2 pixels (at least 1 m): a pixel's misregistration keeps the roof's edge out of
    the ring. The ring's width defaults to the footprint's short side (its minimum rotated rectangle),
    at least 4 pixels. The footprint itself is shrunk by one pixel when it keeps at least 16 pixels."""
    shape = _to(Transformer.from_crs("EPSG:4326", grid.crs, always_xy=True), footprint_lonlat)
    pixel = math.sqrt(grid.pixel_area)
    full = rasterize([(shape, 1)], out_shape=grid.shape, transform=grid.transform, fill=0, dtype="uint8") > 0
    if not full.any():
        raise ValueError("the footprint covers no pixel of the grid")
    inner = ndimage.binary_erosion(full)
    footprint = inner if inner.sum() >= 16 else full
    gap = max(2, math.ceil((gap_m if gap_m is not None else 1.0) / pixel))
    if width_m is None:
        width_m = short_side_m(footprint_lonlat)
    width = max(4, math.ceil(width_m / pixel))
    dist = ndimage.distance_transform_edt(~full)
    ring = (dist > gap) & (dist <= gap + width)
    return RingMasks(footprint, ring, gap, width)


def short_side_m(footprint_lonlat: BaseGeometry) -> float:
    """The short side of the footprint's minimum rotated rectangle, in metres (local UTM)."""
    c = footprint_lonlat.centroid
    to_utm = Transformer.from_crs("EPSG:4326", utm_crs_for(c.x, c.y), always_xy=True)
    rect = _to(to_utm, footprint_lonlat).minimum_rotated_rectangle
    if rect.geom_type != "Polygon":
        return 0.0
    xs, ys = rect.exterior.coords.xy
    return min(math.hypot(xs[i + 1] - xs[i], ys[i + 1] - ys[i]) for i in range(2))


def grid_around(footprint_lonlat: BaseGeometry, pixel_m: float, *, max_side: int = 1024) -> Grid:
    """The one grid a structure is dated on: local UTM at `pixel_m` (coarsened until neither side exceeds
    `max_side` pixels), reaching far enough around the footprint to hold the default gap and ring."""
    c = footprint_lonlat.centroid
    crs = utm_crs_for(c.x, c.y)
    to_utm = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    shape = _to(to_utm, footprint_lonlat)
    short = short_side_m(footprint_lonlat)
    minx, miny, maxx, maxy = shape.bounds
    while True:
        pad = max(2, math.ceil(1.0 / pixel_m)) * pixel_m + max(4 * pixel_m, short) + 3 * pixel_m
        side = max(maxx - minx, maxy - miny) + 2 * pad
        if side / pixel_m <= max_side:
            break
        pixel_m *= 1.25
    to_ll = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    west, south, east, north = to_ll.transform_bounds(minx - pad, miny - pad, maxx + pad, maxy + pad, densify_pts=21)
    return grid_for_bbox((west, south, east, north), pixel_size=pixel_m, crs=crs)


def _to(transformer: Transformer, geom: BaseGeometry) -> BaseGeometry:
    return shapely.transform(geom, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1])))


def cloud_like(data: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Pixels that look like cloud on an 8-bit image: every band at least 215 and the bands within 25 of
    each other (bright and grey). Other data types have no fixed scale: nothing is marked (Sentinel-2's
    own cloud mask is used for them instead)."""
    if data.dtype != np.uint8 or data.shape[0] < 3:
        return np.zeros(valid.shape, dtype=bool)
    rgb = data[:3]
    lo, hi = rgb.min(axis=0), rgb.max(axis=0)
    return valid & (lo >= 215) & ((hi.astype(np.int16) - lo) <= 25)


def _standardise(pixels: np.ndarray) -> np.ndarray:
    """Per-band robust z-scores (median, MAD) of pixels x bands: gain and offset of a date cancel."""
    med = np.median(pixels, axis=0)
    mad = np.median(np.abs(pixels - med), axis=0) * 1.4826
    return (pixels - med) / np.where(mad > 1e-9, mad, 1.0)


def js_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen-Shannon divergence of two histograms (counts or probabilities), in bits: 0..1."""
    p = p / p.sum()
    q = q / q.sum()
    m = (p + q) / 2

    def kl(a: np.ndarray) -> float:
        nz = a > 0
        return float(np.sum(a[nz] * np.log2(a[nz] / m[nz])))

    return max(0.0, min(1.0, (kl(p) + kl(q)) / 2))


def score_image(data: np.ndarray, valid: np.ndarray, masks: RingMasks, *, seed: int = 0) -> ImageScore:
    """The divergence between the footprint's and the ring's colour clusters on one image.

    `data`: bands x rows x cols on the masks' grid; `valid`: rows x cols, True where the image has pixels.
    Left out with a reason: a footprint less than MIN_FOOTPRINT_VALID covered, a ring less than
    MIN_RING_VALID covered, or (8-bit images) more than MAX_RING_CLOUD of the ring bright and grey."""
    fp_valid = float(valid[masks.footprint].mean())
    ring_valid = float(valid[masks.ring].mean())
    if fp_valid < MIN_FOOTPRINT_VALID:
        return ImageScore(None, f"nodata: {1 - fp_valid:.0%} of the footprint has no pixels", fp_valid, ring_valid)
    if ring_valid < MIN_RING_VALID:
        return ImageScore(None, f"nodata: {1 - ring_valid:.0%} of the ring around the footprint has no pixels",
                          fp_valid, ring_valid)
    fp, ring = masks.footprint & valid, masks.ring & valid
    cloud = cloud_like(data, valid)
    ring_cloud = float(cloud[ring].mean())
    if ring_cloud > MAX_RING_CLOUD:
        return ImageScore(None, f"cloud: {ring_cloud:.0%} of the ring around the footprint is bright and grey",
                          fp_valid, ring_valid)
    rows, cols = np.nonzero(fp | ring)  # the bounding window of both, so a large grid costs nothing more
    r0, r1, c0, c1 = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
    fp_w, ring_w = fp[r0:r1, c0:c1], ring[r0:r1, c0:c1]
    window = data[:, r0:r1, c0:c1]
    pixels = np.concatenate([window[:, fp_w].T, window[:, ring_w].T]).astype(np.float32)
    z = _standardise(pixels)
    rng = np.random.default_rng(seed)
    sample = z if len(z) <= FIT_SAMPLE else z[rng.choice(len(z), FIT_SAMPLE, replace=False)]
    if not np.any(sample != sample[0]):  # one colour everywhere: footprint and ring are the same
        return ImageScore(0.0, "", fp_valid, ring_valid)
    k = CLUSTERS
    with warnings.catch_warnings():  # an empty cluster is only an empty bin of both histograms
        warnings.simplefilter("ignore", UserWarning)
        centroids, _ = kmeans2(sample, k, iter=10, minit="++", rng=rng)
    labels, _ = vq(z, centroids, check_finite=False)
    n_fp = int(fp_w.sum())
    hist_fp = np.bincount(labels[:n_fp], minlength=k).astype(float)
    hist_ring = np.bincount(labels[n_fp:], minlength=k).astype(float)
    return ImageScore(js_divergence(hist_fp, hist_ring), "", fp_valid, ring_valid)


def _spread(values: np.ndarray) -> float:
    return float(np.median(np.abs(values - np.median(values)))) * 1.4826


def change_point(scores: Sequence[float]) -> Step | None:
    """The one-step fit of a score series (oldest first) by least absolute deviations; None for fewer than 2.

    Every split leaving at least one image on each side is tried; the one whose two medians leave the
    smallest sum of absolute deviations wins (ties: the earliest). `strength` = |step| / pooled robust
    spread (MAD x 1.4826 of each segment, weighted by size, floored at SPREAD_FLOOR)."""
    s = np.asarray(scores, dtype=float)
    n = len(s)
    if n < 2:
        return None
    best, best_cost = 1, math.inf
    for k in range(1, n):
        left, right = s[:k], s[k:]
        cost = float(np.abs(left - np.median(left)).sum() + np.abs(right - np.median(right)).sum())
        if cost < best_cost - 1e-12:
            best, best_cost = k, cost
    left, right = s[:best], s[best:]
    before, after = float(np.median(left)), float(np.median(right))
    pooled = (_spread(left) * len(left) + _spread(right) * len(right)) / n
    strength = abs(after - before) / max(pooled, SPREAD_FLOOR)
    if abs(after - before) < MIN_STEP or strength < LOW:
        return Step(best, before, after, strength, None, None)
    sides = min(len(left), len(right))
    confidence = "high" if strength >= HIGH and sides >= 3 else "medium" if strength >= MEDIUM and sides >= 2 \
        else "low"
    return Step(best, before, after, strength, "appeared" if after > before else "disappeared", confidence)


def steady_state(scores: Sequence[float]) -> str:
    """What a series without a change says: "present-throughout" when the median divergence is at least
    PRESENT_LEVEL (the footprint unlike its surroundings on every image), else "absent-throughout"."""
    return "present-throughout" if float(np.median(scores)) >= PRESENT_LEVEL else "absent-throughout"


def bracket_dates(dates: Sequence[dt.date], step: Step) -> tuple[dt.date, dt.date]:
    """The last date of the old state and the first date of the new one."""
    return dates[step.split - 1], dates[step.split]
