"""Change between two chips on the same grid: illumination-robust difference, change mask, areas in m².

Histogram matching (numpy, per band, the classic CDF mapping that scikit-image also uses) maps
the later chip's radiometry onto the earlier one, so a sun-angle or exposure change alone gives
almost no change; what remains after a threshold on the normalised difference is new structure.
Everything here is numpy on arrays; only `write_heatmap` writes a file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import shapely
from pyproj import Transformer
from rasterio.features import geometry_mask
from shapely.geometry.base import BaseGeometry

from imagery.base import Chip
from imagery.chips import Grid, valid_mask, write_overlay_png
from imagery.errors import GridMismatch

DEFAULT_THRESHOLD = 0.2  # mean absolute difference as a fraction of the 2-98 % range of the earlier chip


def same_grid(a: Chip, b: Chip) -> Grid:
    """The shared grid, or GridMismatch: comparing unaligned pixels would invent change."""
    ga, gb = Grid.of(a), Grid.of(b)
    if ga != gb or a.data.shape[0] != b.data.shape[0]:
        raise GridMismatch(f"chips are on different grids: {ga} ({a.data.shape[0]} bands) vs "
                           f"{gb} ({b.data.shape[0]} bands); make both with the same Grid")
    return ga


def _quantiles(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct values, their cumulative quantiles, and each input value's index into them."""
    # uint64 takes np.unique: its values above int64's range would overflow the int64 shift below
    if (values.dtype.kind in "ui" and values.size and int(values.max()) - int(values.min()) < 1 << 17
            and values.dtype != np.uint64):
        lo = int(values.min())
        shifted = (values.astype(np.int64) - lo)
        counts = np.bincount(shifted)
        present = np.flatnonzero(counts)
        index_of = np.zeros(counts.size, dtype=np.int64)
        index_of[present] = np.arange(present.size)
        return present + lo, np.cumsum(counts[present]) / values.size, index_of[shifted]
    uniq, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    return uniq, np.cumsum(counts) / values.size, inverse


def match_histograms(source: np.ndarray, reference: np.ndarray, source_valid: np.ndarray | None = None,
                     reference_valid: np.ndarray | None = None) -> np.ndarray:
    """`source` (bands, rows, cols) with each band's distribution mapped onto `reference`'s (float32)."""
    out = source.astype(np.float32)
    sv = np.ones(source.shape[1:], bool) if source_valid is None else source_valid
    rv = np.ones(reference.shape[1:], bool) if reference_valid is None else reference_valid
    if not sv.any() or not rv.any():
        return out
    for b in range(source.shape[0]):
        s_vals, s_q, s_idx = _quantiles(source[b][sv])
        r_vals, r_q, _ = _quantiles(reference[b][rv])
        mapped = np.interp(s_q, r_q, r_vals.astype(np.float64)).astype(np.float32)
        out[b][sv] = mapped[s_idx]
    return out


