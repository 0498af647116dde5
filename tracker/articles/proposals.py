"""Candidate observations from an article's sentences, for an analyst to accept, edit or reject.

A sentence with an observation keyword (lexicon) becomes a proposal for the facility it names,
or for the facility of an earlier sentence when it refers back with a head word ('l'impianto',
'the plant', 'questo sito'). Each proposal carries the evidence sentence, a date with its
precision (from the sentence, else none), low confidence, and a Source for the article. Pure.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from facilities.dates import PartialDate
from facilities.errors import ValidationError
from facilities.model import Confidence, Observation, ObservationKind, Source

from .extract import Mention
from .linking import Link
from .patterns import Compiled, fold
from .reading import Article

EXCERPT_CHARS = 300
CARRY_SENTENCES = 4  # how far back 'the plant' may refer
# 'the neighbouring complex', 'il vicino complesso', 'le complexe voisin': another facility than the one named before
NEIGHBOUR = re.compile(r"\b(?:neighbou?ring|nearby|adjacent|next-door|vicin[oa]|limitrof[oa]|voisine?|proche)\W+"
                       r"(?:\w+\W+)?$")
NEIGHBOUR_AFTER = re.compile(r"\W+(?:\w+\W+)?(?:voisine?|vicin[oa]|nearby|next door)\b")


@dataclass(frozen=True)
class Proposal:
    """An observation proposed from a sentence: kind, facility (or a proposed one), date if the text gives one, the
    evidence and the source to cite; an analyst accepts it or not."""

    kind: ObservationKind
    label: str
    facility_id: str | None  # None: the facility is itself a proposal (link.new_facility)
    facility_name: str
    link: Link
    date: PartialDate | None
    date_text: str
    evidence: str
    sentence_index: int
    source: Source
    confidence: Confidence = Confidence.LOW
    reason: str = ""
    date_reason: str = ""  # where the date comes from, or why there is none

    @property
    def summary(self) -> str:
        """The observation's summary: the label and the evidence, marked as reported."""
        return f"{self.label.capitalize()} (reported): {self.evidence[:240]}"

    def observation(self, obs_id: str, analyst: str = "", facility_id: str | None = None,
                    date: PartialDate | None = None) -> Observation:
        """The observation an analyst accepts; needs a date (give one when the text gave none)."""
        when = self.date or date
        if when is None:
            raise ValidationError("the text gives no date for this observation; give one")
        notes = f"Proposed from text: {self.reason}"
        if self.date is None:
            notes += " Date: the article's date (the sentence gives none)."
        return Observation(id=obs_id, facility_id=facility_id or self.facility_id or "", date=when,
                           kind=self.kind, summary=self.summary, confidence=self.confidence, analyst=analyst,
                           source_ids=(self.source.id,), notes=notes[:20_000])

    def as_dict(self) -> dict:
        """The proposal as JSON-ready data, with its source."""
        return {"kind": self.kind.value, "label": self.label, "facility_id": self.facility_id,
                "facility_name": self.facility_name, "date": str(self.date) if self.date else None,
                "date_precision": self.date.precision.value if self.date else None, "date_text": self.date_text,
                "date_reason": self.date_reason, "evidence": self.evidence, "confidence": self.confidence.value,
                "reason": self.reason,
                "source": {"id": self.source.id, "title": self.source.title, "language": self.source.language,
                           "published": str(self.source.published) if self.source.published else None,
                           "excerpt": self.source.excerpt}}


def article_id(article: Article) -> str:
    """A short stable id of an article, from its text."""
    return hashlib.sha1(article.text.encode("utf-8", "replace")).hexdigest()[:10]


def make_source(article: Article, evidence: str, n: int, published: PartialDate | None, origin: str = "",
                aid: str | None = None) -> Source:
    """One Source per proposal: the article, with the proposal's own sentence as the quoted excerpt."""
    excerpt = evidence if len(evidence) <= EXCERPT_CHARS else evidence[:EXCERPT_CHARS - 1] + "…"
    title = article.title.strip() or "Untitled article"
    return Source(id=f"txt-{aid or article_id(article)}-{n}", title=title[:1000],
                  publisher=(article.publisher or "")[:300], url=article.url,
                  language=article.language if article.language != "und" else None, published=published,
                  excerpt=excerpt, notes=f"Read by facilities ingest{f' from {origin}' if origin else ''}.")


