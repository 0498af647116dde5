"""A site's whole imagery timeline: every source's dated images over the facility's outline, on one axis.

Gathers Wayback releases with local changes (capture-dated from the metadata layers), EOX yearly
composites, Sentinel-2 scenes and local imports through the imagery session's sources, and merges
them with imagery.timeline. A failing source becomes a note and the others still list. Wayback's
answers are cached by the HTTP cache (tilemaps and metadata, never tiles) and the Sentinel-2 listing
is kept here as a cached catalogue answer, so a site once scanned opens offline with its whole
timeline. `progress(stage, done, total)` is called as work finishes; `cancelled()` returning True
stops a long first scan with imagery.errors.Cancelled.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from facilities.errors import InputError, NotFound
from facilities.model import Facility
from facilities.store import Store
from imagery.aoi import AreaOfInterest
from imagery.base import Capture, DateCertainty
from imagery.errors import Cancelled, ImageryError, OfflineError, short_reason
from imagery.keys import ImageKey
from imagery.session import ImagerySession
from imagery.timeline import SOURCES, TimelineEntry, entry_from_capture, merge, within
from imagery.wayback import CAPTURE_DATE_RULE

log = logging.getLogger(__name__)

StageProgress = Callable[[str, int, int], None]  # (stage, done, total)
SCENES_KIND = "catalogue"  # the Sentinel-2 listing kept in the imagery cache (facts about imagery)


@dataclass
class SiteTimeline:
    """A facility's imagery timeline and what went wrong per source."""

    facility: Facility
    entries: list[TimelineEntry]
    notes: dict[str, str] = field(default_factory=dict)  # source -> why it is missing or partial
    wayback_requests: int = 0
    wayback_tile_fetches: int = 0
    date_rule: str = CAPTURE_DATE_RULE


def find_facility(store: Store, text: str) -> Facility:
    """The facility whose id is `text`, else whose name or alias is `text` (case and spacing ignored); an
    InputError naming the candidates when several match, NotFound when none does."""
    try:
        return store.get_facility(text)
    except NotFound:
        pass
    wanted = " ".join(text.split()).casefold()
    hits = [f for f in store.list_facilities() if any(" ".join(n.split()).casefold() == wanted for n in f.names())]
    if len(hits) == 1:
        return hits[0]
    if hits:
        raise InputError(f"{text!r} names {len(hits)} facilities: {', '.join(f.id for f in hits)}; give the id")
    raise NotFound(f"no facility with id, name or alias {text!r}")


def _note_for(err: BaseException) -> str:
    return "offline mode: nothing cached for this site yet" if isinstance(err, OfflineError) else short_reason(err)


def _wayback(session: ImagerySession, aoi: AreaOfInterest, start: dt.date | None, progress: StageProgress | None,
             cancelled: Callable[[], bool] | None, out: SiteTimeline) -> list[TimelineEntry]:
    wb = session.wayback
    releases = wb.releases()
    changes = wb.local_changes(aoi.bbox, releases=releases, cancelled=cancelled,
                               progress=(lambda d, t: progress("Wayback change scan", d, t)) if progress else None)
    out.wayback_requests += changes.requests
    out.wayback_tile_fetches += changes.tile_fetches
    if changes.errors:
        out.notes["wayback"] = f"{len(changes.errors)} of {len(changes.tiles)} tiles could not be scanned"
    wanted = [r for r in changes.releases if start is None or r.date >= start]  # pixels are never newer
    entries = []
    for n, rel in enumerate(wanted, 1):
        if cancelled is not None and cancelled():
            raise Cancelled("the Wayback capture-date lookup was cancelled")
        cap = wb.release_capture(rel, aoi.outline)
        entry = entry_from_capture(cap, "wayback", analysable=False)
        if entry is not None:
            entries.append(entry)
        if progress:
            progress("Wayback capture dates", n, len(wanted))
    notes = [e.note for e in entries if e.note]
    if notes:
        out.notes["wayback metadata"] = "; ".join(notes)
    return entries


