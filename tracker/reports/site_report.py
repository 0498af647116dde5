"""The site report: one self-contained HTML file (images as data: URIs) and a PDF made from it.

jinja2 autoescapes every value, so names with markup arrive in the page as text. The PDF is
rendered by WeasyPrint from the same HTML, so the two never disagree. Every figure and citation
number comes from `tracker.site.SiteView`, as on the Registry page and in `facilities show`; the
built-up curve is printed as a table beside its chart so a reader can quote the figures.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
import matplotlib.pyplot as plt
from matplotlib.dates import date2num
from matplotlib.figure import Figure
from matplotlib.ticker import StrMethodFormatter
from PIL import Image

from facilities.store import Filter, Store
from imagery.base import Chip, ImagerySource
from imagery.keys import ImageKey
from imagery.session import ImagerySession
from tracker.countries import country_name
from tracker.site import SiteView, load_site

from .figures import FigureSet, load_chips, make_figures
from .labels import place_numbers
from .maps import site_map
from .narrative import (
    CONFIDENCE_WORDS,
    conflicts,
    display_title,
    generated_words,
    partial_words,
    period_words,
    structure_labels,
    summary_sentences,
)
from .output import atomic_write, shorten, software_version
from .pairs import Pairs, credit, date_words, make_pairs
from .provenance import Provenance, build_provenance, provenance_path, write_provenance

_ENV = jinja2.Environment(loader=jinja2.PackageLoader("tracker.reports", "templates"), autoescape=True,
                          undefined=jinja2.StrictUndefined)
_KIND_ORDER = ("construction-start", "progress", "completed", "reroofed", "demolished", "activity", "visit",
               "statement", "other")
_CONF_COLOUR = {"high": "#1b7f1b", "medium": "#d49a00", "low": "#c02020"}


@dataclass
class ReportFiles:
    """The files a site report was written to: the HTML, the PDF if one was made, and the figures."""

    html: Path
    pdf: Path | None = None
    figures: FigureSet = field(default_factory=FigureSet)
    provenance: Path | None = None  # <stem>-provenance.json, when the report had an imagery session


def data_uri(data: bytes, mime: str = "image/png") -> str:
    """Bytes as a base64 data: URI, to embed an image in a self-contained HTML page."""
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _png(fig, dpi: int) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    plt.close(fig)
    return buf.getvalue()


def site_map_png(site: SiteView, chips: Sequence[Chip] = (), dpi: int = 200) -> tuple[bytes, dict]:
    """The site map (tracker.reports.maps.site_map) as PNG, and what its caption says: the background image's
    caption and credit (None on a plain ground), the locator's country and the nearest towns."""
    labels = structure_labels(site.structures)
    numbers = {o.id: n for n, o in enumerate(site.observations, 1)}
    m = site_map(site, labels, numbers, chips)
    back = m.background
    about = {"crs": back.crs if back is not None else "local UTM", "country": m.country,
             "towns": "; ".join(t.words() for t in m.towns),
             "image": None if back is None else {"date": date_words(back.capture), "provider": back.capture.provider,
                                                  "credit": credit(back.capture)}}
    return _png(m.figure, dpi), about


def timeline_png(site: SiteView, dpi: int = 150) -> bytes:
    """The timeline figure (timeline_figure) as PNG."""
    return _png(timeline_figure(site), dpi)


