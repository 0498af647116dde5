"""The words of the site report, computed once from the SiteView (pure: no store, no images, no clock).

An editor reads the title block and the summary, not the tables: so dates and times are in words
("Generated 1 December 2026, 20:15 UTC"; "Observations from 2019 to 2024"), structures carry the
short ids (A, B, C …) that the map, the figures and the timeline use, and confidence is said the
way a reader understands it. Conflicting claims (parent complexes named by different sources,
observations of one structure and kind whose dates cannot both be right) are gathered here so the
report can set them side by side.
"""

from __future__ import annotations

import datetime as dt
import re
import string
from collections.abc import Sequence
from dataclasses import dataclass

from facilities.dates import PartialDate
from facilities.model import Observation, ObservationKind, Structure
from facilities.store import Filter
from tracker.countries import country_name
from tracker.site import BUILT_KINDS, REMOVED_KINDS, SiteView

from .measured import measured_pair

CONFIDENCE_WORDS = {"high": "seen clearly, or confirmed by more than one source",
                    "medium": "likely, but seen on one image or in one source only",
                    "low": "possible, not confirmed"}
KIND_WORDS = {"construction-start": "construction started", "completed": "completed", "demolished": "demolished",
              "reroofed": "reroofed", "progress": "construction progress", "activity": "activity",
              "visit": "visit", "statement": "statement"}
TITLE_WORDS = 12  # a pasted sentence used as a source title is shown to its first words, then "…"


def short_ids(n: int) -> list[str]:
    """A, B, … Z, AA, AB, …: the short ids of `n` structures in order."""
    letters = string.ascii_uppercase
    out = []
    for i in range(n):
        label, k = "", i
        while True:
            label = letters[k % 26] + label
            k = k // 26 - 1
            if k < 0:
                break
        out.append(label)
    return out


def structure_labels(structures: Sequence[Structure]) -> dict[str, str]:
    """Structure id -> short id (A, B, …) in the SiteView's order (by name, then id): the one mapping the map,
    figures, summary and tables use."""
    return dict(zip((s.id for s in structures), short_ids(len(structures)), strict=True))


def day_words(day: dt.date) -> str:
    """'1 December 2026'."""
    return f"{day.day} {day:%B} {day.year}"


def partial_words(date: PartialDate) -> str:
    """A partial date in words: '2024', 'October 2024', '5 October 2024', 'about June 2020'."""
    if str(date).startswith("~"):
        return "about " + partial_words(PartialDate.parse(str(date)[1:]))
    start, end = date.start, date.end
    if start == end:
        text = day_words(start)
    elif (start.month, start.day, end.month, end.day) == (1, 1, 12, 31) and start.year == end.year:
        text = str(start.year)
    elif start.day == 1 and start.year == end.year and start.month == end.month:
        text = f"{start:%B} {start.year}"
    else:
        text = f"between {day_words(start)} and {day_words(end)}"
    return text


def generated_words(when: dt.datetime) -> str:
    """'Generated 1 December 2026, 20:15 UTC' (the time converted to UTC)."""
    utc = when.astimezone(dt.UTC)
    return f"Generated {day_words(utc.date())}, {utc:%H:%M} UTC"


def period_words(site: SiteView, flt: Filter = Filter()) -> str:
    """What the report covers: 'Observations from 2019 to 2024' when dates select, else 'All observations
    (2011 to 2024)', or 'No observations recorded'."""
    if flt.date_from or flt.date_to:
        first = day_words(flt.date_from) if flt.date_from else "the first"
        last = day_words(flt.date_to) if flt.date_to else "the latest"
        return f"Observations from {first} to {last}"
    if not site.observations:
        return "No observations recorded"
    y0, y1 = site.observations[0].date.start.year, max(o.date.end for o in site.observations).year
    return f"All observations ({y0})" if y0 == y1 else f"All observations ({y0} to {y1})"


def display_title(title: str, words: int = TITLE_WORDS) -> str:
    """A source title for display: its first `words` words and "…" when longer (the full text stays in the
    excerpt or the registry)."""
    parts = title.split()
    return " ".join(parts) if len(parts) <= words else " ".join(parts[:words]) + " …"


def _structure_phrase(site: SiteView, labels: dict[str, str], structure_id: str | None) -> str:
    s = site.structure(structure_id)
    if s is None:
        return structure_id or "the site"
    return f"{s.name} ({labels[s.id]})"


# what follows the measured figure in an accepted change's summary: " since <key>; ..." (before issue 17), or
# " between the <day> and <day> images, measured from the pixels" (tracker.change.change_observation now)
_CHANGE_TAIL = re.compile(r" (?:since|between the) ")


