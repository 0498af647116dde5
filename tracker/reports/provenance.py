"""The provenance appendix (Berkeley Protocol practice): every image the site's evidence rests on, and every
observation's history.

`build_provenance` names each image once with what a reader needs to check it: provider and key, the
capture date and what kind of date it is (captured, released, composite, stated), when it was retrieved,
where from (for sources the server may read), the sha256 of the bytes used and, for the analyst's own
imports, the original file name, credit, licence and import time from the import's sidecar. It never
invents a hash: a local import is hashed from its stored file (and checked against its id, the sha256 of
the file imported), EOX tiles are listed with the hashes the imagery cache recorded when it fetched them,
a Sentinel-2 window read by GDAL is said to be read and not kept, and Esri Wayback is named by release:
the browser shows it, the server never uses its bytes.

Images come from observation.image, structure.traced_on, the images an observation's notes name (the
earlier image of an accepted change, both ends of an accepted dating: tracker.image_mentions) and the
images the report itself shows (`used`). Each observation's history is read from the store's history and
told field by field (before -> after). Only the store's history, the import sidecars and files and the
imagery cache's index are read; nothing is fetched from the network and nothing is written.

`Provenance.as_json` is the machine-readable form (`<stem>-provenance.json` beside a report:
`write_provenance`); `templates/provenance.html.j2` is the HTML partial, rendered alone by
`render_provenance_html`.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import markupsafe

from facilities.model import ImageRef, Observation, Structure
from facilities.store import Store
from imagery.base import DateCertainty
from imagery.errors import ImageryError
from imagery.keys import ImageKey
from imagery.local import PROVIDER as LOCAL
from imagery.local import sha256_file
from imagery.mosaics import KEY as EOX
from imagery.providers import ESRI_WAYBACK
from imagery.session import ImagerySession
from imagery.stac import PROVIDER as SENTINEL2
from imagery.tiles import Tile
from imagery.wayback import PROVIDER as WAYBACK
from imagery.wayback import parse_catalogue
from tracker.image_mentions import keys_named
from tracker.images import image_key
from tracker.site import SiteView

from .output import atomic_write, utc_now

log = logging.getLogger(__name__)

KINDS = (("local", "Analyst's own images (local imports)"), ("sentinel-2", "Sentinel-2 scenes"),
         ("eox", "Sentinel-2 cloudless yearly composites (EOX)"), ("wayback", "Esri World Imagery Wayback"),
         ("other", "Other images"))
WAYBACK_BYTES = "shown by the browser only; no bytes used by the server"
SCENE_LISTING = "timeline:sentinel-2:"  # tracker.timeline keeps the Sentinel-2 listing under these cache keys
MAX_TILES = 200  # tile records listed per composite (the count says how many more)
SKIPPED_FIELDS = frozenset({"version", "created_at", "updated_at"})  # every update changes these
VALUE_CHARS = 300  # a longer value is cut in the history (the store keeps it whole)
_SHA256 = re.compile(r"[0-9a-f]{64}")
_PREFIX = re.compile(r"[0-9a-f]{8,63}")


@dataclass(frozen=True)
class CachedBytes:
    """One body the imagery cache kept: where it came from, when, and the sha256 of its bytes."""

    url: str
    sha256: str
    size: int
    fetched_at: str  # ISO 8601 UTC


@dataclass(frozen=True)
class ImageRow:
    """One image the evidence rests on, as the appendix lists it.

    `capture_date`: ISO date (or year of a composite), None when unknown; `date_certainty`: captured,
    released, composite or stated; `retrieved`: when the bytes (or the listing) were retrieved or the file
    imported, ISO UTC; `urls`: where an analysable image's bytes come from (never an Esri tile URL);
    `sha256`: of the bytes used, None when no bytes are kept; `bytes_note`: how the bytes were used and
    checked, in words; `cached`: the cached tiles of a composite; `used_by`: which records name it."""

    kind: str  # local, sentinel-2, eox, wayback, other (KINDS)
    provider: str
    key: str
    capture_date: str | None
    date_certainty: str
    retrieved: str | None
    urls: tuple[str, ...]
    sha256: str | None
    bytes_note: str
    used_by: tuple[str, ...]
    original_name: str | None = None
    credit: str = ""
    licence: str = ""
    imported_at: str | None = None
    release: str | None = None  # Wayback: release number and, when the cached catalogue has it, its date
    cached: tuple[CachedBytes, ...] = ()


@dataclass(frozen=True)
class FieldChange:
    """One field of a record as it was before an edit and after it ('' for none)."""

    field: str
    before: str
    after: str


@dataclass(frozen=True)
class HistoryRow:
    """One entry of a record's history: when, who, what (create / update / delete) and the fields changed."""

    at: str  # ISO 8601 UTC
    actor: str
    action: str
    changes: tuple[FieldChange, ...] = ()