def timeline_figure(site: SiteView) -> Figure:
    """Observations by kind over time, numbered as in the observations table (numbers of one date and kind side by
    side, never over each other), and, when `site.built_up.shown`, the built-up curve under them (narrower then:
    the report prints the curve's figures beside it)."""
    obs = site.observations
    curve = site.built_up
    if curve.shown:
        fig, (top, bottom) = plt.subplots(2, 1, figsize=(4.6, 3.9), sharex=True, height_ratios=(3, 2))
    else:
        fig, top = plt.subplots(figsize=(6.5, 2.6))
    kinds = [k for k in _KIND_ORDER if any(o.kind.value == k for o in obs)] or ["(none)"]
    numbers: list[tuple[float, float, str]] = []
    for n, o in enumerate(obs, 1):
        y = kinds.index(o.kind.value)
        start, end = date2num(o.date.start), date2num(o.date.end)
        colour = _CONF_COLOUR[o.confidence.value]
        top.plot([start, end], [y, y], color=colour, linewidth=4, alpha=0.5, solid_capstyle="butt")
        top.plot((start + end) / 2, y, "o", color=colour, markersize=4)
        numbers.append(((start + end) / 2, y, str(n)))
    top.set_yticks(range(len(kinds)), kinds, fontsize=7)
    top.set_ylim(-0.7, len(kinds) - 0.3)
    top.set_title("Observations (colour: confidence high / medium / low)", fontsize=8)
    top.tick_params(labelsize=7)
    if curve.shown:
        xs = [date2num(s.day) for s in curve.steps] + [date2num(curve.until)]
        ys = [s.area_m2 for s in curve.steps] + [curve.steps[-1].area_m2]
        bottom.step(xs, ys, where="post", color="#444")
        bottom.fill_between(xs, ys, step="post", alpha=0.25, color="#888")
        bottom.set_ylim(bottom=0)
        bottom.set_ylabel("Built-up m²", fontsize=7)
        bottom.tick_params(labelsize=7)
        bottom.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    top.xaxis_date()
    fig.autofmt_xdate()
    fig.tight_layout()
    place_numbers(top, numbers)  # after the layout: the boxes are measured where they are drawn
    return fig


def jpeg_uri(png: Path, quality: int = 88) -> str:
    """A print-resolution figure as JPEG for embedding: WeasyPrint copies JPEG into the PDF as is,
    where a PNG would be decoded and recompressed (seconds per 300 dpi figure)."""
    with Image.open(png) as im:
        buf = io.BytesIO()
        im.convert("RGB").save(buf, format="JPEG", quality=quality, dpi=im.info.get("dpi", (300, 300)))
    return data_uri(buf.getvalue(), "image/jpeg")


def _figure_entries(figs: FigureSet, chips: Sequence[Chip]) -> list[dict]:
    entries = []
    captions = " ".join(f"{c.capture.date or 'undated'}: {c.capture.provider}, {date_words(c.capture)}. "
                        f"Credit: {credit(c.capture)}." for c in chips)
    for path, title in ((figs.grid, "All image dates"), (figs.pair, "Before and after")):
        if path is not None:
            entries.append({"uri": jpeg_uri(path), "title": title, "name": path.name,
                            "caption": captions})
    return entries


def render_html(site: SiteView, figs: FigureSet, chips: Sequence[Chip] = (), flt: Filter = Filter(),
                notes: Sequence[str] = (), title: str | None = None, *, pairs: Pairs | None = None,
                author: str = "", now: dt.datetime | None = None, provenance: object = None) -> str:
    """The site report as one self-contained HTML page: title block, summary, site map with locator, before/after
    figures, timeline, structures, observations with their citations and figures, sources, conflicting claims
    (and the provenance appendix when `provenance` is given)."""
    def cites(ids: Sequence[str]) -> str:
        return " ".join(f"[{n}]" for n in site.citations(ids))

    entries = _figure_entries(figs, chips)
    fig_numbers = {e["name"]: f"Fig. {n}" for n, e in enumerate(entries, 2)}
    obs_no = {o.id: n for n, o in enumerate(site.observations, 1)}
    if figs.gif:
        fig_numbers[figs.gif.name] = "GIF"
    labels = structure_labels(site.structures)
    pairs = pairs or Pairs()
    first_pair = len(entries) + 2  # Fig. 1 is the site map, then the imagery figures, then the pairs
    for n, p in enumerate(pairs.figures, first_pair):
        fig_numbers.setdefault(f"pair:{p.observation.id}", f"Fig. {n}")
    rows = [{"obs": o, "date": partial_words(o.date),
             "structure": labels.get(o.structure_id or "", site.structure_name(o) or "—"),
             "cites": cites(o.source_ids),
             "image": site.image_label(o) or "—",
             "figures": ", ".join([fig_numbers[f"pair:{o.id}"]] if f"pair:{o.id}" in fig_numbers else []
                                  + [fig_numbers.get(n, n) for n in figs.links.get(o.id, [])]) or "—"}
            for o in site.observations]
    structures = [{"s": s, "label": labels[s.id], "cites": cites(s.source_ids),
                   "footprint": f"{s.footprint_m2:,.0f} m²" if s.footprint_m2 > 0 else s.geometry.geom_type.lower()}
                  for s in site.structures]
    parents = [{"p": p, "cites": cites(p.source_ids)} for p in site.facility.parents]
    map_png, map_about = site_map_png(site, chips)
    sources = [{"s": s, "title": display_title(s.title), "cut": display_title(s.title) != " ".join(s.title.split()),
                "published": partial_words(s.published) if s.published else ""} for s in site.sources]
    pair_entries = [{"uri": data_uri(p.png), "number": n, "obs_number": obs_no.get(p.observation.id, "?"), "p": p}
                    for n, p in enumerate(pairs.figures, first_pair)]
    return _ENV.get_template("site_report.html.j2").render(
        title=title or f"Site report: {shorten(site.facility.name, 120)}", f=site.facility,
        country=country_name(site.facility.country),
        structures=structures, observations=rows, parents=parents, facility_cites=cites(site.facility.source_ids),
        generated=generated_words(now or dt.datetime.now(dt.UTC)), version=software_version(),
        author=author, period=period_words(site, flt), summary=summary_sentences(site, labels),
        confidence_words=CONFIDENCE_WORDS, conflicts=conflicts(site, labels), pairs=pair_entries,
        filtered=bool(flt.date_from or flt.date_to), map_uri=data_uri(map_png), map_about=map_about,
        timeline_uri=data_uri(timeline_png(site)), built_up=site.built_up, figures=entries,
        gif_uri=data_uri(figs.gif.read_bytes(), "image/gif") if figs.gif else None,
        gif_name=figs.gif.name if figs.gif else "", notes=[*notes, *figs.notes, *pairs.notes], sources=sources,
        missing=site.missing_source_ids, provenance=provenance,
        chip_credits="; ".join(dict.fromkeys(credit(c.capture) for c in chips)))


