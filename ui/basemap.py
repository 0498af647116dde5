"""Base layers: online tiles from imagery.providers, and an offline basemap that always works.

The offline basemap is Natural Earth land (public domain, shipped in ui/data) drawn as vectors on
a light sea colour, so the map has a world to show with no network at all. When online tiles
fail (air-gapped analyst, service down), a small script switches to it after a few tile errors and
says so on the map, instead of leaving a grey void.
"""

from __future__ import annotations

import json
from functools import lru_cache

import folium
from branca.element import MacroElement
from folium.template import Template

from imagery.providers import BASEMAPS, TileProvider
from tracker.package_data import NATURAL_EARTH_LAND

LAND_FILE = NATURAL_EARTH_LAND  # one file, shipped with tracker: the report locator maps read it too
OFFLINE_NAME = "Offline basemap"
OFFLINE_NOTE = "Imagery service unreachable — offline basemap"
SEA_COLOUR = "#dfe9f1"
LAND_STYLE = {"color": "#9aa5ad", "weight": 0.6, "fillColor": "#f4f1ea", "fillOpacity": 1.0}
NATURAL_EARTH_ATTRIBUTION = (
    '<a href="https://www.naturalearthdata.com/" target="_blank" rel="noopener noreferrer">'
    "Natural Earth</a> (public domain)"
)
BASEMAP_PANE = "basemap"  # below overlays (400) and above tiles (200): land never hides outlines
TILE_ERRORS_BEFORE_FALLBACK = 3


@lru_cache(maxsize=1)
def land_geojson() -> dict:
    """The Natural Earth land layer (read once per process; 190 KB)."""
    return json.loads(LAND_FILE.read_text("utf-8"))


def online_tile_layer(provider: TileProvider, *, show: bool) -> folium.TileLayer:
    """A base tile layer from an online provider, with its attribution and zoom limits."""
    return folium.TileLayer(
        tiles=provider.url,
        attr=provider.attribution,
        name=provider.title,
        min_zoom=provider.min_zoom,
        max_zoom=provider.max_zoom,
        max_native_zoom=provider.max_native_zoom,
        overlay=False,
        show=show,
    )


def offline_land_layer(*, show: bool) -> folium.GeoJson:
    """The offline basemap: Natural Earth land shapes as a non-interactive GeoJSON base layer, needing no network."""
    return folium.GeoJson(
        land_geojson(),
        name=OFFLINE_NAME,
        overlay=False,
        show=show,
        style_function=lambda _feature: LAND_STYLE,
        interactive=False,  # a backdrop: no hover, no clicks, no tooltips
        pane=BASEMAP_PANE,
        attribution=NATURAL_EARTH_ATTRIBUTION,
        smooth_factor=1.5,
    )


class TileFallback(MacroElement):
    """Switch to the offline basemap after a few tile errors on the active online layer.

    Leaflet fires `tileerror` per failed tile; a few in a row mean the service is unreachable, not
    that one tile is missing. The note is plain text (textContent), and it goes away when online
    tiles load again (the analyst picked the layer back and the network has returned).
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            var offline = {{ this.offline_layer.get_name() }};
            var online = [{% for layer in this.online_layers %}{{ layer.get_name() }},{% endfor %}];
            map.getContainer().style.background = {{ this.sea_colour|tojson }};
            var note = L.control({position: "bottomleft"});
            note.onAdd = function () {
                var div = L.DomUtil.create("div", "offline-basemap-note");
                div.setAttribute("role", "status");
                div.style.cssText = "background:#fff8e1;border:1px solid #c9a227;padding:3px 8px;"
                    + "font:13px sans-serif;color:#5c4a00;";
                div.textContent = {{ this.message|tojson }};
                return div;
            };
            var noteShown = false;
            online.forEach(function (layer) {
                var errors = 0;
                layer.on("tileerror", function () {
                    errors += 1;
                    if (errors < {{ this.max_errors }} || !map.hasLayer(layer)) { return; }
                    errors = 0;
                    map.removeLayer(layer);
                    if (!map.hasLayer(offline)) { map.addLayer(offline); }
                    if (!noteShown) { note.addTo(map); noteShown = true; }
                });
                layer.on("tileload", function () {
                    errors = 0;
                    if (noteShown) { note.remove(); noteShown = false; }
                });
            });
        })();
        {% endmacro %}
        """
    )

    def __init__(self, offline_layer: folium.GeoJson, online_layers: list[folium.TileLayer],
                 message: str = OFFLINE_NOTE, max_errors: int = TILE_ERRORS_BEFORE_FALLBACK):
        super().__init__()
        self._name = "TileFallback"
        self.offline_layer = offline_layer
        self.online_layers = online_layers
        self.message = message
        self.max_errors = int(max_errors)
        self.sea_colour = SEA_COLOUR


def add_basemaps(m: folium.Map, *, offline: bool = False,
                 providers: tuple[TileProvider, ...] = BASEMAPS) -> tuple[list[folium.TileLayer], folium.GeoJson]:
    """Add the base layers to `m`: online providers first (the first one shown) unless `offline`,
    then the offline basemap (shown when offline). Returns (online layers, offline layer)."""
    online = [] if offline else [online_tile_layer(p, show=i == 0) for i, p in enumerate(providers)]
    for layer in online:
        layer.add_to(m)
    folium.map.CustomPane(BASEMAP_PANE, z_index=250, pointer_events=False).add_to(m)
    land = offline_land_layer(show=not online)
    land.add_to(m)
    TileFallback(land, online).add_to(m)
    return online, land