@dataclass(frozen=True)
class ObservationHistory:
    """An observation and every recorded change to it, oldest first."""

    observation_id: str
    date: str
    summary: str
    entries: tuple[HistoryRow, ...]


@dataclass(frozen=True)
class Provenance:
    """The appendix for one facility: its images by kind and its observations' histories."""

    facility_id: str
    facility_name: str
    generated_at: str
    images: tuple[ImageRow, ...] = ()
    histories: tuple[ObservationHistory, ...] = ()
    notes: tuple[str, ...] = ()

    def by_kind(self) -> list[tuple[str, list[ImageRow]]]:
        """(table title, rows) for each kind of image present, in KINDS order."""
        return [(title, rows) for kind, title in KINDS if (rows := [r for r in self.images if r.kind == kind])]

    def image(self, key: str) -> ImageRow | None:
        """The row of the image `key` ("provider:image_id"), or None."""
        return next((r for r in self.images if r.key == key), None)

    def as_json(self) -> dict[str, Any]:
        """The appendix as JSON-ready data: {facility_id, facility_name, generated_at, images, histories, notes}."""
        return asdict(self)

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Provenance:
        """The appendix from `as_json`'s data (a JSON file read back)."""
        images = tuple(ImageRow(**{**r, "urls": tuple(r["urls"]), "used_by": tuple(r["used_by"]),
                                   "cached": tuple(CachedBytes(**c) for c in r["cached"])}) for r in doc["images"])
        histories = tuple(ObservationHistory(
            h["observation_id"], h["date"], h["summary"],
            tuple(HistoryRow(e["at"], e["actor"], e["action"], tuple(FieldChange(**c) for c in e["changes"]))
                  for e in h["entries"])) for h in doc["histories"])
        return cls(doc["facility_id"], doc["facility_name"], doc["generated_at"], images, histories,
                   tuple(doc.get("notes") or ()))


# -- which images, and who names them --------------------------------------------------------------------


@dataclass
class _Use:
    by: list[str] = field(default_factory=list)
    acquired: str | None = None  # the date a record gives the image
    recorded: dt.datetime | None = None  # when the first record naming it was written


def _note(uses: dict[ImageKey, _Use], key: ImageKey | None, by: str, ref: ImageRef | None = None,
          when: dt.datetime | None = None) -> None:
    if key is None:
        return
    use = uses.setdefault(key, _Use())
    if by not in use.by:
        use.by.append(by)
    if use.acquired is None and ref is not None and ref.acquired is not None:
        use.acquired = str(ref.acquired)
    if when is not None and (use.recorded is None or when < use.recorded):
        use.recorded = when


def image_uses(site: SiteView, used: Iterable[ImageKey] = ()) -> dict[ImageKey, _Use]:
    """Every image key the site's records name (observation image, structure traced_on, keys in observation notes)
    and the report shows (`used`), with who names it; in order of first mention."""
    uses: dict[ImageKey, _Use] = {}
    for key in used:
        _note(uses, key, "shown in the report")
    for s in site.structures:
        _structure_uses(uses, s)
    for o in site.observations:
        _observation_uses(uses, o)
    return uses


def _structure_uses(uses: dict[ImageKey, _Use], s: Structure) -> None:
    _note(uses, image_key(s.traced_on), f"structure {s.id}: footprint traced on it", s.traced_on, s.updated_at)


def _observation_uses(uses: dict[ImageKey, _Use], o: Observation) -> None:
    _note(uses, image_key(o.image), f"observation {o.id}: seen on it", o.image, o.created_at)
    own = image_key(o.image)
    for key in keys_named(o.notes):
        if key != own:
            _note(uses, key, f"observation {o.id}: named in its notes", None, o.created_at)


# -- one row per image -------------------------------------------------------------------------------------


def _iso(when: dt.datetime | None) -> str | None:
    if when is None:
        return None
    when = when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)
    return when.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _iso_text(text: object) -> str | None:
    """An ISO time from a sidecar as every time here is written (UTC, 'Z'); as given when it does not parse."""
    if not isinstance(text, str):
        return None
    try:
        return _iso(dt.datetime.fromisoformat(text))
    except ValueError:
        return text


