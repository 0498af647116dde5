"""The Compare page's opening dates: two dates that can actually be shown now.

Browser-shown layers (Esri Wayback, Sentinel-2 cloudless) do not load while their service is down or the app is
offline; local imports always show (the server renders them from this machine). So with services down the page
opens on the oldest and newest showable dates (two local images when there are), and with nothing showable it says
so and guides the analyst instead of opening on imagery that will not load. Pure: layers and names in, layers out.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from imagery.catalogue import DatedLayer, default_pair

# a layer's source (DatedLayer.source) -> the Compare page's source (the names tracker.availability uses)
PAGE_SOURCE = {"Wayback": "Wayback", "Sentinel-2 cloudless": "Sentinel-2 cloudless", "Local image": "Local images",
               "Sentinel-2 scene": "Sentinel-2 scenes"}
SOURCES = ("Wayback", "Sentinel-2 cloudless", "Local images", "Sentinel-2 scenes")
DEFAULT_SOURCES = SOURCES[:3]  # scenes: a STAC search and a cloud check per scene, so only when asked


def default_sources(down: Collection[str]) -> list[str]:
    """The sources the page lists first: the usual ones whose service answers (local images always)."""
    return [source for source in DEFAULT_SOURCES if source not in down or source == "Local images"]


def showable(layer: DatedLayer, down: Collection[str]) -> bool:
    """Whether the layer can be drawn now: its source is not down (local imports always can)."""
    return PAGE_SOURCE.get(layer.source, layer.source) not in down or layer.source == "Local image"


def showable_layers(layers: Sequence[DatedLayer], down: Collection[str]) -> list[DatedLayer]:
    """The layers that can be drawn now, in the catalogue's order (oldest first)."""
    return [layer for layer in layers if showable(layer, down)]


def opening_pair(layers: Sequence[DatedLayer], down: Collection[str]) -> tuple[DatedLayer, DatedLayer] | None:
    """Before and after to open with: imagery.catalogue.default_pair over the showable layers (the oldest and
    newest dated ones: two local images when the services are down and there are two); None when fewer than two
    can be shown."""
    return default_pair(showable_layers(layers, down))


def opening_layer(layers: Sequence[DatedLayer], down: Collection[str]) -> DatedLayer | None:
    """The time slider's opening date: the newest showable layer, None when none can be shown."""
    shown = showable_layers(layers, down)
    return shown[-1] if shown else None
