"""Maps for comparing dates of one site. Pure: folium objects only, no Streamlit, no I/O.

The base map (basemaps, the site's outline, structures and recorded annotations, the Draw tool)
depends only on the site, so st_folium keeps it mounted while the analyst changes dates: the
dated imagery goes in a separate FeatureGroup passed as `feature_group_to_add`, which
streamlit-folium swaps in place. The swipe control travels in that group too (it attaches when
the group is added to the map and detaches when it is removed).
"""

from __future__ import annotations

from collections.abc import Sequence

import folium
import folium.plugins
import numpy as np
from branca.element import MacroElement
from folium.elements import JSCSSMixin
from folium.template import Template
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

from facilities.model import Facility, Observation, Structure
from imagery.catalogue import DatedLayer

from .basemap import add_basemaps
from .map import STRUCTURE_COLOUR, is_approximate
from .safe import safe_lines, safe_text

SIDE_BY_SIDE_JS = "https://cdn.jsdelivr.net/gh/digidem/leaflet-side-by-side@2.0.0/leaflet-side-by-side.min.js"
OUTLINE_COLOUR = "#ffd43b"  # yellow reads on dark imagery and on the light offline basemap
ANNOTATION_COLOUR = "#e64980"
IMAGERY_PANE = "dated-imagery"  # above the basemaps (tiles 200, offline land 250), below outlines (400)
DRAW_OPTIONS = {"polyline": {"shapeOptions": {"color": ANNOTATION_COLOUR}},
                "polygon": {"shapeOptions": {"color": ANNOTATION_COLOUR}, "allowIntersection": False},
                "rectangle": {"shapeOptions": {"color": ANNOTATION_COLOUR}},
                "marker": True, "circle": False, "circlemarker": False}


class SwipeAssets(JSCSSMixin, MacroElement):
    """Loads leaflet-side-by-side with the base map, so a swipe can be added later without a remount."""

    _template = Template("")
    default_js = [("leaflet.sidebyside", SIDE_BY_SIDE_JS)]

    def __init__(self) -> None:
        super().__init__()
        self._name = "SwipeAssets"


class Swipe(MacroElement):
    """L.control.sideBySide over two layers of the parent group, living as long as the group is on a map.

    folium's SideBySideLayers adds the control to the map at load time; here it must follow the
    group that streamlit-folium adds and removes. Image overlays get the getContainer the plugin
    expects (Leaflet names it getElement for them).
    """

    _template = Template(
        r"""
        {% macro script(this, kwargs) %}
        (function () {
            var group = {{ this._parent.get_name() }};
            var left = {{ this.left.get_name() }}, right = {{ this.right.get_name() }};
            [left, right].forEach(function (layer) {
                if (!layer.getContainer && layer.getElement) { layer.getContainer = layer.getElement; }
            });
            var control = null;
            function attach() {
                if (control || !group._map) { return; }
                control = L.control.sideBySide(left, right);
                // The plugin clips in pane coordinates, right for tile containers (at the pane's origin) but
                // not for an image overlay, whose element is itself moved in the pane: shift its clip by the
                // element's position, or the image is cut off below and right of the map's first view.
                var clip = control._updateClip;
                control._updateClip = function () {
                    clip.apply(this, arguments);
                    [left, right].forEach(function (layer) {
                        var el = layer instanceof L.ImageOverlay && layer.getElement();
                        var number = "([-\\d.]+)px,? ?";
                        var m = el && new RegExp("rect\\(" + number.repeat(4) + "\\)").exec(el.style.clip);
                        if (!m) { return; }
                        var at = L.DomUtil.getPosition(el);
                        el.style.clip = "rect(" + (m[1] - at.y) + "px, " + (m[2] - at.x) + "px, " + (m[3] - at.y) +
                            "px, " + (m[4] - at.x) + "px)";
                    });
                };
                control.addTo(group._map);
                group._map.on("zoomend moveend viewreset", control._updateClip, control);
                window.__trackerSwipe = control;
            }
            group.on("add", attach);
            group.on("remove", function () {
                if (control) {
                    if (control._map) { control._map.off("zoomend moveend viewreset", control._updateClip, control); }
                    control.remove();
                    control = null;
                }
            });
            attach();
        })();
        {% endmacro %}
        """
    )

    def __init__(self, left: folium.Layer, right: folium.Layer) -> None:
        super().__init__()
        self._name = "Swipe"
        self.left, self.right = left, right


def date_layer(layer: DatedLayer, overlay_url: str | None = None,
               overlay_bounds: Sequence[Sequence[float]] | None = None) -> folium.Layer:
    """One dated layer: browser-fetched tiles, or a PNG the app serves (overlay_url/bounds)."""
    if layer.tiles:
        kwargs = {"subdomains": list(layer.subdomains)} if layer.subdomains else {}
        return folium.TileLayer(tiles=layer.tiles, attr=layer.attribution, name=safe_text(layer.title),
                                max_zoom=layer.max_zoom, max_native_zoom=layer.max_native_zoom, overlay=True,
                                control=False, pane=IMAGERY_PANE, **kwargs)
    if overlay_url is None or overlay_bounds is None:
        raise ValueError(f"{layer.key}: a server-rendered layer needs its overlay URL and bounds")
    image = folium.raster_layers.ImageOverlay(np.zeros((1, 1, 4), dtype=np.uint8),
                                              bounds=[list(b) for b in overlay_bounds], name=safe_text(layer.title),
                                              attribution=layer.attribution, control=False, pane=IMAGERY_PANE)
    image.url = overlay_url  # folium would embed a path as a file; the app serves the PNG itself
    return image


