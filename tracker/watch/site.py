"""The per-site work of a watch scan: `scan_site(site, session) -> SiteResult`.

The contract, so the same function runs on a local thread pool or on a Dask worker unchanged:
- Input is a `SiteInput`, a picklable value made by the driver from the registry (the facility, the day
  after which imagery is news, the image keys last reviewed, the findings already stored). The worker never
  opens the registry.
- It fetches through the given `ImagerySession` only (its one HTTP client: concurrency, rate limits,
  Retry-After and the cache), and computes; it writes nothing anywhere but the imagery cache.
- It never raises for a site's own trouble: a failing source or measure becomes `SiteResult.errors`
  (source -> one line) and the other sources still report. Only Cancelled and programming errors propagate.
- Output is a `SiteResult`: new findings (never observations), errors, and the requests the session's client
  made meanwhile (exact when sites run one at a time on a client of their own).

What counts as news: Wayback releases published after `since` whose tiles over the site changed (the
local-change scan over the catalogue, which is cached, so a site with no newer release costs no request
there); Sentinel-2 scenes dated after `since` whose cloud fraction inside the outline is at most
`max_cloud`; local imports captured after `since`. Wayback news is "new imagery" only: Esri's terms let the
browser show it, never the server read it. For the newest readable new image (local or Sentinel-2), the
change measure (tracker.change.facility_change) against the last reviewed readable image, else the newest
readable image from before `since`.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from facilities.model import Facility
from facilities.watchlist import Finding, FindingKind
from imagery.aoi import AreaOfInterest
from imagery.base import Capture
from imagery.errors import Cancelled, ImageryError
from imagery.keys import ImageKey
from imagery.session import ImagerySession
from imagery.tiles import AreaTooLarge, tiles_for_area
from imagery.wayback import PROVIDER as WAYBACK
from imagery.wayback import Wayback

from ..errors import TrackerError

log = logging.getLogger(__name__)

SOURCES = ("wayback", "sentinel-2", "local")
MAX_CLOUD = 0.2  # a scene is "clear enough" when at most this share of the outline is cloud or shadow
BEFORE_WINDOW_DAYS = 365  # how far before `since` a Sentinel-2 "before" image is looked for
DISPLAY_ONLY = "display only: Esri's terms let the browser show Wayback imagery, not the server analyse it"


@dataclass(frozen=True)
class SiteInput:
    """What a worker needs to scan one site; made by the driver, picklable."""

    facility: Facility
    since: dt.date  # imagery dated (Wayback: published) after this day is news
    reviewed_keys: tuple[str, ...] = ()  # image keys the analyst last reviewed (the change's "before")
    known: frozenset[tuple[str, str]] = frozenset()  # (kind, after key) of findings already stored


@dataclass
class SiteResult:
    """One site's scan: its new findings, what failed (source -> one line) and the requests made."""

    facility_id: str
    findings: list[Finding] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    requests: int = 0

    @property
    def error(self) -> str | None:
        """Every failure in one line, or None when everything answered."""
        return "; ".join(f"{k}: {v}" for k, v in self.errors.items()) or None


def _finding_id() -> str:
    return f"find-{uuid.uuid4().hex[:12]}"


def _new(site: SiteInput, kind: FindingKind, key: str, day: dt.date | None, note: str = "") -> Finding | None:
    if (kind.value, key) in site.known:
        return None
    return Finding(_finding_id(), site.facility.id, kind, key, day, note=note)


def _wayback_news(site: SiteInput, session: ImagerySession, aoi: AreaOfInterest) -> list[Finding]:
    wb = session.wayback
    releases = wb.releases()  # the catalogue, from the cache while it is fresh
    if not any(r.date > site.since for r in releases):
        return []  # no newer release anywhere: no tilemap request at all
    changes = wb.local_changes(aoi.bbox, _zoom_for(aoi, wb), releases=releases)  # the timeline's box: one cache
    if changes.errors and not changes.per_tile:
        raise ImageryError(f"{len(changes.errors)} of {len(changes.tiles)} tiles could not be scanned")
    out = []
    for rel in changes.releases:
        if rel.date > site.since:
            f = _new(site, FindingKind.NEW_WAYBACK_RELEASE, str(ImageKey(WAYBACK, str(rel.number))), rel.date,
                     f"Wayback release {rel.number} published {rel.date}; {DISPLAY_ONLY}")
            if f is not None:
                out.append(f)
    return out


def _zoom_for(aoi: AreaOfInterest, wb: Wayback) -> int:
    """The finest zoom (at most the scan's) at which the site needs at most `max_tiles` tiles: a large complex
    is scanned on coarser tiles rather than refused."""
    z = min(wb.zoom, wb.endpoints.max_zoom)
    while z > 10:
        try:
            if len(tiles_for_area(aoi.bbox, z, max_tiles=wb.max_tiles)) <= wb.max_tiles:
                return z
        except AreaTooLarge:
            pass
        z -= 1
    return z


def _clear(cap: Capture, max_cloud: float) -> bool:
    return cap.cloud_fraction is not None and cap.cloud_fraction <= max_cloud


