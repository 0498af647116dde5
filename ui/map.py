r"""The registry map: facility outlines and structures over the base layers. Pure: no Streamlit.

Every user string (names, aliases, notes, kinds) goes through ui.safe.safe_text before it reaches
folium, and geometries are passed without their properties, so no user text is ever embedded as
data that Leaflet could later put into innerHTML. The one exception is the clustered sites layer of
a large registry: names travel as JSON strings (with `<>&'$` and backticks as \u escapes) and
are shown with textContent, never parsed as HTML.

The map comes in two parts (`map_parts`), so that switching facility never re-mounts it:
- the base map: base layers, every site (outlines, or clustered points above LARGE_REGISTRY
  facilities), structures, layer control, at a fixed view. Its script does not depend on the
  selection, so streamlit-folium keeps the same Leaflet map across reruns;
- the selection: a FeatureGroup with the selected outline (and, in a large registry, the outlines
  of its neighbourhood, simplified for the zoom) and the view (centre, zoom) to show it, passed to
  st_folium as `feature_group_to_add=`, `center=` and `zoom=`, which it applies to the live map.
`build_map` joins the two into one static map (fit to the selection).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import folium
import folium.plugins
import numpy as np
import shapely
from folium.template import Template
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

from facilities.model import Facility, LocationPrecision, Structure
from tracker.countries import country_name

from .basemap import add_basemaps
from .safe import safe_lines, safe_text

FACILITY_COLOUR = "#d9480f"
SELECTED_COLOUR = "#c2255c"
STRUCTURE_COLOUR = "#1864ab"
DASHED = "6 6"
NOTES_IN_POPUP = 400  # characters; the page below the map shows the full notes
WORLD_VIEW = ([20.0, 0.0], 2)
LARGE_REGISTRY = 300  # facilities; above this the sites are clustered points, outlines only near the selection
NEIGHBOURHOOD_KM = 5.0  # outlines drawn around the selected facility in a large registry
MAX_NEIGHBOURS = 200
MAX_ZOOM = 17
VIEW_PX = (700, 520)  # the map's drawable size (width, height) the view is fitted to, padding included
VIEW_PADDING_PX = 40
COORD_DECIMALS = 6  # ~0.1 m: finer than any outline drawn from imagery
POINT_DECIMALS = 5  # ~1 m: a site's marker
MAP_SCRIPTS = ("leaflet", "jquery")
MAP_STYLES = ("leaflet_css",)


def is_approximate(precision: LocationPrecision | str) -> bool:
    """Whether a location precision means the geometry must not be read as a boundary (approximate or city)."""
    return LocationPrecision(precision) in (LocationPrecision.APPROXIMATE, LocationPrecision.CITY)


def precision_label(precision: LocationPrecision | str) -> str:
    """How far to trust an outline, in words an analyst reads on hover."""
    precision = LocationPrecision(precision)
    return {
        LocationPrecision.SURVEYED: "surveyed outline",
        LocationPrecision.DIGITISED: "outline digitised from imagery",
        LocationPrecision.APPROXIMATE: "approximate outline (area of interest around a known point)",
        LocationPrecision.CITY: "approximate outline (only the city is known)",
    }[precision]


def _feature(geometry: BaseGeometry) -> dict:
    # Geometry only: properties stay out of the page (see module docstring).
    return {"type": "Feature", "geometry": mapping(geometry), "properties": {}}


def _short(text: str, limit: int = NOTES_IN_POPUP) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _popup(title: str, rows: Sequence[tuple[str, object]]) -> folium.Popup:
    """A popup from escaped parts; the only markup is ours."""
    body = "".join(f"<br><b>{safe_text(label)}:</b> {safe_text(value)}" for label, value in rows
                   if value not in (None, "", ()))
    return folium.Popup(f"<b>{safe_text(title)}</b>{body}", max_width=360)


def facility_tooltip(facility: Facility) -> folium.Tooltip:
    """A facility's hover text: name and location precision, escaped."""
    return folium.Tooltip(safe_lines(facility.name, precision_label(facility.location_precision)), sticky=True)


