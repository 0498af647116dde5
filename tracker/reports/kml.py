"""KML and KMZ for Google Earth: outlines, structures and dated observations.

Google Earth renders a placemark's <description> (and balloon text) as HTML once an XML reader has
undone the XML escaping, so user text there is escaped twice: as HTML here (`html_text`, which
also hides `$[...]` balloon entities), then as XML by xml.etree. Each style's BalloonStyle shows
only the description, which opens with the escaped name, so no user text reaches the balloon's
HTML unescaped. Names stay plain text (an XML-escaped <name> is shown as typed). Characters XML
cannot hold (C0 controls) become U+FFFD, so any text the model accepts gives a well-formed file.
Observations carry TimeStamp (at the precision the source gave: YYYY, YYYY-MM or YYYY-MM-DD, all
valid KML dateTime forms) or, for approximate dates, a TimeSpan covering the interval the date may
mean, so the time slider shows them at the right time.
Structures carry a TimeSpan of the days they count in the built-up curve (`tracker.site.SiteView.lifetime`):
"removed 2020" ends on 2020-01-01 here as on the Registry page and in the PDF.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import os
import re
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterable
from pathlib import Path

from shapely.geometry.base import BaseGeometry

from facilities.dates import DatePrecision, PartialDate
from facilities.model import Observation
from tracker.images import image_label
from tracker.site import SiteView

from .output import atomic_write

KML_NS = "http://www.opengis.net/kml/2.2"
# Characters XML 1.0 cannot hold at all (ElementTree writes them and the file no longer parses).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_STYLES = {"facility": "ff0000ff", "structure": "ff00aaff", "observation": "ffffff00"}  # aabbggrr


def _el(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    node = ET.SubElement(parent, f"{{{KML_NS}}}{tag}", {k: xml_safe(v) for k, v in attrs.items()})
    if text is not None:
        node.text = xml_safe(text)
    return node


def xml_safe(text: str) -> str:
    """`text` with the characters XML 1.0 cannot represent (C0 controls, lone surrogates) as U+FFFD."""
    return _NOT_XML.sub("\ufffd", text)


def _coords(seq: Iterable) -> str:
    return " ".join(f"{x:.7f},{y:.7f}" for x, y, *_ in seq)


def add_geometry(parent: ET.Element, geom: BaseGeometry) -> None:
    """Shapely geometry -> KML geometry (multi-part geometries as MultiGeometry)."""
    kind = geom.geom_type
    if kind == "Point":
        _el(_el(parent, "Point"), "coordinates", _coords(geom.coords))
    elif kind == "LineString":
        line = _el(parent, "LineString")
        _el(line, "tessellate", "1")
        _el(line, "coordinates", _coords(geom.coords))
    elif kind == "Polygon":
        poly = _el(parent, "Polygon")
        _el(poly, "tessellate", "1")
        _el(_el(_el(poly, "outerBoundaryIs"), "LinearRing"), "coordinates", _coords(geom.exterior.coords))
        for ring in geom.interiors:
            _el(_el(_el(poly, "innerBoundaryIs"), "LinearRing"), "coordinates", _coords(ring.coords))
    elif hasattr(geom, "geoms"):
        multi = _el(parent, "MultiGeometry")
        for part in geom.geoms:
            add_geometry(multi, part)
    else:
        raise ValueError(f"no KML form for {kind}")


def add_time(parent: ET.Element, date: PartialDate) -> None:
    """A TimeStamp at the date's own precision, or a TimeSpan for an approximate date."""
    if date.precision is DatePrecision.APPROXIMATE:
        span = _el(parent, "TimeSpan")
        _el(span, "begin", date.start.isoformat())
        _el(span, "end", date.end.isoformat())
    else:
        _el(_el(parent, "TimeStamp"), "when", str(date))


def _structure_time(parent: ET.Element, lifetime: tuple[dt.date | None, dt.date | None]) -> None:
    """The span the structure counts in the built-up curve (`SiteView.lifetime`): from the first
    day its built date may mean to the first day its removed date may mean."""
    begin, end = lifetime
    if begin is None and end is None:
        return
    span = _el(parent, "TimeSpan")
    if begin is not None:
        _el(span, "begin", begin.isoformat())
    if end is not None:
        _el(span, "end", end.isoformat())


