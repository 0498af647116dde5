"""'Built between X and Y', per structure: a proposal from the site's own images, recorded only when accepted.

`date_structure` takes the structure's footprint and the site's analysable dated images (the timeline of
tracker.timeline; Esri Wayback never: its terms let the browser show it, not the server read it), reads
each image once onto one grid around the footprint (`ImagerySession.read_image`), scores it with
imagery.dating (temporal cluster matching) and fits the change point. Nothing is written. The result
names the two images that bound the change, the confidence and the score behind it, every image left
out and why, and the per-image scores for a chart. `accept_dating` records it as one observation.

Which images take part, and why the others do not (each is listed in `skipped` with its reason):
- display-only images (Wayback), yearly composites (a blend of many dates cannot date an event) and
  images whose date is only a release date are left out before any pixel is read;
- a source's cloud fraction over the site above MAX_CLOUD (Sentinel-2's SCL mask) leaves a scene out;
- an image whose pixels are too coarse for the footprint (fewer than MIN_NATIVE_PIXELS of them on it)
  is left out, and so are images more than MIX_FACTOR times coarser than the finest images of the
  series: a change point over 0.5 m and 10 m images would find the change of resolution, not of the site;
- on the pixels: a footprint or ring mostly nodata, or a ring mostly bright and grey (cloud on 8-bit
  images), and any image that cannot be read.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from facilities.dates import PartialDate, covering
from facilities.errors import InputError, NotFound
from facilities.model import Confidence, ImageRef, Observation, ObservationKind, Structure
from facilities.store import Filter, Store
from imagery.base import Capture, DateCertainty
from imagery.chips import grid_bbox, valid_mask
from imagery.dating import (
    METHOD,
    ImageScore,
    change_point,
    grid_around,
    ring_masks,
    score_image,
    steady_state,
)
from imagery.errors import ImageryError
from imagery.keys import ImageKey
from imagery.session import ImagerySession
from imagery.timeline import TimelineEntry

from .errors import NothingToDate
from .timeline import find_facility, site_timeline

log = logging.getLogger(__name__)

DATING_SOURCES = ("eox", "sentinel-2", "local")  # the timeline sources that may hold analysable images
MAX_CLOUD = 0.3  # a scene whose source says more of the site is cloud is left out
MIN_NATIVE_PIXELS = 20  # an image must put at least this many of its own pixels on the footprint
MIX_FACTOR = 4.0  # images coarser than this many times the series' finest are left out
MIN_SERIES = 4  # the finest resolution with at least this many images sets the series
FINEST_PIXEL_M = 0.3  # the grid is never finer than this
MAX_GRID_SIDE = 1024  # nor larger than this many pixels a side
CHANGES = ("appeared", "disappeared", "present-throughout", "absent-throughout", "unclear")


@dataclass(frozen=True)
class Bound:
    """One end of a bracket: the image and its date."""

    date: dt.date
    key: ImageKey

    def as_json(self) -> dict[str, str]:
        """{"date": ISO date, "key": "provider:image_id"}."""
        return {"date": self.date.isoformat(), "key": str(self.key)}


@dataclass(frozen=True)
class Skipped:
    """An image of the timeline that was not measured, and why (one line a person can read)."""

    key: ImageKey
    date: dt.date
    reason: str


@dataclass(frozen=True)
class Scored:
    """An image that was measured: its score is the divergence (bits, 0..1) between the footprint's and the ring's
    colours; high where the footprint looks unlike the ground around it (a roof), low where it looks the same."""

    key: ImageKey
    date: dt.date
    score: float


@dataclass(frozen=True)
class Dating:
    """A proposed dating of one structure: never stored until `accept_dating`.

    `change`: "appeared" or "disappeared" (a bracket was found), "present-throughout" or
    "absent-throughout" (no change: the footprint looks built, or like its surroundings, on every image
    measured), "unclear" (too few images measured). `before`/`after`: the last image showing the old
    state and the first showing the new one (None without a change); `absent_until`/`present_from`
    (appearances) and `present_until`/`absent_from` (disappearances) name them by meaning.
    `confidence`: low/medium/high for the bracket (low when there is none). `score`: the change point's
    step divided by the spread of the scores within its two segments (how many times the noise the
    change is; the confidence follows it and how many images stand on each side). `levels`: the median
    score before and after the change point. `method`: how it was computed. `skipped`: the timeline's
    images not measured, each with its reason. `scores`: every image measured, oldest first (a chart).
    `notes`: sources of the timeline that failed (name -> why). `pixel_m`: the grid's pixel size."""

    facility_id: str
    structure: Structure
    change: str
    before: Bound | None
    after: Bound | None
    confidence: str
    score: float
    levels: tuple[float, float] | None
    method: str
    skipped: tuple[Skipped, ...]
    scores: tuple[Scored, ...]
    notes: dict[str, str] = field(default_factory=dict)
    pixel_m: float = 0.0

    @property
    def absent_until(self) -> Bound | None:
        """The last image where an appearing structure is absent."""
        return self.before if self.change == "appeared" else None

    @property
    def present_from(self) -> Bound | None:
        """The first image where an appearing structure is present."""
        return self.after if self.change == "appeared" else None

    @property
    def present_until(self) -> Bound | None:
        """The last image where a disappearing structure still stands."""
        return self.before if self.change == "disappeared" else None

    @property
    def absent_from(self) -> Bound | None:
        """The first image where a disappearing structure is gone."""
        return self.after if self.change == "disappeared" else None

    def as_json(self) -> dict[str, object]:
        """The contract of `facilities built --json`: structure, change, absent_until, present_from, present_until,
        absent_from ({date, key} or null), confidence, score, levels, method, skipped [{key, date, reason}], scores
        [{key, date, score}], notes, pixel_m."""
        def bound(b: Bound | None) -> dict[str, str] | None:
            return b.as_json() if b else None

        return {
            "structure": self.structure.id, "facility": self.facility_id, "change": self.change,
            "absent_until": bound(self.absent_until), "present_from": bound(self.present_from),
            "present_until": bound(self.present_until), "absent_from": bound(self.absent_from),
            "confidence": self.confidence, "score": round(self.score, 2),
            "levels": [round(v, 3) for v in self.levels] if self.levels else None, "method": self.method,
            "skipped": [{"key": str(s.key), "date": s.date.isoformat(), "reason": s.reason} for s in self.skipped],
            "scores": [{"key": str(s.key), "date": s.date.isoformat(), "score": round(s.score, 4)}
                       for s in self.scores],
            "notes": dict(self.notes), "pixel_m": round(self.pixel_m, 3),
        }

    def text(self) -> str:
        """One paragraph for people: the bracket (or the finding), confidence and score, what was skipped."""
        name = self.structure.name
        if self.change in ("appeared", "disappeared") and self.before and self.after:
            verb, old, new = (("built", "absent", "present") if self.change == "appeared"
                              else ("removed", "present", "absent"))
            head = (f"{name}: {verb} between {self.before.date} ({old} on {short_key(self.before.key)}) and "
                    f"{self.after.date} ({new} on {short_key(self.after.key)}), confidence {self.confidence} "
                    f"(score {self.score:.1f})")
        elif self.change == "present-throughout":
            head = (f"{name}: present on every image measured ({len(self.scores)}, {self.scores[0].date} to "
                    f"{self.scores[-1].date}): no construction in this period (score {self.score:.1f})")
        elif self.change == "absent-throughout":
            head = (f"{name}: absent on every image measured ({len(self.scores)}, {self.scores[0].date} to "
                    f"{self.scores[-1].date}): not built in this period (score {self.score:.1f})")
        else:
            head = f"{name}: no dating: only {len(self.scores)} image(s) could be measured"
        lines = [head + (f", {len(self.skipped)} images skipped:" if self.skipped else ", no image skipped")]
        lines += skipped_lines(self.skipped)
        lines += [f"note: {k}: {v}" for k, v in self.notes.items()]
        return "\n".join(lines)


