"""Ingest glue for the CLI and the app: plain-text reports of what was read, and the review step
that writes accepted proposals (Source, then new facility if any, then Observation) to a store.
Nothing is written that the analyst (or --accept-all) did not accept.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from facilities.dates import PartialDate
from facilities.errors import DuplicateId, FacilitiesError
from facilities.model import Confidence, Observation, ObservationKind
from facilities.store import Filter, Store

from .analyse import ArticleResult, Reader
from .proposals import Proposal
from .reading import MAX_INPUT_CHARS
from .resources import load_resources

ARTICLE_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".xml", ".rss", ".atom")  # files read as articles
_SHOWN = ("facility", "place", "system", "organisation", "person", "date", "figure")


def max_file_bytes() -> int:
    """The largest article file read, in bytes: about the UTF-8 size of the character limit."""
    return MAX_INPUT_CHARS * 2  # UTF-8 text of the character limit, roughly


def _one_line(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def format_result(name: str, r: ArticleResult) -> str:
    """A plain-text report of one article's mentions, links and proposals, as the CLI prints it."""
    a = r.article
    lines = [f"== {name} [article {a.index + 1}] {_one_line(a.title, 90)!r} ({a.language}, {len(a.text):,} chars)"]
    for kind in _SHOWN:
        ms = r.of_kind(kind)
        if not ms:
            continue
        lines.append(f"{kind} ({len(ms)}):")
        seen: set[tuple[str, str]] = set()
        for m in ms:
            if (m.text, m.value) in seen:
                continue
            seen.add((m.text, m.value))
            value = f" = {m.value}" if m.value != m.text else ""
            lines.append(f"  {m.text}{value}   [sentence {m.sentence_index + 1}]")
    if r.links:
        lines.append("links:")
        for lk in r.links:
            target = lk.facility_id or (f"NEW {lk.new_facility.id} ({lk.new_facility.location_precision.value})"
                                        if lk.new_facility else "none (no place to locate it)")
            lines.append(f"  {lk.mention.text} -> {target}: {lk.reason}")
    if r.proposals:
        lines.append("proposals:")
        for i, p in enumerate(r.proposals, 1):
            when = f"{p.date} ({p.date.precision.value})" if p.date else "no date"
            lines.append(f"  [{i}] {p.kind.value} / {p.label} at {p.facility_id or 'NEW ' + p.facility_name}, {when}")
            lines.append(f"      \"{_one_line(p.evidence)}\"")
    return "\n".join(lines)


def _site_of(p: Proposal) -> str | None:
    return p.facility_id or (p.link.new_facility.id if p.link.new_facility is not None else None)


def find_recorded(store: Store, p: Proposal, date: PartialDate | None = None) -> Observation | None:
    """An observation the registry already holds for what `p` proposes: the same site and kind and an
    overlapping date, or the same source sentence. Read through the Store protocol only."""
    site, date = _site_of(p), date or p.date or p.source.published
    if site is None or date is None:
        return None
    try:
        candidates = store.list_observations(Filter(facility_ids=(site,), date_from=date.start, date_to=date.end))
    except FacilitiesError:
        return None
    return next((o for o in candidates if o.kind == p.kind or p.source.id in o.source_ids), None)


def recorded_notes(store: Store, proposals: Sequence[Proposal]) -> list[str]:
    """For each proposal, '' or 'already recorded: <observation> (<date>)'. A proposal repeating an
    earlier one of the same list (same site, kind, overlapping date) is recorded by that one."""
    notes: list[str] = []
    earlier: list[tuple[int, str, ObservationKind, PartialDate]] = []  # (number, site, kind, date) proposed above
    for p in proposals:
        date, site = p.date or p.source.published, _site_of(p)
        found = find_recorded(store, p, date)
        if found is not None:
            notes.append(f"already recorded: {found.id} ({found.date})")
            continue
        twin = None
        if date is not None and site is not None:
            twin = next((n for n, s, k, d in earlier if s == site and k == p.kind
                         and d.start <= date.end and date.start <= d.end), None)
            if twin is None:
                earlier.append((len(notes) + 1, site, p.kind, date))
        notes.append(f"already proposed above (#{twin})" if twin is not None else "")
    return notes


def review_proposals(store: Store, proposals: list[Proposal], *, actor: str, accept_all: bool,
                     confirm: Callable[[str], bool], echo: Callable[[str], None]) -> list[dict]:
    """Ask about each proposal (or accept all); write the accepted ones; return what was written.
    One already in the registry (same site, kind, overlapping date) is shown and not written again."""
    written: list[dict] = []
    for i, p in enumerate(proposals, 1):
        where = p.facility_id or f"new facility {p.facility_name!r}"
        head = f"[{i}/{len(proposals)}] {p.kind.value} ({p.label}) at {where}: \"{_one_line(p.evidence, 200)}\""
        date = p.date or p.source.published
        if date is None:
            echo(f"{head}\n  skipped: the text gives no date; add one in the app")
            continue
        recorded = find_recorded(store, p, date)
        if recorded is not None:
            echo(f"{head}\n  already recorded: {recorded.id} ({recorded.date}); not written again")
            continue
        if p.facility_id is None and p.link.new_facility is None:
            echo(f"{head}\n  skipped: no registry facility and no city to place a new one")
            continue
        if not accept_all and not confirm(f"{head}\n  accept ({date})?"):
            continue
        try:
            written.append(write_proposal(store, p, date, actor))
        except FacilitiesError as err:
            echo(f"{head}\n  not written: {err}")
    return written