def _date_for(sentence_index: int, dates: dict[int, list[Mention]], published: PartialDate | None
              ) -> tuple[PartialDate | None, str, str]:
    """The sentence's date (its first resolved one), the words that gave it, and why (or why none).
    `dates`: the date mentions by sentence, so each sentence looks only at its own (linear)."""
    unresolved = ""
    for m in dates.get(sentence_index, ()):
        value = m.data.get("best") or m.data.get("date")
        if value:
            date = PartialDate.parse(value)
            return date, m.text, f"'{m.text}' -> {value} ({date.precision.value})"
        unresolved = unresolved or m.text
    if unresolved:
        return None, unresolved, f"'{unresolved}' is relative and the article's date is unknown: give the date"
    if published is not None:
        return None, "", f"the sentence gives no date; the article's date ({published}) is used if accepted"
    return None, "", "neither the sentence nor the article gives a date: give one"


def _nearest(links: list[Link], pos: int) -> Link:
    """The facility named closest to the observation word: in 'new buildings at the X Complex, which
    supplies the nearby Y Plant' the buildings are X's."""
    def gap(lk: Link) -> int:
        m = lk.mention
        return 0 if m.start <= pos < m.end else min(abs(pos - m.start), abs(pos - m.end))
    return min(links, key=gap)


def _referent(folded: str, previous: list[Link], comp: Compiled) -> Link | None:
    """The facility a sentence refers back to with a head word ('the plant', 'il complesso'), or None
    when the head word is a neighbour's ('the neighbouring complex' is not the plant)."""
    head = comp.heads_lower.search(folded)
    if head is None or not previous:
        return None
    if NEIGHBOUR.search(folded[max(0, head.start() - 40):head.start()]) or NEIGHBOUR_AFTER.match(folded, head.end()):
        return None
    word = head.group()
    same_kind = [lk for lk in previous if word in fold(lk.mention.text)]
    return (same_kind or previous)[0]


def propose(article: Article, mentions: list[Mention], links: list[Link], comp: Compiled,
            published: PartialDate | None = None, origin: str = "") -> list[Proposal]:
    """Proposals, each for the facility its sentence states the fact about: the named facility
    closest to the observation word, else the one an earlier sentence named when this one refers
    back to it with a head word of the same kind (never to a 'neighbouring' one)."""
    by_start = {lk.mention.start: lk for lk in links}
    named_in: dict[int, list[Link]] = {}
    dates: dict[int, list[Mention]] = {}
    for m in mentions:
        if m.kind == "date":
            dates.setdefault(m.sentence_index, []).append(m)
        if m.kind == "facility" and m.start in by_start:
            named_in.setdefault(m.sentence_index, []).append(by_start[m.start])
    out: list[Proposal] = []
    seen: set[tuple] = set()
    aid = article_id(article)  # once: hashing the article per proposal would be quadratic
    last = -CARRY_SENTENCES - 1  # the latest sentence that named a facility
    for i, sentence in enumerate(article.sentences):
        folded = fold(sentence.text)
        named = [lk for lk in named_in.get(i, []) if lk.facility_id is not None or lk.new_facility is not None]
        carried, implicit = None, False
        if i not in named_in and i - last <= CARRY_SENTENCES:
            usable = [lk for lk in named_in[last] if lk.facility_id is not None or lk.new_facility is not None]
            carried = _referent(folded, usable, comp)
            if carried is None and i - last == 1 and not comp.heads_lower.search(folded):
                # no head word at all: the sentence goes on about the registry facility just named
                carried = next((lk for lk in usable if lk.facility_id is not None), None)
                implicit = carried is not None
        if i in named_in:
            last = i
        if not named and carried is None:
            continue
        date, date_text, date_reason = _date_for(i, dates, published)
        fired = False
        for kind, label, rx, fallback in comp.observations:
            hit = rx.search(folded)
            if not hit or (fallback and fired):  # a generic label only when nothing specific fired
                continue
            if named:
                target = _nearest(named, sentence.start + hit.start())
                reason = "the facility is named in the sentence" + (
                    f" (the closest of {len(named)} named there)" if len(named) > 1 else "")
            else:
                assert carried is not None  # sentences naming nothing and carrying nothing were skipped above
                target = carried
                reason = (f"the sentence goes on from {target.mention.text!r} (sentence {last + 1})" if implicit
                          else f"the sentence refers back to {target.mention.text!r} (sentence {last + 1})")
            key = (target.facility_id or target.mention.value, label, i)
            if key in seen:
                continue
            seen.add(key)
            fired = True
            why = f"'{sentence.text[hit.start():hit.end()]}' -> {label}; {reason}; link: {target.reason}"
            out.append(Proposal(kind=ObservationKind(kind), label=label, facility_id=target.facility_id,
                                facility_name=target.facility_name or target.mention.value, link=target,
                                date=date, date_text=date_text, evidence=sentence.text, sentence_index=i,
                                source=make_source(article, sentence.text, len(out) + 1, published, origin, aid),
                                reason=why, date_reason=date_reason))
    return out
