"""Annotated imagery figures: every date of a site on one grid, outline, structures and observations
drawn and labelled, captioned with provider, scene, date and attribution, with scale bar and north arrow.

Panels are drawn in the grid's projected CRS (metres), so the scale bar is a length in data units.
"""

from __future__ import annotations

import io
import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import shapely
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from PIL import Image
from pyproj import Transformer
from shapely.geometry.base import BaseGeometry

from facilities.model import Observation
from imagery.base import BBox, Capture, Chip, ImagerySource
from imagery.chips import Grid, grid_for_bbox, to_rgba8
from imagery.errors import ImageryError
from tracker.site import SiteView

from .fonts import register_fonts
from .narrative import structure_labels
from .output import atomic_write, shorten, wrap

log = logging.getLogger(__name__)

matplotlib.use("Agg")  # files only, never a window, whatever the environment says
PRINT_DPI = 300
_COLOURS = {"outline": "#ff3030", "structure": "#ffb000", "observation": "#00e5ff"}
register_fonts()  # DejaVu, then Nanum for Hangul: once per process (tracker.reports.fonts)


@dataclass
class FigureSet:
    """Paths of the figures made for one site, and the observations each one shows."""

    grid: Path | None = None
    pair: Path | None = None
    gif: Path | None = None
    dates: list[str] = field(default_factory=list)
    links: dict[str, list[str]] = field(default_factory=dict)  # observation id -> figure file names
    notes: list[str] = field(default_factory=list)  # why a date or a figure is missing

    @property
    def paths(self) -> list[Path]:
        """The figure files that were made."""
        return [p for p in (self.grid, self.pair, self.gif) if p is not None]


def site_bbox(site: SiteView, margin: float = 0.3, min_deg: float = 0.002) -> BBox:
    """The facility's bounds widened by `margin` of their size on each side, and by at least `min_deg` degrees."""
    west, south, east, north = site.facility.geometry.bounds
    dx = max((east - west) * margin, min_deg)
    dy = max((north - south) * margin, min_deg)
    return west - dx, south - dy, east + dx, north + dy


def load_chips(site: SiteView, source: ImagerySource, pixel_size: float = 1.0,
               max_dates: int = 12) -> tuple[list[Chip], list[str]]:
    """One chip per capture over the site, all on one grid; unreadable captures become notes."""
    bbox = site_bbox(site)
    grid = grid_for_bbox(bbox, pixel_size=pixel_size)
    chips, notes = [], []
    try:
        captures = list(source.captures(bbox))
    except ImageryError as err:
        log.warning("imagery for %s could not be listed: %s", site.facility.id, err)
        return [], [f"imagery could not be listed: {err}"]
    for cap in captures[-max_dates:]:
        try:
            chips.append(source.read(cap, bbox, (grid.width, grid.height)))
        except ImageryError as err:
            log.warning("%s %s could not be read: %s", cap.provider, cap.capture_id, err)
            notes.append(f"{cap.provider} {cap.capture_id[:12]} ({cap.date}): {err}")
    return chips, notes


def caption(cap: Capture) -> str:
    """Provider, release or scene, acquisition date (and how sure), resolution and attribution."""
    scene = cap.capture_id if len(cap.capture_id) <= 24 else cap.capture_id[:12] + "…"
    parts = [f"{cap.provider} {scene}", f"{cap.certainty.value} {cap.date or 'date unknown'}"]
    if cap.resolution_m:
        parts.append(f"{cap.resolution_m:.2g} m")
    if cap.sensor:
        parts.append(cap.sensor)
    text = ", ".join(parts)
    return text + (f". {cap.attribution}" if cap.attribution else "")


def _to_grid(grid: Grid):
    to = Transformer.from_crs("EPSG:4326", grid.crs, always_xy=True)
    return lambda geom: shapely.transform(geom, lambda xy: np.column_stack(to.transform(xy[:, 0], xy[:, 1])))


def _draw_geometry(ax: Axes, geom: BaseGeometry, colour: str, style: str = "-") -> None:
    parts = getattr(geom, "geoms", [geom])
    for part in parts:
        if part.geom_type == "Polygon":
            xs, ys = part.exterior.xy
            ax.plot(xs, ys, style, color=colour, linewidth=1.4)
        elif part.geom_type == "LineString":
            ax.plot(*part.xy, style, color=colour, linewidth=1.4)
        elif part.geom_type == "Point":
            ax.plot(part.x, part.y, "o", color=colour, markersize=4, markeredgecolor="black")