def _scenes_key(aoi: AreaOfInterest, start: dt.date | None, end: dt.date | None) -> str:
    return f"timeline:sentinel-2:{aoi.key}:{start}:{end}"


def _capture_json(cap: Capture) -> dict:
    entry = entry_from_capture(cap, "sentinel-2", analysable=True)
    return entry.as_json() | {"note": entry.note} if entry else {}


def _entry_from_json(doc: dict) -> TimelineEntry:
    return TimelineEntry(
        key=ImageKey.parse(doc["key"]), date=dt.date.fromisoformat(doc["date"]),
        certainty=DateCertainty(doc["date_certainty"]), source="sentinel-2",
        other_dates=tuple(dt.date.fromisoformat(d) for d in doc.get("other_dates") or ()),
        resolution_m=doc.get("resolution_m"), cloud_fraction=doc.get("cloud_fraction"),
        licence=doc.get("licence") or "", attribution=doc.get("attribution") or "", analysable=True,
        note=doc.get("note") or "")


def _scenes(session: ImagerySession, aoi: AreaOfInterest, start: dt.date | None,
            end: dt.date | None) -> list[TimelineEntry]:
    """Sentinel-2 scenes, listed online and kept in the imagery cache; offline, the kept listing."""
    key = _scenes_key(aoi, start, end)
    provider = session.sentinel2.key
    if session.offline:
        hit = session.cache.get(key)
        if hit is None:
            raise OfflineError("offline mode: no Sentinel-2 listing cached for this site and dates", url=key)
        return [_entry_from_json(d) for d in json.loads(hit.body)]
    caps = session.sentinel2.captures(aoi.bbox, start, end)
    docs = [d for d in (_capture_json(c) for c in caps) if d]
    session.cache.put(key, json.dumps(docs).encode(), provider=provider, kind=SCENES_KIND)
    return [_entry_from_json(d) for d in docs]


def _captures(caps: Iterable[Capture], source: str, analysable: bool) -> list[TimelineEntry]:
    return [e for e in (entry_from_capture(c, source, analysable=analysable) for c in caps) if e is not None]


def site_timeline(store: Store, session: ImagerySession, facility: str, *, start: dt.date | None = None,
                  end: dt.date | None = None, sources: Sequence[str] = SOURCES,
                  progress: StageProgress | None = None,
                  cancelled: Callable[[], bool] | None = None) -> SiteTimeline:
    """Every dated image of the facility (id, name or alias) from the chosen sources, oldest first."""
    unknown = [s for s in sources if s not in SOURCES]
    if unknown:
        raise InputError(f"--source {unknown[0]!r} is not one of {', '.join(SOURCES)}")
    fac = find_facility(store, facility)
    aoi = AreaOfInterest.of(fac.geometry)
    out = SiteTimeline(fac, [])
    groups: list[list[TimelineEntry]] = []
    steps: list[tuple[str, Callable[[], list[TimelineEntry]]]] = [
        ("wayback", lambda: _wayback(session, aoi, start, progress, cancelled, out)),
        ("eox", lambda: _captures(session.eox.captures(aoi.bbox, start, end), "eox", True)),
        ("sentinel-2", lambda: _scenes(session, aoi, start, end)),
        ("local", lambda: _captures(session.local.captures(aoi.bbox, start, end), "local", True)),
    ]
    for name, step in steps:
        if name not in sources:
            continue
        if cancelled is not None and cancelled():
            raise Cancelled("the timeline scan was cancelled")
        try:
            groups.append(step())
        except Cancelled:
            raise
        except (ImageryError, OSError, ValueError) as err:
            log.warning("timeline of %s: %s failed: %s", fac.id, name, err)
            out.notes[name] = _note_for(err)
    out.entries = within(merge(*groups), start, end)
    return out