def write_proposal(store: Store, p: Proposal, date: PartialDate, actor: str) -> dict:
    """Write one accepted proposal: its Source, a new facility if it proposes one, the Observation."""
    with contextlib.suppress(DuplicateId):  # the same sentence of the same article, accepted before: cite it again
        store.add_source(p.source, actor=actor)
    facility_id = p.facility_id
    if facility_id is None:
        new = p.link.new_facility
        if new is None:
            raise FacilitiesError("no facility to attach the observation to")
        with contextlib.suppress(DuplicateId):  # proposed by an earlier sentence of this run, or accepted before
            store.add_facility(new, actor=actor)
        facility_id = new.id
    obs = p.observation(f"obs-{uuid.uuid4().hex[:12]}", analyst=actor, facility_id=facility_id, date=date)
    obs = store.add_observation(obs, actor=actor)
    return {"observation_id": obs.id, "facility_id": facility_id, "kind": obs.kind.value, "date": str(obs.date),
            "source_id": p.source.id}


def read_text(store: Store, text: str, name: str, published: str | None = None) -> list[ArticleResult]:
    """Articles in pasted or uploaded text, linked to the registry's facilities as they are now."""
    reader = Reader(load_resources(), store.list_facilities())
    return reader.read_bytes(text.encode("utf-8"), name=name, published=published or None)


def read_files(store: Store, files: Sequence[tuple[str, bytes]], published: str | None = None,
               progress: Callable[[int, int, str], None] | None = None
               ) -> tuple[list[tuple[str, ArticleResult]], list[str]]:
    """Several files (text, Markdown, HTML, RSS/Atom feeds) read in one go against one registry
    snapshot: each article with its file's name, and a message for each file that could not be
    read (the others are still read). `progress(done, total, name)` is called before each file."""
    reader = Reader(load_resources(), store.list_facilities())
    read: list[tuple[str, ArticleResult]] = []
    problems: list[str] = []
    for n, (name, data) in enumerate(files):
        if progress is not None:
            progress(n, len(files), name)
        if len(data) > max_file_bytes():
            problems.append(f"{name}: {len(data):,} bytes is too large to be articles (limit {max_file_bytes():,})")
            continue
        try:
            read += [(name, r) for r in reader.read_bytes(data, name=name, published=published or None)]
        except FacilitiesError as err:
            problems.append(str(err) if name in str(err) else f"{name}: {err}")
    if progress is not None:
        progress(len(files), len(files), "")
    return read, problems


@dataclass(frozen=True)
class Accepted:
    """A proposal the analyst accepted, with the kind, confidence and date they may have edited."""

    proposal: Proposal
    kind: str
    confidence: str
    date: str  # YYYY, YYYY-MM or YYYY-MM-DD (~ for approximate)


def write_accepted(store: Store, accepted: Sequence[Accepted], actor: str) -> tuple[int, list[str]]:
    """Write each accepted proposal (its source, a new facility if it proposes one, the observation).
    All or nothing: every proposal is checked first, and they are written as one unit of work
    (one history group, so one undo takes them all back). Returns how many were written and, if
    any could not be, what stopped them (then none was written)."""
    from facilities.store import Add  # the store's unit of work (issue 12)

    changes, problems = [], []
    for a in accepted:
        p = a.proposal
        try:
            if not a.date:
                raise FacilitiesError("give a date (YYYY, YYYY-MM or YYYY-MM-DD)")
            date = PartialDate.parse(a.date)
            chosen = replace(p, kind=ObservationKind(a.kind), confidence=Confidence(a.confidence), date=date)
            facility_id = chosen.facility_id
            changes.append(Add(chosen.source, if_absent=True))  # cited again when accepted before
            if facility_id is None:
                if chosen.link.new_facility is None:
                    raise FacilitiesError("no facility to attach the observation to")
                changes.append(Add(chosen.link.new_facility, if_absent=True))  # proposed by an earlier sentence
                facility_id = chosen.link.new_facility.id
            changes.append(Add(chosen.observation(f"obs-{uuid.uuid4().hex[:12]}", analyst=actor,
                                                  facility_id=facility_id, date=date)))
        except (FacilitiesError, ValueError) as err:
            problems.append(f"{p.facility_name}: {err}")
    if problems:
        return 0, [*problems, "nothing was written: correct these and accept again"]
    try:
        store.apply(changes, actor=actor)
    except FacilitiesError as err:
        return 0, [f"nothing was written: {err}"]
    return len(accepted), []
