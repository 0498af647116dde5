"""The digest: "what changed since you last looked", as an HTML file, a Markdown file and GeoJSON of the findings.

Sites with unreviewed findings are ranked by significance (a measured significant change first, by its
strongest region's score) and newness (the newest image's date). Each site shows before/after thumbnails
read through the imagery session from licence-permitting sources only (local imports, Sentinel-2; an Esri
Wayback key is never read: the session refuses it and the digest does not ask), and a link to the app's
Compare page on those two images in the Difference view. The last scan's failures are listed. Every text
that came from a user or a service is escaped: jinja2 autoescapes the HTML; Markdown metacharacters are
backslash-escaped. The GeoJSON holds one feature per finding (change regions as its geometry, else the
facility's outline) for QGIS.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import jinja2
import numpy as np
import shapely
from PIL import Image
from shapely.geometry import mapping, shape

from facilities.model import Facility
from facilities.store import Store
from facilities.watchlist import Finding, FindingKind
from imagery.aoi import AreaOfInterest
from imagery.chips import grid_for_bbox, to_rgba8
from imagery.errors import ImageryError
from imagery.keys import ImageKey
from imagery.session import ImagerySession
from imagery.wayback import PROVIDER as WAYBACK

from .run import watch_tables

log = logging.getLogger(__name__)

THUMB_PX = 256
DEFAULT_APP_URL = "http://localhost:8501"
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~])")


def md_escape(text: object) -> str:
    """Text safe inside Markdown: every metacharacter backslash-escaped, newlines as spaces."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


@dataclass
class SiteDigest:
    """One site's part of the digest."""

    facility: Facility
    findings: list[Finding]
    before: str | None = None  # image keys of the pair shown and linked
    after: str | None = None
    thumbs: dict[str, str] = field(default_factory=dict)  # "before"/"after" -> PNG file name beside the digest
    link: str = ""

    @property
    def rank(self) -> tuple[float, float]:
        """The best of its findings' ranks."""
        return max(f.rank() for f in self.findings)

    @property
    def significant(self) -> Finding | None:
        """Its strongest significant change finding, if any."""
        changes = [f for f in self.findings if f.kind is FindingKind.CHANGE and f.significant]
        return max(changes, key=Finding.rank) if changes else None


@dataclass(frozen=True)
class DigestFiles:
    """The files one digest wrote."""

    html: Path
    markdown: Path
    geojson: Path
    thumbnails: tuple[Path, ...]
    sites: int
    findings: int
    failures: int


def compare_link(app_url: str, facility_id: str, before: str | None, after: str | None) -> str:
    """The app's Compare page on this site; with two image keys, on that pair in the Difference view (the query
    parameters ui/compare_page.py reads). An empty `app_url` gives the link relative to the app's own pages (the
    app's Watched sites page)."""
    query = {"facility": facility_id}
    if after:
        query["image"] = after
    if before and after:
        query.update({"before": before, "view": "Difference"})
    return (f"{app_url.rstrip('/')}/" if app_url else "") + f"compare?{urlencode(query)}"


def _pair(findings: Sequence[Finding]) -> tuple[str | None, str | None]:
    """The two images to show: the strongest change's pair, else the newest readable new image alone."""
    changes = sorted((f for f in findings if f.kind is FindingKind.CHANGE), key=Finding.rank)
    if changes:
        return changes[-1].before_key, changes[-1].after_key
    readable = [f for f in findings if not f.after_key.startswith(f"{WAYBACK}:")]
    if readable:
        return None, max(readable, key=Finding.rank).after_key
    return None, None


def thumbnail(session: ImagerySession, fac: Facility, key: str) -> np.ndarray | None:
    """The image `key` over the site as RGBA (rows, cols, 4) uint8, THUMB_PX square; never for Esri Wayback
    (None, without asking the session). None when unreadable (logged). The digest files and the app's Watched
    sites page both show these."""
    if key.startswith(f"{WAYBACK}:"):
        return None
    try:
        aoi = AreaOfInterest.of(fac.geometry)
        grid = grid_for_bbox(aoi.bbox, size=(THUMB_PX, THUMB_PX))
        chip = session.read_image(ImageKey.parse(key), grid)
    except (ImageryError, OSError, ValueError) as err:
        log.warning("digest: no thumbnail of %s at %s: %s", key, fac.id, err)
        return None
    return np.ascontiguousarray(np.moveaxis(to_rgba8(chip.data, chip.nodata), 0, -1))  # (4, r, c) -> r, c, 4