def _local_row(session: ImagerySession, key: ImageKey, use: _Use) -> ImageRow:
    folder = session.local.dir
    ident = key.image_id
    prefix = ident.rstrip("…")
    if not _SHA256.fullmatch(ident) and _PREFIX.fullmatch(prefix):  # a shortened id names the one import it starts
        found = sorted(p.stem for p in folder.glob(f"{prefix}*.json"))
        ident = found[0] if len(found) == 1 and _SHA256.fullmatch(found[0]) else ident
    base: dict[str, Any] = dict(kind="local", provider=key.provider, key=f"{key.provider}:{ident}", urls=(),
                                used_by=tuple(use.by))
    if not _SHA256.fullmatch(ident):  # never a path: an id that is not a sha256 names no import
        return ImageRow(**base, capture_date=use.acquired, date_certainty=DateCertainty.STATED.value, retrieved=None,
                        sha256=None, bytes_note="not a local import's id (a sha256): its bytes cannot be checked")
    try:
        meta = json.loads((folder / f"{ident}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        log.warning("provenance: %s has no readable import sidecar: %s", key, err)
        return ImageRow(**base, capture_date=use.acquired, date_certainty=DateCertainty.STATED.value, retrieved=None,
                        sha256=None, bytes_note="not among the imports on this machine (deleted, or imported "
                        "elsewhere): its bytes cannot be checked here")
    try:
        digest: str | None = sha256_file(folder / f"{ident}.tif")
    except OSError:
        digest = None
    if digest is None:
        note = "the stored file is missing: its bytes cannot be checked"
    elif meta.get("converted"):
        note = ("sha256 of the stored file, a Cloud-Optimised GeoTIFF converted on import; the image id is the "
                "sha256 of the file as imported, which is not kept")
    elif digest == ident:
        note = "sha256 of the stored file, equal to the image id (the sha256 of the file as imported): verified"
    else:
        note = "the stored file's sha256 differs from the image id: the file changed after import"
    imported = _iso_text(meta.get("imported_at"))
    return ImageRow(**base, capture_date=meta.get("captured") or use.acquired,
                    date_certainty=DateCertainty.STATED.value, retrieved=imported, sha256=digest,
                    bytes_note=note, original_name=meta.get("original_name"), credit=meta.get("attribution") or "",
                    licence=meta.get("licence") or "", imported_at=imported)


def _scene_listing(session: ImagerySession, key: ImageKey) -> tuple[dict[str, Any], str] | None:
    """The newest cached Sentinel-2 listing entry for `key` and when the listing was fetched."""
    for rec in reversed(session.cache.records(session.sentinel2.key, "catalogue", url_prefix=SCENE_LISTING)):
        hit = session.cache.get(rec.url)
        try:
            docs = json.loads(hit.body) if hit is not None else []
        except ValueError:
            continue
        doc = next((d for d in docs if isinstance(d, dict) and d.get("key") == str(key)), None)
        if doc is not None:
            return doc, _iso(rec.fetched_at) or ""
    return None


def _scene_row(session: ImagerySession, key: ImageKey, use: _Use,
               bbox: tuple[float, float, float, float]) -> ImageRow:
    listed = _scene_listing(session, key)
    doc, listed_at = listed if listed else ({}, None)
    urls: tuple[str, ...] = ()
    if not session.offline:
        try:
            capture = session.capture_for(key, bbox)
            parts = capture.extra.get("parts") or [{"assets": capture.extra.get("assets", {})}]
            urls = tuple(href for p in parts for role in ("visual", "red", "nir")
                         if (href := (p.get("assets") or {}).get(role)))
        except (ImageryError, ValueError) as err:
            log.warning("provenance: %s not listed now: %s", key, err)
    when = _iso(use.recorded)
    where = ", ".join(urls) if urls else "the scene's asset URLs (not listed now: the STAC search needs the network)"
    note = (f"read as a window from {where}" + (f" on or before {when} (when the record naming it was written)"
                                                if when else "") + "; bytes not kept")
    return ImageRow(kind="sentinel-2", provider=key.provider, key=str(key),
                    capture_date=doc.get("date") or use.acquired,
                    date_certainty=doc.get("date_certainty") or DateCertainty.CAPTURED.value, retrieved=listed_at,
                    urls=urls, sha256=None, bytes_note=note, used_by=tuple(use.by),
                    credit=doc.get("attribution") or "", licence=doc.get("licence") or "")


def _tile_pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[a-z]+\})", template)
    out = []
    for p in parts:
        if p in ("{z}", "{x}", "{y}"):
            out.append(f"(?P<{p[1]}>\\d+)")
        elif p.startswith("{") and p.endswith("}"):
            out.append("[^/]*")
        else:
            out.append(re.escape(p))
    return re.compile("".join(out) + "$")


