"""Pure geometry rules for the registry: what a facility or structure geometry may be, and how
it is measured and written. Everything is EPSG:4326 longitude/latitude; areas are geodesic m².

Repairs are never silent: `check_geometry` rejects an invalid shape with GEOS's reason unless the
caller asks for `repair=True`, and then says what it did.
"""

from __future__ import annotations

from dataclasses import dataclass

import antimeridian
import numpy as np
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from .errors import ValidationError

# A digitised outline has tens to thousands of vertices; past this it is a raster trace or an
# error, and validating/repairing it would block the app for seconds (make_valid on 200k
# self-intersecting vertices takes ~3 s here).
MAX_VERTICES = 100_000

POLYGONAL = ("Polygon", "MultiPolygon")
ANY_GEOMETRY = ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon")


@dataclass(frozen=True)
class Checked:
    """A geometry that passed check_geometry, possibly repaired, with notes on what was changed."""

    geometry: BaseGeometry
    notes: tuple[str, ...] = ()


def check_geometry(
    geom: BaseGeometry | None,
    *,
    allowed: tuple[str, ...] = POLYGONAL,
    repair: bool = False,
) -> Checked:
    """Validate one geometry for storage; return it (possibly repaired) with notes of any change.

    Raises ValidationError naming the problem: wrong type, empty, too many vertices,
    coordinates outside lon/lat range (with a hint when they look swapped), or invalid
    (self-intersection, unclosed ring...) with GEOS's reason.
    """
    if geom is None:
        raise ValidationError("geometry is missing (null)")
    if geom.geom_type not in allowed:
        raise ValidationError(f"geometry type {geom.geom_type} is not allowed here (expected {' or '.join(allowed)})")
    if geom.is_empty:
        raise ValidationError(f"geometry is an empty {geom.geom_type}")
    notes: list[str] = []
    n = shapely.get_num_coordinates(geom)
    if n > MAX_VERTICES:
        raise ValidationError(f"geometry has {n:,} vertices; the limit is {MAX_VERTICES:,} per feature")
    if shapely.has_z(geom):
        geom = shapely.force_2d(geom)
        notes.append("dropped Z coordinates")
    coords = shapely.get_coordinates(geom)
    if not np.isfinite(coords).all():
        raise ValidationError("geometry has non-finite coordinates (NaN or infinity)")
    check_lonlat_range(coords)
    if geom.geom_type in POLYGONAL:
        fixed = _split_antimeridian(geom)
        if fixed is not geom:
            geom = fixed
            notes.append("split at the antimeridian (RFC 7946 §3.1.9)")
    if not geom.is_valid:
        reason = shapely.is_valid_reason(geom)
        if not repair:
            raise ValidationError(f"invalid geometry: {reason} (fix it, or import with repair to apply make_valid)")
        before = ground_area_m2(geom) if geom.geom_type in POLYGONAL else None
        geom = shapely.make_valid(geom, method="structure", keep_collapsed=False)
        if geom.geom_type not in allowed or geom.is_empty:
            raise ValidationError(f"invalid geometry: {reason}; repair gave {geom.geom_type}, which is not usable")
        notes.append(f"repaired with make_valid(structure): {reason}" + (
            f"; area {before:,.0f} -> {ground_area_m2(geom):,.0f} m²" if before is not None else ""))
    if geom.geom_type in POLYGONAL:
        geom = normalise_polygonal(geom)
    for reason in survives_export(np.array([geom], dtype=object)).values():
        raise ValidationError(f"geometry {reason}")
    return Checked(geom, tuple(notes))


_TYPE_IDS = {"Point": 0, "LineString": 1, "Polygon": 3, "MultiPoint": 4, "MultiLineString": 5, "MultiPolygon": 6}


