"""Rules of imagery.change's result (issue 22): the exact GeoJSON contract of `Change.feature_collection` (every
key, each figure's rounding at a value where the rounding digit matters, the geometry in EPSG:4326, an empty
collection), `Change.multipolygon` (multi-part regions flattened, empty when nothing is counted), every field of
`_nothing`'s "nothing significant" result (direct and through `measure_change`), and `analysis_pixel_m`'s
boundaries. Pure: `Change` and `ChangeRegion` values built by hand, or the measure on small generated arrays."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from affine import Affine
from pyproj import Transformer
from scipy import ndimage
from shapely.geometry import MultiPolygon, Polygon, box, mapping

from imagery.base import Capture, Chip, DateCertainty
from imagery.change import (
    Change,
    ChangeIndex,
    ChangeRegion,
    _detect,
    _local_score,
    _method,
    _nothing,
    _regions_to_polygons,
    _to_lonlat,
    analysis_pixel_m,
    greenness,
    match_radiometry,
    measure_change,
    robust_sigma,
)
from imagery.chips import Grid
from tests.support.rasters import UTM52_ORIGIN

CAP = Capture("local", "x", None, DateCertainty.STATED)
X0, Y0 = UTM52_ORIGIN
GRID = Grid("EPSG:32652", Affine(2.0, 0, X0, 0, -2.0, Y0), 5, 3)  # 3 rows x 5 columns of 2 m


def _region(geometry, area=123.456789, diff=0.123456, sigmas=7.891234, score=12.345678, veg=True,
            i0=0.456789, i1=-0.012345) -> ChangeRegion:
    return ChangeRegion(geometry=geometry, area_m2=area, perimeter_m=44.0, mean_difference=diff,
                        noise_sigmas=sigmas, score=score, vegetation=veg, index_before=i0, index_after=i1)


def _change(regions: tuple[ChangeRegion, ...], index: ChangeIndex = ChangeIndex.NDVI) -> Change:
    return Change(GRID, bool(regions), sum(r.area_m2 for r in regions), (0.0, 0.0), "m", index, regions,
                  before="2020-01-02 wayback:1", after="2023-04-05 wayback:2")


SQUARE = box(127.0, 39.0, 127.001, 39.001)
TWO_PART = MultiPolygon([box(127.0, 39.0, 127.0001, 39.0001), box(127.0002, 39.0, 127.0003, 39.0001)])


def test_a_feature_collection_holds_every_key_with_its_rounding():
    fc = _change((_region(SQUARE), _region(TWO_PART, area=10.005001, diff=0.00005001, sigmas=3.455001,
                                           score=5.004999, veg=False, i0=-0.98765, i1=0.33335001)),
                 ChangeIndex.EXG).feature_collection()
    assert fc == {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": mapping(SQUARE), "properties": {
            "area_m2": 123.46, "mean_difference": 0.1235, "before": "2020-01-02 wayback:1",
            "after": "2023-04-05 wayback:2", "noise_sigmas": 7.89, "score": 12.35, "vegetation": True,
            "index": "exg", "index_before": 0.4568, "index_after": -0.0123}},
        {"type": "Feature", "geometry": mapping(TWO_PART), "properties": {
            "area_m2": 10.01, "mean_difference": 0.0001, "before": "2020-01-02 wayback:1",
            "after": "2023-04-05 wayback:2", "noise_sigmas": 3.46, "score": 5.0, "vegetation": False,
            "index": "exg", "index_before": -0.9877, "index_after": 0.3334}}]}
    props = fc["features"][0]["properties"]
    # floats, not the ints round(x) / round(x, None) give; the index is the enum's text
    for key in ("area_m2", "mean_difference", "noise_sigmas", "score", "index_before", "index_after"):
        assert type(props[key]) is float, key
    assert type(props["index"]) is str and type(props["vegetation"]) is bool
    assert list(props) == ["area_m2", "mean_difference", "before", "after", "noise_sigmas", "score", "vegetation",
                           "index", "index_before", "index_after"]
    assert fc["features"][1]["geometry"]["type"] == "MultiPolygon"
    assert _change((_region(SQUARE),)).feature_collection()["features"][0]["properties"]["index"] == "ndvi"


def test_an_empty_change_is_an_empty_feature_collection():
    assert _change(()).feature_collection() == {"type": "FeatureCollection", "features": []}


def test_the_multipolygon_flattens_multi_part_regions_in_order():
    mp = _change((_region(SQUARE), _region(TWO_PART))).multipolygon()
    assert isinstance(mp, MultiPolygon) and len(mp.geoms) == 3
    assert [p.equals_exact(q, 0) for p, q in zip(mp.geoms, [SQUARE, *TWO_PART.geoms], strict=True)] == [True] * 3
    assert all(isinstance(p, Polygon) for p in mp.geoms)
    assert mp.area == pytest.approx(SQUARE.area + TWO_PART.area, rel=1e-12)
    single = _change((_region(TWO_PART),)).multipolygon()
    assert [p.wkt for p in single.geoms] == [p.wkt for p in TWO_PART.geoms]


def test_the_multipolygon_of_nothing_counted_is_empty():
    mp = _change(()).multipolygon()
    assert isinstance(mp, MultiPolygon) and mp.is_empty and len(mp.geoms) == 0


def _assert_nothing(c: Change, grid: Grid, index: ChangeIndex, method: str, valid_fraction: float, mmu: float,
                    built_up_only: bool, before: str, after: str, sigma: tuple[float, ...]) -> None:
    assert c.grid == grid and c.significant is False
    assert c.changed_m2 == 0.0 and c.changed_m2_range == (0.0, 0.0)
    assert c.method == method and c.index is index
    assert c.regions == () and c.vegetation_regions == ()
    assert c.noise_sigma == sigma and c.valid_fraction == valid_fraction and c.mmu_m2 == mmu
    assert c.built_up_only is built_up_only and c.before == before and c.after == after
    assert isinstance(c.mask, np.ndarray) and c.mask.dtype == np.bool_ and c.mask.shape == grid.shape
    assert not c.mask.any()
    assert c.feature_collection() == {"type": "FeatureCollection", "features": []}
    assert c.multipolygon().is_empty


def test_nothing_holds_every_field_and_a_nan_magnitude_by_default():
    c = _nothing(GRID, ChangeIndex.NDVI, "how", 0.25, 104.0, True, "b-key", "a-key", (1.5, 2.5))
    _assert_nothing(c, GRID, ChangeIndex.NDVI, "how", 0.25, 104.0, True, "b-key", "a-key", (1.5, 2.5))
    assert isinstance(c.magnitude, np.ndarray) and c.magnitude.dtype == np.float32
    assert c.magnitude.shape == (3, 5) and np.isnan(c.magnitude).all()
    c2 = _nothing(GRID, ChangeIndex.EXG, "other", 1.0, 8.0, False, "", "")
    _assert_nothing(c2, GRID, ChangeIndex.EXG, "other", 1.0, 8.0, False, "", "", ())
    assert c2.magnitude.shape == (3, 5) and np.isnan(c2.magnitude).all()


def test_nothing_keeps_the_magnitude_it_is_given():
    mag = np.arange(15, dtype=np.float32).reshape(3, 5)
    c = _nothing(GRID, ChangeIndex.EXG, "how", 0.5, 100.0, False, "b", "a", (), mag)
    assert c.magnitude is mag


def _chip_at(data: np.ndarray, pixel_m: float, nodata: float | None = None) -> Chip:
    return Chip(CAP, data, "EPSG:32652", (pixel_m, 0.0, X0, 0.0, -pixel_m, Y0), nodata)


def _chip(data: np.ndarray, nodata: float | None = None) -> Chip:
    return _chip_at(data, 1.0, nodata)


def _pair(n: int = 128, roof: bool = True, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[0:n, 0:n]
    base = (np.sin(xx / 9.0) + np.cos(yy / 7.0)) * 30 + 110
    ground = np.stack([base, base + 10, base + 20])
    rng = np.random.default_rng(seed)
    before = np.clip(np.round(ground + rng.normal(0, 3, ground.shape)), 0, 255).astype(np.uint8)
    later = ground.copy()
    if roof:
        later[:, 40:70, 50:80] = np.array([230, 60, 40])[:, None, None]  # a 30 m x 30 m red roof
    after = np.clip(np.round(later + rng.normal(0, 3, ground.shape)), 0, 255).astype(np.uint8)
    return before, after


def test_a_measured_roof_is_one_feature_in_lon_lat_with_its_rounded_figures():
    before, after = _pair()
    c = measure_change(_chip(before), _chip(after), before_key="k0", after_key="k1")
    assert c.significant and len(c.regions) == 1 and c.changed_m2 == 900.0
    r = c.regions[0]
    fc = c.feature_collection()
    [feature] = fc["features"]
    assert feature["geometry"] == mapping(r.geometry)
    assert feature["properties"] == {
        "area_m2": 900.0, "mean_difference": round(r.mean_difference, 4), "before": "k0", "after": "k1",
        "noise_sigmas": round(r.noise_sigmas, 2), "score": round(r.score, 2), "vegetation": False, "index": "exg",
        "index_before": round(r.index_before, 4), "index_after": round(r.index_after, 4)}
    # the roof's pixel edges (columns 50-80, rows 40-70 of a 1 m grid) in EPSG:4326, lon/lat order
    to_ll = Transformer.from_crs("EPSG:32652", "EPSG:4326", always_xy=True)
    corners = [to_ll.transform(X0 + x, Y0 - y) for x, y in [(50, 40), (80, 40), (80, 70), (50, 70)]]
    ring = feature["geometry"]["coordinates"][0]
    assert feature["geometry"]["type"] == "Polygon" and len(ring) == 5
    for lon, lat in corners:
        assert min(abs(lon - p[0]) + abs(lat - p[1]) for p in ring) < 1e-9
    assert 127.6 < ring[0][0] < 127.7 and 39.9 < ring[0][1] < 39.95
    assert c.multipolygon().equals(MultiPolygon([r.geometry]))


def test_no_significant_change_is_nothing_with_the_measured_magnitude():
    before, _ = _pair(roof=False)
    c = measure_change(_chip(before), _chip(before.copy()), built_up_only=True, before_key="k0", after_key="k1")
    grid = Grid("EPSG:32652", Affine(1.0, 0, X0, 0, -1.0, Y0), 128, 128)
    _assert_nothing(c, grid, ChangeIndex.EXG, c.method, 1.0, 100.0, True, "k0", "k1", c.noise_sigma)
    assert c.method.startswith("histogram-matched difference;") and c.method.endswith("(built-up only)")
    assert len(c.noise_sigma) == 3 and all(s > 0 for s in c.noise_sigma)
    assert c.magnitude.dtype == np.float32 and c.magnitude.shape == (128, 128)
    assert np.isfinite(c.magnitude).all() and float(c.magnitude.max()) == 0.0


def test_too_few_valid_pixels_is_nothing_with_a_nan_magnitude():
    before, after = _pair()
    before[:, :, 2:] = 0  # two columns left with data: 256 pixels, under 2 x the 100-pixel MMU
    c = measure_change(_chip(before, nodata=0), _chip(after), mmu_m2=150.0, before_key="k0", after_key="k1")
    grid = Grid("EPSG:32652", Affine(1.0, 0, X0, 0, -1.0, Y0), 128, 128)
    _assert_nothing(c, grid, ChangeIndex.EXG, c.method, 256 / 128 ** 2, 150.0, False, "k0", "k1", ())
    assert c.method.startswith("too few pixels with data on both images: histogram-matched")
    assert c.magnitude.dtype == np.float32 and c.magnitude.shape == (128, 128) and np.isnan(c.magnitude).all()


@pytest.mark.parametrize(("resolutions", "extent", "expected"), [
    ([0.5, 2.0], 100.0, 2.0),  # the coarser resolution
    ([0.5, None], 100.0, 0.5),  # None is unknown
    ([0.0], 768.0, 1.0),  # zero is unknown: extent / unknown_side, not extent / max_side
    ([-3.0, 0.0, None], 768.0, 1.0),  # negative and zero are unknown
    ([], 768.0, 1.0),
    ([0.25], 2048.0, 1.0),  # never finer than extent / max_side
    ([1.0], 2048.0, 1.0),  # at the floor exactly
    ([1.5], 2048.0, 1.5),
])
def test_analysis_pixel_boundaries(resolutions, extent, expected):
    assert analysis_pixel_m(resolutions, extent) == expected


def test_analysis_pixel_limits_are_parameters():
    assert analysis_pixel_m([], 300.0, max_side=100, unknown_side=200) == 3.0  # the floor beats extent / unknown
    assert analysis_pixel_m([], 300.0, max_side=300, unknown_side=100) == 3.0
    assert analysis_pixel_m([0.1], 300.0, max_side=100) == 3.0


# --- robust_sigma, _local_score, match_radiometry, _regions_to_polygons / _to_lonlat ---------------------------


def test_robust_sigma_is_1_4826_mad_with_its_floors():
    assert robust_sigma(np.array([1.0, 2.0, 3.0, 4.0, 100.0])) == (3.0, 1.4826)  # MAD 1: the outlier is ignored
    assert robust_sigma(np.array([1.0, 2.0, 3.0, 4.0, 100.0]), floor=10.0) == (3.0, 10.0)
    assert robust_sigma(np.array([5.0])) == (5.0, 1e-12)  # one value: its own median, no spread
    assert robust_sigma(np.array([2.0, 2.0, 2.0])) == (2.0, 1e-12)
    assert robust_sigma(np.array([])) == (0.0, 1e-12)
    assert robust_sigma(np.array([]), floor=0.25) == (0.0, 0.25)


def _local_score_by_hand(z: np.ndarray, valid: np.ndarray, side: int) -> np.ndarray:
    """The window means computed pixel by pixel: a side x side window (rows i - side // 2 .. i + (side - 1) // 2,
    scipy's placement), outside the array nothing; defined where at least half the window has data."""
    rows, cols = valid.shape
    before, after = side // 2, (side - 1) // 2
    out = np.zeros(valid.shape)
    for band in z:
        mean = np.zeros(valid.shape)
        defined = np.zeros(valid.shape, bool)
        for i in range(rows):
            for j in range(cols):
                r0, r1 = max(0, i - before), min(rows, i + after + 1)
                c0, c1 = max(0, j - before), min(cols, j + after + 1)
                n_valid = int(valid[r0:r1, c0:c1].sum())
                defined[i, j] = valid[i, j] and 2 * n_valid >= side * side
                if n_valid:
                    mean[i, j] = band[r0:r1, c0:c1].sum() / n_valid
        vals = mean[defined]
        med = np.median(vals)
        sigma = 1.4826 * np.median(np.abs(vals - med))
        out = np.maximum(out, np.where(defined, np.abs(mean - med) / sigma, 0))
    return out


@pytest.mark.parametrize("side", [2, 4, 5])
def test_local_score_matches_window_means_computed_by_hand(side):
    rng = np.random.default_rng(7)
    valid = np.ones((12, 14), bool)
    valid[:, 11:] = False  # a no-data strip: windows over it count only their valid pixels
    valid[5, 3] = False  # an invalid pixel inside: never defined (score 0)
    valid[0, 0] = False
    z = np.where(valid, rng.normal(2.0, 1.0, (2, 12, 14)), 0).astype(np.float32)  # median of the means is not 0
    z[1, 6:9, 4:8] += 6.0
    got = _local_score(z, valid, side)
    assert got.dtype == np.float32 and got.shape == valid.shape
    expected = _local_score_by_hand(z.astype(np.float64), valid, side)
    np.testing.assert_allclose(got, expected, rtol=2e-5, atol=2e-5)
    assert got[5, 3] == 0.0 and got[0, 0] == 0.0 and (got[:, 11:] == 0).all()
    assert (got[:, 10] > 0).sum() >= 1


def test_local_score_is_zero_with_no_defined_window():
    valid = np.zeros((6, 6), bool)
    valid[0, 0] = True
    got = _local_score(np.ones((1, 6, 6), np.float32), valid, 4)
    assert got.dtype == np.float32 and (got == 0).all()


def _match_by_hand(source: np.ndarray, reference: np.ndarray, learn: np.ndarray, valid: np.ndarray) -> np.ndarray:
    out = source.astype(np.float64).copy()
    for b in range(source.shape[0]):
        s_vals, s_counts = np.unique(source[b][learn], return_counts=True)
        r_vals, r_counts = np.unique(reference[b][learn], return_counts=True)
        s_q, r_q = np.cumsum(s_counts) / s_counts.sum(), np.cumsum(r_counts) / r_counts.sum()
        lut = [float(np.interp(q, r_q, r_vals.astype(np.float64))) for q in s_q]  # reference value at each quantile
        for i, j in zip(*np.nonzero(valid), strict=True):
            v = float(source[b, i, j])
            if v > s_vals[-1]:
                out[b, i, j] = lut[-1] + (v - float(s_vals[-1]))
            elif v < s_vals[0]:
                out[b, i, j] = lut[0] + (v - float(s_vals[0]))
            else:
                k = int(np.searchsorted(s_vals, v))
                if s_vals[k] == v:
                    out[b, i, j] = lut[k]
                else:
                    t = (v - float(s_vals[k - 1])) / (float(s_vals[k]) - float(s_vals[k - 1]))
                    out[b, i, j] = lut[k - 1] + t * (lut[k] - lut[k - 1])
    return out


def test_match_radiometry_is_the_quantile_mapping_with_slope_one_beyond():
    rng = np.random.default_rng(11)
    source = rng.integers(40, 60, (2, 10, 10)).astype(np.uint8)
    reference = np.stack([3.0 * source[0] + 7.0, 200.0 - 2.0 * source[1].astype(np.float64) ** 1.1])
    reference += rng.normal(0, 0.5, reference.shape)
    learn = np.zeros((10, 10), bool)
    learn[:7] = True
    valid = np.ones((10, 10), bool)
    valid[9, 9] = False
    source[:, 8, 0], source[:, 8, 1] = 90, 10  # beyond the learnt range, above and below
    source[:, 8, 2] = 45  # inside it, between learnt values or on one
    source[:, 9, 9] = 200  # no data: left as it is
    got = match_radiometry(source, reference, learn, valid)
    assert got.dtype == np.float32 and got.shape == source.shape
    expected = _match_by_hand(source, reference, learn, valid)
    np.testing.assert_allclose(got, expected.astype(np.float32), rtol=1e-6, atol=1e-4)
    assert (got[:, 9, 9] == 200.0).all()
    assert not np.allclose(got[:, :7], source[:, :7])  # actually mapped


def test_match_radiometry_with_nothing_to_learn_is_the_source_as_float32():
    source = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    got = match_radiometry(source, source * 2, np.zeros((3, 4), bool), np.ones((3, 4), bool))
    assert got.dtype == np.float32 and (got == source).all()


def test_regions_become_exact_pixel_outlines_in_lon_lat():
    labels = np.zeros((3, 5), np.int32)
    labels[0, 0] = labels[1, 1] = 1  # diagonal neighbours: one 8-connected polygon
    labels[0, 3] = labels[2, 3] = 2  # two parts of one label: a MultiPolygon
    polys = _regions_to_polygons(labels, GRID)
    assert sorted(polys) == [1, 2]  # the background is no region
    assert polys[1].geom_type == "Polygon" and polys[1].area == 8.0 and polys[1].length == 16.0
    assert polys[2].geom_type == "MultiPolygon" and len(polys[2].geoms) == 2 and polys[2].area == 8.0
    assert sorted(p.bounds for p in polys[2].geoms) == [(X0 + 6, Y0 - 6, X0 + 8, Y0 - 4), (X0 + 6, Y0 - 2, X0 + 8, Y0)]
    single = np.zeros((3, 5), np.int32)
    single[1, 2] = 4
    [(key, square)] = _regions_to_polygons(single, GRID).items()
    assert key == 4 and square.geom_type == "Polygon"
    ring = list(square.exterior.coords)
    assert ring == [(X0 + 4, Y0 - 2), (X0 + 4, Y0 - 4), (X0 + 6, Y0 - 4), (X0 + 6, Y0 - 2), (X0 + 4, Y0 - 2)]
    to_ll = Transformer.from_crs("EPSG:32652", "EPSG:4326", always_xy=True)
    ll = _to_lonlat(square, "EPSG:32652")
    assert list(ll.exterior.coords) == [to_ll.transform(x, y) for x, y in ring]
    lon, lat = ll.exterior.coords[0]
    assert 127.6 < lon < 127.7 and 39.9 < lat < 39.95


# --- _detect: noise sigmas, scale, z, and the delineation rules at their boundaries ------------------------------


@pytest.mark.parametrize(("step", "n_mmu", "side"), [(0.0, 4, 2), (1.0, 9, 3), (1.0, 30, 5)])
def test_detect_noise_sigma_scale_magnitude_and_score_by_hand(step, n_mmu, side):
    rows = cols = 14
    b0 = np.stack([np.arange(rows * cols, dtype=np.float32).reshape(rows, cols) * 0.5 + 10,
                   np.full((rows, cols), 7.0, np.float32)])
    d = np.full((2, rows, cols), 3.0, np.float32)  # an offset: the median of the difference is 3, its MAD 0
    d[0, 2:4, 2:5] = 9.0
    d[1] = 0.0
    d[1, 10:12, 9:12] = -4.0
    valid = np.ones((rows, cols), bool)
    valid[:, 12:] = False
    b1 = b0 + d
    b1[:, :, 12:] = 1000.0  # no data there: never change
    found = _detect(b0, b1, valid, n_mmu, step)
    scale, sigmas, z = [], [], np.zeros((2, rows, cols))
    for b in range(2):
        lo, hi = np.percentile(b0[b][valid], (2, 98))
        dv = d[b][valid].astype(np.float64)
        med = np.median(dv)
        sigma = max(1.4826 * np.median(np.abs(dv - med)), 0.5 * step, 1e-6 * (hi - lo), 1e-12)  # MAD 0: the floors
        sigmas.append(sigma)
        scale.append(max(hi - lo, 1e-6))
        z[b] = np.where(valid, (d[b] - med) / sigma, 0)
    assert found.scale == pytest.approx(scale, rel=1e-9) and found.scale[1] == 1e-6
    assert found.sigmas == pytest.approx(sigmas, rel=1e-6)
    assert all(type(s) is float for s in found.sigmas)
    assert found.sigmas[1] == (0.5 if step else 1e-12)
    magnitude = np.sqrt((z * z).mean(axis=0))
    assert found.magnitude.dtype == np.float32
    np.testing.assert_allclose(found.magnitude, magnitude, rtol=1e-5)
    assert (found.magnitude[:, 12:] == 0).all()
    np.testing.assert_allclose(found.score, _local_score(z.astype(np.float32), valid, side), rtol=1e-5)


def _detect_z(z: np.ndarray, n_mmu: int = 4, valid: np.ndarray | None = None) -> np.ndarray:
    """_detect's kept labels for one band whose difference is z noise sigmas: a difference of 0 almost everywhere
    has no spread, so its sigma is the 8-bit floor of half a step (0.5) and every window touching a change is far
    beyond the window means' spread (score > LOCAL_K)."""
    d = (np.asarray(z, np.float32) * np.float32(0.5))[None]
    valid = np.ones(z.shape, bool) if valid is None else valid
    found = _detect(np.zeros_like(d), d, valid, n_mmu, 1.0)
    assert found.sigmas == [0.5]
    assert found.labels.dtype == np.int32
    return found.labels


def test_detect_a_weak_square_is_delineated_on_its_3x3_means():
    z = np.zeros((24, 24))
    z[4:14, 6:16] = 2.0  # under PIXEL_K everywhere, over WEAK_K: hysteresis only
    z[17:21, 1:5] = 2.0  # 4 x 4: its inner 2 x 2 = the MMU exactly, kept
    z[17:20, 10:13] = 2.0  # 3 x 3: its inner pixel, under the MMU
    valid = np.ones((24, 24), bool)
    valid[:, :6] = False  # no data left of the big square: no change, and no contribution to the 3 x 3 means
    valid[17:21, 1:5] = True
    labels = _detect_z(z, 4, valid)
    expected = np.zeros((24, 24), np.int32)
    expected[5:13, 7:15] = 1  # the 3 x 3 mean of a border pixel is 6 x 2 / 9 < 1.5
    expected[18:20, 2:4] = 2
    np.testing.assert_array_equal(labels, expected)


def test_detect_joins_diagonal_neighbours_into_one_region():
    z = np.zeros((16, 16))
    z[2:5, 2:5] = 3.2  # two strong 3 x 3 blocks touching at a corner (their 3 x 3 means stay under WEAK_K outside)
    z[5:8, 5:8] = 3.2
    labels = _detect_z(z, 10)  # each block alone is under the MMU of 10
    expected = np.zeros((16, 16), np.int32)
    expected[2:5, 2:5] = expected[5:8, 5:8] = 1
    np.testing.assert_array_equal(labels, expected)


def test_detect_pixel_threshold_is_strictly_beyond_3_sigma():
    z = np.zeros((16, 16))
    z[3:5, 3:5] = 3.0  # exactly PIXEL_K, and 3 x 3 means of 4 x 3 / 9 < WEAK_K: nothing
    assert not _detect_z(z, 4).any()
    z[3:5, 3:5] = 3.05
    expected = np.zeros((16, 16), np.int32)
    expected[3:5, 3:5] = 1
    np.testing.assert_array_equal(_detect_z(z, 4), expected)


def test_detect_a_region_with_median_exactly_3_sigma_keeps_the_pixel_rule():
    z = np.zeros((16, 16))
    z[3:8, 3:8] = 3.0
    z[3, 5] = 2.9  # an edge pixel under PIXEL_K: left out by the pixel rule (its 3 x 3 mean would keep it)
    labels = _detect_z(z, 4)
    expected = np.zeros((16, 16), np.int32)
    expected[3:8, 3:8] = 1
    expected[3, 3] = expected[3, 7] = expected[7, 3] = expected[7, 7] = 0  # corners: 3 x 3 mean 4 x 3 / 9 < 1.5
    expected[3, 5] = 0
    np.testing.assert_array_equal(labels, expected)


def test_detect_a_region_of_mmu_size_whose_windows_stay_within_5_sigma_is_dropped():
    rng = np.random.default_rng(5)
    d = rng.normal(0, 1, (1, 40, 40)).astype(np.float32)
    d[0, 5:11, 5:11] = 10.0  # a strong block: kept
    d[0, 25, 15:24] = 3.6  # a line of 9 pixels beyond PIXEL_K (the MMU) whose 3 x 3 windows stay under LOCAL_K
    found = _detect(np.zeros_like(d), d, np.ones((40, 40), bool), 9, 0.0)
    assert float(found.magnitude[25, 15:24].min()) > 3.0 and float(found.score[24:27, 14:25].max()) < 5.0
    assert found.count == 1
    expected = np.zeros((40, 40), np.int32)
    expected[5:11, 5:11] = 1
    np.testing.assert_array_equal(found.labels, expected)


def test_detect_hysteresis_is_strictly_beyond_1_5_sigma():
    z = np.zeros((16, 16))
    z[3:10, 3:10] = 1.5  # 3 x 3 means of exactly WEAK_K inside: nothing
    assert not _detect_z(z, 4).any()
    z[3:10, 3:10] = 1.51
    expected = np.zeros((16, 16), np.int32)
    expected[4:9, 4:9] = 1  # the pixels whose 3 x 3 window lies inside the square
    np.testing.assert_array_equal(_detect_z(z, 4), expected)


@pytest.mark.parametrize(("seed", "n_mmu", "reach"), [(1, 25, 2), (2, 25, 2), (1, 9, 1), (3, 9, 1)])
def test_detect_hysteresis_reaches_half_a_window_from_the_significant_ones(seed, n_mmu, reach):
    rng = np.random.default_rng(seed)
    d = rng.normal(0, 1, (1, 48, 48)).astype(np.float32)
    d[0, 10:30, 10:30] += 2.0  # a weak square
    d[0, 30:40, 18:21] += 1.8  # and a weaker tail
    found = _detect(np.zeros_like(d), d, np.ones((48, 48), bool), n_mmu, 0.0)
    # taxicab distance to the nearest window beyond LOCAL_K (binary_dilation's cross, side // 2 times)
    distance = ndimage.distance_transform_cdt(found.score <= 5.0, metric="taxicab")
    weak_kept = (found.labels > 0) & (found.magnitude <= 3.0)
    assert weak_kept.any() and int(distance[weak_kept].max()) == reach


def test_ndvi_from_integer_bands_is_read_as_signed_and_quiet_where_undefined():
    red = np.array([[200, 100, 0]], np.uint16)  # a sensor's integer counts: nir - red must not wrap around
    nir = np.array([[100, 300, 0]], np.uint16)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # 0/0 gives NaN, never a RuntimeWarning in a user's console
        got = greenness(np.zeros((3, 1, 3)), (red, nir))
        # reflectances can be slightly negative (offset-corrected Sentinel-2): a zero sum over a non-zero difference
        assert not np.isfinite(greenness(np.zeros((3, 1, 1)), (np.array([[-0.1]]), np.array([[0.1]])))).any()
    assert got.dtype == np.float32
    np.testing.assert_allclose(got[0, :2], [-100 / 300, 200 / 400], rtol=1e-6)
    assert np.isnan(got[0, 2])


def test_excess_green_needs_three_bands_and_is_quiet_where_black():
    rgb = np.array([[[10, 0]], [[30, 0]], [[10, 0]]], np.uint8)  # 3 bands, 1 row, 2 columns (one black pixel)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = greenness(rgb, None)
    assert got.dtype == np.float32 and got.shape == (1, 2)
    np.testing.assert_allclose(got[0, 0], 2 * 0.6 - 0.2 - 0.2, rtol=1e-6)
    assert np.isnan(got[0, 1])
    two = greenness(np.ones((2, 5, 4), np.uint8), None)  # a two-band image has no excess green: zeros
    assert two.dtype == np.float32 and two.shape == (5, 4) and not two.any()
    two_rows = np.stack([np.full((2, 6), v, np.uint8) for v in (10, 30, 10)])  # two rows are not two bands
    np.testing.assert_allclose(greenness(two_rows, None), np.full((2, 6), 0.8), rtol=1e-6)


def _red_nir(n: int = 128, red: float = 0.1, nir: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    return np.full((n, n), red), np.full((n, n), nir)


def test_the_method_names_the_index_that_separates_vegetation():
    tail = "; range = area -/+ perimeter x half a pixel; "
    assert _method(ChangeIndex.EXG, 100, 0.5, False).endswith(tail + "RGB excess-green (ExG) separates vegetation")
    assert _method(ChangeIndex.NDVI, 100, 0.5, False).endswith(tail + "NDVI separates vegetation")
    assert _method(ChangeIndex.NDVI, 100, 0.5, True).endswith(
        "NDVI separates vegetation; vegetation regions left out (built-up only)")
    assert "at 0.5 m/pixel" in _method(ChangeIndex.EXG, 100, 0.5, False)


def test_the_unit_is_given_in_square_metres_and_keys_default_to_empty():
    before, after = _pair()
    c = measure_change(_chip_at(before, 0.5), _chip_at(after, 0.5))  # 400 pixels of 0.25 m² make the 100 m² unit
    assert c.mmu_m2 == 100.0 and (c.before, c.after) == ("", "")
    assert measure_change(_chip_at(before, 0.5), _chip_at(after, 0.5), mmu_m2=30.0).mmu_m2 == 30.0


def test_ndvi_only_when_both_dates_have_red_and_nir_and_the_regions_carry_its_values():
    before, after = _pair()
    both = measure_change(_chip(before), _chip(after), before_red_nir=_red_nir(), after_red_nir=_red_nir(nir=0.3))
    assert both.index is ChangeIndex.NDVI and both.method.endswith("NDVI separates vegetation")
    [r] = both.regions
    assert r.index_before == pytest.approx(0.4 / 0.6, rel=1e-5) and r.index_after == pytest.approx(0.2 / 0.4, rel=1e-5)
    exg = measure_change(_chip(before), _chip(after))
    for one_side in ({"before_red_nir": _red_nir()}, {"after_red_nir": _red_nir()}):
        c = measure_change(_chip(before), _chip(after), **one_side)
        assert c.index is ChangeIndex.EXG  # one date without red/nir: both dates are read as RGB
        assert (c.regions[0].index_before, c.regions[0].index_after) == (exg.regions[0].index_before,
                                                                          exg.regions[0].index_after)


def test_a_pixel_without_a_finite_value_on_either_date_is_left_out():
    before, after = (x.astype(np.float32) for x in _pair(roof=False))
    before[1, :16, :] = np.nan  # one band of the first 16 rows of 128: 12.5 %
    after[0, :, :16] = np.nan  # one band of the first 16 columns: another 12.5 %, 2 % of it shared
    c = measure_change(_chip(before), _chip(after))
    assert c.valid_fraction == pytest.approx(1 - (16 * 128 * 2 - 16 * 16) / 128 ** 2)


def test_with_ndvi_a_pixel_without_red_or_nir_is_left_out_with_the_nodata():
    before, after = _pair()
    before[:, :, :8] = 0  # nodata in the first 8 columns of the image
    red0, nir0 = _red_nir()
    red0[:32, :] = np.nan  # no red before in the first 32 rows
    c = measure_change(_chip(before, nodata=0), _chip(after), before_red_nir=(red0, nir0), after_red_nir=_red_nir())
    assert c.valid_fraction == pytest.approx(1 - (8 * 128 + 32 * 120) / 128 ** 2)


def test_the_fewest_valid_pixels_are_twice_the_unit_exactly():
    before, after = _pair()
    keep = np.zeros((128, 128), bool)
    keep[10:20, 10:20] = True  # 100 valid pixels = 2 x a 50-pixel unit (above the 64-pixel floor)
    before[:, ~keep] = 0
    c = measure_change(_chip(before, nodata=0), _chip(after), mmu_m2=50.0)
    assert c.valid_fraction == 100 / 128 ** 2 and not c.method.startswith("too few pixels")
    keep[10, 10] = False
    before[:, ~keep] = 0
    assert measure_change(_chip(before, nodata=0), _chip(after), mmu_m2=50.0).method.startswith("too few pixels")


def test_the_noise_floor_is_half_a_count_for_integer_images_and_tiny_for_float_ones():
    before, _ = _pair(roof=False)
    after = before.copy()
    after[:, 40:70, 50:80] = np.array([230, 60, 40])[:, None, None]  # the same ground, a new roof
    c = measure_change(_chip(before), _chip(after))
    assert c.noise_sigma == (0.5, 0.5, 0.5) and c.changed_m2 == 900.0  # quantised counts: never under half a step
    f = measure_change(_chip(before.astype(np.float32)), _chip(after.astype(np.float32)))
    assert all(0 < s < 1e-3 for s in f.noise_sigma) and f.changed_m2 == 900.0


def test_a_new_radiometry_alone_is_not_change():
    before, _ = _pair(roof=False)
    after = np.clip(np.round(255 * (before / 255.0) ** 0.6), 0, 255).astype(np.uint8)  # another sensor's curve
    c = measure_change(_chip(before), _chip(after))
    assert not c.significant and c.changed_m2 == 0.0



def test_a_significant_change_holds_every_figure():
    before, after = _pair()  # a 30 m x 30 m roof, and a 20 m x 20 m blue one below it
    after[:, 90:110, 20:40] = np.array([40, 40, 200])[:, None, None]
    before[:, :, :8] = 0  # no data in the first 8 columns before
    c = measure_change(_chip(before, nodata=0), _chip(after), before_key="k0", after_key="k1")
    assert c.significant and [r.area_m2 for r in c.regions] == [900.0, 400.0]  # the largest first
    assert c.changed_m2 == 1300.0
    assert c.changed_m2_range == (1300.0 - (120 + 80) * 0.5, 1300.0 + (120 + 80) * 0.5)  # perimeter x half a pixel
    assert len(c.noise_sigma) == 3 and all(2 < s < 8 for s in c.noise_sigma)  # the pairs' noise: sigma 3 each
    assert c.mmu_m2 == 100.0 and c.built_up_only is False and c.valid_fraction == 120 / 128
    assert c.magnitude.dtype == np.float32 and c.magnitude.shape == (128, 128)
    assert np.isnan(c.magnitude[:, :8]).all() and np.isfinite(c.magnitude[:, 8:]).all()
    assert c.mask.sum() == 1300 and c.mask[50, 60] and not c.mask[0, 0]
    valid = np.any(before != 0, axis=0)
    scale = [float(np.subtract(*np.percentile(before[b][valid], (98, 2)))) for b in range(3)]
    for region, (rows, cols) in zip(c.regions, [(slice(40, 70), slice(50, 80)), (slice(90, 110), slice(20, 40))],
                                    strict=True):
        by_hand = np.mean([np.abs(after[b][rows, cols].astype(float) - before[b][rows, cols]) / scale[b]
                           for b in range(3)])
        assert region.mean_difference == pytest.approx(by_hand, rel=0.02)  # |after - before| / band range


def test_a_modest_green_up_is_vegetation_and_built_up_only_leaves_it_out():
    before, after = _pair(roof=False)
    after[:, 40:70, 50:80] = np.array([105, 150, 105])[:, None, None]  # ExG 0.25: above 0.08, under NDVI's 0.3
    [region] = measure_change(_chip(before), _chip(after)).regions
    assert region.vegetation and region.index_after == pytest.approx(0.25, abs=0.01)
    c = measure_change(_chip(before), _chip(after), built_up_only=True)
    assert not c.significant and c.changed_m2 == 0.0 and c.changed_m2_range == (0.0, 0.0)
    assert c.built_up_only is True and [r.area_m2 for r in c.vegetation_regions] == [900.0] and not c.mask.any()


def test_a_roof_under_a_new_radiometry_is_measured_alone():
    before, after = _pair()
    after = np.clip(np.round(255 * (after / 255.0) ** 0.6), 0, 255).astype(np.uint8)  # another sensor's curve
    c = measure_change(_chip(before), _chip(after))
    assert [r.area_m2 for r in c.regions] == [900.0]