def _meets(tile: Tile, bbox: Sequence[float]) -> bool:
    w, s, e, n = tile.bounds()
    return w < bbox[2] and bbox[0] < e and s < bbox[3] and bbox[1] < n


def _eox_row(session: ImagerySession, key: ImageKey, use: _Use, bbox: Sequence[float]) -> ImageRow:
    layer = session.eox.layers.get(key.image_id)
    base: dict[str, Any] = dict(kind="eox", provider=key.provider, key=str(key), capture_date=key.image_id,
                date_certainty=DateCertainty.COMPOSITE.value, used_by=tuple(use.by))
    if layer is None:
        return ImageRow(**base, retrieved=None, urls=(), sha256=None,
                        bytes_note=f"no EOX composite for {key.image_id} is configured: nothing read")
    template = session.eox.url_template or layer.url
    pattern = _tile_pattern(template.replace("{year}", str(layer.year)))
    kept = []
    for rec in session.cache.records(layer.key, "tile"):
        m = pattern.match(rec.url)
        if m is not None and _meets(Tile(int(m["z"]), int(m["x"]), int(m["y"])), bbox):
            kept.append(CachedBytes(rec.url, rec.sha256, rec.size, _iso(rec.fetched_at) or ""))
    if kept:
        note = (f"{len(kept)} tile(s) over the site kept by the imagery cache, each with the sha256 recorded when "
                "it was fetched" + (f" (the first {MAX_TILES} listed)" if len(kept) > MAX_TILES else ""))
    else:
        note = "no tile over the site in the imagery cache: bytes not kept"
    return ImageRow(**base, retrieved=max((c.fetched_at for c in kept), default=None), urls=(template,),
                    sha256=None, bytes_note=note, credit=layer.attribution_text, licence=layer.licence,
                    cached=tuple(kept[:MAX_TILES]))


def _wayback_row(session: ImagerySession, key: ImageKey, use: _Use) -> ImageRow:
    release = f"release {key.image_id}"
    hit = session.cache.get(session.endpoints.config_url)  # the catalogue as last fetched; never the network
    if hit is not None:
        try:
            found = next((r for r in parse_catalogue(hit.json()) if str(r.number) == key.image_id), None)
        except ImageryError:
            found = None
        if found is not None:
            release = f"release {found.number}, published {found.date.isoformat()} ({found.title})"
    return ImageRow(kind="wayback", provider=key.provider, key=str(key), capture_date=use.acquired,
                    date_certainty=DateCertainty.STATED.value, retrieved=None, urls=(), sha256=None,
                    bytes_note=WAYBACK_BYTES, used_by=tuple(use.by), release=release,
                    credit=ESRI_WAYBACK.attribution_text)


def _other_row(key: ImageKey, use: _Use) -> ImageRow:
    return ImageRow(kind="other", provider=key.provider, key=str(key), capture_date=use.acquired,
                    date_certainty=DateCertainty.STATED.value, retrieved=None, urls=(), sha256=None,
                    bytes_note=f"provider {key.provider!r} has no reader here: no bytes used by the server",
                    used_by=tuple(use.by))


# -- history ------------------------------------------------------------------------------------------------


def _value(name: str, value: object) -> str:
    if value is None or value == "" or value == [] or value == {}:
        return ""
    if name == "geometry" and isinstance(value, Mapping):
        return f"{value.get('type', 'geometry')} (shape)"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= VALUE_CHARS else text[:VALUE_CHARS - 1] + "…"