def facility_popup(facility: Facility) -> folium.Popup:
    """A facility's popup: aliases, location, status, country, category, claimed parents, systems, notes, escaped."""
    return _popup(facility.name, [
        ("Also known as", "; ".join(a.name for a in facility.aliases)),
        ("Location", precision_label(facility.location_precision)),
        ("Status", facility.status.value),
        ("Country", country_name(facility.country)),
        ("Category", facility.category),
        ("Part of (claimed)", "; ".join(p.name for p in facility.parents)),
        ("Systems", "; ".join(facility.systems)),
        ("Notes", _short(facility.notes)),
    ])


def structure_tooltip(structure: Structure) -> folium.Tooltip:
    """A structure's hover text: name, kind and whether its location is approximate, escaped."""
    where = "approximate location" if is_approximate(structure.location_precision) else ""
    return folium.Tooltip(safe_lines(structure.name, structure.kind, where), sticky=True)


def structure_popup(structure: Structure) -> folium.Popup:
    """A structure's popup: kind, location precision, status, dates built and removed, notes, escaped."""
    return _popup(structure.name, [
        ("Kind", structure.kind),
        ("Location", structure.location_precision.value),
        ("Status", structure.status.value),
        ("Built", structure.built),
        ("Removed", structure.removed),
        ("Notes", _short(structure.notes)),
    ])


def facility_layer(facility: Facility, *, selected: bool, geometry: BaseGeometry | None = None) -> folium.GeoJson:
    """A facility's outline (or `geometry`), highlighted when selected and dashed when approximate, with tooltip and
    popup."""
    colour = SELECTED_COLOUR if selected else FACILITY_COLOUR
    style = {
        "color": colour,
        "weight": 4 if selected else 2,
        "fillColor": colour,
        "fillOpacity": 0.12 if selected else 0.06,
        # Dashed = do not read the outline as a boundary; solid = traced or surveyed.
        "dashArray": DASHED if is_approximate(facility.location_precision) else None,
    }
    return folium.GeoJson(
        _feature(facility.geometry if geometry is None else geometry),
        style_function=lambda _f, style=style: {k: v for k, v in style.items() if v is not None},
        tooltip=facility_tooltip(facility),
        popup=facility_popup(facility),
        zoom_on_click=False,
    )


def structure_layer(structure: Structure) -> folium.Layer:
    """A structure on the map: a circle for a point, otherwise its outline or line; dashed when approximate."""
    dash = DASHED if is_approximate(structure.location_precision) else None
    tooltip, popup = structure_tooltip(structure), structure_popup(structure)
    geom = structure.geometry
    if geom.geom_type == "Point":
        return folium.CircleMarker(
            location=[geom.y, geom.x], radius=6, color=STRUCTURE_COLOUR, weight=2, fill=True,
            fill_color="#ffffff", fill_opacity=0.9, dash_array=dash, tooltip=tooltip, popup=popup,
        )
    style = {"color": STRUCTURE_COLOUR, "weight": 2, "fillOpacity": 0.0 if "Polygon" in geom.geom_type else 1.0}
    if dash:
        style["dashArray"] = dash
    return folium.GeoJson(_feature(geom), style_function=lambda _f, style=style: style,
                          tooltip=tooltip, popup=popup, zoom_on_click=False)


def _bounds(geometries: Iterable[BaseGeometry]) -> list[list[float]] | None:
    boxes = [g.bounds for g in geometries if g is not None and not g.is_empty]
    if not boxes:
        return None
    west, south = min(b[0] for b in boxes), min(b[1] for b in boxes)
    east, north = max(b[2] for b in boxes), max(b[3] for b in boxes)
    return [[south, west], [north, east]]