def check_geometries(
    geoms: np.ndarray,
    *,
    allowed: tuple[str, ...] = POLYGONAL,
    repair: bool = False,
) -> tuple[np.ndarray, dict[int, str], dict[int, tuple[str, ...]]]:
    """`check_geometry` for a whole batch: (geometries, error by index, notes by index).

    The common case (valid, 2D, in range, not crossing ±180°) is decided by a few vectorised
    GEOS calls; only the geometries that fail one of them go through `check_geometry` one by one,
    which gives the precise reason or repair.
    """
    geoms = np.asarray(geoms, dtype=object)
    out = geoms.copy()
    suspect = ~np.isin(shapely.get_type_id(geoms), [_TYPE_IDS[t] for t in allowed])
    suspect |= shapely.is_empty(geoms) | shapely.has_z(geoms)
    suspect |= shapely.get_num_coordinates(geoms) > MAX_VERTICES
    coords, index = shapely.get_coordinates(geoms, return_index=True)
    if len(coords):
        bad = ~np.isfinite(coords).all(axis=1) | (np.abs(coords[:, 0]) > 180) | (np.abs(coords[:, 1]) > 90)
        suspect[index[bad]] = True
        # consecutive vertices of one geometry more than 180° apart: an edge across the antimeridian
        jump = (index[1:] == index[:-1]) & (np.abs(np.diff(coords[:, 0])) > 180)
        suspect[index[1:][jump]] = True
    rest = np.flatnonzero(~suspect)
    suspect[rest[~shapely.is_valid(geoms[rest])]] = True
    errors: dict[int, str] = {}
    notes: dict[int, tuple[str, ...]] = {}
    for i in np.flatnonzero(suspect):
        try:
            checked = check_geometry(geoms[i], allowed=allowed, repair=repair)
        except ValidationError as err:
            errors[int(i)] = str(err)
            continue
        out[i] = checked.geometry
        if checked.notes:
            notes[int(i)] = checked.notes
    for k, reason in survives_export(out, exclude=errors).items():
        errors[k] = f"geometry {reason}"  # as check_geometry words it
        notes.pop(k, None)
    # a one-part MultiPolygon is the Polygon it is, as check_geometry returns it (whatever else is allowed)
    ok = np.flatnonzero(~suspect)
    single = ok[shapely.get_num_geometries(out[ok]) == 1]
    single = single[shapely.get_type_id(out[single]) == _TYPE_IDS["MultiPolygon"]]
    out[single] = shapely.get_geometry(out[single], 0)
    return out, errors, notes


def check_lonlat_range(coords: np.ndarray) -> None:
    """ValidationError if any of the (lon, lat) coordinates is outside -180..180, -90..90, with a hint when they look
    swapped or projected."""
    if coords.size == 0:
        return
    lon, lat = coords[:, 0], coords[:, 1]
    bad_lat = np.abs(lat) > 90
    bad_lon = np.abs(lon) > 180
    if bad_lat.any() or bad_lon.any():
        i = int(np.argmax(bad_lat | bad_lon))
        hint = ""
        if bad_lat.any() and (np.abs(lat) <= 180).all() and (np.abs(lon) <= 90).all():
            hint = "; the values look like latitude, longitude order (GeoJSON wants longitude first)"
        elif (np.abs(coords) > 180).any():
            hint = "; these look like projected metres, not degrees (reproject to EPSG:4326)"
        raise ValidationError(
            f"coordinate ({lon[i]:g}, {lat[i]:g}) is outside longitude -180..180 / latitude -90..90{hint}"
        )


def _split_antimeridian(geom: BaseGeometry) -> BaseGeometry:
    """Cut a polygon whose edges jump across ±180° into parts that do not (RFC 7946 §3.1.9)."""
    jumps = False
    for ring in _rings(geom):
        xs = np.asarray(ring.coords)[:, 0]
        if xs.size > 1 and (np.abs(np.diff(xs)) > 180).any():
            jumps = True
            break
    if not jumps:
        return geom
    # the library answers with a GeoJSON mapping whatever it was given
    return shape(antimeridian.fix_shape(geom, great_circle=False))


