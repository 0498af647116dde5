"""Change you can defend: significance against the pair's own noise, an area with a range, polygons.

`compare` (imagery.compare) thresholds a normalised difference at a fixed level, so two images
that differ only by sensor noise still show "changed" pixels. `measure_change` asks instead
whether the difference exceeds what the pair's own noise can give:

1. the later image is histogram-matched onto the earlier (the quantile mapping of
   imagery.compare), so gain, offset and gamma changes alone leave (almost) no difference; when
   regions are found the mapping is learnt again without them (a large new roof would otherwise
   pull the later image's bright end down onto the earlier's and hide part of itself);
2. per band, the noise of the difference is estimated robustly from the images themselves
   (sigma = 1.4826 x the median absolute deviation over every valid pixel: a real change covering
   less than half the area does not move it), and every pixel's difference is expressed in those
   sigmas (z);
3. detection by local means: the mean z over a window of one minimum mapping unit (MMU, in m²,
   scaled to the grid's pixel size) is compared with the spread of such window means over the
   same pair (again a MAD), which includes whatever spatial correlation the noise has
   (resampling, JPEG blocks, a sub-pixel shift on texture); a window beyond LOCAL_K of those
   sigmas is significant;
4. delineation: pixels beyond PIXEL_K sigmas (change magnitude over the bands), or beyond WEAK_K sigmas
   in their 3 x 3 mean inside a window step 3 found significant (hysteresis), holes smaller than
   the MMU filled, 8-connected regions; a region is kept when it covers at least the MMU and holds
   a significant window; its edge is then set at half the local contrast (a pixel stays when its
   change is at least half the strongest in its 3 x 3 neighbourhood), so a boundary pixel is
   counted when the change covers at least half of it rather than always;
5. the area is the kept pixels x the pixel area in the UTM grid (planar metres; the UTM scale
   factor is within 0.04 % near a zone's centre); the range is that area minus / plus the regions'
   perimeter x half a pixel (where a straight edge can lie within the pixels that straddle it).

`significant` is true when at least one region is kept; otherwise changed_m2 is 0 and the text says
"no significant change". Vegetation: with red and near-infrared bands for both dates the index is
NDVI, otherwise the excess-green index on chromatic coordinates (ExG = 2g - r - b, g = G/(R+G+B)).
A region is vegetation change when both dates are vegetated there, or when one is and the change
in the index (in its own noise sigmas) exceeds the change in brightness (in its sigmas). Cleared
ground (green to bright bare soil) therefore counts as built-up change, harvest-like loss of green
with little brightness change as vegetation.

Limits: the noise is a median statistic, so a change covering more than about half the padded
area is absorbed into it and not reported (a site's outline is padded by 150 m, so this takes a
whole site rebuilt); a change whose contrast with what was there is below PIXEL_K sigmas (a white
roof over bright concrete) is lost where it cannot be told apart, and a region then counts only
its distinguishable pixels.

Everything here is numpy, scipy.ndimage, scikit-image and rasterio.features on arrays and a Grid.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
import shapely
from pyproj import Transformer
from rasterio.features import shapes
from scipy import ndimage
from shapely.geometry import MultiPolygon, Polygon, mapping, shape
from shapely.geometry.base import BaseGeometry
from skimage.morphology import remove_small_holes

from .base import Chip
from .chips import Grid, valid_mask
from .compare import _quantiles, same_grid

DEFAULT_MMU_M2 = 100.0  # the smallest change reported: a 10 m x 10 m shed
MIN_MMU_PX = 4  # never fewer pixels than this, whatever the pixel size (one pixel is never a region)
PIXEL_K = 3.0  # a pixel changed when its change magnitude exceeds this many noise sigmas
WEAK_K = 1.5  # ... or its 3 x 3 mean magnitude exceeds this many, inside a window beyond LOCAL_K (hysteresis)
LOCAL_K = 5.0  # an MMU window's mean change is significant beyond this many sigmas of such means
NDVI_VEGETATED = 0.3  # mean NDVI above which a region is vegetated on a date
EXG_VEGETATED = 0.08  # mean ExG (chromatic coordinates) above which a region is vegetated on a date
MAD_SIGMA = 1.4826  # MAD x this = the standard deviation of normally distributed values
_MIN_VALID_PX = 64  # fewer valid pixels than this: nothing can be said
EDGE_FRACTION = 0.5  # an edge pixel counts when its change is at least half its strongest neighbour's


class ChangeIndex(StrEnum):
    """The greenness index that separated vegetation from built-up change."""

    NDVI = "ndvi"  # (NIR - red) / (NIR + red), both dates with a near-infrared band
    EXG = "exg"  # excess green 2g - r - b on chromatic coordinates, from RGB only


@dataclass(frozen=True)
class ChangeRegion:
    """One changed region: a polygon in EPSG:4326 with its figures."""

    geometry: BaseGeometry  # Polygon or MultiPolygon, lon/lat (EPSG:4326), traced along pixel edges
    area_m2: float  # planar area in the UTM grid (pixel count x pixel area)
    perimeter_m: float  # length of the region's pixel-edge boundary in the UTM grid
    mean_difference: float  # mean |after - before| over the region and bands, as a fraction of the earlier
    # image's 2-98 % range per band (the units of imagery.compare's normalised difference)
    noise_sigmas: float  # mean change magnitude over the region in noise sigmas of the pair
    score: float  # strongest MMU-window mean inside the region, in sigmas of such means (> LOCAL_K: significant)
    vegetation: bool  # the greenness index explains the change (see the module docstring)
    index_before: float  # mean greenness index over the region on the earlier date
    index_after: float  # ... and on the later date


@dataclass(frozen=True)
class Change:
    """The defensible change between two chips on one grid."""

    grid: Grid
    significant: bool  # at least one region beat the pair's noise (and survived --built-up-only)
    changed_m2: float  # sum of the regions' area_m2; 0 when not significant
    changed_m2_range: tuple[float, float]  # [low, high]: changed_m2 -/+ perimeter x half a pixel, low >= 0
    method: str  # how the figures were made, in one sentence, for the analyst to quote
    index: ChangeIndex
    regions: tuple[ChangeRegion, ...]  # the counted regions, largest first
    vegetation_regions: tuple[ChangeRegion, ...] = ()  # significant vegetation regions left out (built_up_only)
    noise_sigma: tuple[float, ...] = ()  # per band: robust sigma of the difference, in the image's units
    valid_fraction: float = 1.0  # share of the grid where both images have data (the rest is never change)
    mmu_m2: float = DEFAULT_MMU_M2  # the minimum mapping unit used, after scaling to whole pixels
    built_up_only: bool = False
    before: str = ""  # image key of the earlier image, as text
    after: str = ""  # image key of the later image, as text
    mask: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), bool), repr=False, compare=False)
    # per pixel of `grid`: the change magnitude in noise sigmas of the pair (root mean square over the bands of
    # the matched difference over its robust sigma), float32, NaN where either image has no data
    magnitude: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32), repr=False, compare=False)

    @property
    def pixel_size_m(self) -> float:
        """Side of one grid pixel in metres."""
        return math.sqrt(self.grid.pixel_area)

    def feature_collection(self) -> dict[str, Any]:
        """The counted regions as a GeoJSON FeatureCollection (EPSG:4326) with area_m2, mean_difference,
        before, after (image keys), noise_sigmas, score and vegetation per feature."""
        return {"type": "FeatureCollection", "features": [
            {"type": "Feature", "geometry": mapping(r.geometry), "properties": {
                "area_m2": round(r.area_m2, 2), "mean_difference": round(r.mean_difference, 4),
                "before": self.before, "after": self.after, "noise_sigmas": round(r.noise_sigmas, 2),
                "score": round(r.score, 2), "vegetation": r.vegetation, "index": self.index.value,
                "index_before": round(r.index_before, 4), "index_after": round(r.index_after, 4)}}
            for r in self.regions]}

    def multipolygon(self) -> MultiPolygon:
        """Every counted region as one MultiPolygon in EPSG:4326 (empty when nothing is counted)."""
        parts: list[Polygon] = []
        for r in self.regions:
            parts.extend(getattr(r.geometry, "geoms", [r.geometry]))
        return MultiPolygon(parts)


def mmu_pixels(mmu_m2: float, grid: Grid) -> int:
    """The minimum mapping unit in whole pixels of `grid` (at least MIN_MMU_PX)."""
    return max(MIN_MMU_PX, math.ceil(mmu_m2 / grid.pixel_area - 1e-9))


def analysis_pixel_m(resolutions: list[float | None], extent_m: float, max_side: int = 2048,
                     unknown_side: int = 768) -> float:
    """The pixel size both images are compared at: the coarser of their resolutions (never finer detail than
    either has), and no finer than `extent_m / max_side` (memory); with no known resolution,
    `extent_m / unknown_side`."""
    known = [r for r in resolutions if r is not None and r > 0]
    floor = extent_m / max_side
    if not known:
        return max(floor, extent_m / unknown_side)
    return max(max(known), floor)


def robust_sigma(values: np.ndarray, floor: float = 0.0) -> tuple[float, float]:
    """(median, sigma) of `values` from the median absolute deviation, sigma at least `floor`."""
    if values.size == 0:
        return 0.0, max(floor, 1e-12)
    med = float(np.median(values))
    sigma = MAD_SIGMA * float(np.median(np.abs(values - med)))
    return med, max(sigma, floor, 1e-12)


def _local_score(z: np.ndarray, valid: np.ndarray, side: int) -> np.ndarray:
    """Per pixel, the strongest band's mean z over the side x side window around it, in robust sigmas of such
    window means over the pair (0 where less than half the window has data)."""
    weight = ndimage.uniform_filter(valid.astype(np.float32), side, mode="constant")
    defined = (weight >= 0.5) & valid
    score = np.zeros(valid.shape, np.float32)
    if not defined.any():
        return score
    for band in z:
        mean = ndimage.uniform_filter(band, side, mode="constant") / np.maximum(weight, 1e-6)
        med, sigma = robust_sigma(mean[defined])
        score = np.maximum(score, np.where(defined, np.abs(mean - med) / sigma, 0).astype(np.float32))
    return score


def match_radiometry(source: np.ndarray, reference: np.ndarray, learn: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """`source` (bands, rows, cols) as float32 with each band mapped onto `reference`'s radiometry: the quantile
    mapping (histogram matching) learnt on the `learn` pixels of both, applied to every `valid` pixel; values
    beyond the learnt range continue with slope 1 (a new roof brighter than anything before stays brighter)."""
    out = source.astype(np.float32)
    if not learn.any():
        return out
    for b in range(source.shape[0]):
        s_vals, s_q, _ = _quantiles(source[b][learn])
        r_vals, r_q, _ = _quantiles(reference[b][learn])
        lut = np.interp(s_q, r_q, r_vals.astype(np.float64))
        band = source[b].astype(np.float64)
        mapped = np.interp(band, s_vals.astype(np.float64), lut)
        lo, hi = float(s_vals[0]), float(s_vals[-1])
        mapped = np.where(band > hi, lut[-1] + (band - hi), np.where(band < lo, lut[0] + (band - lo), mapped))
        out[b] = np.where(valid, mapped, out[b]).astype(np.float32)
    return out


@dataclass
class _Found:
    sigmas: list[float]
    scale: list[float]
    magnitude: np.ndarray
    score: np.ndarray
    labels: np.ndarray  # kept regions 1..count, 0 elsewhere
    count: int


def _detect(b0: np.ndarray, b1: np.ndarray, valid: np.ndarray, n_mmu: int, step: float) -> _Found:
    """Steps 2-4 of the module docstring on radiometrically matched bands."""
    z = np.zeros(b0.shape, np.float32)
    sigmas, scale = [], []
    for b in range(b0.shape[0]):
        d = b1[b] - b0[b]
        lo, hi = np.percentile(b0[b][valid], (2, 98))
        med, sigma = robust_sigma(d[valid], max(0.5 * step, 1e-6 * float(hi - lo)))
        sigmas.append(sigma)
        scale.append(max(float(hi - lo), 1e-6))
        z[b] = np.where(valid, (d - med) / sigma, 0)
    magnitude = np.sqrt(np.mean(z * z, axis=0))
    side = max(2, round(math.sqrt(n_mmu)))
    score = _local_score(z, valid, side)
    # Hysteresis: inside windows the local-means test already finds significant, a weaker but consistent change
    # (its 3 x 3 mean beyond WEAK_K sigmas) also counts: a roof of moderate contrast whose pixels sit under
    # PIXEL_K after matching is otherwise lost although its windows are far beyond noise.
    smooth = ndimage.uniform_filter(np.where(valid, magnitude, 0), 3, mode="nearest")
    window = ndimage.binary_dilation(score > LOCAL_K, iterations=max(1, side // 2))
    weak = (smooth > WEAK_K) & window
    changed = remove_small_holes(((magnitude > PIXEL_K) | weak) & valid, max_size=n_mmu) & valid
    labels, count = ndimage.label(changed, structure=np.ones((3, 3), bool))
    kept = np.zeros(valid.shape, np.int32)
    n_kept = 0
    if count:
        sizes = np.bincount(labels.ravel(), minlength=count + 1)
        best = np.asarray(ndimage.maximum(score, labels, index=np.arange(1, count + 1)))
        for lab in np.flatnonzero((sizes[1:] >= n_mmu) & (best > LOCAL_K)) + 1:
            region = labels == lab
            # a region of strong pixels keeps its edge rule on the pixels; a weak one is delineated on the 3 x 3 means
            strong = float(np.median(magnitude[region])) >= PIXEL_K
            level, floor = (magnitude, PIXEL_K) if strong else (smooth, WEAK_K)
            local_max = ndimage.maximum_filter(np.where(region, level, 0), size=3)
            edge = region & (level >= np.maximum(floor, EDGE_FRACTION * local_max))
            edge = remove_small_holes(edge, max_size=n_mmu) & region
            if edge.sum() >= n_mmu:
                n_kept += 1
                kept[edge] = n_kept
    return _Found(sigmas, scale, magnitude, score, kept, n_kept)


def greenness(data: np.ndarray, red_nir: tuple[np.ndarray, np.ndarray] | None) -> np.ndarray:
    """NDVI from (red, nir) when given, else ExG = 2g - r - b on chromatic coordinates of RGB `data`
    (bands, rows, cols); NaN where it is undefined."""
    with np.errstate(divide="ignore", invalid="ignore"):
        if red_nir is not None:
            red, nir = (np.asarray(x, np.float64) for x in red_nir)
            return ((nir - red) / (nir + red)).astype(np.float32)
        rgb = data.astype(np.float64)
        if rgb.shape[0] < 3:
            return np.zeros(rgb.shape[1:], np.float32)
        total = rgb[0] + rgb[1] + rgb[2]
        r, g, b = rgb[0] / total, rgb[1] / total, rgb[2] / total
        return (2 * g - r - b).astype(np.float32)


def _regions_to_polygons(labels: np.ndarray, grid: Grid) -> dict[int, BaseGeometry]:
    """Label -> its pixels' outline in the grid CRS (rasterio.features.shapes, 8-connected)."""
    parts: dict[int, list[BaseGeometry]] = {}
    for geom, value in shapes(labels.astype(np.int32), mask=labels > 0, connectivity=8, transform=grid.transform):
        parts.setdefault(int(value), []).append(shape(geom))
    return {k: v[0] if len(v) == 1 else shapely.union_all(v) for k, v in parts.items()}