_JSON_IN_SCRIPT = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "'": "\\u0027",
                                 "$": "\\u0024", "`": "\\u0060", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def script_json(value: object) -> str:
    r"""JSON for inside an inline <script>: no `<` (so no `</script>`), no `$`, backtick or quote
    from user text, only \u escapes that JavaScript decodes back to the same characters.

    >>> script_json(["<img src=x>", "`${1}`"])
    '["\\u003cimg src=x\\u003e","\\u0060\\u0024{1}\\u0060"]'
    """
    # Those characters occur only inside JSON strings, where \\uXXXX means the same character.
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).translate(_JSON_IN_SCRIPT)


PRECISIONS = tuple(LocationPrecision)


class SiteClusters(folium.plugins.MarkerCluster):
    """Every facility as one clustered point (Leaflet.markercluster, chunked loading).

    Rows are [lat, lon, name, precision index], written once as JSON (see script_json); each
    marker's tooltip is built with textContent when first shown, so a name is always text.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function () {
            var rows = {{ this.rows_json }};
            var labels = {{ this.labels_json }};
            var cluster = L.markerClusterGroup({{ this.options|tojavascript }});
            var style = {{ this.marker_style|tojson }};
            function tooltip(layer) {
                var div = document.createElement("div");
                var name = document.createElement("b");
                name.textContent = layer.siteName;
                div.appendChild(name);
                div.appendChild(document.createElement("br"));
                div.appendChild(document.createTextNode(labels[layer.sitePrecision]));
                return div;
            }
            var markers = new Array(rows.length);
            for (var i = 0; i < rows.length; i++) {
                var row = rows[i];
                var marker = L.circleMarker([row[0], row[1]], style);
                marker.siteName = row[2];
                marker.sitePrecision = row[3];
                marker.bindTooltip(tooltip, {sticky: true});
                markers[i] = marker;
            }
            cluster.addLayers(markers);
            cluster.addTo({{ this._parent.get_name() }});
            return cluster;
        })();
        {% endmacro %}"""
    )

    def __init__(self, facilities: Sequence[Facility], name: str = "Facilities", **options):
        super().__init__(name=name, overlay=True, control=True, show=True,
                         options={"chunkedLoading": True, "showCoverageOnHover": False,
                                  "disableClusteringAtZoom": 14, "maxClusterRadius": 60, **options})
        self._name = "SiteClusters"
        points = shapely.point_on_surface(np.array([f.geometry for f in facilities], dtype=object)) \
            if facilities else np.empty(0, dtype=object)
        xy = np.round(shapely.get_coordinates(points), POINT_DECIMALS) if len(points) else np.empty((0, 2))
        index = {p: i for i, p in enumerate(PRECISIONS)}
        rows = [[float(y), float(x), f.name, index[LocationPrecision(f.location_precision)]]
                for (x, y), f in zip(xy, facilities, strict=True)]
        self.rows_json = script_json(rows)
        self.labels_json = script_json([precision_label(p) for p in PRECISIONS])
        self.marker_style = {"radius": 6, "color": FACILITY_COLOUR, "weight": 2, "fillColor": FACILITY_COLOUR,
                             "fillOpacity": 0.5}


def is_large(facilities: Sequence[Facility], threshold: int = LARGE_REGISTRY) -> bool:
    """Whether the registry has more facilities than `threshold`, so the map clusters them as points."""
    return len(facilities) > threshold


def simplify_for_zoom(geometry: BaseGeometry, zoom: float) -> BaseGeometry:
    """Half a screen pixel at `zoom` (in degrees, at the equator: finer elsewhere), topology kept,
    coordinates rounded to COORD_DECIMALS."""
    tolerance = 0.5 * 360.0 / (256 * 2 ** zoom)
    simpler = shapely.simplify(geometry, tolerance, preserve_topology=True)
    return shapely.transform(simpler, lambda xy: np.round(xy, COORD_DECIMALS))


