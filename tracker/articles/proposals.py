"""Candidate observations from an article's sentences, for an analyst to accept, edit or reject.

A sentence with an observation keyword (lexicon) becomes a proposal for the facility it names,
or for the facility of an earlier sentence when it refers back with a head word ('l'impianto',
'the plant', 'questo sito'). Each proposal carries the evidence sentence, a date with its
precision (from the sentence, else none), low confidence, and a Source for the article. Pure.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from facilities.dates import PartialDate
from facilities.model import Confidence, Observation, ObservationKind, Source

from .extract import Mention
from .linking import Link
from .patterns import Compiled, fold
from .reading import Article

EXCERPT_CHARS = 300
CARRY_SENTENCES = 4  # how far back 'the plant' may refer


@dataclass(frozen=True)
class Proposal:
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
        return f"{self.label.capitalize()} (reported): {self.evidence[:240]}"

    def observation(self, obs_id: str, analyst: str = "", facility_id: str | None = None,
                    date: PartialDate | None = None) -> Observation:
        """The observation an analyst accepts; needs a date (give one when the text gave none)."""
        notes = f"Proposed from text: {self.reason}"
        if self.date is None and date is not None:
            notes += " Date: the article's date (the sentence gives none)."
        return Observation(id=obs_id, facility_id=facility_id or self.facility_id or "", date=self.date or date,
                           kind=self.kind, summary=self.summary, confidence=self.confidence, analyst=analyst,
                           source_ids=(self.source.id,), notes=notes[:20_000])

    def as_dict(self) -> dict:
        return {"kind": self.kind.value, "label": self.label, "facility_id": self.facility_id,
                "facility_name": self.facility_name, "date": str(self.date) if self.date else None,
                "date_precision": self.date.precision.value if self.date else None, "date_text": self.date_text,
                "date_reason": self.date_reason, "evidence": self.evidence, "confidence": self.confidence.value,
                "reason": self.reason,
                "source": {"id": self.source.id, "title": self.source.title, "language": self.source.language,
                           "published": str(self.source.published) if self.source.published else None,
                           "excerpt": self.source.excerpt}}


def article_id(article: Article) -> str:
    return hashlib.sha1(article.text.encode("utf-8", "replace")).hexdigest()[:10]


def make_source(article: Article, evidence: str, n: int, published: PartialDate | None, origin: str = "") -> Source:
    """One Source per proposal: the article, with the proposal's own sentence as the quoted excerpt."""
    excerpt = evidence if len(evidence) <= EXCERPT_CHARS else evidence[:EXCERPT_CHARS - 1] + "…"
    title = article.title.strip() or "Untitled article"
    return Source(id=f"txt-{article_id(article)}-{n}", title=title[:1000], publisher=(article.publisher or "")[:300],
                  url=article.url,
                  language=article.language if article.language != "und" else None, published=published,
                  excerpt=excerpt, notes=f"Read by facilities ingest{f' from {origin}' if origin else ''}.")


def _date_for(sentence_index: int, mentions: list[Mention], published: PartialDate | None
              ) -> tuple[PartialDate | None, str, str]:
    """The sentence's date (its first resolved one), the words that gave it, and why (or why none)."""
    unresolved = ""
    for m in mentions:
        if m.kind != "date" or m.sentence_index != sentence_index:
            continue
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


def propose(article: Article, mentions: list[Mention], links: list[Link], comp: Compiled,
            published: PartialDate | None = None, origin: str = "") -> list[Proposal]:
    by_start = {lk.mention.start: lk for lk in links}
    facility_sentences: dict[int, Link] = {}
    for m in mentions:
        if m.kind == "facility" and m.start in by_start:
            facility_sentences.setdefault(m.sentence_index, by_start[m.start])
    out: list[Proposal] = []
    seen: set[tuple] = set()
    last = -CARRY_SENTENCES - 1  # the latest sentence that named a facility
    for i, sentence in enumerate(article.sentences):
        folded = fold(sentence.text)
        target = facility_sentences.get(i)
        reason = "the facility is named in the sentence"
        if target is None and i - last <= CARRY_SENTENCES and comp.heads_lower.search(folded):
            target = facility_sentences[last]
            reason = f"the sentence refers back to {target.mention.text!r} (sentence {last + 1})"
        if i in facility_sentences:
            last = i
        if target is None or (target.facility_id is None and target.new_facility is None):
            continue
        date, date_text, date_reason = _date_for(i, mentions, published)
        fired = False
        for kind, label, rx, fallback in comp.observations:
            hit = rx.search(folded)
            if not hit or (fallback and fired):  # a generic label only when nothing specific fired
                continue
            key = (target.facility_id or target.mention.value, label, i)
            if key in seen:
                continue
            seen.add(key)
            fired = True
            why = f"'{sentence.text[hit.start():hit.end()]}' -> {label}; {reason}; link: {target.reason}"
            out.append(Proposal(kind=ObservationKind(kind), label=label, facility_id=target.facility_id,
                                facility_name=target.facility_name or target.mention.value, link=target,
                                date=date, date_text=date_text, evidence=sentence.text, sentence_index=i,
                                source=make_source(article, sentence.text, len(out) + 1, published, origin),
                                reason=why, date_reason=date_reason))
    return out
