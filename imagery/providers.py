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
    subdomains: tuple[str, ...] = ()  # values for {s} (load balancing), as Leaflet's `subdomains`
    composite: bool = False  # a blend of many acquisition dates: context only, cannot date an event
    year: int | None = None  # for yearly mosaics

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

    def tile_url(self, z: int, x: int, y: int, **params: object) -> str:
        """The URL of one tile; extra placeholders such as {release} come in `params`."""
        if "{s}" in self.url and "s" not in params:
            params["s"] = self.subdomains[0] if self.subdomains else ""
        return self.url.format(z=z, x=x, y=y, **params)


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

# -- Esri World Imagery Wayback ----------------------------------------------------------------
# The browser shows the tiles. The server fetches only the catalogue, tilemap and metadata JSON
# and, to tell identical releases apart, tile bytes held in memory and never stored (Esri terms:
# no scraping, storing or export). Hence server_fetch_allowed=False: the cache refuses the tiles.
WAYBACK_CONFIG_URL = "https://s3-us-west-2.amazonaws.com/config.maptiles.arcgis.com/waybackconfig.json"
WAYBACK_SERVICE_ROOT = "https://wayback.maptiles.arcgis.com/arcgis/rest/services/World_Imagery/MapServer"
WAYBACK_TILE_URL = (
    "https://{s}.maptiles.arcgis.com/arcgis/rest/services/World_Imagery/WMTS/1.0.0/default028mm/MapServer/tile/"
    "{release}/{z}/{y}/{x}"  # y before x
)

ESRI_WAYBACK = TileProvider(
    key="esri-wayback",
    title="Esri World Imagery Wayback",
    url=WAYBACK_TILE_URL,
    # the release date is appended per layer: see wayback_attribution()
    attribution=ESRI_WORLD_IMAGERY.attribution,
    attribution_text=ESRI_WORLD_IMAGERY.attribution_text,
    licence=(
        "Esri Master License Agreement and Terms of Use: display in a web map with attribution; "
        "no scraping, storing, caching or export of tiles. Metadata is read to date the imagery."
    ),
    licence_url="https://www.arcgis.com/home/item.html?id=10df2279f9684e4a9f6a7f08febac2a9",
    max_zoom=21,
    max_native_zoom=20,  # the Wayback service has tiles to z20 (its metadata layers go to z23)
    imagery=True,
    server_fetch_allowed=False,
    subdomains=("wayback", "wayback-a", "wayback-b"),
)


def wayback_attribution(release_date: str, html: bool = True) -> str:
    """Attribution for one Wayback release layer: Esri's required lines plus the release date."""
    base = ESRI_WAYBACK.attribution if html else ESRI_WAYBACK.attribution_text
    return f"Esri World Imagery Wayback ({release_date}) | {base}"


# -- EOX Sentinel-2 cloudless yearly mosaics -------------------------------------------------------
# Yearly cloud-free composites: each pixel may come from a different day, so they are context
# layers that cannot date an event. 2016 is CC BY 4.0; 2018 onward CC BY-NC-SA 4.0 (non-commercial;
# ShareAlike applies to derived images). 2017 is skipped: its licence is ambiguous and tiles blank.
EOX_TILE_URL = "https://tiles.maps.eox.at/wmts/1.0.0/{layer}/default/g/{{z}}/{{y}}/{{x}}.jpg"
EOX_YEARS: tuple[int, ...] = (2016, 2018, 2019, 2020, 2021, 2022, 2023, 2024, 2025)


def _eox(year: int) -> TileProvider:
    layer = "s2cloudless_3857" if year == 2016 else f"s2cloudless-{year}_3857"
    if year == 2016:
        text = ("Sentinel-2 cloudless - https://s2maps.eu by EOX IT Services GmbH "
                "(Contains modified Copernicus Sentinel data 2016 & 2017)")
        html = ('<a href="https://s2maps.eu" target="_blank" rel="noopener noreferrer">Sentinel-2 cloudless - '
                "https://s2maps.eu</a> by EOX IT Services GmbH "
                "(Contains modified Copernicus Sentinel data 2016 &amp; 2017)")
        licence, licence_url = "CC BY 4.0", "https://creativecommons.org/licenses/by/4.0/"
    else:
        text = (f"EOxCloudless https://cloudless.eox.at by EOX IT Services GmbH "
                f"(Contains modified Copernicus Sentinel data {year})")
        html = ('<a href="https://cloudless.eox.at" target="_blank" rel="noopener noreferrer">EOxCloudless '
                f"https://cloudless.eox.at</a> by EOX IT Services GmbH "
                f"(Contains modified Copernicus Sentinel data {year})")
        licence = "CC BY-NC-SA 4.0 (non-commercial; commercial use needs an EOX licence)"
        licence_url = "https://cloudless.eox.at/documentation/license"
    return TileProvider(
        key=f"eox-s2cloudless-{year}",
        title=f"Sentinel-2 cloudless {year} (yearly composite)",
        url=EOX_TILE_URL.format(layer=layer),
        attribution=html,
        attribution_text=text,
        licence=licence,
        licence_url=licence_url,
        max_zoom=18,
        max_native_zoom=14,  # 10 m source pixels: nothing more to see beyond z14
        imagery=True,
        server_fetch_allowed=True,  # open licences allow copying with attribution
        composite=True,
        year=year,
    )


EOX_MOSAICS: tuple[TileProvider, ...] = tuple(_eox(y) for y in EOX_YEARS)
IMAGERY_LAYERS: tuple[TileProvider, ...] = (ESRI_WAYBACK, *EOX_MOSAICS)
_BY_KEY = {p.key: p for p in (*BASEMAPS, *IMAGERY_LAYERS)}


def get_provider(key: str) -> TileProvider:
    """The provider with this key, or UnknownProvider naming the ones that exist."""
    try:
        return _BY_KEY[key]
    except KeyError:
        raise UnknownProvider(f"unknown tile provider {key!r}; known: {', '.join(_BY_KEY)}") from None