def normalised_difference(a: np.ndarray, b_matched: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Mean over bands of |a - b| / (2-98 % range of a's band); NaN where either chip has no data."""
    diff = np.zeros(a.shape[1:], dtype=np.float32)
    for band_a, band_b in zip(a.astype(np.float32), b_matched, strict=True):
        lo, hi = np.percentile(band_a[valid], (2, 98)) if valid.any() else (0.0, 1.0)
        diff += np.abs(band_a - band_b) / max(float(hi - lo), 1e-6)
    diff /= a.shape[0]
    diff[~valid] = np.nan
    return diff


def _shift_reduce(mask: np.ndarray, op: np.ufunc, pad_value: bool) -> np.ndarray:
    padded = np.pad(mask, 1, constant_values=pad_value)
    out = mask.copy()
    h, w = mask.shape
    for dy in (0, 1, 2):
        for dx in (0, 1, 2):
            out = op(out, padded[dy:dy + h, dx:dx + w])
    return out


def change_mask(diff: np.ndarray, threshold: float = DEFAULT_THRESHOLD, open_px: int = 1) -> np.ndarray:
    """Pixels whose difference exceeds the threshold, minus specks (3x3 opening repeated open_px times)."""
    mask = np.nan_to_num(diff, nan=0.0) > threshold
    for _ in range(open_px):
        mask = _shift_reduce(mask, np.logical_and, True)
    for _ in range(open_px):
        mask = _shift_reduce(mask, np.logical_or, False)
    return mask & ~np.isnan(diff)  # dilation must not spill into no-data


def polygon_mask(geometry: BaseGeometry, grid: Grid) -> np.ndarray:
    """Pixels whose centre lies inside a geometry given in EPSG:4326 lon/lat."""
    to_grid = Transformer.from_crs("EPSG:4326", grid.crs, always_xy=True)
    projected = shapely.transform(geometry, lambda xy: np.column_stack(to_grid.transform(xy[:, 0], xy[:, 1])))
    if projected.is_empty:
        return np.zeros(grid.shape, dtype=bool)
    return geometry_mask([projected], out_shape=grid.shape, transform=grid.transform, invert=True)


def changed_area_m2(mask: np.ndarray, grid: Grid, geometry: BaseGeometry | None = None) -> float:
    """Changed area in square metres, optionally only inside a lon/lat geometry."""
    inside = mask if geometry is None else mask & polygon_mask(geometry, grid)
    return float(np.count_nonzero(inside)) * grid.pixel_area


@dataclass(frozen=True)
class Comparison:
    """The change between two chips on one grid: the normalised difference, the changed-pixel mask at `threshold`,
    and the changed area in square metres, overall, inside the outline and per structure."""

    grid: Grid
    difference: np.ndarray  # normalised difference, NaN where either chip has no data
    mask: np.ndarray  # changed pixels
    threshold: float
    changed_m2: float  # whole chip
    changed_m2_inside: float | None = None  # inside the facility outline
    per_structure_m2: dict[str, float] = field(default_factory=dict)
    valid_fraction: float = 1.0  # share of the grid where both chips have data


def compare(before: Chip, after: Chip, outline: BaseGeometry | None = None,
            structures: Mapping[str, BaseGeometry] | None = None, threshold: float = DEFAULT_THRESHOLD,
            open_px: int = 1) -> Comparison:
    """Aligned, illumination-matched change between two chips of one grid, with areas in m²."""
    grid = same_grid(before, after)
    va, vb = valid_mask(before.data, before.nodata), valid_mask(after.data, after.nodata)
    valid = va & vb
    matched = match_histograms(after.data, before.data, valid, valid)
    diff = normalised_difference(before.data, matched, valid)
    mask = change_mask(diff, threshold, open_px)
    return Comparison(
        grid=grid, difference=diff, mask=mask, threshold=threshold, changed_m2=changed_area_m2(mask, grid),
        changed_m2_inside=None if outline is None else changed_area_m2(mask, grid, outline),
        per_structure_m2={name: changed_area_m2(mask, grid, geom) for name, geom in (structures or {}).items()},
        valid_fraction=float(valid.mean()),
    )


def heatmap_rgba(result: Comparison) -> np.ndarray:
    """Yellow-to-red by difference, opaque on changed pixels, faint below threshold, clear without data."""
    diff = np.nan_to_num(result.difference, nan=0.0)
    t = np.clip(diff / (2 * result.threshold), 0, 1)
    rgba = np.empty((4,) + diff.shape, dtype=np.uint8)
    rgba[0] = 255
    rgba[1] = (255 * (1 - t)).astype(np.uint8)
    rgba[2] = 0
    alpha = np.where(result.mask, 210, t * 90)
    alpha[np.isnan(result.difference)] = 0
    rgba[3] = alpha.astype(np.uint8)
    return rgba


def write_heatmap(result: Comparison, path: str | os.PathLike[str]) -> list[list[float]]:
    """The heat map as a Web Mercator PNG; returns folium ImageOverlay bounds."""
    return write_overlay_png(heatmap_rgba(result), result.grid, path)
