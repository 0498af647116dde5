"""Facility mentions -> registry facilities, with a score and the reason; or a proposed new one.

Evidence, strongest first: an alias of the facility (any language) in the text; the same name
words (numbers and months must agree: 'February 8' is not 'February 11'); a fuzzy score on the
name words, high alone or moderate plus the same city. A head word alone ('plant', 'impianto')
never links. Pure: takes Facility values, returns values.
"""

from __future__ import annotations

import bisect
import difflib
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

import shapely

from facilities.model import Facility, LocationPrecision, slugify

from .dates import MONTHS
from .extract import AliasHit, Mention
from .patterns import fold, name_core, phrase_regex

LINK_SCORE = 0.88  # fuzzy score that links on its own
CITY_SCORE = 0.72  # fuzzy score that links when the facility is in the city the sentence names
SAME_CITY_KM = 30.0
NEW_SITE_HALF_DEG = 0.02  # a new facility located only to a city: a box of about 4 km around it


@dataclass(frozen=True)
class FacilityRef:
    """One registry name or alias of a facility, with the facility's location (for the same-city test)."""

    id: str
    name: str
    alias: str
    lang: str | None
    lat: float
    lon: float


@dataclass(frozen=True)
class Link:
    """A facility mention matched to a registry facility, or to none (then perhaps a proposed new facility), with the
    score and the reason."""

    mention: Mention
    facility_id: str | None
    facility_name: str | None
    score: float
    reason: str
    new_facility: Facility | None = None  # proposed when nothing in the registry fits

    def as_dict(self) -> dict:
        """The link as JSON-ready data, with the proposed new facility if there is one."""
        d = {"mention": self.mention.text, "start": self.mention.start, "facility_id": self.facility_id,
             "facility_name": self.facility_name, "score": round(self.score, 3), "reason": self.reason}
        if self.new_facility is not None:
            f = self.new_facility
            d["new_facility"] = {"id": f.id, "name": f.name, "location_precision": f.location_precision.value,
                                 "country": f.country, "lat": round(f.geometry.centroid.y, 5),
                                 "lon": round(f.geometry.centroid.x, 5), "notes": f.notes}
        return d


def _key(words: Iterable[str]) -> list[str]:
    """Name words with month names as numbers, so 'Stabilimento 11 Febbraio' ~ 'February 11 Plant'."""
    return sorted(f"m{MONTHS[w]}" if w in MONTHS else w for w in words)


class AliasIndex:
    """Every name of every registry facility, folded, for exact and fuzzy matching."""

    def __init__(self, facilities: Iterable[Facility], generic: frozenset[str]):
        self.generic = generic
        self.by_alias: dict[str, FacilityRef] = {}
        self.refs: list[tuple[FacilityRef, list[str]]] = []
        for f in facilities:
            c = f.geometry.centroid
            for name, lang in [(f.name, None), *((a.name, a.lang) for a in f.aliases)]:
                core = name_core(name, generic)
                if not core:  # an alias that is only a common word would link any 'plant'
                    continue
                ref = FacilityRef(f.id, f.name, name, lang, c.y, c.x)
                self.by_alias.setdefault(re.sub(r"[\s-]+", " ", fold(name).strip()), ref)
                self.refs.append((ref, _key(core)))
        self.regex = phrase_regex(self.by_alias)
        self._best: dict[str, tuple[float, FacilityRef | None]] = {}

    def best(self, name: str) -> tuple[float, FacilityRef | None]:
        """The registry name closest to `name`, with its score; cached, as articles repeat names."""
        if name not in self._best:
            words = _key(name_core(name, self.generic))
            best: tuple[float, FacilityRef | None] = (0.0, None)
            for ref, ref_words in self.refs:
                score = _score(words, ref_words)
                if score > best[0]:
                    best = (score, ref)
            if len(self._best) > 100_000:
                self._best.clear()
            self._best[name] = best
        return self._best[name]

    def find(self, folded: str) -> list[AliasHit]:
        """Every registry name or alias occurring in the folded text, as AliasHits."""
        hits = []
        for m in self.regex.finditer(folded):
            ref = self.by_alias.get(re.sub(r"[\s-]+", " ", m.group()))
            if ref:
                hits.append(AliasHit(m.start(), m.end(), ref.id, ref.name, ref.alias))
        return hits


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2, dl = math.radians(lat1), math.radians(lat2), math.radians(lon2 - lon1)
    c = math.sin(p1) * math.sin(p2) + math.cos(p1) * math.cos(p2) * math.cos(dl)
    return 6371.0 * math.acos(max(-1.0, min(1.0, c)))