def _label(ax: Axes, geom: BaseGeometry, text: str, colour: str, stack: int = 0) -> None:
    """A short label at the geometry; `stack` moves labels of shared geometries apart."""
    p = geom.representative_point()
    ax.annotate(shorten(text, 28), (p.x, p.y), xytext=(0, -7 * stack), textcoords="offset points", fontsize=5,
                color="black", ha="center", va="center", annotation_clip=True,
                bbox={"boxstyle": "round,pad=0.15", "fc": colour, "ec": "none", "alpha": 0.8})


def _nice_length(width_m: float) -> float:
    target = width_m / 4
    base = 10 ** math.floor(math.log10(target))
    return max(m * base for m in (1, 2, 5) if m * base <= target)


def draw_scale_bar(ax: Axes, grid: Grid) -> None:
    """Draw a black and white scale bar of a round length in the chip's lower left corner."""
    minx, miny, maxx, maxy = grid.bounds
    length = _nice_length(maxx - minx)
    x0, y0 = minx + (maxx - minx) * 0.05, miny + (maxy - miny) * 0.05
    h = (maxy - miny) * 0.012
    ax.add_patch(matplotlib.patches.Rectangle((x0, y0), length, h, fc="white", ec="black", lw=0.5))
    ax.add_patch(matplotlib.patches.Rectangle((x0, y0), length / 2, h, fc="black", ec="black", lw=0.5))
    label = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    ax.text(x0 + length / 2, y0 + 2.2 * h, label, ha="center", va="bottom", fontsize=5, color="white",
            bbox={"boxstyle": "round,pad=0.1", "fc": "black", "alpha": 0.5, "ec": "none"})


def draw_north_arrow(ax: Axes, grid: Grid) -> None:
    """Arrow to true north: in UTM, grid north is off by the meridian convergence."""
    minx, miny, maxx, maxy = grid.bounds
    to_ll = Transformer.from_crs(grid.crs, "EPSG:4326", always_xy=True)
    to_grid = Transformer.from_crs("EPSG:4326", grid.crs, always_xy=True)
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    lon, lat = to_ll.transform(cx, cy)
    nx, ny = to_grid.transform(lon, lat + 0.001)
    angle = math.atan2(nx - cx, ny - cy)
    size = (maxy - miny) * 0.08
    x, y = maxx - (maxx - minx) * 0.07, maxy - (maxy - miny) * 0.16
    tip = (x + size * math.sin(angle), y + size * math.cos(angle))
    ax.annotate("N", xy=tip, xytext=(x, y), ha="center", va="top", fontsize=7, color="white", weight="bold",
                arrowprops={"arrowstyle": "-|>", "color": "white", "lw": 1.2})


def observations_on(site: SiteView, cap: Capture) -> list[Observation]:
    """Observations already under way on the capture date (all of them when the date is unknown)."""
    return [o for o in site.observations if cap.date is None or o.date.start <= cap.date]


def draw_panel(ax: Axes, site: SiteView, chip: Chip) -> None:
    """Draw a chip with the facility outline and its labelled structures on it."""
    grid = Grid.of(chip)
    minx, miny, maxx, maxy = grid.bounds
    ax.imshow(to_rgba8(chip.data, chip.nodata).transpose(1, 2, 0), extent=(minx, maxx, miny, maxy),
              interpolation="nearest")
    proj = _to_grid(grid)
    outline = proj(site.facility.geometry)
    _draw_geometry(ax, outline, _COLOURS["outline"])
    short = structure_labels(site.structures)  # the short ids the report's map, text and tables use
    for s in site.structures:
        geom = proj(s.geometry)
        _draw_geometry(ax, geom, _COLOURS["structure"])
        _label(ax, geom, short[s.id], _COLOURS["structure"])
    placed: dict[bytes, int] = {}
    numbers = {o.id: n for n, o in enumerate(site.observations, 1)}  # the report table's numbering
    for o in observations_on(site, chip.capture):
        if o.geometry is not None:
            geom = proj(o.geometry)
            _draw_geometry(ax, geom, _COLOURS["observation"], "--")
            stack = placed[geom.wkb] = placed.get(geom.wkb, -1) + 1
            _label(ax, geom, str(numbers[o.id]), _COLOURS["observation"], stack + 1)  # the timeline's number
    draw_scale_bar(ax, grid)
    draw_north_arrow(ax, grid)
    ax.set_xlim(minx, maxx)
    ax.set_ylim(miny, maxy)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(str(chip.capture.date or "undated"), fontsize=8)
    ax.text(0.0, -0.02, wrap(caption(chip.capture), 60, 3), transform=ax.transAxes, fontsize=4.5,
            va="top", ha="left")


