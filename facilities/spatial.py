"""Spatial questions about registry sites, each one call on GeoDataFrames (EPSG:4326): which sites
lie within a distance of a point or of another site, which lie inside a polygon or an analyst's
layer, and which site is nearest each feature of a layer.

Distances are geodesic metres on the WGS 84 ellipsoid: the nearest points of two shapes are found
in a projection centred on the question (an azimuthal equidistant one, whose distances from the
centre are true), then the distance between those two points is measured on the ellipsoid
(pyproj.Geod). Pure: no store, no files; `facilities.frames` gives the sites.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from .errors import ValidationError

CRS = "EPSG:4326"


def _geod():
    from pyproj import Geod

    return Geod(ellps="WGS84")


def _aeqd(lon: float, lat: float) -> str:
    return f"+proj=aeqd +lat_0={lat} +lon_0={lon} +datum=WGS84 +units=m +no_defs"


def _as_point(where: Any) -> BaseGeometry:
    if isinstance(where, BaseGeometry):
        return where
    try:
        lon, lat = (float(v) for v in where)
    except (TypeError, ValueError):
        raise ValidationError(f"{where!r} is not a (longitude, latitude) pair or a geometry") from None
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise ValidationError(f"({lon}, {lat}) is outside longitude -180..180 / latitude -90..90")
    return shapely.Point(lon, lat)


def geodesic_distances(geoms: Any, target: BaseGeometry) -> np.ndarray:
    """Geodesic metres from each geometry (EPSG:4326) to `target`: 0 where they meet."""
    import geopandas as gpd

    geoms = gpd.GeoSeries(np.asarray(geoms, dtype=object), crs=CRS)
    centre = target.centroid if not target.is_empty else target
    local = _aeqd(centre.x, centre.y)
    projected = geoms.to_crs(local)
    target_local = gpd.GeoSeries([target], crs=CRS).to_crs(local).iloc[0]
    out = np.full(len(geoms), np.nan)
    present = ~(projected.isna() | projected.is_empty).to_numpy()
    if not present.any():
        return out
    lines = shapely.shortest_line(projected.to_numpy()[present], target_local)
    ends = gpd.GeoSeries(lines, crs=local).to_crs(CRS).get_coordinates(index_parts=True)
    starts = ends.groupby(level=0).first().to_numpy()
    stops = ends.groupby(level=0).last().to_numpy()
    _, _, dist = _geod().inv(starts[:, 0], starts[:, 1], stops[:, 0], stops[:, 1])
    touching = shapely.intersects(geoms.to_numpy()[present], target)
    out[present] = np.where(touching, 0.0, np.asarray(dist, dtype=float))
    return out


def within_distance(sites: Any, where: Any, distance_m: float, *, exclude: str | None = None) -> Any:
    """Sites within `distance_m` geodesic metres of `where` (a (lon, lat) pair or a geometry, such
    as another site's outline), nearest first, with a `distance_m` column. `exclude` leaves out a
    site id (the one asked about)."""
    if not distance_m >= 0:
        raise ValidationError(f"distance {distance_m!r} must be a number of metres, 0 or more")
    target = _as_point(where)
    frame = sites if exclude is None else sites[sites["id"] != exclude]
    frame = frame.assign(distance_m=geodesic_distances(frame.geometry.values, target))
    return frame[frame["distance_m"] <= distance_m].sort_values("distance_m", kind="stable").reset_index(drop=True)


def near_site(sites: Any, site_id: str, distance_m: float) -> Any:
    """Other sites within `distance_m` geodesic metres of site `site_id`'s outline."""
    match = sites[sites["id"] == site_id]
    if match.empty:
        raise ValidationError(f"no site with id {site_id!r}")
    return within_distance(sites, match.geometry.iloc[0], distance_m, exclude=site_id)


def inside(sites: Any, area: Any, *, predicate: str = "intersects") -> Any:
    """Sites that meet (`intersects`, default) or lie wholly `within` a polygon or any polygon of
    a layer (a GeoDataFrame in any CRS, reprojected); the layer's columns are not joined."""
    import geopandas as gpd

    if predicate not in ("intersects", "within"):
        raise ValidationError(f"predicate {predicate!r} must be intersects or within")
    if isinstance(area, BaseGeometry):
        shapes = [area]
    else:
        layer = _layer_4326(area)
        shapes = list(layer.geometry.dropna())
    polygons = [g for g in shapes if g.geom_type in ("Polygon", "MultiPolygon")]
    if not polygons:
        raise ValidationError("the area has no polygon: draw or upload an area, not points or lines")
    union = shapely.union_all(polygons)
    geoms = sites.geometry.values
    keep = shapely.intersects(geoms, union) if predicate == "intersects" else shapely.within(geoms, union)
    out = sites[np.asarray(keep, dtype=bool)]
    return gpd.GeoDataFrame(out, geometry=out.geometry.name, crs=CRS).reset_index(drop=True)


def nearest_sites(layer: Any, sites: Any, *, max_distance_m: float | None = None) -> Any:
    """For each feature of `layer` (any CRS), the nearest registry site (`sjoin_nearest` in a UTM
    zone fitted to the layer) with its id and name (`site_id`, `site_name`) and the geodesic
    distance (`distance_m`) between them; features farther than `max_distance_m` get no site."""
    import geopandas as gpd

    layer = _layer_4326(layer).reset_index(drop=True)
    if sites.empty or layer.empty:
        return layer.assign(site_id=None, site_name=None, distance_m=np.nan)
    utm = layer.estimate_utm_crs()
    right = sites[["id", "name", sites.geometry.name]].rename(columns={"id": "site_id", "name": "site_name"})
    joined = gpd.sjoin_nearest(layer.to_crs(utm), right.to_crs(utm), how="left")
    joined = joined[~joined.index.duplicated(keep="first")]  # ties: the first site
    out = layer.assign(site_id=joined["site_id"].to_numpy(), site_name=joined["site_name"].to_numpy())
    outlines = dict(zip(sites["id"], sites.geometry.values, strict=True))
    distances = np.full(len(out), np.nan)
    for k, (geom, sid) in enumerate(zip(out.geometry.values, out["site_id"], strict=True)):
        if isinstance(sid, str) and geom is not None:
            distances[k] = geodesic_distances([geom], outlines[sid])[0]
    out["distance_m"] = distances
    if max_distance_m is not None:
        far = ~(out["distance_m"] <= max_distance_m)
        out.loc[far, ["site_id", "site_name"]] = None
        out.loc[far, "distance_m"] = np.nan
    return out


def _layer_4326(layer: Any) -> Any:
    import geopandas as gpd

    if not isinstance(layer, gpd.GeoDataFrame):
        raise ValidationError("the layer must be a GeoDataFrame")
    if layer.crs is None:
        raise ValidationError("the layer has no CRS, so its coordinates cannot be placed; set it first")
    return layer if layer.crs.equals(CRS) else layer.to_crs(CRS)