def _rings(geom: BaseGeometry):
    polys = geom.geoms if geom.geom_type == "MultiPolygon" else [geom]
    for p in polys:
        yield p.exterior
        yield from p.interiors


def normalise_polygonal(geom: BaseGeometry) -> BaseGeometry:
    """A one-part MultiPolygon is stored and returned as the Polygon it is."""
    if geom.geom_type == "MultiPolygon" and len(geom.geoms) == 1:
        return geom.geoms[0]
    return geom


# WGS 84 ellipsoid, for the authalic (equal-area) latitude
_A = 6378137.0
_F = 1 / 298.257223563
_E2 = _F * (2 - _F)
_E = _E2 ** 0.5


def _equal_area(coords: np.ndarray) -> np.ndarray:
    """lon/lat degrees -> Lambert cylindrical equal-area metres on the WGS 84 ellipsoid.

    Planar area in this projection is the area on the ellipsoid. Meridians and parallels stay
    straight, so boxes are exact; other edges are densified first (see ground_area_m2).
    """
    lam = np.radians(coords[:, 0])
    s = np.sin(np.radians(coords[:, 1]))
    q = (1 - _E2) * (s / (1 - _E2 * s * s) - np.log((1 - _E * s) / (1 + _E * s)) / (2 * _E))
    return np.column_stack([_A * lam, _A * q / 2])


def ground_area_m2(geom: BaseGeometry | None) -> float:
    """Area on the WGS 84 ellipsoid in square metres (0 for points and lines)."""
    if geom is None or geom.is_empty or geom.geom_type not in POLYGONAL:
        return 0.0
    return float(ground_areas_m2(np.array([geom], dtype=object))[0])


def ground_areas_m2(geoms: np.ndarray) -> np.ndarray:
    """Vectorised ground areas. Edges are lines in lon/lat (RFC 7946 §3.1.1), so they are
    densified to 0.01° before projecting; a facility-sized outline gains no vertices."""
    dense = shapely.segmentize(geoms, 0.01)
    return shapely.area(shapely.transform(dense, _equal_area))


# The export's coordinate precision (facilities.geojson_codec.COORDINATE_PRECISION, GDAL's RFC 7946 default).
EXPORT_PRECISION = 7


def survives_export(geoms: np.ndarray, precision: int = EXPORT_PRECISION,
                    exclude: dict[int, str] | None = None) -> dict[int, str]:
    """Reasons by index for the geometries that would be invalid once rounded to `precision` decimals, as the
    export writes them: an outline 2 mm wide passes GEOS here but exports as a collapsed ring, so the export
    would be no backup. Such a geometry is refused at entry (docs/decisions/0014), not written wrong later."""
    geoms = np.asarray(geoms, dtype=object)
    idx = np.array([i for i in range(len(geoms)) if i not in (exclude or {}) and geoms[i] is not None], dtype=int)
    if not len(idx):
        return {}
    rounded = shapely.transform(geoms[idx], lambda c: np.round(c, precision))
    bad = ~shapely.is_valid(rounded) | shapely.is_empty(rounded)
    out = {}
    for i, g in zip(idx[bad], rounded[bad], strict=True):
        why = shapely.is_valid_reason(g) if not shapely.is_empty(g) else "empty"
        out[int(i)] = (f"is too small or too narrow for the export's {precision} decimals (about 1 cm): rounded as "
                       f"the export writes it, the {g.geom_type} becomes invalid ({why}); draw it at least a few "
                       "centimetres wide")
    return out


def rfc7946(geoms: np.ndarray, precision: int = 7) -> np.ndarray:
    """Vectorised RFC 7946 form: counter-clockwise shells, clockwise holes, rounded coordinates.

    7 decimals is ~1 cm at the equator: finer than any public imagery, and what GDAL writes.
    """
    geoms = shapely.orient_polygons(geoms, exterior_cw=False)
    return shapely.transform(geoms, lambda c: np.round(c, precision))
