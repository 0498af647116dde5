"""Searching and filtering the facility list (pure: no Streamlit).

A query matches a facility when every word of it is found in the facility's name, one of its
aliases (in any language), its id or a town it lies near (`places`, from tracker.places), after
`normalise` on both sides: case-folded, diacritics removed ('Hamhŭng' is found by 'hamhung'),
whitespace collapsed. Non-Latin scripts stay as they are, so a Korean alias is found by the Korean
text.

A word is found when it is part of one of those texts ('febbr' finds 'Febbraio'), or else when it
is a whole word of them with at most `typo_budget` typos (rapidfuzz's optimal string alignment
distance: a missing, extra or wrong letter, or two letters swapped, is one typo): 'Febraio' and
'Hamhugn' find the February 11 Plant. Words of three letters or fewer must be exact, one typo is
allowed from four letters and two from nine, so a word that is no name finds nothing rather than
every short word within one letter of it. Results are ranked: fewest typos first, then by name.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from rapidfuzz.distance import OSA
from rapidfuzz.process import cdist

from facilities.model import Facility

EXACT_UP_TO = 3  # letters: a word this short must be found as it is typed
TWO_TYPOS_FROM = 9  # letters: a word this long may carry two typos
_SPLIT = re.compile(r"[\s\-_/,.;:()\[\]'\"]+")


def normalise(text: str) -> str:
    """Case-fold, strip combining marks (NFKD), collapse whitespace; other characters are kept.

    Hangul syllables decompose under NFKD into jamo, so the result is recomposed (NFC) after the
    marks are dropped: '함흥' stays '함흥'.
    """
    decomposed = unicodedata.normalize("NFKD", text or "")
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    recomposed = unicodedata.normalize("NFC", stripped).casefold()
    return " ".join(recomposed.split())


def typo_budget(word: str) -> int:
    """How many typos a query word may carry and still find a name's word (see the module)."""
    if len(word) <= EXACT_UP_TO:
        return 0
    return 1 if len(word) < TWO_TYPOS_FROM else 2


def _haystacks(facility: Facility, places: Sequence[str] = ()) -> tuple[str, ...]:
    return tuple(normalise(t) for t in (*facility.names(), facility.id, *places) if t)


@dataclass(frozen=True)
class SearchIndex:
    """Every facility's searchable texts, normalised once (build it once per registry revision):
    one string per facility for the part-of-a-word test, and the vocabulary of whole words, each
    with the facilities that use it, for the typo test (one rapidfuzz `cdist` call per query word)."""

    facilities: tuple[Facility, ...]
    texts: tuple[str, ...]  # per facility: its haystacks joined by a newline (no query word holds one)
    vocabulary: tuple[str, ...]
    users: tuple[np.ndarray, ...]  # per vocabulary word: the indices of the facilities that use it
    position: dict[str, int] = field(default_factory=dict)  # facility id -> index

    @classmethod
    def build(cls, facilities: Iterable[Facility], places: Mapping[str, Sequence[str]] | None = None) -> SearchIndex:
        """Index `facilities` (and, when given, the towns each lies near: `places`, facility id -> names)."""
        facilities = tuple(facilities)
        places = places or {}
        texts: list[str] = []
        words: dict[str, list[int]] = {}
        for i, f in enumerate(facilities):
            hay = _haystacks(f, places.get(f.id, ()))
            texts.append("\n".join(hay))
            for w in {w for h in hay for w in _SPLIT.split(h) if w}:
                words.setdefault(w, []).append(i)
        vocabulary = tuple(words)
        return cls(facilities, tuple(texts), vocabulary,
                   tuple(np.array(words[w], dtype=np.int64) for w in vocabulary),
                   {f.id: i for i, f in enumerate(facilities)})

    def typos(self, query: str) -> np.ndarray:
        """Per facility, the typos the query needs to match it (every word found: see the module),
        or -1 where some word is not found. An empty query matches every facility with 0."""
        n = len(self.facilities)
        total = np.zeros(n, dtype=np.int64)
        for word in normalise(query).split():
            best = np.full(n, -1, dtype=np.int64)
            budget = typo_budget(word)
            if budget and self.vocabulary:
                dist = cdist([word], self.vocabulary, scorer=OSA.distance, score_cutoff=budget, workers=1)[0]
                for v in np.flatnonzero(dist <= budget):  # ascending over words; keep each facility's fewest
                    users = self.users[v]
                    old = best[users]
                    best[users] = np.where((old < 0) | (old > dist[v]), dist[v], old)
            exact = np.fromiter((word in t for t in self.texts), dtype=bool, count=n)
            best[exact] = 0
            total = np.where((best < 0) | (total < 0), -1, total + best)
        return total

    def search(self, query: str, among: Collection[str] | None = None) -> list[Facility]:
        """The facilities the query matches (only those whose id is in `among`, when given): fewest
        typos first, then by name."""
        typos = self.typos(query)
        found = [(int(typos[i]), f.name.casefold(), f.id, f) for i, f in enumerate(self.facilities)
                 if typos[i] >= 0 and (among is None or f.id in among)]
        return [f for *_, f in sorted(found, key=lambda t: t[:3])]


def matches(facility: Facility, query: str, places: Sequence[str] = ()) -> bool:
    """Every word of the query is part of the name, of one alias, of the id or of a town it lies near, or one of
    their words with no more typos than its budget (see the module)."""
    if not normalise(query):
        return True
    return bool(SearchIndex.build([facility], {facility.id: places}).typos(query)[0] >= 0)


def filter_facilities(facilities: Iterable[Facility], query: str = "", countries: Collection[str] = (),
                      categories: Collection[str] = (), statuses: Collection[str] = (),
                      last_observed_from: dt.date | None = None,
                      last_observations: Mapping[str, dt.date] | None = None,
                      places: Mapping[str, Sequence[str]] | None = None,
                      index: SearchIndex | None = None) -> list[Facility]:
    """The facilities that match the query and every filter given: by name without a query, ranked
    (fewest typos, then name) with one.

    An empty filter does not filter. With `last_observed_from`, only facilities whose last
    observation (from `last_observations`, facility id -> date) is on or after that day remain;
    facilities never observed are left out. `places` (facility id -> the towns it lies near) lets
    the query find a site by its town; `index`, built once from the same facilities, saves building it per call.
    """
    wanted_status = {str(s) for s in statuses}
    last = last_observations or {}
    kept = []
    for f in facilities:
        if countries and f.country not in countries:
            continue
        if categories and f.category not in categories:
            continue
        if wanted_status and str(f.status) not in wanted_status:
            continue
        if last_observed_from is not None:
            seen = last.get(f.id)
            if seen is None or seen < last_observed_from:
                continue
        kept.append(f)
    if not normalise(query):
        return sorted(kept, key=lambda f: (f.name.casefold(), f.id))
    if index is None or any(index.position.get(f.id) is None for f in kept):
        index = SearchIndex.build(kept, places)
    return index.search(query, among={f.id for f in kept})