def skipped_lines(skipped: Sequence[Skipped], *, group_from: int = 3) -> list[str]:
    """One line per skipped image, except that images of one provider left out for one reason (a run of yearly
    composites) are one line when there are at least `group_from` of them: the reasons that matter stay visible."""
    by_reason: dict[tuple[str, str], list[Skipped]] = {}
    for s in skipped:
        by_reason.setdefault((s.key.provider, s.reason), []).append(s)
    lines = []
    for (provider, reason), group in by_reason.items():
        if len(group) >= group_from:
            lines.append(f"  {len(group)} images {provider} ({group[0].date} to {group[-1].date}): {reason}")
        else:
            lines += [f"  {s.date} {short_key(s.key)}: {s.reason}" for s in group]
    return lines


def short_key(key: ImageKey) -> str:
    """The key as people read it: a long id (a local import's sha256, a scene id) cut to 14 characters and '…'."""
    ident = key.image_id if len(key.image_id) <= 16 else key.image_id[:14] + "…"
    return f"{key.provider}:{ident}"


def find_structure(store: Store, facility_id: str, structure_id: str) -> Structure:
    """The structure `structure_id` of the facility; NotFound naming the facility's structures if it has no such."""
    found = store.list_structures(Filter(facility_ids=(facility_id,)))
    for s in found:
        if s.id == structure_id:
            return s
    known = ", ".join(s.id for s in found) or "none"
    raise NotFound(f"facility {facility_id} has no structure {structure_id!r} (its structures: {known})")


