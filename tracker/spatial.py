"""Spatial questions about the registry in one call each, for the CLI (`facilities near`,
`facilities inside`, `facilities nearest`) and the app's sidebar: the sites within a distance of a
point or of another site, the sites inside a polygon or an uploaded layer, and the registry site
nearest each feature of an uploaded layer. The geometry work is facilities.spatial's; this module
reads the sites from a store and the analyst's layer from a file or an upload.
"""

from __future__ import annotations

import os
import re
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from facilities import spatial
from facilities.errors import InputError
from facilities.files import check_size
from facilities.frames import read_facilities
from facilities.store import SqlStore, Store

from .imports import _unzip_shapefile

LAYER_SUFFIXES = (".geojson", ".json", ".gpkg", ".fgb", ".parquet", ".shp", ".zip", ".kml", ".csv")
ANSWER_COLUMNS = ("id", "name", "country", "category", "distance_km")


@dataclass(frozen=True)
class Answer:
    """A question's answer: the rows (a GeoDataFrame) and the sentence that says what was asked."""

    question: str
    frame: Any

    def table(self) -> Any:
        """The answer as a plain table for a screen or a terminal: who, where, how far (km)."""
        frame = self.frame
        out = frame.drop(columns=[frame.geometry.name]).copy()
        if "distance_m" in out:
            out["distance_km"] = (out.pop("distance_m") / 1000).round(3)
        wanted = [c for c in ("feature", *ANSWER_COLUMNS, "site_id", "site_name") if c in out]
        return out[wanted] if wanted else out


def _sites(store: Store) -> Any:
    """The registry's sites as a GeoDataFrame, read straight from the store's tables."""
    if not isinstance(store, SqlStore):  # every store the app opens is one; a test double would not be
        raise TypeError(f"spatial questions read a registry's tables; {type(store).__name__} has none")
    return read_facilities(store)


def near_point(store: Store, lon: float, lat: float, km: float) -> Answer:
    """Sites within `km` kilometres (geodesic) of a point."""
    sites = _sites(store)
    found = spatial.within_distance(sites, (lon, lat), km * 1000)
    return Answer(f"sites within {km:g} km of {lat:.5f} N, {lon:.5f} E", found)


def near_site(store: Store, site_id: str, km: float) -> Answer:
    """Other sites within `km` kilometres (geodesic) of a site's outline."""
    store.get_facility(site_id)  # a clear NotFound for a mistyped id
    sites = _sites(store)
    return Answer(f"sites within {km:g} km of {site_id}", spatial.near_site(sites, site_id, km * 1000))


def inside(store: Store, layer: Any, *, within: bool = False, label: str = "the area") -> Answer:
    """Sites that meet (or, with `within`, lie wholly inside) the polygons of a layer."""
    sites = _sites(store)
    found = spatial.inside(sites, layer, predicate="within" if within else "intersects")
    return Answer(f"sites {'wholly inside' if within else 'meeting'} {label}", found)


def nearest(store: Store, layer: Any, *, label: str = "the layer") -> Answer:
    """The registry site nearest each feature of a layer, with the geodesic distance."""
    sites = _sites(store)
    found = spatial.nearest_sites(layer, sites)
    found.insert(0, "feature", range(len(found)))
    return Answer(f"the nearest registry site to each feature of {label}", found)


# ---------------------------------------------------------------- the analyst's layer

def read_layer_file(path: str | os.PathLike, *, max_bytes: int) -> Any:
    """Any vector file GDAL reads (GeoJSON, GeoPackage, FlatGeobuf, Shapefile, KML...) or a
    GeoParquet, as a GeoDataFrame in its own CRS (a file without one is taken as EPSG:4326
    only when it is GeoJSON or KML, whose coordinates are longitude/latitude by definition)."""
    import geopandas as gpd
    import pyogrio

    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as err:
        raise InputError(f"cannot read: {err.strerror or err}", source=str(path)) from None
    check_size(size, max_bytes, str(path))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            if path.suffix.lower() in (".parquet", ".geoparquet"):
                layer = gpd.read_parquet(path)
            else:
                layer = pyogrio.read_dataframe(path)
    except Exception as err:  # noqa: BLE001 - GDAL and pyarrow raise many types for a broken file
        raise InputError(f"cannot be read as a vector layer: {err}", source=str(path)) from None
    if not isinstance(layer, gpd.GeoDataFrame) or layer.geometry.isna().all():
        raise InputError("has no geometry", source=str(path))
    if layer.crs is None:
        if path.suffix.lower() not in (".geojson", ".json", ".kml"):
            raise InputError("has no CRS, so its coordinates cannot be placed (add a .prj, or save it "
                             "with one)", source=str(path))
        layer = layer.set_crs("EPSG:4326")
    return layer


def read_layer_bytes(raw: bytes, name: str, *, max_bytes: int) -> Any:
    """An uploaded layer: written to a private temporary folder under its sanitised name and read
    there (a Shapefile comes as a .zip of its parts)."""
    check_size(len(raw), max_bytes, name)
    suffix = Path(name).suffix.lower()
    if suffix not in LAYER_SUFFIXES:
        raise InputError(f"is not a layer file ({', '.join(LAYER_SUFFIXES)})", source=name)
    with tempfile.TemporaryDirectory(prefix="tracker-layer-") as tmp:
        if suffix == ".zip":
            path = _unzip_shapefile(raw, Path(tmp), name, max_bytes)
        else:
            base = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name).stem).strip("._")[:100] or "layer"
            path = Path(tmp) / (base + suffix)
            path.write_bytes(raw)
        return read_layer_file(path, max_bytes=max_bytes)