def field_changes(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> tuple[FieldChange, ...]:
    """The fields that differ between two history states (version and timestamps left out), before -> after as
    text; a changed geometry is named by its type."""
    old, new = before or {}, after or {}
    out = []
    for name in [*old, *(k for k in new if k not in old)]:
        if name in SKIPPED_FIELDS or old.get(name) == new.get(name):
            continue
        a, b = _value(name, old.get(name)), _value(name, new.get(name))
        if name == "geometry" and a == b:
            a, b = f"{a} (before)", f"{b} (changed)"
        out.append(FieldChange(name, a, b))
    return tuple(out)


def observation_history(store: Store, o: Observation, limit: int = 10_000) -> ObservationHistory:
    """The recorded changes to one observation, oldest first, each with the fields it changed."""
    entries = reversed(store.history(o.id, limit=limit))
    rows = tuple(HistoryRow(_iso(h.at) or "", h.actor, h.action,
                            () if h.action == "create" else field_changes(h.before, h.after))
                 for h in entries if h.entity == "observation")
    return ObservationHistory(o.id, str(o.date), o.summary, rows)


# -- the appendix -------------------------------------------------------------------------------------------


def build_provenance(site: SiteView, store: Store, session: ImagerySession,
                     used: Iterable[ImageKey] = ()) -> Provenance:
    """The provenance appendix of `site`: one row per image its records name or the report shows (`used`), and the
    history of each of its observations. Reads the store's history, the import sidecars and stored files and the
    imagery cache's index; fetches nothing (a Sentinel-2 scene's asset URLs are looked up only when online)."""
    bbox = site.facility.geometry.bounds
    rows: list[ImageRow] = []
    for key, use in image_uses(site, used).items():
        if key.provider == LOCAL:
            rows.append(_local_row(session, key, use))
        elif key.provider == SENTINEL2:
            rows.append(_scene_row(session, key, use, bbox))
        elif key.provider == EOX:
            rows.append(_eox_row(session, key, use, bbox))
        elif key.provider == WAYBACK:
            rows.append(_wayback_row(session, key, use))
        else:
            rows.append(_other_row(key, use))
    notes = [f"{len(site.skipped)} record(s) left out: a stored value the model refuses"] if site.skipped else []
    order = {kind: n for n, (kind, _) in enumerate(KINDS)}
    rows.sort(key=lambda r: (order[r.kind], r.capture_date or "", r.key))
    return Provenance(site.facility.id, site.facility.name, utc_now(), tuple(rows),
                      tuple(observation_history(store, o) for o in site.observations), tuple(notes))


# -- output -------------------------------------------------------------------------------------------------

_ENV = jinja2.Environment(loader=jinja2.PackageLoader("tracker.reports", "templates"), autoescape=True,
                          undefined=jinja2.StrictUndefined)


def render_provenance_html(provenance: Provenance, *, page: bool = True) -> str:
    """The appendix as HTML: the partial alone (`page=False`), or as a page of its own that a browser or WeasyPrint
    opens."""
    part = _ENV.get_template("provenance.html.j2").render(provenance=provenance)
    if not page:
        return part
    title = markupsafe.escape(f"Provenance: {provenance.facility_name}")
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>'
            f"<body>\n{part}\n</body></html>\n")


def provenance_text(provenance: Provenance) -> str:
    """The appendix as plain text for a terminal: one block per image, then each observation's history."""
    lines = [f"Provenance of {provenance.facility_name} ({provenance.facility_id}), compiled "
             f"{provenance.generated_at}", *provenance.notes]
    for title, rows in provenance.by_kind():
        lines += ["", f"{title}:"]
        for r in rows:
            lines.append(f"  {r.key}  {r.capture_date or 'undated'} ({r.date_certainty})"
                         + (f"  {r.release}" if r.release else ""))
            if r.original_name:
                lines.append(f"    file {r.original_name}, imported {r.imported_at or 'at an unknown time'}")
            elif r.retrieved:
                lines.append(f"    retrieved {r.retrieved}")
            if r.credit or r.licence:
                lines.append(f"    credit: {r.credit or '—'}; licence: {r.licence or '—'}")
            lines.append(f"    sha256 {r.sha256}" if r.sha256 else "    sha256: none")
            lines.append(f"    {r.bytes_note}")
            lines += [f"    url {u}" for u in r.urls]
            lines += [f"    tile {c.url} {c.fetched_at} sha256 {c.sha256}" for c in r.cached]
            lines += [f"    used by {u}" for u in r.used_by]
    lines += ["", "Observation histories:"] if provenance.histories else []
    for h in provenance.histories:
        lines.append(f"  {h.observation_id} ({h.date}): {h.summary[:80]}")
        for e in h.entries:
            lines.append(f"    {e.at} {e.actor}: {e.action}")
            lines += [f"      {c.field}: {c.before or '—'} -> {c.after or '—'}" for c in e.changes]
    return "\n".join(lines)


def provenance_path(report: str | os.PathLike[str]) -> Path:
    """Where a report's provenance JSON goes: `<stem>-provenance.json` beside the report file."""
    path = Path(report)
    return path.with_name(f"{path.stem}-provenance.json")


def write_provenance(path: str | os.PathLike[str], provenance: Provenance) -> Path:
    """Write the appendix's JSON (`Provenance.as_json`) to `path` atomically; returns the path."""
    text = json.dumps(provenance.as_json(), ensure_ascii=False, indent=1)
    return atomic_write(path, (text + "\n").encode("utf-8"))
