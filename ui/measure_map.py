"""What the measures of issue 16 put on the compare map: the changed regions and a proposed footprint.

Pure: folium objects only, no Streamlit, no I/O. Only numbers reach the map: each region's feature
carries its rank, area and mean difference (formatted here), never the image keys or any text an
analyst typed, so nothing in a tooltip can be read as HTML.
"""

from __future__ import annotations

import folium
from shapely.geometry import mapping

from imagery.change import Change
from tracker.footprints import ProposedFootprint

CHANGE_COLOUR = "#ff3b30"  # red outlines read on imagery and on the light basemap
VEGETATION_COLOUR = "#37b24d"
PROPOSAL_COLOUR = "#15aabf"


def region_features(change: Change) -> dict:
    """The counted regions as a FeatureCollection whose properties are numbers only: n (1 = largest), area
    ("7,329 m²"), difference (mean |after - before| as a share of the earlier image, "42 %") and sigmas
    (how many times the pair's noise the change is)."""
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": mapping(r.geometry),
         "properties": {"n": n, "area": f"{r.area_m2:,.0f} m²", "difference": f"{r.mean_difference:.0%}",
                        "sigmas": f"{r.noise_sigmas:.1f}"}}
        for n, r in enumerate(change.regions, 1)]}


def change_regions(change: Change) -> folium.GeoJson | None:
    """The counted regions outlined in red with a tooltip each (None when there are none)."""
    if not change.regions:
        return None
    tooltip = folium.GeoJsonTooltip(fields=["n", "area", "difference", "sigmas"],
                                    aliases=["Region", "Area", "Mean difference", "Times the noise"], sticky=True)
    return folium.GeoJson(region_features(change), name="Changed regions", tooltip=tooltip,
                          style_function=lambda _f: {"color": CHANGE_COLOUR, "weight": 2, "fillOpacity": 0.15,
                                                     "fillColor": CHANGE_COLOUR})


def vegetation_regions(change: Change) -> folium.GeoJson | None:
    """Significant vegetation change left out by "Built-up only", dashed green (None when there is none)."""
    if not change.vegetation_regions:
        return None
    features = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": mapping(r.geometry), "properties": {"area": f"{r.area_m2:,.0f} m²"}}
        for r in change.vegetation_regions]}
    return folium.GeoJson(features, name="Vegetation change (left out)",
                          tooltip=folium.GeoJsonTooltip(fields=["area"], aliases=["Vegetation change"]),
                          style_function=lambda _f: {"color": VEGETATION_COLOUR, "weight": 2, "dashArray": "4 4",
                                                     "fillOpacity": 0.05})


def proposal_outline(found: ProposedFootprint) -> folium.GeoJson:
    """A proposed footprint in cyan with its area and confidence as the tooltip (numbers and a fixed word)."""
    p = found.proposal
    feature = {"type": "Feature", "geometry": mapping(p.geometry),
               "properties": {"area": f"{p.area_m2:,.0f} m²", "confidence": p.confidence}}
    return folium.GeoJson(feature, name="Proposed footprint",
                          tooltip=folium.GeoJsonTooltip(fields=["area", "confidence"],
                                                        aliases=["Proposed footprint", "Confidence"]),
                          style_function=lambda _f: {"color": PROPOSAL_COLOUR, "weight": 3, "fillOpacity": 0.2,
                                                     "fillColor": PROPOSAL_COLOUR})