def panel_figure(site: SiteView, chips: Sequence[Chip], ncols: int, title: str, panel_in: float = 3.2) -> Figure:
    """A figure of chips side by side, `ncols` to a row, never wider than an A4 text column."""
    nrows = math.ceil(len(chips) / ncols)
    panel_in = min(panel_in, 7.4 / ncols)  # never wider than an A4 text column: pixels the page would waste
    fig, axes = plt.subplots(nrows, ncols, figsize=(panel_in * ncols, panel_in * nrows * 1.12 + 0.4),
                             squeeze=False)
    for ax, chip in zip(axes.flat, chips, strict=False):
        draw_panel(ax, site, chip)
    for ax in axes.flat[len(chips):]:
        ax.axis("off")
    fig.suptitle(shorten(title, 90), fontsize=9)
    fig.tight_layout()
    return fig


def save_png(fig: Figure, path: Path, dpi: int = PRINT_DPI) -> Path:
    """Write the figure as PNG (fast compression) atomically, and close it."""
    buf = io.BytesIO()
    # zlib level 1: a 300 dpi figure compresses 4x faster for a file about 15 % larger
    fig.savefig(buf, format="png", dpi=dpi, pil_kwargs={"compress_level": 1})
    plt.close(fig)
    return atomic_write(path, buf.getvalue())


def save_gif(site: SiteView, chips: Sequence[Chip], path: Path, dpi: int = 110, ms: int = 1200) -> Path:
    """An animated GIF of the chips in order, one panel per frame, written atomically."""
    frames = []
    for chip in chips:
        fig = panel_figure(site, [chip], 1, site.facility.name, panel_in=4)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi)
        plt.close(fig)
        frames.append(Image.open(buf).convert("RGB").quantize(colors=128))
    out = io.BytesIO()
    frames[0].save(out, format="GIF", save_all=True, append_images=frames[1:], duration=ms, loop=0)
    return atomic_write(path, out.getvalue())


def _links(site: SiteView, chips: Sequence[Chip], figs: FigureSet) -> dict[str, list[str]]:
    """Each observation -> the figures showing its site around its date."""
    first, last = chips[0].capture.date, chips[-1].capture.date
    links: dict[str, list[str]] = {}
    for o in site.observations:
        names = [figs.grid.name] if figs.grid else []
        if figs.pair and (first is None or last is None or (o.date.end >= first and o.date.start <= last)):
            names.append(figs.pair.name)
        if figs.gif:
            names.append(figs.gif.name)
        links[o.id] = names
    return links


def make_figures(site: SiteView, chips: Sequence[Chip], out_dir: str | os.PathLike[str], dpi: int = PRINT_DPI,
                 gif: bool = True, pair: bool = True) -> FigureSet:
    """Grid of all dates, before/after pair (first and last date) and an animated GIF.

    No chips gives an empty FigureSet with a note; one date gives the grid only. `pair=False` leaves the first/last
    pair out (the site report does when it has measured before/after figures of its changes: they say more).
    """
    out = Path(out_dir)
    figs = FigureSet()
    chips = sorted(chips, key=lambda c: (c.capture.date is None, c.capture.date or 0, c.capture.capture_id))
    if not chips:
        figs.notes.append("No imagery covers this facility; no figures were made.")
        return figs
    stem = site.facility.id
    name = site.facility.name
    figs.dates = [str(c.capture.date or "undated") for c in chips]
    figs.grid = save_png(panel_figure(site, chips, min(3, len(chips)), f"{name}: all dates"),
                         out / f"{stem}-dates.png", dpi)
    if len(chips) >= 2:
        if pair:
            ends = [chips[0], chips[-1]]
            figs.pair = save_png(panel_figure(site, ends, 2, f"{name}: before and after"), out / f"{stem}-pair.png",
                                 dpi)
        if gif:
            figs.gif = save_gif(site, chips, out / f"{stem}-dates.gif")
    else:
        figs.notes.append("Only one image date: no before/after pair or animation.")
    figs.links = _links(site, chips, figs)
    return figs


def blank_fraction(png: Path) -> float:
    """Share of near-white pixels; tests use it to tell a drawn figure from an empty one."""
    arr = np.asarray(Image.open(png).convert("L"))
    return float((arr > 250).mean())
