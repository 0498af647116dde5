"""The registry map: facility outlines and structures over the base layers. Pure: no Streamlit.

Every user string (names, aliases, notes, kinds) goes through ui.safe.safe_text before it reaches
folium, and geometries are passed without their properties, so no user text is ever embedded as
data that Leaflet could later put into innerHTML.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import folium
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

from facilities.model import Facility, LocationPrecision, Structure

from .basemap import add_basemaps
from .safe import safe_lines, safe_text

FACILITY_COLOUR = "#d9480f"
SELECTED_COLOUR = "#c2255c"
STRUCTURE_COLOUR = "#1864ab"
DASHED = "6 6"
NOTES_IN_POPUP = 400  # characters; the page below the map shows the full notes
WORLD_VIEW = ([20.0, 0.0], 2)


def is_approximate(precision: LocationPrecision | str) -> bool:
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
    return folium.Tooltip(safe_lines(facility.name, precision_label(facility.location_precision)), sticky=True)


def facility_popup(facility: Facility) -> folium.Popup:
    return _popup(facility.name, [
        ("Also known as", "; ".join(a.name for a in facility.aliases)),
        ("Location", precision_label(facility.location_precision)),
        ("Status", facility.status.value),
        ("Country", facility.country),
        ("Category", facility.category),
        ("Part of (claimed)", "; ".join(p.name for p in facility.parents)),
        ("Systems", "; ".join(facility.systems)),
        ("Notes", _short(facility.notes)),
    ])


def structure_tooltip(structure: Structure) -> folium.Tooltip:
    where = "approximate location" if is_approximate(structure.location_precision) else ""
    return folium.Tooltip(safe_lines(structure.name, structure.kind, where), sticky=True)


def structure_popup(structure: Structure) -> folium.Popup:
    return _popup(structure.name, [
        ("Kind", structure.kind),
        ("Location", structure.location_precision.value),
        ("Status", structure.status.value),
        ("Built", structure.built),
        ("Removed", structure.removed),
        ("Notes", _short(structure.notes)),
    ])


def facility_layer(facility: Facility, *, selected: bool) -> folium.GeoJson:
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
        _feature(facility.geometry),
        style_function=lambda _f, style=style: {k: v for k, v in style.items() if v is not None},
        tooltip=facility_tooltip(facility),
        popup=facility_popup(facility),
        zoom_on_click=False,
    )


def structure_layer(structure: Structure) -> folium.Layer:
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


def build_map(facilities: Sequence[Facility], structures: Sequence[Structure], selected_id: str | None = None,
              offline: bool = False) -> folium.Map:
    """A folium map of the facilities and structures, centred on the selected facility.

    `offline` leaves out every online tile layer (the Natural Earth basemap only). Scripts still
    point at CDNs: call ui.assets.localise before showing the map in the app.
    """
    m = folium.Map(location=WORLD_VIEW[0], zoom_start=WORLD_VIEW[1], tiles=None, control_scale=True,
                   max_zoom=21)
    add_basemaps(m, offline=offline)

    outlines = folium.FeatureGroup(name="Facilities", overlay=True, show=True)
    # The selected facility last, so it is drawn on top of its neighbours.
    for facility in sorted(facilities, key=lambda f: f.id == selected_id):
        facility_layer(facility, selected=facility.id == selected_id).add_to(outlines)
    outlines.add_to(m)

    parts = folium.FeatureGroup(name="Structures", overlay=True, show=True)
    for structure in structures:
        structure_layer(structure).add_to(parts)
    parts.add_to(m)

    selected = [f for f in facilities if f.id == selected_id]
    if selected:
        own = [s.geometry for s in structures if s.facility_id == selected_id]
        bounds = _bounds([selected[0].geometry, *own])
    else:
        bounds = _bounds(f.geometry for f in facilities)
    if bounds is not None:
        m.fit_bounds(bounds, max_zoom=17, padding=(20, 20))

    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    return m
