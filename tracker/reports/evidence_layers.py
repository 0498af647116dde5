"""The two vector layers of the evidence export, as rows (pure: records and measurements in, dicts out).

`change_polygons`: the geometries of accepted change observations (`facilities imagery change --accept`,
tracker.change.change_observation), one feature per changed region, with the fields issue 16 gives the
regions (`area_m2`, `mean_difference`, `before`, `after`) plus the observation's id, date and method. The
geometry is always the one recorded (what the analyst accepted); the figures come from measuring the pair
again (tracker.change.site_change) and matching each recorded polygon to the region it lies in. Where the
pair can no longer be read, or a recorded polygon matches no region, `area_m2` is the ellipsoidal area of
the recorded polygon and `mean_difference` is null; `area_basis` says which.

`footprints`: every structure with a Polygon/MultiPolygon geometry, with its ellipsoidal area (pyproj.Geod on
WGS 84), the image it was traced on, its own built/removed dates, the bracket an accepted dating recorded
(`absent_until`/`present_from` for an appearance, `present_until`/`absent_from` for a disappearance, as
`facilities built --json` names them) and the days the built-up curve counts it (SiteView.lifetime).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import shapely
from pyproj import Geod
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from facilities.model import Observation, ObservationKind, Structure
from imagery.change import ChangeRegion
from tracker.reports.measured import MeasuredPair
from tracker.site import SiteView

_GEOD = Geod(ellps="WGS84")
MATCH_SHARE = 0.5  # a recorded polygon belongs to the measured region that holds more than half of it

MEASURED = "UTM grid pixels (measured again from the pair: imagery.change)"
ELLIPSOIDAL = "ellipsoidal (WGS 84, pyproj.Geod) of the recorded polygon"

# (name, pandas dtype): the layers' columns in order; nullable dtypes so an unknown value is null, never NaN or ""
CHANGE_FIELDS: tuple[tuple[str, str], ...] = (
    ("observation_id", "string"), ("region", "Int64"), ("date", "string"), ("kind", "string"),
    ("before", "string"), ("after", "string"), ("before_date", "string"), ("after_date", "string"),
    ("area_m2", "Float64"), ("area_basis", "string"), ("mean_difference", "Float64"), ("noise_sigmas", "Float64"),
    ("method", "string"), ("confidence", "string"), ("analyst", "string"), ("difference_raster", "string"))
FOOTPRINT_FIELDS: tuple[tuple[str, str], ...] = (
    ("structure_id", "string"), ("name", "string"), ("kind", "string"), ("area_m2", "Float64"),
    ("area_basis", "string"), ("traced_on", "string"), ("traced_on_date", "string"), ("built", "string"),
    ("removed", "string"), ("absent_until", "string"), ("absent_until_date", "string"), ("present_from", "string"),
    ("present_from_date", "string"), ("present_until", "string"), ("present_until_date", "string"),
    ("absent_from", "string"), ("absent_from_date", "string"), ("dated_by", "string"), ("counted_from", "string"),
    ("counted_until", "string"))
FOOTPRINT_AREA = "ellipsoidal (WGS 84, pyproj.Geod)"


@dataclass(frozen=True)
class Row:
    """One feature: its geometry (EPSG:4326) and its properties (the layer's fields, in order)."""

    geometry: BaseGeometry
    properties: dict[str, Any]


def ellipsoidal_m2(geom: BaseGeometry) -> float:
    """Area on the WGS 84 ellipsoid in m² of a lon/lat polygon (pyproj.Geod; 0 for points and lines)."""
    if geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon"):
        return 0.0
    area, _perimeter = _GEOD.geometry_area_perimeter(geom)
    return abs(float(area))


def polygon_parts(geom: BaseGeometry | None) -> list[Polygon]:
    """The polygons of a Polygon or MultiPolygon (none for anything else)."""
    if geom is None or geom.is_empty:
        return []
    if isinstance(geom, Polygon):
        return [geom]
    if isinstance(geom, MultiPolygon):
        return list(geom.geoms)
    return []


def _iso(day: Any) -> str | None:
    return day.isoformat() if day is not None else None


def _region_of(part: Polygon, regions: Sequence[ChangeRegion]) -> int | None:
    """The index of the measured region holding more than MATCH_SHARE of `part`, or None."""
    if part.area <= 0:
        return None
    shares = [shapely.intersection(part, r.geometry).area / part.area for r in regions]
    best = max(range(len(shares)), key=shares.__getitem__, default=None)
    return best if best is not None and shares[best] > MATCH_SHARE else None


def change_rows(pair: MeasuredPair, regions: Sequence[ChangeRegion] | None, *, method: str = "",
                raster: str | None = None) -> list[Row]:
    """The features of one accepted change observation: the recorded polygons grouped by the measured region
    they lie in (one feature per region, its figures), and any recorded polygon no region holds on its own
    (ellipsoidal area, no mean difference). `regions` None: the pair could not be measured again. `method`: the
    measure's method (else the one the observation states); `raster`: the difference raster's file name."""
    o = pair.observation
    groups: dict[int, list[Polygon]] = {}
    alone: list[Polygon] = []
    for part in polygon_parts(o.geometry):
        at = _region_of(part, regions) if regions else None
        if at is None:
            alone.append(part)
        else:
            groups.setdefault(at, []).append(part)
    base = {"observation_id": o.id, "date": str(o.date), "kind": o.kind.value, "before": str(pair.before),
            "after": str(pair.after), "before_date": _iso(pair.before_day), "after_date": _iso(pair.after_day),
            "method": method or pair.method or None, "confidence": o.confidence.value, "analyst": o.analyst or None,
            "difference_raster": raster}
    rows: list[Row] = []
    for at in sorted(groups):
        region = regions[at]  # type: ignore[index]  # groups is empty without regions
        rows.append(Row(MultiPolygon(groups[at]), {
            **base, "area_m2": round(region.area_m2, 2), "area_basis": MEASURED,
            "mean_difference": round(region.mean_difference, 4), "noise_sigmas": round(region.noise_sigmas, 2)}))
    for part in alone:
        rows.append(Row(MultiPolygon([part]), {
            **base, "area_m2": round(ellipsoidal_m2(part), 2), "area_basis": ELLIPSOIDAL, "mean_difference": None,
            "noise_sigmas": None}))
    for n, row in enumerate(rows, 1):
        row.properties["region"] = n
    return [Row(r.geometry, {name: r.properties.get(name) for name, _ in CHANGE_FIELDS}) for r in rows]


def _bracket(site: SiteView, dated_by: Sequence[tuple[Observation, MeasuredPair]], s: Structure) -> dict[str, Any]:
    """The bracket fields from the structure's earliest accepted dating of each kind (the one the curve uses)."""
    out: dict[str, Any] = {}
    used: list[str] = []
    for kind, (old, new) in ((ObservationKind.COMPLETED, ("absent_until", "present_from")),
                             (ObservationKind.DEMOLISHED, ("present_until", "absent_from"))):
        mine = [p for o, p in dated_by if o.structure_id == s.id and o.kind is kind]
        if mine:  # site.observations are in the one order: the first is the earliest
            p = mine[0]
            out |= {old: str(p.before), f"{old}_date": _iso(p.before_day), new: str(p.after),
                    f"{new}_date": _iso(p.after_day)}
            used.append(p.observation.id)
    out["dated_by"] = ", ".join(used) or None
    return out


def footprint_rows(site: SiteView, datings: Sequence[MeasuredPair]) -> list[Row]:
    """One feature per structure of the site with a Polygon/MultiPolygon geometry (points and lines are not
    footprints); `datings`: the site's accepted datings (MeasuredPair of kind "dating")."""
    dated_by = [(p.observation, p) for p in datings]
    rows: list[Row] = []
    for s in site.structures:
        if not polygon_parts(s.geometry):
            continue
        begin, end = site.lifetime(s)
        traced = s.traced_on
        props = {"structure_id": s.id, "name": s.name, "kind": s.kind or None,
                 "area_m2": round(ellipsoidal_m2(s.geometry), 2), "area_basis": FOOTPRINT_AREA,
                 "traced_on": f"{traced.provider}:{traced.image_id}" if traced and traced.image_id else None,
                 "traced_on_date": str(traced.acquired) if traced and traced.acquired else None,
                 "built": str(s.built) if s.built else None, "removed": str(s.removed) if s.removed else None,
                 **_bracket(site, dated_by, s), "counted_from": _iso(begin), "counted_until": _iso(end)}
        geom = s.geometry if isinstance(s.geometry, MultiPolygon) else MultiPolygon(polygon_parts(s.geometry))
        rows.append(Row(geom, {name: props.get(name) for name, _ in FOOTPRINT_FIELDS}))
    return rows
