"""Before/after figures for each change measured from the images and accepted by an analyst.

For every accepted change observation (changed regions; notes name the image before) and every
accepted dating bracket (the last image without the structure and the first with it), the two
images are read through the imagery session onto one grid (same scale, same extent: the coarser
of the two pixels), drawn side by side with the outline, the regions or the footprint, a scale bar
and a north arrow, and captioned the way outlets caption imagery: place, date and whether it is a
capture, release, composite or stated date, provider, credit, who annotated it, and the measured
area with how it was measured. Only analysable images are read: the session refuses Esri Wayback
(DisplayOnly) and the refusal becomes a note, never a figure.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import matplotlib.pyplot as plt
from pyproj import Geod

from facilities.model import Observation
from imagery.base import Capture, Chip, DateCertainty
from imagery.chips import Grid, grid_bbox, grid_for_bbox, to_rgba8
from imagery.errors import ImageryError
from imagery.session import ImagerySession
from tracker.site import SiteView

from .figures import _draw_geometry, _to_grid, draw_north_arrow, draw_scale_bar, site_bbox
from .fonts import register_fonts
from .maps import COLOURS, place_labels
from .measured import MeasuredPair, measured_pair
from .narrative import day_words

log = logging.getLogger(__name__)
GEOD = Geod(ellps="WGS84")
SENTINEL_PREFIX = "sentinel-2"


def credit(cap: Capture) -> str:
    """The credit line an image must carry: its recorded attribution (the analyst's own for local imports),
    Copernicus' wording for Sentinel-2, else a plain statement that none was recorded."""
    if cap.attribution:
        return cap.attribution.rstrip(". ")
    if cap.provider.startswith(SENTINEL_PREFIX) and cap.date:
        return f"Contains modified Copernicus Sentinel data {cap.date.year}"
    return f"{cap.provider} imagery; no credit was recorded for it"


def date_words(cap: Capture) -> str:
    """The image's date in words and what kind of date it is."""
    if cap.date is None:
        return "date unknown"
    day = day_words(cap.date)
    return {DateCertainty.CAPTURED: f"captured {day} (capture date)",
            DateCertainty.RELEASED: f"released {day} (release date: the pixels are older)",
            DateCertainty.COMPOSITE: f"composite of {cap.date.year} (many dates blended)",
            DateCertainty.STATED: f"{day} (date stated by the analyst who imported it)"}[cap.certainty]


def image_caption(cap: Capture, place: str) -> str:
    """'Place, date and kind, provider, credit' for one image."""
    res = f", {cap.resolution_m:g} m pixels" if cap.resolution_m else ""
    return f"{place}, {date_words(cap)}; {cap.provider}{res}. Credit: {credit(cap)}."


@dataclass
class PairFigure:
    """One before/after figure: the PNG, the observation it shows, a caption per image and the measurement."""

    png: bytes
    observation: Observation
    kind: str
    captions: tuple[str, str]
    measured: str
    annotated_by: str


@dataclass
class Pairs:
    """The before/after figures of a site, and why any pair was left out."""

    figures: list[PairFigure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def footprint_words(site: SiteView, o: Observation, pixel_m: float, captures: dict[str, Capture]) -> str:
    """How the structure's area was measured: 'footprint traced on the 5 October 2024 image, ellipsoidal
    area 7,200 m² ± 85 m²' (± perimeter x half a pixel of the image it was traced on, or of the pair's grid)."""
    s = site.structure(o.structure_id)
    if s is None or s.footprint_m2 <= 0:
        return "the structure has no footprint: no area is given"
    _area, perimeter = GEOD.geometry_area_perimeter(s.geometry)
    traced = s.traced_on
    cap = captures.get(traced.image_id or "") if traced else None
    pixel = cap.resolution_m if cap and cap.resolution_m else pixel_m
    on = (f"traced on the {traced.acquired or traced.image_id} image" if traced
          else "digitised (the image it was traced on is not recorded)")
    plus_minus = abs(perimeter) * pixel / 2
    return (f"{s.name}: footprint {on}, ellipsoidal area {s.footprint_m2:,.0f} m² ± {plus_minus:,.0f} m² "
            f"(perimeter × half a {pixel:g} m pixel)")


def _measured(site: SiteView, pair: MeasuredPair, grid: Grid, captures: dict[str, Capture]) -> str:
    o = pair.observation
    if pair.kind == "change":
        area = o.summary.split(" since ")[0]
        return (f"Changed area measured from the pixels of the two images on a {grid.transform.a:g} m grid "
                f"({grid.crs}, projected area): {area}. Method: {pair.method or 'as recorded'}.")
    return (f"Bracket from the images ({pair.method or 'temporal cluster matching'}). "
            + footprint_words(site, o, grid.transform.a, captures) + ".")


def _panel(ax, site: SiteView, chip: Chip, pair: MeasuredPair, labels: dict[str, str], title: str) -> list:
    grid = Grid.of(chip)
    minx, miny, maxx, maxy = grid.bounds
    ax.imshow(to_rgba8(chip.data, chip.nodata).transpose(1, 2, 0), extent=(minx, maxx, miny, maxy),
              interpolation="nearest")
    proj = _to_grid(grid)
    _draw_geometry(ax, proj(site.facility.geometry), COLOURS["outline"])
    items = []
    o = pair.observation
    s = site.structure(o.structure_id)
    if s is not None:
        geom = proj(s.geometry)
        _draw_geometry(ax, geom, COLOURS["structure"])
        p = geom.representative_point()
        items.append((p.x, p.y, labels.get(s.id, "?"), COLOURS["structure"]))
    if o.geometry is not None:
        _draw_geometry(ax, proj(o.geometry), COLOURS["observation"], "--")
    ax.set_xlim(minx, maxx)
    ax.set_ylim(miny, maxy)
    ax.set_xticks([])
    ax.set_yticks([])
    draw_scale_bar(ax, grid)
    draw_north_arrow(ax, grid)
    ax.set_title(title, fontsize=8)
    return items


def _focus(site: SiteView, pair: MeasuredPair, min_deg: float = 0.0015) -> tuple[float, float, float, float]:
    """The area the pair shows: the changed regions (or the structure) with three times their size around them,
    at least `min_deg` degrees across; the whole site when the observation has neither."""
    o = pair.observation
    s = site.structure(o.structure_id)
    geom = o.geometry if o.geometry is not None else (s.geometry if s is not None else None)
    if geom is None:
        return site_bbox(site)
    w, so, e, n = geom.bounds
    cx, cy = (w + e) / 2, (so + n) / 2
    half = max((e - w) * 1.5, (n - so) * 1.5, min_deg / 2)
    return cx - half, cy - half, cx + half, cy + half


def pair_figure(site: SiteView, pair: MeasuredPair, session: ImagerySession, labels: dict[str, str],
                number: int, dpi: int = 200) -> PairFigure:
    """Read both images onto one grid and draw them side by side; ImageryError (DisplayOnly for Wayback) when
    either cannot be read."""
    bbox = _focus(site, pair)
    probe = grid_for_bbox(bbox, pixel_size=1.0)
    caps = [session.capture_for(key, grid_bbox(probe)) for key in (pair.before, pair.after)]
    pixel = max([c.resolution_m for c in caps if c.resolution_m] or [1.0])
    grid = grid_for_bbox(bbox, pixel_size=max(pixel, 0.5))
    chips = [session.read_image(key, grid, capture=cap) for key, cap in zip((pair.before, pair.after), caps,
                                                                            strict=True)]
    register_fonts()
    fig = plt.figure(figsize=(7.2, 3.9))
    axes = [fig.add_axes((0.01, 0.1, 0.48, 0.8)), fig.add_axes((0.51, 0.1, 0.48, 0.8))]
    place = site.facility.name
    for ax, chip, role in zip(axes, chips, ("Before", "After"), strict=True):
        date = day_words(chip.capture.date) if chip.capture.date else "undated"
        items = _panel(ax, site, chip, pair, labels, f"{role}: {date}")
        place_labels(ax, items)
        ax.text(0.0, -0.02, f"{chip.capture.provider} · {credit(chip.capture)}"[:110], transform=ax.transAxes,
                fontsize=5, va="top", ha="left")
    fig.suptitle(f"Figure {number}: before and after, {place}", fontsize=8, y=0.99)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    plt.close(fig)
    by = {c.capture_id: c for c in caps}
    return PairFigure(buf.getvalue(), pair.observation, pair.kind,
                      (image_caption(caps[0], place), image_caption(caps[1], place)),
                      _measured(site, pair, grid, by), pair.observation.analyst or "the analyst (name not recorded)")


def make_pairs(site: SiteView, session: ImagerySession | None, labels: dict[str, str],
               numbers: dict[str, int], first_figure: int = 2, dpi: int = 200) -> Pairs:
    """A before/after figure for every accepted change and dating observation of the site; a note for each one
    that cannot be drawn (no imagery session, an image the server may not read, a deleted import)."""
    out = Pairs()
    measured: Sequence[MeasuredPair] = [p for p in (measured_pair(o) for o in site.observations) if p is not None]
    if measured and session is None:
        out.notes.append("Before/after figures need the imagery session; none was given.")
        return out
    for pair in measured:
        if session is None:  # for type checkers: handled above
            break
        try:
            out.figures.append(pair_figure(site, pair, session, labels, first_figure + len(out.figures), dpi))
        except ImageryError as err:
            log.warning("before/after for %s left out: %s", pair.observation.id, err)
            out.notes.append(f"Observation {numbers.get(pair.observation.id, '?')}: no before/after figure: {err}")
    return out