def neighbourhood(facilities: Sequence[Facility], selected: Facility, km: float = NEIGHBOURHOOD_KM,
                  limit: int = MAX_NEIGHBOURS) -> list[Facility]:
    """Facilities whose bounding box meets the selected one's grown by `km` (nearest first, at most
    `limit`), the selected facility excluded."""
    west, south, east, north = selected.geometry.bounds
    dlat = km / 111.32
    dlon = dlat / max(math.cos(math.radians((south + north) / 2)), 0.01)
    others = [f for f in facilities if f.id != selected.id]
    if not others:
        return []
    b = shapely.bounds(np.array([f.geometry for f in others], dtype=object))
    near = (b[:, 0] <= east + dlon) & (b[:, 2] >= west - dlon) & (b[:, 1] <= north + dlat) & (b[:, 3] >= south - dlat)
    cx, cy = (west + east) / 2, (south + north) / 2
    idx = np.flatnonzero(near)
    dist = np.hypot((b[idx, 0] + b[idx, 2]) / 2 - cx, (b[idx, 1] + b[idx, 3]) / 2 - cy)
    return [others[i] for i in idx[np.argsort(dist, kind="stable")][:limit]]


def view_for(bounds: list[list[float]], size: tuple[int, int] = VIEW_PX, padding: int = VIEW_PADDING_PX,
             max_zoom: int = MAX_ZOOM) -> tuple[tuple[float, float], int]:
    """Centre (lat, lon) and the largest whole zoom at which `bounds` fit a map of `size` pixels."""
    (south, west), (north, east) = bounds
    width, height = size[0] - 2 * padding, size[1] - 2 * padding

    def merc(lat: float) -> float:
        lat = max(min(lat, 85.0), -85.0)
        return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))

    dx = max(east - west, 1e-9) / 360.0
    dy = max(merc(north) - merc(south), 1e-9) / (2 * math.pi)
    zoom = math.floor(min(math.log2(width / (256 * dx)), math.log2(height / (256 * dy))))
    centre_y = (merc(north) + merc(south)) / 2
    centre_lat = math.degrees(2 * math.atan(math.exp(centre_y)) - math.pi / 2)
    return (round(centre_lat, 6), round((west + east) / 2, 6)), max(1, min(max_zoom, zoom))


class WorldMap(folium.Map):
    """A folium.Map over a world basemap whose bounds are the world's.

    st_folium asks the map for its bounds on every rerun (for a default value the registry map never returns) and
    folium would find them by walking every vertex of every layer: the Natural Earth basemap alone is a quarter of
    a second a rerun."""

    def get_bounds(self) -> list[list[float | None]]:
        """The whole world (what the basemap covers), in folium's [[south, west], [north, east]]."""
        return [[-90.0, -180.0], [90.0, 180.0]]


@dataclass
class MapParts:
    """The base map (the same script whatever the selection) and what depends on the selection."""

    base: folium.Map
    selection: folium.FeatureGroup
    center: tuple[float, float]
    zoom: float  # whole zoom + a tiny per-facility offset, so streamlit-folium re-applies it (see map_parts)
    bounds: list[list[float]] | None
    large: bool


def base_map(facilities: Sequence[Facility], structures: Sequence[Structure], offline: bool = False,
             threshold: int = LARGE_REGISTRY) -> folium.Map:
    """Base layers, every site and the layer control, at a fixed world view: nothing here depends on
    the selected facility. Up to `threshold` facilities every outline and structure is drawn; above
    it, every facility is one clustered point and outlines come with the selection."""
    m = WorldMap(location=WORLD_VIEW[0], zoom_start=WORLD_VIEW[1], tiles=None, control_scale=True, max_zoom=21)
    # folium passes max_zoom only to a default tile layer; without tiles (offline) Leaflet's map
    # would have no maxZoom, which marker clustering needs.
    m.options["max_zoom"] = 21
    # Leaflet, and jQuery for folium's popups: folium also links Bootstrap, Font Awesome (480 KB of
    # embedded fonts in the offline copy) and Awesome Markers, which this map never uses.
    m.default_js = [(name, url) for name, url in m.default_js if name in MAP_SCRIPTS]
    m.default_css = [(name, url) for name, url in m.default_css if name in MAP_STYLES]
    add_basemaps(m, offline=offline)
    if is_large(facilities, threshold):
        SiteClusters(facilities).add_to(m)
        # Moving the view to another site (st_folium's center=/zoom=) with Leaflet's zoom animation
        # hung Chromium at 10,000 clustered sites from the second switch on (page unresponsive, then
        # crashed); without the animation every switch completes (bench: 5/5 picks).
        m.options["zoom_animation"] = False
    else:
        outlines = folium.FeatureGroup(name="Facilities", overlay=True, show=True)
        for facility in facilities:
            facility_layer(facility, selected=False).add_to(outlines)
        outlines.add_to(m)
        parts = folium.FeatureGroup(name="Structures", overlay=True, show=True)
        for structure in structures:
            structure_layer(structure).add_to(parts)
        parts.add_to(m)
    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    return m


