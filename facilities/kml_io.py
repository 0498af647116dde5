"""KML and KMZ files (Google Earth, GDAL/QGIS, geojson.io) -> a Registry. Pure parsing apart from
reading the file: nothing here writes to a store or fetches a URL.

- Polygon and MultiPolygon placemarks (Polygon, or a MultiGeometry of polygons) become facilities:
  the name from <name>, notes from <description> as plain text (an HTML description is turned
  into its text; the markup is kept in `extra["description_html"]`), every ExtendedData value
  (<Data> and <SimpleData>) kept in `extra`, as the GeoJSON codec keeps foreign properties.
  Ids are slugged from names (model.slugify, as for QGIS-style GeoJSON) and made unique.
- Point and LineString placemarks become structures of the facility (from the same file) whose
  outline holds them, the smallest one if outlines nest; one outside every outline is a problem
  for that placemark, since a facility needs an outline.
- Hostile files: a DOCTYPE is refused before any entity can be declared (billion laughs, XXE);
  KMZ is a zip whose doc.kml (or first .kml) is read with its uncompressed size and compression
  ratio capped, and a KMZ naming a `..` or absolute path is refused. NetworkLinks are never
  followed (a note says so).

Placemarks are counted from 1 in document order, as Google Earth's Places panel lists them; every
problem names the placemark's number and name and what is wrong with it.
"""

from __future__ import annotations

import html
import io
import os
import re
import zipfile
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

import numpy as np
import shapely

from . import safe_xml
from .errors import FeatureProblem, InputError, ValidationError
from .files import check_size, read_import_file
from .geometry import ANY_GEOMETRY, POLYGONAL, check_geometries
from .model import Facility, LocationPrecision, Registry, Structure, as_enum, slugify, unique_id

DEFAULT_MAX_BYTES = 200 * 2**20
# Deflate reaches ~1000:1 on degenerate input; KML text compresses 5-20:1. A member past this
# ratio (and past 1 MB, so tiny files are not judged on it) is a zip bomb, refused unread.
MAX_KMZ_RATIO = 100
_ZIP_MAGIC = b"PK\x03\x04"
# A coordinate as KML (xsd:double) writes it, ASCII digits only: float() would also take "inf", "nan",
# "1_000" and other scripts' digits. Finiteness is checked after (1e400 matches and overflows).
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
# MultiGeometry inside MultiGeometry: Google Earth flattens them; a few levels are plenty.
MAX_GEOMETRY_DEPTH = 8
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")


@dataclass(frozen=True)
class PlacemarkProblem(FeatureProblem):
    """A FeatureProblem that names the placemark: its number (from 1) and its <name>."""

    name: str | None = None

    def __str__(self) -> str:
        who = f"placemark {self.index}" + (f" ({self.name!r})" if self.name else "")
        return f"{who}: {self.reason}"


def is_kml(head: bytes, name: str = "") -> bool:
    """Whether a file is KML/KMZ rather than GeoJSON: by its first bytes (zip or XML vs JSON),
    and by its extension when the bytes do not tell."""
    if head.startswith(_ZIP_MAGIC):
        return True
    for bom in _BOMS:
        if head.startswith(bom):
            head = head[len(bom):]
            break
    head = head.lstrip(b" \t\r\n\x00")
    if head.startswith(b"<"):
        return True
    if head.startswith((b"{", b"[")):
        return False
    return Path(name).suffix.lower() in (".kml", ".kmz")


# ---------------------------------------------------------------- bytes -> XML tree

