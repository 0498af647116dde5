"""Searching and filtering the facility list (pure: no Streamlit).

A query matches a facility when every word of it is found in the facility's name, one of its
aliases (in any language) or its id, after `normalise` on both sides: case-folded, diacritics
removed ('Hamhŭng' is found by 'hamhung'), whitespace collapsed. Non-Latin scripts stay as
they are, so a Korean alias is found by the Korean text.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Collection, Iterable, Mapping

from facilities.model import Facility


def normalise(text: str) -> str:
    """Case-fold, strip combining marks (NFKD), collapse whitespace; other characters are kept.

    Hangul syllables decompose under NFKD into jamo, so the result is recomposed (NFC) after the
    marks are dropped: '함흥' stays '함흥'.
    """
    decomposed = unicodedata.normalize("NFKD", text or "")
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    recomposed = unicodedata.normalize("NFC", stripped).casefold()
    return " ".join(recomposed.split())


def _haystacks(facility: Facility) -> tuple[str, ...]:
    return (*(normalise(n) for n in facility.names()), normalise(facility.id))


def matches(facility: Facility, query: str) -> bool:
    """Every word of the query is a substring of the name, of one alias or of the id."""
    words = normalise(query).split()
    if not words:
        return True
    haystacks = _haystacks(facility)
    return all(any(w in h for h in haystacks) for w in words)


def filter_facilities(facilities: Iterable[Facility], query: str = "", countries: Collection[str] = (),
                      categories: Collection[str] = (), statuses: Collection[str] = (),
                      last_observed_from: dt.date | None = None,
                      last_observations: Mapping[str, dt.date] | None = None) -> list[Facility]:
    """The facilities that match the query and every filter given, in name order.

    An empty filter does not filter. With `last_observed_from`, only facilities whose last
    observation (from `last_observations`, facility id -> date) is on or after that day remain;
    facilities never observed are left out.
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
        if not matches(f, query):
            continue
        kept.append(f)
    return sorted(kept, key=lambda f: (f.name.casefold(), f.id))