def html_text(text: str) -> str:
    """User text as inert HTML: `<>&'"` as entities, `$` too (Google Earth fills `$[name]`-style
    entities into descriptions), line breaks as <br>."""
    return html.escape(text, quote=True).replace("$", "&#36;").replace("\r\n", "\n").replace("\n", "<br>")


def _description(name: str, *lines: str | None) -> str:
    """The balloon's HTML: the name in bold, then each line, all user text through `html_text`.
    ElementTree then escapes it for XML, which a KML reader undoes."""
    return "<br>".join([f"<b>{html_text(name)}</b>", *(html_text(line) for line in lines if line)])


def _placemark(folder: ET.Element, pid: str, name: str, style: str, description: str) -> ET.Element:
    pm = _el(folder, "Placemark", id=pid)
    _el(pm, "name", name)
    _el(pm, "description", description)
    _el(pm, "styleUrl", f"#{style}")
    return pm


def observation_geometry(site: SiteView, obs: Observation) -> BaseGeometry:
    """What was drawn, else the structure it concerns, else the facility's centre."""
    if obs.geometry is not None:
        return obs.geometry
    structure = site.structure(obs.structure_id)
    if structure is not None:
        return structure.geometry
    return site.facility.geometry.representative_point()


def _styles(doc: ET.Element) -> None:
    for key, colour in _STYLES.items():
        style = _el(doc, "Style", id=key)
        line = _el(style, "LineStyle")  # one LineStyle: readers (LIBKML) keep only the last one
        _el(line, "color", colour)
        _el(line, "width", "2")
        _el(_el(style, "PolyStyle"), "color", "33" + colour[2:])
        # Only our own description, never the raw name (Google Earth's default balloon shows $[name]).
        _el(_el(style, "BalloonStyle"), "text", "$[description]")


def build_kml(sites: Iterable[SiteView], title: str = "Facility tracker export") -> bytes:
    """A KML document of the sites (Google Earth): folders of facilities, structures and dated observations, their
    descriptions as HTML with every piece of user text escaped (`html_text`)."""
    root = ET.Element(f"{{{KML_NS}}}kml")
    doc = _el(root, "Document")
    _el(doc, "name", title)
    _styles(doc)
    folders = {name: _el(doc, "Folder") for name in ("Facilities", "Structures", "Observations")}
    for name, folder in folders.items():
        _el(folder, "name", name)
    sources: dict[str, str] = {}
    for site in sites:
        sources.update({s.id: s.title for s in site.sources})
        f = site.facility
        pm = _placemark(folders["Facilities"], f.id, f.name, "facility", _description(
            f.name, f"Status: {f.status.value}", f.category and f"Category: {f.category}",
            "Also known as: " + "; ".join(a.name for a in f.aliases) if f.aliases else None, f.notes))
        add_geometry(pm, f.geometry)
        for s in site.structures:
            pm = _placemark(folders["Structures"], s.id, s.name, "structure", _description(
                s.name, f"{s.kind} at {f.name}", f"Status: {s.status.value}", f"Built: {s.built}" if s.built else None,
                f"Removed: {s.removed}" if s.removed else None,
                f"Traced on: {image_label(s.traced_on)}" if s.traced_on else None, s.notes))
            _structure_time(pm, site.lifetime(s))
            add_geometry(pm, s.geometry)
        for o in site.observations:
            cited = "; ".join(sources.get(i, i) for i in o.source_ids)
            label = f"{o.date} {o.kind.value}"
            pm = _placemark(folders["Observations"], o.id, label, "observation", _description(
                label, o.summary, f"Facility: {f.name}", f"Confidence: {o.confidence.value}",
                f"Image: {site.image_label(o)}" if o.image else None,
                cited and f"Sources: {cited}"))
            add_time(pm, o.date)
            add_geometry(pm, observation_geometry(site, o))
    ET.indent(root)
    # ElementTree's prefix registry is global: another module registering the KML URI (a KML
    # reader does) made us write "ns0:kml". Claim the default prefix right before writing.
    ET.register_namespace("", KML_NS)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def write_kml(sites: Iterable[SiteView], path: str | os.PathLike[str], title: str = "Facility tracker export") -> Path:
    """KML, or KMZ (a zip holding doc.kml) when the path ends in .kmz; written atomically."""
    path = Path(path)
    data = build_kml(sites, title)
    if path.suffix.lower() == ".kmz":
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("doc.kml", data)  # Google Earth opens the first .kml; doc.kml by convention
        data = buf.getvalue()
    return atomic_write(path, data)