def _scenes(site: SiteInput, session: ImagerySession, aoi: AreaOfInterest, start: dt.date,
            end: dt.date | None, max_cloud: float) -> list[Capture]:
    caps = session.sentinel2.captures(aoi.bbox, start, end, outline=site.facility.geometry)
    return [c for c in caps if c.date is not None and _clear(c, max_cloud)]


def _key(cap: Capture) -> str:
    return str(ImageKey(cap.provider, cap.capture_id))


def _before(site: SiteInput, session: ImagerySession, aoi: AreaOfInterest, after: Capture, max_cloud: float,
            sources: tuple[str, ...]) -> str | None:
    """The image to compare the newest against: the last reviewed readable one, else the newest readable one
    from on or before `since` (the after image's source first)."""
    for key in site.reviewed_keys:
        if not key.startswith(f"{WAYBACK}:") and key != _key(after):
            return key
    found: list[Capture] = []
    if "local" in sources:
        found += [c for c in session.local.captures(aoi.bbox, None, site.since) if c.date is not None]
    if "sentinel-2" in sources and after.provider == session.sentinel2.key:
        start = site.since - dt.timedelta(days=BEFORE_WINDOW_DAYS)
        found += _scenes(site, session, aoi, start, site.since, max_cloud)
    found.sort(key=lambda c: (c.provider == after.provider, c.date or dt.date.min))
    return _key(found[-1]) if found else None


def scan_site(site: SiteInput, session: ImagerySession, *, max_cloud: float = MAX_CLOUD,
              sources: tuple[str, ...] = SOURCES, measure: bool = True,
              cancelled: Callable[[], bool] | None = None) -> SiteResult:
    """The imagery that appeared at one site since `site.since`, as findings (see the module docstring)."""
    unknown = [s for s in sources if s not in SOURCES]
    if unknown:
        raise TrackerError(f"--source {unknown[0]!r} is not one of {', '.join(SOURCES)}")
    result = SiteResult(site.facility.id)
    start_requests = session.client.stats.requests
    aoi = AreaOfInterest.of(site.facility.geometry)
    after_day = site.since + dt.timedelta(days=1)
    readable: list[Capture] = []

    def step(name: str, work: Callable[[], None]) -> None:
        if cancelled is not None and cancelled():
            raise Cancelled("the watch scan was cancelled")
        try:
            work()
        except Cancelled:
            raise
        except (ImageryError, TrackerError, OSError, ValueError) as err:
            log.warning("watch scan of %s: %s failed: %s", site.facility.id, name, err)
            result.errors[name] = " ".join(str(err).split()) or type(err).__name__

    def wayback() -> None:
        result.findings.extend(_wayback_news(site, session, aoi))

    def scenes() -> None:
        caps = _scenes(site, session, aoi, after_day, None, max_cloud)
        readable.extend(caps)
        for c in caps:
            f = _new(site, FindingKind.NEW_SCENE, _key(c), c.date,
                     f"{c.cloud_fraction:.0%} cloud inside the outline" if c.cloud_fraction is not None else "")
            if f is not None:
                result.findings.append(f)

    def local() -> None:
        caps = [c for c in session.local.captures(aoi.bbox, after_day, None) if c.date is not None]
        readable.extend(caps)
        for c in caps:
            name = c.extra.get("original_name")
            f = _new(site, FindingKind.NEW_LOCAL_IMAGE, _key(c), c.date, f"imported as {name}" if name else "")
            if f is not None:
                result.findings.append(f)

    for name, work in (("wayback", wayback), ("sentinel-2", scenes), ("local", local)):
        if name in sources:
            step(name, work)
    if measure and readable:
        newest = max(readable, key=lambda c: (c.date or dt.date.min, c.provider == session.local.key))
        if (FindingKind.CHANGE.value, _key(newest)) not in site.known:
            step("change", lambda: _measure(site, session, aoi, newest, max_cloud, sources, result))
    result.requests = session.client.stats.requests - start_requests
    return result


def _measure(site: SiteInput, session: ImagerySession, aoi: AreaOfInterest, after: Capture, max_cloud: float,
             sources: tuple[str, ...], result: SiteResult) -> None:
    # scipy and scikit-image come with the change measure: imported here, so `facilities watch add/list` and the
    # other commands that import this module for its defaults start without them
    from ..change import facility_change

    before = _before(site, session, aoi, after, max_cloud, sources)
    if before is None:
        return  # nothing readable from before: the new images are reported, there is nothing to compare
    measured = facility_change(site.facility, session, before, _key(after))
    c = measured.change
    low, high = c.changed_m2_range
    result.findings.append(Finding(
        _finding_id(), site.facility.id, FindingKind.CHANGE, str(measured.after.key), measured.after.date,
        before_key=str(measured.before.key), before_date=measured.before.date, significant=c.significant,
        significance=max((r.score for r in c.regions), default=0.0) if c.significant else 0.0,
        changed_m2=round(c.changed_m2, 1), changed_m2_range=(round(low, 1), round(high, 1)),
        polygons=c.feature_collection() if c.significant else {}, note=measured.verdict()))