def _thumbnail(session: ImagerySession, fac: Facility, key: str, path: Path) -> bool:
    """A PNG of `thumbnail` at `path`; False when there is none."""
    rgba = thumbnail(session, fac, key)
    if rgba is None:
        return False
    Image.fromarray(rgba, "RGBA").save(path)
    return True


def geojson_of(sites: Sequence[SiteDigest]) -> dict:
    """One feature per finding: its change regions as geometry (else the facility's outline), its figures and
    keys as properties."""
    features = []
    for site in sites:
        for f in site.findings:
            parts = [shape(p["geometry"]) for p in f.polygons.get("features", [])] if f.polygons else []
            geom = shapely.unary_union(parts) if parts else site.facility.geometry
            low, high = f.changed_m2_range or (None, None)
            features.append({"type": "Feature", "geometry": mapping(geom), "properties": {
                "finding": f.id, "facility": f.facility_id, "facility_name": site.facility.name,
                "kind": f.kind.value, "before": f.before_key, "after": f.after_key,
                "before_date": f.before_date and f.before_date.isoformat(),
                "after_date": f.after_date and f.after_date.isoformat(), "significant": f.significant,
                "significance": f.significance, "changed_m2": f.changed_m2, "changed_m2_low": low,
                "changed_m2_high": high, "geometry_is": "change regions" if parts else "facility outline",
                "note": f.note}})
    return {"type": "FeatureCollection", "features": features}


_HTML = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string("""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Watch digest {{ day }}</title>
<style>body{font-family:sans-serif;max-width:60rem;margin:auto}img{width:16rem;border:1px solid #999}
table{border-collapse:collapse}td,th{padding:.2rem .5rem;border-bottom:1px solid #ddd;text-align:left}</style>
</head><body>
<h1>What changed since you last looked</h1>
<p>{{ sites|length }} site(s) with {{ count }} unreviewed finding(s); written {{ day }}.</p>
{% for s in sites %}<section id="{{ s.facility.id }}">
<h2>{{ loop.index }}. {{ s.facility.name }} <small>({{ s.facility.id }})</small></h2>
{% if s.thumbs %}<p>{% for label, name in s.thumbs.items() %}<figure style="display:inline-block">
<img src="{{ name }}" alt="{{ label }}: {{ s.before if label == 'before' else s.after }}">
<figcaption>{{ label }}: {{ s.before if label == 'before' else s.after }}</figcaption></figure>
{% endfor %}</p>{% endif %}
<p><a href="{{ s.link }}">Open in Compare</a></p>
<table><tr><th>finding</th><th>kind</th><th>image</th><th>date</th><th>change</th><th>note</th></tr>
{% for f in s.findings %}<tr><td>{{ f.id }}</td><td>{{ f.kind.value }}</td><td>{{ f.after_key }}</td>
<td>{{ f.after_date or "" }}</td><td>{{ what(f) }}</td>
<td>{{ f.note }}</td></tr>{% endfor %}</table></section>
{% endfor %}
{% if failures %}<h2>Sites the last scan could not check</h2><ul>
{% for fid, error in failures %}<li>{{ fid }}: {{ error }}</li>{% endfor %}</ul>{% endif %}
</body></html>
""")


def what_changed(f: Finding) -> str:
    """The finding's change column: the figures with their range, no significant change, or new imagery."""
    if f.kind is FindingKind.CHANGE and f.significant and f.changed_m2 is not None and f.changed_m2_range:
        low, high = f.changed_m2_range
        return f"{f.changed_m2:,.0f} m² changed ({low:,.0f}–{high:,.0f} m²) since {f.before_key}"
    if f.kind is FindingKind.CHANGE:
        return f"no significant change since {f.before_key}"
    return "new imagery (no pixel analysis)" if f.after_key.startswith(f"{WAYBACK}:") else "new imagery"