def write_pdf(html: str, path: str | os.PathLike[str]) -> Path:
    """Render the report HTML to PDF with WeasyPrint, written atomically to `path`."""
    from weasyprint import HTML  # imported late: loading pango costs a second

    return atomic_write(path, HTML(string=html).write_pdf())


def _provenance(site: SiteView, store: Store, session: ImagerySession | None,
                chips: Sequence[Chip]) -> Provenance | None:
    """The provenance appendix: every image the site's records name plus those the figures draw (`chips`); None
    without an imagery session (the appendix checks images through it)."""
    if session is None:
        return None
    return build_provenance(site, store, session, used=[ImageKey(c.capture.provider, c.capture.capture_id)
                                                        for c in chips])


def build_report(store: Store, facility_id: str, out_dir: str | os.PathLike[str],
                 source: ImagerySource | None = None, flt: Filter = Filter(), pdf: bool = True,
                 dpi: int = 300, *, session: ImagerySession | None = None, author: str = "") -> ReportFiles:
    """Figures, HTML and (optionally) PDF for one facility into out_dir. `source` gives the image dates drawn
    (local imports); `session` reads the two images of each accepted change or dating for its before/after
    figure; `author` is named in the title block."""
    out = Path(out_dir)
    site = load_site(store, facility_id, flt)
    chips, notes = load_chips(site, source) if source is not None else ([], [])
    labels = structure_labels(site.structures)
    numbers = {o.id: n for n, o in enumerate(site.observations, 1)}
    # Fig. 1 is the site map, Fig. 2 the grid of all dates when there are images, then the measured pairs; the
    # first/last "before and after" figure is made only when no change has a measured pair (it would repeat them)
    pairs = make_pairs(site, session, labels, numbers, first_figure=2 + (1 if chips else 0))
    figs = make_figures(site, chips, out / "figures", dpi=dpi, pair=not pairs.figures)
    provenance = _provenance(site, store, session, chips)
    html = render_html(site, figs, chips, flt, notes, pairs=pairs, author=author, provenance=provenance)
    files = ReportFiles(atomic_write(out / f"{facility_id}.html", html.encode("utf-8")), figures=figs)
    if provenance is not None:  # the appendix as data too, beside the report
        files.provenance = write_provenance(provenance_path(files.html), provenance)
    if pdf:
        files.pdf = write_pdf(html, out / f"{facility_id}.pdf")
    return files