def summary_sentences(site: SiteView, labels: dict[str, str]) -> list[str]:
    """The summary an editor reads: what the site is, what changed and when, how sure, from the SiteView only."""
    f = site.facility
    obs = site.observations
    n_s, n_o = len(site.structures), len(obs)
    about = ", ".join(x for x in (country_name(f.country), f.category) if x) or "no country recorded"
    out = [f"{f.name} ({about}) has "
           f"{n_s} recorded structure{'s' if n_s != 1 else ''} and {n_o} observation{'s' if n_o != 1 else ''}"
           + (f", from {partial_words(obs[0].date)} to {partial_words(obs[-1].date)}." if obs else ".")]
    for o in obs:
        pair = measured_pair(o)
        who = _structure_phrase(site, labels, o.structure_id)
        conf = f"{o.confidence.value} confidence"
        if pair is not None and pair.kind == "dating" and pair.before_day and pair.after_day:
            verb = "appears" if o.kind in BUILT_KINDS else "disappears"
            out.append(f"Measured on the images, {who} {verb} between {day_words(pair.before_day)} and "
                       f"{day_words(pair.after_day)}: the last image without it and the first with it ({conf}).")
        elif pair is not None and pair.kind == "change":
            area = _CHANGE_TAIL.split(o.summary, maxsplit=1)[0]  # the figure; the dates are said below, in words
            span = (f"between {day_words(pair.before_day)} and {day_words(pair.after_day)}"
                    if pair.before_day and pair.after_day else f"by {partial_words(o.date)}")
            out.append(f"The images show {area} {span} ({conf}; measured from the pixels and accepted by "
                       f"{o.analyst or 'an analyst'}).")
        elif o.kind in (*BUILT_KINDS, *REMOVED_KINDS) and o.structure_id:
            out.append(f"{who}: {KIND_WORDS.get(o.kind.value, o.kind.value)} {partial_words(o.date)} ({conf}).")
    curve = site.built_up
    if curve.shown and curve.steps:
        first, last = curve.steps[0], curve.steps[-1]
        if last.area_m2 != first.area_m2:
            plural = "s" if last.footprints != 1 else ""
            out.append(f"Built-up footprint: {first.area_m2:,.0f} m² on {day_words(first.day)}, "
                       f"{last.area_m2:,.0f} m² from {day_words(last.day)} ({last.footprints} footprint{plural}).")
        else:
            out.append(f"Built-up footprint: {last.area_m2:,.0f} m² throughout ({last.footprints} footprints).")
    else:
        out.append(curve.note)
    if obs:
        latest = obs[-1]
        out.append(f"Latest: {partial_words(latest.date)}, {KIND_WORDS.get(latest.kind.value, latest.kind.value)} "
                   f"({latest.confidence.value} confidence).")
    n_conf = len(conflicts(site, labels))
    if n_conf:
        out.append(f"The record disagrees with itself on {n_conf} point{'s' if n_conf != 1 else ''}: "
                   "see Conflicting claims.")
    return out


@dataclass(frozen=True)
class Claim:
    """One side of a disagreement: what is claimed, and on whose word (source numbers, or the analyst)."""

    text: str
    cites: tuple[int, ...]
    by: str = ""


@dataclass(frozen=True)
class Conflict:
    """Claims about one thing that cannot all be right."""

    topic: str
    claims: tuple[Claim, ...]


def _disagree(a: Observation, b: Observation) -> bool:
    return a.date.end < b.date.start or b.date.end < a.date.start


def conflicts(site: SiteView, labels: dict[str, str]) -> list[Conflict]:
    """Parent complexes named differently by different sources, and observations of one structure and dating kind
    (construction start, completed, demolished) whose dates do not overlap."""
    out: list[Conflict] = []
    parents = site.facility.parents
    if len({p.name.casefold() for p in parents}) > 1:
        out.append(Conflict("Part of which complex", tuple(Claim(p.name, site.citations(p.source_ids))
                                                           for p in parents)))
    dating = (*BUILT_KINDS, *REMOVED_KINDS)
    groups: dict[tuple[str, ObservationKind], list[Observation]] = {}
    for o in site.observations:
        if o.structure_id and o.kind in dating:
            groups.setdefault((o.structure_id, o.kind), []).append(o)
    for (sid, kind), group in groups.items():
        if any(_disagree(a, b) for i, a in enumerate(group) for b in group[i + 1:]):
            topic = f"When {_structure_phrase(site, labels, sid)} was {KIND_WORDS.get(kind.value, kind.value)}"
            out.append(Conflict(topic, tuple(Claim(f"{partial_words(o.date)} ({o.confidence.value} confidence)",
                                                   site.citations(o.source_ids), o.analyst) for o in group)))
    return out