def _nearest_place(mention: Mention, located: list[Mention], starts: list[int]) -> Mention | None:
    """The city named in the mention's sentence, else the last one before it, else the first after.
    `located` are the article's located places in text order, `starts` their offsets."""
    if not located:
        return None
    i = bisect.bisect_left(starts, mention.start)
    near = [p for p in located[max(0, i - 1):i + 1] if p.sentence_index == mention.sentence_index]
    if near:
        return min(near, key=lambda p: abs(p.start - mention.start))
    return located[i - 1] if i > 0 else located[0]


def _score(words: list[str], ref_words: list[str]) -> float:
    nums, ref_nums = {w for w in words if w[-1].isdigit()}, {w for w in ref_words if w[-1].isdigit()}
    if nums != ref_nums:
        return 0.0  # 'Factory No. 26' and 'Factory No. 62' are different places whatever the letters say
    if words == ref_words:
        return 0.95
    return difflib.SequenceMatcher(None, " ".join(words), " ".join(ref_words)).ratio()


def link_mention(mention: Mention, index: AliasIndex, place: Mention | None) -> Link:
    """Link one facility mention: an exact alias, else the closest registry name if it scores high enough (or fairly
    high and in the same city as a nearby place); otherwise no link and perhaps a new facility at that place."""
    if mention.via == "alias":
        named = index.by_alias[re.sub(r"[\s-]+", " ", fold(mention.data["alias"]).strip())]
        lang = f" ({named.lang})" if named.lang else ""
        return Link(mention, named.id, named.name, 1.0, f"alias '{named.alias}'{lang} of {named.name}")
    score, ref = index.best(mention.value)
    if ref is not None and score >= LINK_SCORE:
        return Link(mention, ref.id, ref.name, score, f"same name words as '{ref.alias}' (score {score:.2f})")
    if ref is not None and score >= CITY_SCORE and place is not None:
        km = _km(place.data["lat"], place.data["lon"], ref.lat, ref.lon)
        if km <= SAME_CITY_KM:
            return Link(mention, ref.id, ref.name, score, f"similar to '{ref.alias}' (score {score:.2f}) and in "
                                                          f"the same city, {place.value} ({km:.0f} km)")
    near = f"; closest registry name '{ref.alias}' scores {score:.2f}" if ref is not None and score > 0.5 else ""
    return Link(mention, None, None, score, f"no registry facility matches{near}",
                new_facility=propose_facility(mention, place))


def propose_facility(mention: Mention, place: Mention | None) -> Facility | None:
    """A new facility located at the city the text puts it in (precision 'city'); None if no city."""
    if place is None:
        return None
    lat, lon = place.data["lat"], place.data["lon"]
    d = NEW_SITE_HALF_DEG
    return Facility(id=slugify(mention.value), name=mention.value[:300],
                    geometry=shapely.box(lon - d, lat - d, lon + d, lat + d),
                    location_precision=LocationPrecision.CITY, country=place.data.get("country"),
                    notes=f"Proposed from text: located only to {place.value} (named in: "
                          f"\"{place.sentence[:200]}\"); the outline is a box around the city centre, not the site.")


def link_all(mentions: list[Mention], index: AliasIndex) -> list[Link]:
    """Links for every facility mention, each judged with the nearest located place mentioned before it."""
    located = [m for m in mentions if m.kind == "place" and m.data.get("lat") is not None
               and m.data.get("place_kind") != "country"]
    starts = [m.start for m in located]
    return [link_mention(m, index, _nearest_place(m, located, starts)) for m in mentions if m.kind == "facility"]