def _markdown(sites: Sequence[SiteDigest], failures: Sequence[tuple[str, str]], day: str) -> str:
    count = sum(len(s.findings) for s in sites)
    lines = ["# What changed since you last looked", "",
             f"{len(sites)} site(s) with {count} unreviewed finding(s); written {md_escape(day)}.", ""]
    for n, s in enumerate(sites, 1):
        lines += [f"## {n}. {md_escape(s.facility.name)} ({md_escape(s.facility.id)})", ""]
        for label, name in s.thumbs.items():
            key = s.before if label == "before" else s.after
            lines.append(f"![{label}: {md_escape(key)}]({name})")
        lines += ["", f"[Open in Compare](<{s.link}>)", ""]
        for f in s.findings:
            lines.append(f"- {md_escape(f.id)}: {md_escape(f.kind.value)}, {md_escape(f.after_key)} "
                         f"({md_escape(f.after_date or 'undated')}): {md_escape(what_changed(f))}. "
                         f"{md_escape(f.note)}")
        lines.append("")
    if failures:
        lines += ["## Sites the last scan could not check", ""]
        lines += [f"- {md_escape(fid)}: {md_escape(err)}" for fid, err in failures]
    return "\n".join(lines) + "\n"


def build_sites(store: Store, app_url: str = DEFAULT_APP_URL) -> list[SiteDigest]:
    """Sites with unreviewed findings, ranked (most significant and newest first), with their pair and link."""
    by_site: dict[str, list[Finding]] = {}
    for f in watch_tables(store).findings():
        by_site.setdefault(f.facility_id, []).append(f)
    sites = []
    for fid, found in by_site.items():
        site = SiteDigest(store.get_facility(fid), sorted(found, key=Finding.rank, reverse=True))
        site.before, site.after = _pair(found)
        site.link = compare_link(app_url, fid, site.before, site.after)
        sites.append(site)
    return sorted(sites, key=lambda s: (s.rank, s.facility.id), reverse=True)


def last_failures(store: Store) -> list[tuple[str, str]]:
    """(facility id, error) of the sites the last (or the open) scan run could not check."""
    tables = watch_tables(store)
    run = tables.open_run() or tables.last_run()
    if run is None:
        return []
    return [(fid, err or "failed") for fid, outcome, _n, err, _at in tables.run_outcomes(run) if outcome == "failed"]


def write_digest(store: Store, session: ImagerySession | None, out: str | Path, *,
                 app_url: str = DEFAULT_APP_URL, now: dt.datetime | None = None) -> DigestFiles:
    """Write OUT.html, OUT.md and OUT.geojson (OUT without its suffix) and the thumbnails beside them; `session`
    None writes no thumbnails."""
    base = Path(out)
    base = base.with_suffix("") if base.suffix in (".html", ".md", ".geojson") else base
    base.parent.mkdir(parents=True, exist_ok=True)
    sites = build_sites(store, app_url)
    failures = last_failures(store)
    thumbs: list[Path] = []
    for n, site in enumerate(sites, 1):
        if session is None:
            continue
        for label, key in (("before", site.before), ("after", site.after)):
            if key is None:
                continue
            path = base.with_name(f"{base.name}-{n:03d}-{label}.png")
            if _thumbnail(session, site.facility, key, path):
                site.thumbs[label] = path.name
                thumbs.append(path)
    day = (now or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%d %H:%M UTC")
    count = sum(len(s.findings) for s in sites)
    html, md, gj = base.with_suffix(".html"), base.with_suffix(".md"), base.with_suffix(".geojson")
    html.write_text(_HTML.render(sites=sites, failures=failures, day=day, count=count, what=what_changed),
                    encoding="utf-8")
    md.write_text(_markdown(sites, failures, day), encoding="utf-8")
    gj.write_text(json.dumps(geojson_of(sites), ensure_ascii=False), encoding="utf-8")
    return DigestFiles(html, md, gj, tuple(thumbs), len(sites), count, len(failures))