def _pre_skip(entry: TimelineEntry) -> str:
    """Why an entry is left out before any pixel is read, or ''."""
    if not entry.analysable:
        return "display only: its terms let the browser show it, not the server read its pixels"
    if entry.certainty is DateCertainty.COMPOSITE:
        return "yearly composite (many dates blended, placed mid-year): cannot date an event"
    if entry.certainty is DateCertainty.RELEASED:
        return "only its release date is known: the pixels are older"
    if entry.cloud_fraction is not None and entry.cloud_fraction > MAX_CLOUD:
        return f"cloud: {entry.cloud_fraction:.0%} of the site (the source's cloud mask)"
    return ""


def choose_images(entries: Sequence[TimelineEntry], footprint_m2: float
                  ) -> tuple[list[TimelineEntry], list[Skipped], float]:
    """The entries to measure, those left out with their reasons (oldest first), and the grid's pixel size.

    Pure. NothingToDate when no entry is one the server may read."""
    skipped: list[Skipped] = []
    readable: list[TimelineEntry] = []
    for e in entries:
        reason = _pre_skip(e)
        if reason:
            skipped.append(Skipped(e.key, e.date, reason))
        else:
            readable.append(e)
    if not any(e.analysable for e in entries):
        shown = len(entries)
        raise NothingToDate(
            (f"none of the site's {shown} dated images may be analysed (Esri Wayback is display only)" if shown
             else "the site has no dated image in the period") +
            "; import your own images (facilities imagery import) or use Sentinel-2 scenes")
    resolvable: list[TimelineEntry] = []
    for e in readable:
        res = e.resolution_m
        if res is not None and res > 0 and footprint_m2 / res ** 2 < MIN_NATIVE_PIXELS:
            skipped.append(Skipped(e.key, e.date, f"{res:g} m pixels: the footprint covers "
                                                  f"{footprint_m2 / res ** 2:.0f} of them, too few to measure"))
        else:
            resolvable.append(e)
    known = sorted({e.resolution_m for e in resolvable if e.resolution_m})
    base = next((r for r in known if sum(1 for e in resolvable if (e.resolution_m or r) <= MIX_FACTOR * r)
                 >= MIN_SERIES), known[-1] if known else None)
    chosen = []
    for e in resolvable:
        if base is not None and e.resolution_m and e.resolution_m > MIX_FACTOR * base:
            skipped.append(Skipped(e.key, e.date, f"{e.resolution_m:g} m pixels, over {MIX_FACTOR:g} x coarser than "
                                                  f"the {base:g} m images this series is measured on"))
        else:
            chosen.append(e)
    finest = min((e.resolution_m for e in chosen if e.resolution_m), default=base or 0.5)
    skipped.sort(key=lambda s: (s.date, str(s.key)))
    return chosen, skipped, max(finest, FINEST_PIXEL_M)