def kmz_document(raw: bytes, source: str, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """The KML inside a KMZ: doc.kml, or else the first .kml; size and ratio capped, `..` refused."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(raw))
    except (zipfile.BadZipFile, ValueError) as err:
        raise InputError(f"is not a readable KMZ (zip) file: {err}", source=source) from None
    with zf:
        infos = zf.infolist()
        for info in infos:
            parts = info.filename.replace("\\", "/").split("/")
            if ".." in parts or info.filename.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", info.filename):
                raise InputError(f"KMZ member {info.filename!r} points outside the archive; the file is refused",
                                 source=source)
        kmls = [i for i in infos if i.filename.lower().endswith(".kml") and not i.is_dir()]
        if not kmls:
            raise InputError("KMZ holds no .kml document", source=source)
        doc = next((i for i in kmls if i.filename.lower() == "doc.kml"), kmls[0])
        if doc.file_size > max_bytes:
            raise InputError(f"{doc.filename} inside the KMZ is {doc.file_size / 2**20:,.0f} MB uncompressed; the "
                             f"import limit is {max_bytes / 2**20:,.0f} MB", source=source)
        if doc.file_size > 2**20 and doc.file_size > MAX_KMZ_RATIO * max(doc.compress_size, 1):
            raise InputError(f"{doc.filename} inside the KMZ expands {doc.file_size / max(doc.compress_size, 1):,.0f}"
                             f" times (limit {MAX_KMZ_RATIO}); it looks like a zip bomb and is refused", source=source)
        out = bytearray()
        try:
            with zf.open(doc) as fh:  # the declared size may lie: count what really comes out
                while block := fh.read(1 << 20):
                    out += block
                    if len(out) > max_bytes:
                        raise InputError(f"{doc.filename} inside the KMZ is larger than the import limit of "
                                         f"{max_bytes / 2**20:,.0f} MB", source=source)
        except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError, EOFError) as err:
            # RuntimeError: encrypted member; NotImplementedError: unsupported compression
            raise InputError(f"{doc.filename} inside the KMZ cannot be read: {err}", source=source) from None
        return bytes(out)


def parse_xml(raw: bytes, source: str) -> Element:
    """KML bytes -> an ElementTree with namespace-free tag names; no DTD is read (safe_xml)."""
    root = safe_xml.parse_xml(raw, source, "KML")
    if root.tag != "kml":
        raise InputError(f"is XML but not KML (the root element is <{root.tag}>, not <kml>)", source=source)
    return root


# ---------------------------------------------------------------- XML tree -> values

class _TextOfHtml(HTMLParser):
    _BREAKS = {"br", "p", "div", "tr", "li", "h1", "h2", "h3", "h4", "table"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0  # inside <script> or <style>: code, not text

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.skip += 1
        elif tag in self._BREAKS:
            self.parts.append("\n")
        elif tag == "td":
            self.parts.append(" ")

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self.skip:
            self.skip -= 1
        elif tag in self._BREAKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


_HTML_TAG = re.compile(r"<(?:[a-zA-Z][a-zA-Z0-9]*)\b[^>]*>|</[a-zA-Z][a-zA-Z0-9]*\s*>")


def plain_text(description: str) -> tuple[str, bool]:
    """A description as plain text, and whether it was HTML (Google Earth balloons often are)."""
    if not _HTML_TAG.search(description):
        return description.strip(), False
    p = _TextOfHtml()
    p.feed(description)
    p.close()
    text = "".join(p.parts)
    text = re.sub(r"[ \t\r\f\v]+", " ", text)
    text = re.sub(r"\s*\n\s*", "\n", text)
    return html.unescape(text).strip(), True


def _child(el: Element, tag: str) -> Element | None:
    return next((c for c in el if c.tag == tag), None)


def _text(el: Element | None) -> str:
    return "".join(el.itertext()).strip() if el is not None else ""


def _coordinates(el: Element | None, what: str) -> tuple[np.ndarray, bool]:
    """The lon,lat[,alt] tuples of a <coordinates> element: (n x 2 array, any altitude not 0)."""
    if el is None:
        raise ValidationError(f"{what} has no <coordinates>")
    text = _text(el)
    if not text:
        raise ValidationError(f"{what} has empty <coordinates>")
    # "lon, lat" (a space after the comma) is common in hand-written files: join those first
    tuples = re.sub(r"\s*,\s*", ",", text).split()
    out = np.empty((len(tuples), 2))
    altitude = False
    for k, t in enumerate(tuples):
        parts = t.split(",")
        try:
            if len(parts) not in (2, 3) or not all(_NUMBER.fullmatch(v) for v in parts):
                raise ValueError
            values = [float(v) for v in parts]
        except ValueError:
            raise ValidationError(f"{what}: position {k + 1} {t[:40]!r} is not lon,lat or lon,lat,alt "
                                  "in decimal numbers") from None
        if not all(map(np.isfinite, values)):
            raise ValidationError(f"{what}: position {k + 1} {t[:40]!r} has a number too large to be finite")
        out[k] = values[:2]
        altitude = altitude or (len(values) == 3 and values[2] != 0)
    return out, altitude


def _ring(el: Element | None, what: str) -> tuple[np.ndarray, bool]:
    coords, alt = _coordinates(_child(el, "coordinates") if el is not None else None, what)
    if len(coords) < 4:
        raise ValidationError(f"{what} has {len(coords)} positions; a closed ring needs 4 or more")
    if not np.array_equal(coords[0], coords[-1]):
        raise ValidationError(f"{what} is not closed: first position {tuple(coords[0])} differs from last "
                              f"{tuple(coords[-1])}")
    return coords, alt


def _polygon(el: Element, what: str) -> tuple[Any, bool]:
    outer = _child(el, "outerBoundaryIs")
    if outer is None:
        raise ValidationError(f"{what} has no <outerBoundaryIs>")
    shell, alt = _ring(_child(outer, "LinearRing"), f"{what} outer boundary")
    holes: list[np.ndarray] = []
    for inner in (c for c in el if c.tag == "innerBoundaryIs"):
        for ring in (c for c in inner if c.tag == "LinearRing"):
            hole, a = _ring(ring, f"{what} inner boundary {len(holes) + 1}")
            holes.append(hole)
            alt = alt or a
    return shapely.polygons(shell, holes=holes or None), alt


_GEOMETRY_TAGS = ("Point", "LineString", "LinearRing", "Polygon", "MultiGeometry", "Model", "Track", "MultiTrack")


def _geometries(el: Element, what: str, depth: int = 0) -> tuple[list, bool]:
    """Every simple geometry under a placemark geometry element, MultiGeometry flattened (nested at most
    MAX_GEOMETRY_DEPTH levels)."""
    if el.tag == "Polygon":
        g, alt = _polygon(el, what)
        return [g], alt
    if el.tag == "Point":
        c, alt = _coordinates(_child(el, "coordinates"), what)
        if len(c) != 1:
            raise ValidationError(f"{what} is a Point with {len(c)} positions")
        return [shapely.points(c[0])], alt
    if el.tag in ("LineString", "LinearRing"):
        c, alt = _coordinates(_child(el, "coordinates"), what)
        if len(c) < 2:
            raise ValidationError(f"{what} is a {el.tag} with {len(c)} position; a line needs 2 or more")
        return [shapely.linestrings(c)], alt
    if el.tag == "MultiGeometry":
        if depth >= MAX_GEOMETRY_DEPTH:
            raise ValidationError(f"{what} nests MultiGeometry more than {MAX_GEOMETRY_DEPTH} levels deep; "
                                  "flatten it into one MultiGeometry")
        out, alt = [], False
        parts = [c for c in el if c.tag in _GEOMETRY_TAGS]
        for k, part in enumerate(parts):
            gs, a = _geometries(part, f"{what} part {k + 1}", depth + 1)
            out += gs
            alt = alt or a
        return out, alt
    raise ValidationError(f"{el.tag} geometries (3D models, GPS tracks) are not supported; "
                          "use a Polygon for an outline or a Point for a building")


def _extended_data(pm: Element) -> dict[str, Any]:
    ext = _child(pm, "ExtendedData")
    extra: dict[str, Any] = {}
    if ext is None:
        return extra
    for el in ext.iter():
        key = el.get("name")
        if el.tag == "Data" and key:
            extra[key] = _text(_child(el, "value"))
        elif el.tag == "SimpleData" and key:
            extra[key] = _text(el)
    return extra


@dataclass(eq=False)
class _Placemark:
    number: int  # from 1
    name: str
    notes: str
    extra: dict[str, Any]
    geometries: list
    altitude: bool


def _placemarks(root: Element, notes: list[str]) -> tuple[list[_Placemark], list[FeatureProblem]]:
    found: list[_Placemark] = []
    problems: list[FeatureProblem] = []  # PlacemarkProblems, as the FeatureProblems parse_kml returns
    for number, pm in enumerate((e for e in root.iter() if e.tag == "Placemark"), start=1):
        name = _text(_child(pm, "name"))
        try:
            if not name:
                raise ValidationError("has no <name>; name the placemark in Google Earth or QGIS and export again")
            geom_el = next((c for c in pm if c.tag in _GEOMETRY_TAGS), None)
            if geom_el is None:
                raise ValidationError("has no geometry")
            geoms, alt = _geometries(geom_el, geom_el.tag)
            if not geoms:
                raise ValidationError("has an empty MultiGeometry")
            extra = _extended_data(pm)
            notes_text, was_html = plain_text(_text(_child(pm, "description")))
            if was_html:
                extra["description_html"] = _text(_child(pm, "description"))
            found.append(_Placemark(number, name, notes_text, extra, geoms, alt))
        except ValidationError as err:
            problems.append(PlacemarkProblem(number, None, str(err), name=name or None))
    for link in (e for e in root.iter() if e.tag == "NetworkLink"):
        href = next((_text(h) for h in link.iter() if h.tag == "href"), "")
        notes.append(f"NetworkLink {href[:200]!r} was not followed; import the file it points to separately")
    return found, problems


def _unique(base: str, taken: set[str]) -> str:
    ident = unique_id(base, taken)
    taken.add(ident)
    return ident


def parse_kml(root: Element, *, repair: bool = False, skip_invalid: bool = False,
              default_precision: str = LocationPrecision.DIGITISED.value, source: str | None = None,
              ) -> tuple[Registry, list[FeatureProblem], list[str]]:
    """A parsed KML tree -> (registry, problems left out, notes). Raises InputError listing every bad
    placemark unless `skip_invalid`."""
    notes: list[str] = []
    placemarks, problems = _placemarks(root, notes)
    total = len(placemarks) + len(problems)
    if total == 0:
        raise InputError("has no placemarks to import", source=source)
    polygonal: list[_Placemark] = []
    others: list[_Placemark] = []
    for p in placemarks:
        (polygonal if all(g.geom_type == "Polygon" for g in p.geometries) else others).append(p)
    for p in others:
        if any(g.geom_type == "Polygon" for g in p.geometries):
            problems.append(PlacemarkProblem(p.number, None, "mixes polygons with points or lines in one "
                                             "MultiGeometry; split it into an outline and its buildings",
                                             name=p.name))
    others = [p for p in others if not any(g.geom_type == "Polygon" for g in p.geometries)]
    for p in [p for p in others if len({g.geom_type for g in p.geometries}) > 1]:
        problems.append(PlacemarkProblem(p.number, None, "mixes points and lines in one MultiGeometry; split it "
                                         "into one placemark per building", name=p.name))
        others.remove(p)
    if any(p.altitude for p in placemarks):
        notes.append("altitudes were dropped: outlines and buildings are stored as 2D lon/lat")

    # facilities: the outlines, checked in one vectorised pass
    facilities: list[tuple[_Placemark, Facility]] = []
    taken: set[str] = set()
    geoms = np.array([p.geometries[0] if len(p.geometries) == 1 else shapely.multipolygons(p.geometries)
                      for p in polygonal], dtype=object)
    checked, errors, geom_notes = check_geometries(geoms, allowed=POLYGONAL, repair=repair)
    for k, p in enumerate(polygonal):
        try:
            if k in errors:
                raise ValidationError(errors[k])
            notes.extend(f"placemark {p.number} ({p.name!r}): {n}" for n in geom_notes.get(k, ()))
            fid = _unique(slugify(p.name), taken)
            precision = as_enum(LocationPrecision, default_precision, "location_precision")
            facilities.append((p, Facility(id=fid, name=p.name, geometry=checked[k], notes=p.notes,
                                           location_precision=precision, extra=p.extra)))
        except (ValidationError, ValueError, TypeError) as err:
            problems.append(PlacemarkProblem(p.number, None, str(err), name=p.name))

    # structures: points and lines inside one of those outlines
    structures: list[Structure] = []
    if others:
        geoms = np.array([p.geometries[0] if len(p.geometries) == 1 else
                          shapely.multipoints(p.geometries) if p.geometries[0].geom_type == "Point" else
                          shapely.multilinestrings(p.geometries) for p in others], dtype=object)
        checked, errors, geom_notes = check_geometries(geoms, allowed=ANY_GEOMETRY, repair=repair)
        outlines = shapely.STRtree([f.geometry for _, f in facilities]) if facilities else None
        taken_structures: set[str] = set()
        for k, p in enumerate(others):
            try:
                if k in errors:
                    raise ValidationError(errors[k])
                hits = [] if outlines is None else list(outlines.query(checked[k], predicate="covered_by"))
                if not hits:
                    raise ValidationError(
                        f"is a {checked[k].geom_type} not inside any outline in this file; a facility needs a "
                        "Polygon outline (points and lines inside one are imported as its buildings)")
                owners = [facilities[h][1] for h in hits]  # nested outlines: the smallest holds it
                owner = min(owners, key=lambda f: f.area_m2) if len(owners) > 1 else owners[0]
                sid = _unique(f"{owner.id}.{slugify(p.name)}", taken_structures)
                precision = as_enum(LocationPrecision, default_precision, "location_precision")
                structures.append(Structure(id=sid, facility_id=owner.id, name=p.name, geometry=checked[k],
                                            kind="building" if checked[k].geom_type.endswith("Point") else "line",
                                            location_precision=precision, notes=p.notes))
            except (ValidationError, ValueError, TypeError) as err:
                problems.append(PlacemarkProblem(p.number, None, str(err), name=p.name))
    problems.sort(key=lambda p: p.index)
    if problems and not skip_invalid:
        raise InputError(f"{len(problems)} of {total} placemarks are invalid; nothing was imported",
                         problems, source=source)
    return Registry(facilities=tuple(f for _, f in facilities), structures=tuple(structures)), problems, notes


# ---------------------------------------------------------------- files

def read_registry_bytes(raw: bytes, name: str, *, max_bytes: int = DEFAULT_MAX_BYTES, repair: bool = False,
                        skip_invalid: bool = False, default_precision: str = LocationPrecision.DIGITISED.value,
                        ) -> tuple[Registry, list[FeatureProblem], list[str]]:
    """KML or KMZ bytes (told apart by the zip signature) -> (registry, problems left out, notes)."""
    check_size(len(raw), max_bytes, name)
    if raw.startswith(_ZIP_MAGIC):
        raw = kmz_document(raw, name, max_bytes)
    elif Path(name).suffix.lower() == ".kmz":
        raise InputError("is named .kmz but is not a zip file", source=name)
    root = parse_xml(raw, name)
    return parse_kml(root, repair=repair, skip_invalid=skip_invalid, default_precision=default_precision,
                     source=name)


def read_registry(path: str | os.PathLike, *, max_bytes: int = DEFAULT_MAX_BYTES, **kwargs,
                  ) -> tuple[Registry, list[FeatureProblem], list[str]]:
    """Read and validate a KML or KMZ file; see parse_kml."""
    return read_registry_bytes(read_import_file(path, max_bytes), str(path), max_bytes=max_bytes, **kwargs)
