"""Basemap tile providers, kept as data: URL template, attribution, zoom range, licence terms.

The browser fetches these tiles; the server never does. Both licences below allow display in a
web map but not fetching, storing or exporting tiles server-side (Esri terms of use; the OSM tile
usage policy forbids bulk and offline download), so every provider says so in
`server_fetch_allowed` and code that downloads tiles must check it.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import UnknownProvider


@dataclass(frozen=True)
class TileProvider:
    """One XYZ tile service as Leaflet needs it, plus the terms it comes with."""

    key: str  # stable lookup name, e.g. "esri-world-imagery"
    title: str  # shown in the layer control
    url: str  # XYZ template with {z}, {x}, {y}
    attribution: str  # HTML shown in the map corner; must stay visible (licence requirement)
    attribution_text: str  # the same, as plain text for reports and captions
    licence: str
    licence_url: str
    max_zoom: int = 19  # how far the map may zoom on this layer
    max_native_zoom: int = 19  # deepest level the service has tiles for; Leaflet upscales beyond
    min_zoom: int = 0
    imagery: bool = False  # aerial/satellite pictures rather than a drawn map
    server_fetch_allowed: bool = False  # True only for sources whose terms allow server-side download

    def __post_init__(self) -> None:
        for part in ("{z}", "{x}", "{y}"):
            if part not in self.url:
                raise ValueError(f"tile url for {self.key} lacks {part}")
        if not self.url.startswith("https://"):
            raise ValueError(f"tile url for {self.key} must use https")
        if not self.attribution.strip():
            raise ValueError(f"provider {self.key} needs an attribution")
        if self.max_native_zoom > self.max_zoom:
            raise ValueError(f"provider {self.key}: max_native_zoom is above max_zoom")

    def tile_url(self, z: int, x: int, y: int) -> str:
        """The URL of one tile (for links and tests; the server must not fetch it)."""
        return self.url.format(z=z, x=x, y=y)


ESRI_WORLD_IMAGERY = TileProvider(
    key="esri-world-imagery",
    title="Esri World Imagery",
    url="https://server.arcgisonline.com/ArcGIS/rest/services/World_Imagery/MapServer/tile/{z}/{y}/{x}",
    # Esri requires "Powered by Esri" with Esri linked to esri.com, plus the data source line.
    attribution=(
        'Powered by <a href="https://www.esri.com" target="_blank" rel="noopener noreferrer">Esri</a>'
        " | Source: Esri, Maxar, Earthstar Geographics, and the GIS User Community"
    ),
    attribution_text="Powered by Esri | Source: Esri, Maxar, Earthstar Geographics, and the GIS User Community",
    licence=(
        "Esri Master License Agreement and Terms of Use: display in a web map with attribution; "
        "no scraping, storing, caching or export of tiles."
    ),
    licence_url="https://www.esri.com/en-us/legal/terms/full-master-agreement",
    # The service has no max_zoom in xyzservices (folium then stops at z18); z19 is native
    # almost everywhere, and Leaflet upscales to z21 so analysts can look closer.
    max_zoom=21,
    max_native_zoom=19,
    imagery=True,
)

OPENSTREETMAP = TileProvider(
    key="openstreetmap",
    title="OpenStreetMap",
    url="https://tile.openstreetmap.org/{z}/{x}/{y}.png",  # note: x before y, unlike Esri
    attribution=(
        '<a href="https://www.openstreetmap.org/copyright" target="_blank" rel="noopener noreferrer">'
        "© OpenStreetMap contributors</a>"
    ),
    attribution_text="© OpenStreetMap contributors (https://www.openstreetmap.org/copyright)",
    licence=(
        "Map data ODbL; tiles under the OSMF tile usage policy: browser display with visible attribution; "
        "no bulk download, prefetching or offline use."
    ),
    licence_url="https://operations.osmfoundation.org/policies/tiles/",
    max_zoom=19,
    max_native_zoom=19,
)

# Order matters: the first is the default online base layer.
BASEMAPS: tuple[TileProvider, ...] = (ESRI_WORLD_IMAGERY, OPENSTREETMAP)
_BY_KEY = {p.key: p for p in BASEMAPS}


def get_provider(key: str) -> TileProvider:
    """The provider with this key, or UnknownProvider naming the ones that exist."""
    try:
        return _BY_KEY[key]
    except KeyError:
        raise UnknownProvider(f"unknown tile provider {key!r}; known: {', '.join(_BY_KEY)}") from None