def outline_layer(facility: Facility) -> folium.GeoJson:
    """The facility outline for the compare map, dashed when its location is approximate; never clickable."""
    style = {"color": OUTLINE_COLOUR, "weight": 2, "fill": False}
    if is_approximate(facility.location_precision):
        style["dashArray"] = "6 6"
    return folium.GeoJson({"type": "Feature", "geometry": mapping(facility.geometry), "properties": {}},
                          style_function=lambda _f, style=style: style, name="Outline", interactive=False)


def structure_marks(structures: Sequence[Structure]) -> folium.FeatureGroup:
    """The facility's structures for the compare map: points as circles, footprints and lines as outlines, with their
    name and kind as tooltips."""
    group = folium.FeatureGroup(name="Structures")
    for s in structures:
        tooltip = folium.Tooltip(safe_lines(s.name, s.kind), sticky=True)
        geom = s.geometry
        if geom.geom_type == "Point":
            folium.CircleMarker([geom.y, geom.x], radius=5, color=STRUCTURE_COLOUR, weight=2, fill=True,
                                fill_color="#ffffff", fill_opacity=0.9, tooltip=tooltip).add_to(group)
        else:
            folium.GeoJson({"type": "Feature", "geometry": mapping(geom), "properties": {}},
                           style_function=lambda _f: {"color": STRUCTURE_COLOUR, "weight": 2, "fillOpacity": 0.0},
                           tooltip=tooltip).add_to(group)
    return group


def annotation_marks(observations: Sequence[Observation]) -> folium.FeatureGroup:
    """Observations recorded with a drawn geometry, labelled with their date and kind."""
    group = folium.FeatureGroup(name="Recorded annotations")
    for o in observations:
        if o.geometry is None:
            continue
        tooltip = folium.Tooltip(safe_lines(f"{o.date} · {o.kind.value}", o.summary[:200]), sticky=True)
        geom = o.geometry
        if geom.geom_type == "Point":
            folium.CircleMarker([geom.y, geom.x], radius=6, color=ANNOTATION_COLOUR, weight=2, fill=True,
                                fill_opacity=0.3, tooltip=tooltip).add_to(group)
            continue
        folium.GeoJson({"type": "Feature", "geometry": mapping(geom), "properties": {}},
                       style_function=lambda _f: {"color": ANNOTATION_COLOUR, "weight": 2, "fillOpacity": 0.1,
                                                  "dashArray": "2 4"},
                       tooltip=tooltip).add_to(group)
    return group


def _fit(m: folium.Map, geometry: BaseGeometry) -> None:
    w, s, e, n = geometry.bounds
    m.fit_bounds([[s, w], [n, e]], max_zoom=18, padding=(10, 10))


def base_map(facility: Facility, structures: Sequence[Structure], observations: Sequence[Observation] = (),
             *, offline: bool = False, draw: bool = True) -> folium.Map:
    """The site's map, identical for every date choice (see the module docstring)."""
    m = folium.Map(location=[facility.geometry.centroid.y, facility.geometry.centroid.x], zoom_start=16, tiles=None,
                   control_scale=True, max_zoom=21)
    add_basemaps(m, offline=offline)
    folium.map.CustomPane(IMAGERY_PANE, z_index=300, pointer_events=False).add_to(m)
    outline_layer(facility).add_to(m)
    structure_marks(structures).add_to(m)
    annotation_marks(observations).add_to(m)
    SwipeAssets().add_to(m)
    if draw:
        folium.plugins.Draw(export=False, position="topleft", show_geometry_on_click=False,
                            draw_options=DRAW_OPTIONS, edit_options={"edit": True, "remove": True}).add_to(m)
    _fit(m, facility.geometry)
    return m


def dates_group(layers: Sequence[folium.Layer], *, swipe: bool) -> folium.FeatureGroup:
    """The imagery for the current choice: one layer, or two with the swipe between them."""
    group = folium.FeatureGroup(name="Imagery", control=False)
    for layer in layers:
        layer.add_to(group)
    if swipe:
        if len(layers) != 2:
            raise ValueError("a swipe needs exactly two layers")
        Swipe(layers[0], layers[1]).add_to(group)
    return group


def dual_map(facility: Facility, left: folium.Layer, right: folium.Layer, structures: Sequence[Structure] = (),
             *, offline: bool = False) -> folium.plugins.DualMap:
    """Two synchronised maps, one date each, with the outline and structures on both."""
    c = facility.geometry.centroid
    m = folium.plugins.DualMap(location=[c.y, c.x], zoom_start=16, tiles=None, layout="horizontal",
                               control_scale=True, max_zoom=21)
    for side, layer in ((m.m1, left), (m.m2, right)):
        add_basemaps(side, offline=offline)
        folium.map.CustomPane(IMAGERY_PANE, z_index=300, pointer_events=False).add_to(side)
        layer.add_to(side)
        outline_layer(facility).add_to(side)
        structure_marks(structures).add_to(side)
        _fit(side, facility.geometry)
    return m

