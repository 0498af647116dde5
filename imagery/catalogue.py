"""Dated layers of one area, from every source, as the compare view offers them.

A `DatedLayer` is what a map needs to show one date of one source: either an XYZ template the
browser fetches (Wayback releases, EOX mosaics: their terms allow display, and Wayback's forbid the
server from storing tiles), or a PNG the server rendered from pixels it may read (local imports,
Sentinel-2 scenes). Pure: the listings come in as Releases and Captures; nothing here does I/O.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from .base import Capture, DateCertainty
from .keys import ImageKey
from .mosaics import KEY as EOX
from .providers import EOX_MOSAICS, TileProvider, wayback_attribution
from .wayback import PROVIDER as WAYBACK
from .wayback import Endpoints, Release

LOCAL = "local"


@dataclass(frozen=True)
class DatedLayer:
    """One image offered on the map's timeline: its key, date and how far that date can be trusted, title,
    attribution and tile template."""

    image: ImageKey  # unique across sources: esri-wayback:56102, eox-s2cloudless:2020, local:<sha256>
    source: str  # "Wayback", "Sentinel-2 cloudless", "Local image", "Sentinel-2 scene"
    date: dt.date  # the date the layer stands for, for ordering and for observations
    certainty: DateCertainty
    title: str  # plain text, e.g. "2023-12-07 Wayback release (captured 2023-11-02)"
    attribution: str  # HTML for the map corner (our own markup; user text escaped)
    attribution_text: str
    licence: str = ""
    tiles: str | None = None  # XYZ template for the browser
    subdomains: tuple[str, ...] = ()
    max_zoom: int = 21
    max_native_zoom: int = 19
    changed: bool = True  # False: a Wayback release whose imagery here equals the previous one
    readable: bool = False  # the server may read its pixels (difference view)
    capture: Capture | None = None

    @property
    def key(self) -> str:
        """The layer's key as text: what selectboxes, URLs (?image=) and caches use."""
        return str(self.image)

    @property
    def provider(self) -> str:
        """The provider part of the image key."""
        return self.image.provider

    @property
    def image_id(self) -> str:
        """The provider's id of the image (release number, year, scene id, file digest)."""
        return self.image.image_id

    @property
    def acquired(self) -> dt.date | None:
        """The acquisition date when the source knows it (not a release or composite date)."""
        return self.date if self.certainty in (DateCertainty.CAPTURED, DateCertainty.STATED) else None

    def describe(self) -> str:
        """How far to trust the date, in a line."""
        return {
            DateCertainty.CAPTURED: "capture date from the provider's metadata",
            DateCertainty.RELEASED: "release date only: the pictures are older",
            DateCertainty.COMPOSITE: "yearly composite of many dates: context, cannot date an event",
            DateCertainty.STATED: "capture date stated by the analyst who imported it",
        }[self.certainty]


def wayback_layers(releases: Sequence[Release], changed: Iterable[int] | None,
                   captures: Mapping[int, Capture] | None = None, endpoints: Endpoints | None = None,
                   show_all: bool = False) -> list[DatedLayer]:
    """One layer per release, oldest first; only releases that changed here unless show_all.

    `changed` None means the local-change scan failed or was skipped: every release is offered and
    marked changed=False, so the page can say it does not know."""
    endpoints = endpoints or Endpoints()
    kept = None if changed is None else set(changed)
    captures = captures or {}
    out = []
    for rel in releases:
        is_change = kept is not None and rel.number in kept
        if kept is not None and not is_change and not show_all:
            continue
        cap = captures.get(rel.number)
        if cap is not None and cap.date is not None and cap.certainty is DateCertainty.CAPTURED:
            date, certainty = cap.date, DateCertainty.CAPTURED
            mixed = f", parts {', '.join(d.isoformat() for d in cap.other_dates)}" if cap.mixed_dates else ""
            title = f"{rel.date.isoformat()} Wayback release (captured {date.isoformat()}{mixed})"
        else:
            date, certainty = rel.date, DateCertainty.RELEASED
            title = f"{rel.date.isoformat()} Wayback release"
        if kept is not None and not is_change:
            title += " (no change here)"
        out.append(DatedLayer(
            image=ImageKey(WAYBACK, str(rel.number)), source="Wayback", date=date, certainty=certainty, title=title,
            attribution=wayback_attribution(rel.date.isoformat()),
            attribution_text=wayback_attribution(rel.date.isoformat(), html=False),
            licence=cap.licence if cap else "", tiles=endpoints.tile_url.replace("{release}", str(rel.number)),
            subdomains=endpoints.subdomains, max_native_zoom=endpoints.max_zoom,  # the service's tiles: z20
            changed=is_change, readable=False, capture=cap,
        ))
    return sorted(out, key=lambda layer: (layer.date, layer.key))


def mosaic_layers(providers: Sequence[TileProvider] = EOX_MOSAICS) -> list[DatedLayer]:
    """The yearly Sentinel-2 cloudless composites, dated mid-year (they blend the whole year)."""
    out = []
    for p in providers:
        assert p.year is not None
        out.append(DatedLayer(
            image=ImageKey(EOX, str(p.year)), source="Sentinel-2 cloudless", date=dt.date(p.year, 7, 1),
            certainty=DateCertainty.COMPOSITE,
            title=f"{p.year} Sentinel-2 cloudless (yearly composite)", attribution=p.attribution,
            attribution_text=p.attribution_text, licence=p.licence, tiles=p.url, subdomains=p.subdomains,
            max_zoom=p.max_zoom, max_native_zoom=p.max_native_zoom, readable=p.server_fetch_allowed,
        ))
    return sorted(out, key=lambda layer: layer.date)


def capture_layers(captures: Iterable[Capture], source: str) -> list[DatedLayer]:
    """Layers for captures the server reads itself (local imports, Sentinel-2 scenes)."""
    out = []
    for cap in captures:
        if cap.date is None:
            continue  # an undated capture cannot be placed on a timeline
        what = cap.sensor or cap.extra.get("provider") or source
        title = f"{cap.date.isoformat()} {source} ({what}, {cap.capture_id[:12]})"
        out.append(DatedLayer(
            image=ImageKey(cap.provider, cap.capture_id), source=source, date=cap.date, certainty=cap.certainty,
            title=title, attribution=html.escape(cap.attribution or source, quote=True),
            attribution_text=cap.attribution or source,
            licence=cap.licence, readable=True, capture=cap,
        ))
    return sorted(out, key=lambda layer: (layer.date, layer.key))


def timeline(*groups: Sequence[DatedLayer]) -> list[DatedLayer]:
    """All layers of all sources in date order (ties: source, then key), each key once."""
    seen: dict[str, DatedLayer] = {}
    for group in groups:
        for layer in group:
            seen.setdefault(layer.key, layer)
    return sorted(seen.values(), key=lambda layer: (layer.date, layer.source, layer.key))


def default_pair(layers: Sequence[DatedLayer]) -> tuple[DatedLayer, DatedLayer] | None:
    """Before/after to open with: the oldest and newest dated (not composite) layers, else any two."""
    if len(layers) < 2:
        return None
    dated = [layer for layer in layers if layer.certainty is not DateCertainty.COMPOSITE]
    pool = dated if len(dated) >= 2 else list(layers)
    return pool[0], pool[-1]