def selection_group(facilities: Sequence[Facility], structures: Sequence[Structure], selected_id: str | None,
                    *, large: bool, zoom: float = MAX_ZOOM) -> folium.FeatureGroup:
    """The selected outline on top, its structures above it; in a large registry also the outlines
    (and structures) of the facilities around it, simplified for `zoom`."""
    group = folium.FeatureGroup(name="Selected facility", overlay=True, show=True, control=False)
    selected = next((f for f in facilities if f.id == selected_id), None)
    if selected is None:
        return group
    shown = [selected]
    if large:
        for facility in neighbourhood(facilities, selected):
            facility_layer(facility, selected=False, geometry=simplify_for_zoom(facility.geometry, zoom)).add_to(group)
            shown.append(facility)
    geometry = simplify_for_zoom(selected.geometry, zoom) if large else None
    facility_layer(selected, selected=True, geometry=geometry).add_to(group)
    ids = {f.id for f in shown} if large else {selected.id}
    for structure in structures:
        if structure.facility_id in ids:
            structure_layer(structure).add_to(group)
    return group


def map_parts(facilities: Sequence[Facility], structures: Sequence[Structure], selected_id: str | None = None,
              offline: bool = False, threshold: int = LARGE_REGISTRY) -> MapParts:
    """The map in two parts (see the module): the base map, the same whatever is selected, and the selection layer
    with the view to fit it."""
    large = is_large(facilities, threshold)
    selected = [f for f in facilities if f.id == selected_id]
    if selected:
        own = [s.geometry for s in structures if s.facility_id == selected_id]
        bounds = _bounds([selected[0].geometry, *own])
    else:
        bounds = _bounds(f.geometry for f in facilities)
    (center, zoom) = view_for(bounds) if bounds is not None else (tuple(WORLD_VIEW[0]), WORLD_VIEW[1])
    # streamlit-folium applies zoom= only when it differs from the last one it applied, so two
    # facilities at the same zoom would keep an analyst's manual zoom. A per-facility offset far
    # below Leaflet's zoom snap makes each selection's zoom distinct; Leaflet rounds it away.
    digest = int(hashlib.sha256(str(selected_id).encode()).hexdigest()[:6], 16)
    return MapParts(
        base=base_map(facilities, structures, offline=offline, threshold=threshold),
        selection=selection_group(facilities, structures, selected_id, large=large, zoom=zoom),
        center=center, zoom=zoom + (1 + digest % 997) / 1e6, bounds=bounds, large=large)


def build_map(facilities: Sequence[Facility], structures: Sequence[Structure], selected_id: str | None = None,
              offline: bool = False, threshold: int = LARGE_REGISTRY) -> folium.Map:
    """One static folium map of the facilities and structures, fit to the selected facility.

    `offline` leaves out every online tile layer (the Natural Earth basemap only). Scripts still
    point at CDNs: call ui.assets.localise before showing the map in the app.
    """
    parts = map_parts(facilities, structures, selected_id, offline=offline, threshold=threshold)
    parts.selection.add_to(parts.base)
    if parts.bounds is not None:
        parts.base.fit_bounds(parts.bounds, max_zoom=MAX_ZOOM, padding=(20, 20))
    return parts.base