def _to_lonlat(geom: BaseGeometry, crs: str) -> BaseGeometry:
    to_ll = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    return shapely.transform(geom, lambda xy: np.column_stack(to_ll.transform(xy[:, 0], xy[:, 1])))


def _method(index: ChangeIndex, mmu_m2: float, pixel_m: float, built_up_only: bool) -> str:
    veg = ("NDVI" if index is ChangeIndex.NDVI else "RGB excess-green (ExG)") + " separates vegetation"
    return (f"histogram-matched difference; noise = 1.4826 x MAD of the pair's own difference; pixels beyond "
            f"{PIXEL_K:g} sigma in regions of at least {mmu_m2:g} m² whose {mmu_m2:g} m² local mean beats "
            f"{LOCAL_K:g} sigma of such means; edges at half the local contrast; area in the UTM grid at "
            f"{pixel_m:g} m/pixel; range = area -/+ perimeter x half a pixel; {veg}"
            + ("; vegetation regions left out (built-up only)" if built_up_only else ""))


def _sigmas_map(magnitude: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """The magnitude as Change.magnitude holds it: float32, NaN where either image has no data."""
    return np.where(valid, magnitude, np.nan).astype(np.float32)


def _nothing(grid: Grid, index: ChangeIndex, method: str, valid_fraction: float, mmu_m2: float,
             built_up_only: bool, before: str, after: str, sigma: tuple[float, ...] = (),
             magnitude: np.ndarray | None = None) -> Change:
    return Change(grid, False, 0.0, (0.0, 0.0), method, index, (), (), sigma, valid_fraction, mmu_m2,
                  built_up_only, before, after, np.zeros(grid.shape, bool),
                  magnitude if magnitude is not None else np.full(grid.shape, np.nan, np.float32))


def measure_change(before: Chip, after: Chip, *, before_red_nir: tuple[np.ndarray, np.ndarray] | None = None,
                   after_red_nir: tuple[np.ndarray, np.ndarray] | None = None, built_up_only: bool = False,
                   mmu_m2: float = DEFAULT_MMU_M2, before_key: str = "", after_key: str = "") -> Change:
    """The change between two chips on one grid, tested against the pair's own noise (module docstring).

    `before_red_nir` / `after_red_nir`: (red, nir) arrays on the same grid, NaN where they have no data; NDVI is
    used only when both dates have them, ExG otherwise. GridMismatch when the chips are on different grids."""
    grid = same_grid(before, after)
    n_mmu = mmu_pixels(mmu_m2, grid)
    mmu_used = n_mmu * grid.pixel_area
    index = ChangeIndex.NDVI if before_red_nir is not None and after_red_nir is not None else ChangeIndex.EXG
    method = _method(index, mmu_used, math.sqrt(grid.pixel_area), built_up_only)
    valid = valid_mask(before.data, before.nodata) & valid_mask(after.data, after.nodata)
    valid &= np.all(np.isfinite(before.data), axis=0) & np.all(np.isfinite(after.data), axis=0)
    idx0 = greenness(before.data, before_red_nir if index is ChangeIndex.NDVI else None)
    idx1 = greenness(after.data, after_red_nir if index is ChangeIndex.NDVI else None)
    if index is ChangeIndex.NDVI:
        valid &= np.isfinite(idx0) & np.isfinite(idx1)
    valid_fraction = float(valid.mean()) if valid.size else 0.0
    if int(valid.sum()) < max(_MIN_VALID_PX, 2 * n_mmu):
        return _nothing(grid, index, "too few pixels with data on both images: " + method, valid_fraction,
                        mmu_used, built_up_only, before_key, after_key)

    b0 = before.data.astype(np.float32)
    step = 1.0 if before.data.dtype.kind in "ui" else 0.0
    b1 = match_radiometry(after.data, before.data, valid, valid)
    found = _detect(b0, b1, valid, n_mmu, step)
    if found.count:  # learn the radiometry again without the changed pixels: a large change skews the histograms
        learn = valid & ~ndimage.binary_dilation(found.labels > 0, iterations=2)
        if learn.sum() >= max(_MIN_VALID_PX, valid.sum() // 4):
            b1 = match_radiometry(after.data, before.data, learn, valid)
            found = _detect(b0, b1, valid, n_mmu, step)
    sigmas, scale, magnitude, score, kept, n_kept = (found.sigmas, found.scale, found.magnitude, found.score,
                                                     found.labels, found.count)
    if n_kept == 0:
        return _nothing(grid, index, method, valid_fraction, mmu_used, built_up_only, before_key, after_key,
                        tuple(sigmas), _sigmas_map(magnitude, valid))

    brightness = b1.mean(axis=0) - b0.mean(axis=0)
    _, sigma_i = robust_sigma(brightness[valid])
    dindex = idx1 - idx0
    finite = valid & np.isfinite(dindex)
    _, sigma_g = robust_sigma(dindex[finite]) if finite.any() else (0.0, 1.0)
    veg_t = NDVI_VEGETATED if index is ChangeIndex.NDVI else EXG_VEGETATED
    labels_range = np.arange(1, n_kept + 1)
    sizes = ndimage.sum(np.ones(grid.shape), kept, labels_range)
    polygons = _regions_to_polygons(kept, grid)
    absdiff = np.mean([np.abs(b1[b] - b0[b]) / scale[b] for b in range(b0.shape[0])], axis=0)
    stats = {name: ndimage.mean(arr, kept, labels_range) for name, arr in (
        ("diff", absdiff), ("mag", magnitude), ("i0", np.nan_to_num(idx0)), ("i1", np.nan_to_num(idx1)),
        ("bright", brightness), ("dindex", np.nan_to_num(dindex)))}
    best = ndimage.maximum(score, kept, labels_range)
    counted: list[ChangeRegion] = []
    vegetation: list[ChangeRegion] = []
    for i, lab in enumerate(labels_range):
        utm = polygons[int(lab)]
        v0, v1 = float(stats["i0"][i]), float(stats["i1"][i])
        z_index, z_bright = abs(float(stats["dindex"][i])) / sigma_g, abs(float(stats["bright"][i])) / sigma_i
        is_veg = (v0 > veg_t and v1 > veg_t) or ((v0 > veg_t or v1 > veg_t) and z_index > z_bright)
        region = ChangeRegion(
            geometry=_to_lonlat(utm, grid.crs), area_m2=float(sizes[i]) * grid.pixel_area, perimeter_m=utm.length,
            mean_difference=float(stats["diff"][i]), noise_sigmas=float(stats["mag"][i]), score=float(best[i]),
            vegetation=is_veg, index_before=v0, index_after=v1)
        if built_up_only and is_veg:
            vegetation.append(region)
            kept[kept == lab] = 0
        else:
            counted.append(region)
    counted.sort(key=lambda r: -r.area_m2)
    total = sum(r.area_m2 for r in counted)
    half_px = math.sqrt(grid.pixel_area) / 2
    band = sum(r.perimeter_m for r in counted) * half_px
    return Change(grid=grid, significant=bool(counted), changed_m2=total,
                  changed_m2_range=(max(0.0, total - band), total + band) if counted else (0.0, 0.0),
                  method=method, index=index, regions=tuple(counted), vegetation_regions=tuple(vegetation),
                  noise_sigma=tuple(sigmas), valid_fraction=valid_fraction, mmu_m2=mmu_used,
                  built_up_only=built_up_only, before=before_key, after=after_key, mask=kept > 0,
                  magnitude=_sigmas_map(magnitude, valid))
