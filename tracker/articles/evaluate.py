"""Scoring the reader against a gold set: precision and recall per kind. Pure.

A gold article lists, per kind, the distinct names expected; predictions are compared on the same
footing (distinct names per article, case- and accent-insensitive, spaces and quotes normalised),
so a name found three times counts once, and so does a name missed three times.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .patterns import fold

SCORED = ("facility", "place", "system")


def norm(text: str) -> str:
    """Text folded for comparing extracted values with gold annotations: no accents, apostrophes, surrounding quotes
    or repeated spaces."""
    return re.sub(r"\s+", " ", fold(text).replace("'", "").replace("\u2019", "")).strip(" \"'«»“”")


@dataclass
class Tally:
    """True positives, false positives and misses of one kind of extraction against the gold set, with the examples."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    false_positives: list[str] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        """Share of the extracted items that are right (1.0 when nothing was extracted)."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        """Share of the gold items that were found (1.0 when there were none)."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall."""
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def score_article(expected: Mapping[str, Iterable[str]], found: Iterable[tuple[str, str]], tallies: dict[str, Tally],
                  label: str = "") -> None:
    """Add one article's counts: `expected` kind -> names, `found` (kind, text) pairs."""
    got: dict[str, set[str]] = {k: set() for k in SCORED}
    for kind, text in found:
        if kind in got:
            got[kind].add(norm(text))
    for kind in SCORED:
        want = {norm(t) for t in expected.get(kind, ())}
        t = tallies.setdefault(kind, Tally())
        t.tp += len(want & got[kind])
        t.fp += len(got[kind] - want)
        t.fn += len(want - got[kind])
        t.false_positives += [f"{label}: {x}" for x in sorted(got[kind] - want)]
        t.misses += [f"{label}: {x}" for x in sorted(want - got[kind])]


def score_links(expected: Mapping[str, str | None], links: Iterable[tuple[str, str | None]]) -> tuple[int, int]:
    """(correct, total) over the gold links: a mention linked to the expected facility (or to none)."""
    by_text = {norm(text): fid for text, fid in links}
    correct = total = 0
    for text, fid in expected.items():
        key = norm(text)
        if key not in by_text:
            continue  # a missed mention is counted by recall, not here
        total += 1
        correct += by_text[key] == fid
    return correct, total


def date_values(mentions: Iterable) -> set[str]:
    """The resolved values of an article's date mentions ('2024-11-25', '~2024-10', '2023-11/2024-11');
    a relative date the reader could not resolve counts as not found."""
    out = set()
    for m in mentions:
        if m.kind == "date" and m.data.get("date"):
            out.add(m.data["date"] + (f"/{m.data['until']}" if m.data.get("until") else ""))
    return out


def score_values(kind: str, expected: Iterable[str], found: Iterable[str], tallies: dict[str, Tally],
                 label: str = "") -> None:
    """Add counts for a kind compared as exact values (dates)."""
    want, got = set(expected), set(found)
    t = tallies.setdefault(kind, Tally())
    t.tp += len(want & got)
    t.fp += len(got - want)
    t.fn += len(want - got)
    t.false_positives += [f"{label}: {x}" for x in sorted(got - want)]
    t.misses += [f"{label}: {x}" for x in sorted(want - got)]


def score_attribution(expected: Iterable[Mapping[str, str]], proposals: Iterable[tuple[str | None, str, str]],
                      tallies: dict[str, Tally], label: str = "") -> None:
    """Proposals as (facility id, facility name, evidence sentence) against the annotated (facility, evidence)
    pairs: a proposal is right when it names the annotated facility (registry id, or the name for a
    facility outside the registry) and its evidence sentence holds the annotated words. Each distinct
    (facility, sentence) counts once."""
    want = [(norm(e["facility"]), norm(e["evidence"])) for e in expected]
    predicted = {(norm(fid or name), norm(evidence)) for fid, name, evidence in proposals}
    t = tallies.setdefault("attribution", Tally())
    matched: set[int] = set()
    for fac, sentence in sorted(predicted):
        hit = next((i for i, (wf, we) in enumerate(want) if wf == fac and we in sentence), None)
        if hit is None:
            t.fp += 1
            t.false_positives.append(f"{label}: {fac} <- {sentence[:80]}")
        else:
            t.tp += hit not in matched
            matched.add(hit)
    t.fn += len(want) - len(matched)
    t.misses += [f"{label}: {wf} <- {we[:80]}" for i, (wf, we) in enumerate(want) if i not in matched]