def date_structure(store: Store, session: ImagerySession, facility: str, structure_id: str, *,
                   start: dt.date | None = None, end: dt.date | None = None,
                   sources: Sequence[str] = DATING_SOURCES) -> Dating:
    """Propose when the structure appeared (or disappeared) from the site's analysable images; writes nothing.

    `facility`: an id, name or alias; `start`/`end` limit the images' dates; `sources`: the timeline sources
    asked (Wayback adds nothing the server may read). InputError for a structure without a footprint (a point
    or a line: trace its footprint first), NotFound for an unknown facility or structure, NothingToDate when no
    image of the site may be analysed."""
    fac = find_facility(store, facility)
    structure = find_structure(store, fac.id, structure_id)
    if structure.geometry.geom_type not in ("Polygon", "MultiPolygon") or structure.footprint_m2 <= 0:
        raise InputError(f"structure {structure.id} is located by a {structure.geometry.geom_type}, not a "
                         "footprint: trace its footprint first (a polygon), then date it")
    timeline = site_timeline(store, session, fac.id, start=start, end=end, sources=tuple(sources))
    chosen, skipped, pixel_m = choose_images(timeline.entries, structure.footprint_m2)
    grid = grid_around(structure.geometry, pixel_m, max_side=MAX_GRID_SIDE)
    masks = ring_masks(structure.geometry, grid)
    local = _local_captures(session, grid_bbox(grid), [e for e in chosen if e.key.provider == session.local.key])
    measured: list[tuple[TimelineEntry, ImageScore]] = []
    for e in chosen:
        try:
            capture = local.get(e.key.image_id) or session.capture_for(e.key, grid_bbox(grid))
            chip = session.read_image(e.key, grid, capture=capture)
        except ImageryError as err:
            log.warning("dating %s: %s left out: %s", structure.id, e.key, err)
            skipped.append(Skipped(e.key, e.date, f"not read: {err}"))
            continue
        result = score_image(chip.data, valid_mask(chip.data, chip.nodata), masks)
        if result.score is None:
            skipped.append(Skipped(e.key, e.date, result.skipped))
        else:
            measured.append((e, result))
    skipped.sort(key=lambda s: (s.date, str(s.key)))
    scores = tuple(Scored(e.key, e.date, float(r.score or 0.0)) for e, r in measured)
    base = Dating(facility_id=fac.id, structure=structure, change="unclear", before=None, after=None,
                  confidence="low", score=0.0, levels=None, method=METHOD, skipped=tuple(skipped), scores=scores,
                  notes=dict(timeline.notes), pixel_m=grid.transform.a)
    step = change_point([s.score for s in scores])
    if step is None:
        return base
    levels = (step.before, step.after)
    if step.direction is None:
        return replace(base, change=steady_state([s.score for s in scores]), score=step.strength, levels=levels)
    old, new = scores[step.split - 1], scores[step.split]
    return replace(base, change=step.direction, before=Bound(old.date, old.key), after=Bound(new.date, new.key),
                   confidence=step.confidence or "low", score=step.strength, levels=levels)


def _local_captures(session: ImagerySession, bbox: tuple[float, float, float, float],
                    entries: Sequence[TimelineEntry]) -> dict[str, Capture]:
    """The local imports among `entries` by id, from one listing (not one listing per image)."""
    if not entries:
        return {}
    wanted = {e.key.image_id for e in entries}
    return {c.capture_id: c for c in session.local.captures(bbox) if c.capture_id in wanted}


def accept_dating(store: Store, dating: Dating, *, actor: str) -> Observation:
    """Record an accepted dating as one observation and return it.

    Kind: `completed` for an appearance, `demolished` for a disappearance. Completed rather than
    construction-start: the score saturates once a roof covers the footprint, and a building site (cleared
    ground, foundations) often looks half-way; the step the change point finds is the roof's, so the
    bracket dates a finished shell, and construction started earlier. Date: the narrowest PartialDate
    holding every day of the bracket (the day after the last image of the old state to the day of the
    first image of the new one; facilities.dates.covering). Image: that first image of the new state.
    Summary and notes name both bounding images, the method and the score; confidence is the bracket's.
    NothingToDate for a dating without a bracket (nothing changed, or too few images)."""
    if dating.before is None or dating.after is None or dating.change not in ("appeared", "disappeared"):
        raise NothingToDate(f"structure {dating.structure.id}: no bracket to record ({dating.change})")
    first_day = dating.before.date + dt.timedelta(days=1)
    when = covering(min(first_day, dating.after.date), dating.after.date)
    kind = ObservationKind.COMPLETED if dating.change == "appeared" else ObservationKind.DEMOLISHED
    verb = "appeared" if dating.change == "appeared" else "disappeared"
    old, new = ("absent", "present") if dating.change == "appeared" else ("present", "absent")
    summary = (f"{dating.structure.name} {verb} on imagery between {dating.before.date} and {dating.after.date} "
               f"(temporal cluster matching, confidence {dating.confidence})")
    levels = f", median divergence {dating.levels[0]:.2f} -> {dating.levels[1]:.2f} bits" if dating.levels else ""
    notes = (f"{old.capitalize()} on {dating.before.key} ({dating.before.date}); {new} on {dating.after.key} "
             f"({dating.after.date}). Method: {dating.method}. Score {dating.score:.1f} (the step over the spread "
             f"within segments{levels}); {len(dating.scores)} images measured, {len(dating.skipped)} skipped; "
             f"date {when} holds the bracket {first_day}..{dating.after.date}.")
    obs = Observation(
        id=f"obs-{uuid.uuid4().hex[:12]}", facility_id=dating.facility_id, date=when, kind=kind, summary=summary,
        structure_id=dating.structure.id, confidence=Confidence(dating.confidence), analyst=actor, notes=notes,
        image=ImageRef(dating.after.key.provider, dating.after.key.image_id, PartialDate(dating.after.date)))
    return store.add_observation(obs, actor=actor)
