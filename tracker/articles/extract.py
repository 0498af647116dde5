"""Mentions in an article: facilities, places, systems, organisations, people, dates, figures.

Each mention keeps its span in the article's plain text and the sentence it came from. Overlaps
are settled longest-first, so 'Ryongsong Machine Complex' is a facility, not a place plus words.
Pure: the lexicon, gazetteer and alias index come in as arguments.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from facilities.dates import PartialDate
from facilities.errors import ValidationError

from .dates import find_dates
from .patterns import CAP, QUOTED, Compiled, Place, fold, name_core
from .reading import Article

KINDS = ("facility", "place", "system", "organisation", "person", "date", "figure")
_PRIORITY = {k: i for i, k in enumerate(("facility", "organisation", "system", "person", "place", "date", "figure"))}
_RUN = re.compile(rf"{CAP}(?:[ \t]+(?:(?:of|for|and|on|the|di|del|della|dei|degli|delle|per)[ \t]+)?{CAP})*")
_PLAIN_RUN = re.compile(rf"{CAP}(?:[ \t]+{CAP})*")
_ROLE_AFTER = re.compile(r",\s*(?:(?:a|an|the|un|una|il|la|lo|senior|chief)\s+)*(?:researcher|ricercat|analyst|"
                         r"analista|director|direttor|expert|espert|professor|spokes|portavoce|minister|ministro)")
_IT_LINKS = frozenset({"di", "del", "della", "dei", "degli", "delle", "d'", "per", "de", "du", "des"})
_NEXT_WORD = re.compile(r"[ \t]+(d'|#|[\w'’-]+\.?)")
_CAP_WORD = re.compile(CAP)
_SPOKE = re.compile(r"^\s+(?:said|says|told|wrote|noted|ha detto|ha dichiarato|ha osservato|ha affermato|"
                    r"ha spiegato)\b")
_NUMBER = re.compile(r"(?<![\w.,-])(?:(?P<q>at least|almeno|about|circa|oltre|more than|over|some|nearly|quasi|"
                     r"around|up to|fino a)\s+)?(?P<n>\d[\d,.]*(?:\s*(?:-|–|to|a)\s*\d[\d,.]*)?)")


@dataclass(frozen=True)
class Mention:
    """Something named in an article: a facility, place, weapon system, date, casualty count; its span, sentence and
    how it was found."""

    kind: str
    text: str
    value: str  # normalised: facility or place name, system designation, ISO date, '28 killed'
    start: int
    end: int
    sentence_index: int
    sentence: str
    via: str = ""  # how it was found: alias, pattern, quoted, numbered, gazetteer, lexicon...
    data: dict[str, Any] = field(default_factory=dict, compare=False)

    def as_dict(self) -> dict[str, Any]:
        """The mention as JSON-ready data, its extra `data` fields merged in."""
        return {"kind": self.kind, "text": self.text, "value": self.value, "start": self.start, "end": self.end,
                "sentence_index": self.sentence_index, "sentence": self.sentence, "via": self.via, **self.data}


@dataclass(frozen=True)
class AliasHit:
    """A registry name or alias found verbatim in the text, with the facility it names."""

    start: int
    end: int
    facility_id: str
    facility_name: str
    alias: str


Span = tuple[int, int, str, str, str, dict[str, Any]]  # start, end, kind, value, via, data


def _facility_name_ok(name: str, comp: Compiled) -> bool:
    core = name_core(name, comp.generic)
    core = [w for w in core if w not in comp.stopwords]
    return bool(core) and not all(w in comp.blockers or any(w in b.split() for b in comp.blockers) for w in core)


def _trim_name(text: str, start: int, comp: Compiled) -> tuple[int, str]:
    """Drop leading articles and anything up to a possessive: "North Korea's Kusong Factory" -> "Kusong Factory"."""
    poss = list(re.finditer(r"['’]s\b\s*", text))
    if poss:
        cut = poss[-1].end()
        start, text = start + cut, text[cut:]
    while True:
        m = re.match(r"(\S+)\s+", text)
        if not m or fold(m.group(1)) not in comp.stopwords:
            return start, text
        start, text = start + m.end(), text[m.end():]


def _headline(sentence: str) -> bool:
    """A title-case line without final punctuation: its capitals say nothing about names."""
    if sentence.rstrip("\"'”’»)").endswith((".", "!", "?", ";", ":")):
        return False
    words = re.findall(r"[^\W\d_][\w'-]*", sentence)
    long = [w for w in words if len(w) > 3]
    return len(long) >= 4 and sum(w[0].isupper() for w in long) / len(long) > 0.7


def _facilities(text: str, folded: str, comp: Compiled, aliases: list[AliasHit], headline: Callable[[int], bool]
                ) -> Iterator[Span]:
    for a in aliases:
        yield a.start, a.end, "facility", a.facility_name, "alias", {"facility_id": a.facility_id, "alias": a.alias}
    for m in comp.head_en.finditer(text):
        if headline(m.start()):
            continue
        start, name = _trim_name(m.group(), m.start(), comp)
        if _facility_name_ok(name, comp):
            yield start, m.end(), "facility", name, "pattern", {}
    for m in comp.head_it.finditer(text):
        end, lower_run, pos, word = m.end(), 0, m.end(), ""
        for _ in range(8):  # Italian names run on after the head: 'Complesso meccanico di Ryongsong'
            t = _NEXT_WORD.match(text, pos)
            if not t:
                break
            prev = word if pos > m.end() else ""
            word, pos = t.group(1), t.end()
            if word.endswith(".") and _CAP_WORD.fullmatch(word[:-1]):
                end = pos - 1  # 'di Ryongsong.': the name and the sentence end here
                break
            if comp.head_it.fullmatch(word):
                break  # the next name starts here
            if _CAP_WORD.fullmatch(word):
                end, lower_run = pos, 0
                if word[0].isdigit() and comp.number_marker.fullmatch(prev):
                    break  # 'Fabbrica n. 26 di Kanggye': the number closes the name
            elif word.islower() and len(word) < 18 and lower_run < 3 and (
                    word in _IT_LINKS or fold(word) not in comp.stopwords):  # 'meccanico di', not 'e la'
                lower_run += 1
            else:
                break
        name = text[m.start():end].rstrip(".")
        if end > m.end() and not headline(m.start()) and _facility_name_ok(name, comp):
            yield m.start(), m.start() + len(name), "facility", name, "pattern", {}
    for m in comp.dated_name.finditer(text):
        start, name = _trim_name(m.group(), m.start(), comp)
        if not headline(m.start()):
            yield start, m.end(), "facility", name, "dated", {}
    for m in comp.numbered.finditer(text):
        yield m.start(), m.end(), "facility", m.group(), "numbered", {}
    for m in QUOTED.finditer(text):
        inner, s = m.group(1).strip(), m.start(1)
        if not inner or not inner[0].isupper() or not _facility_name_ok(inner, comp):
            continue
        if len(inner.split()) > 6 or inner[-1] in ",.;:!?":  # a quoted remark, not a name
            continue
        before, after = folded[max(0, m.start() - 60):m.start()], folded[m.end():m.end() + 20]
        has_head = comp.heads_lower.search(fold(inner)) is not None
        # a head word among the three words before the quote ('lo stabilimento meccanico "Kim Chaek"') or right after
        next_to_head = comp.heads_lower.search(" ".join(before.split()[-3:])) or comp.heads_lower.match(after.lstrip())
        cued = comp.quote_cue.search(before) and comp.heads_lower.search(folded[max(0, m.start() - 250):m.start()])
        if has_head or next_to_head or cued:
            yield s, s + len(inner), "facility", inner, "quoted", {}


def _systems(text: str, folded: str, comp: Compiled) -> Iterator[Span]:
    for m in comp.systems.finditer(folded):
        entry = comp.system_names.get(re.sub(r"[\s-]+", "-", m.group()))
        if entry:
            yield m.start(), m.end(), "system", entry.designation, "lexicon", {"names": list(entry.names)}
    for m in comp.system_free.finditer(text):
        entry = comp.system_names.get(fold(m.group()))
        value = entry.designation if entry else m.group()
        yield m.start(), m.end(), "system", value, "pattern", {"names": list(entry.names) if entry else []}


def _organisations(text: str, folded: str, comp: Compiled) -> Iterator[Span]:
    names = comp.organisation_names
    known: list[Span] = [(m.start(), m.end(), "organisation", names[re.sub(r"[\s-]+", " ", m.group())], "lexicon", {})
                         for m in comp.organisations.finditer(folded)]
    known += [(m.start(), m.end(), "organisation", comp.organisation_names[fold(m.group())], "lexicon", {})
              for m in comp.organisation_acronyms.finditer(text)]
    yield from known
    mask = bytearray(len(text) + 1)
    for s, e, *_ in known:
        mask[s:e] = b"\x01" * (e - s)
    for m in _RUN.finditer(text):
        words = m.group().split()
        # a run that holds a known name is two names joined by 'of'/'del': the known ones stand
        if 1 in mask[m.start():m.end()]:
            continue
        if any(w in comp.organisation_heads for w in words) and len(words) > 1:
            start, name = _trim_name(m.group(), m.start(), comp)
            yield start, m.end(), "organisation", name, "pattern", {}


def _people(text: str, folded: str, comp: Compiled) -> Iterator[Span]:
    for m in comp.people.finditer(folded):
        yield m.start(), m.end(), "person", text[m.start():m.end()], "lexicon", {}
    for m in _PLAIN_RUN.finditer(text):
        words = m.group().split()
        if not 2 <= len(words) <= 3 or any(not w.isalpha() and "-" not in w for w in words):
            continue
        before = folded[max(0, m.start() - 40):m.start()]
        after = folded[m.end():m.end() + 40]
        if comp.person_cue.search(before) or _SPOKE.match(after) or _ROLE_AFTER.match(after):
            yield m.start(), m.end(), "person", m.group(), "cue", {}


FUZZY_MIN_LETTERS = 5  # a misspelled place is matched only from this length: short words are too alike


def _one_edit(a: str, b: str) -> bool:
    """Whether `b` is `a` with exactly one letter changed, added or dropped."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    return a[i + (len(a) == len(b)):] == b[i + 1:]


_Cities = dict[str, dict[tuple[int, str], list[tuple[str, Place]]]]  # country -> (length, initial) -> names
_CITIES: dict[int, tuple[dict[str, Place], _Cities]] = {}


def _cities_by_country(gazetteer: dict[str, Place]) -> _Cities:
    """The gazetteer's city names per country, length and initial, built once per gazetteer."""
    cached = _CITIES.get(id(gazetteer))
    if cached is None or cached[0] is not gazetteer:
        index: _Cities = {}
        for key, place in gazetteer.items():
            if place.kind == "city" and place.country and len(key) >= FUZZY_MIN_LETTERS and key.isalpha():
                index.setdefault(place.country, {}).setdefault((len(key), key[0]), []).append((key, place))
        cached = _CITIES[id(gazetteer)] = (gazetteer, index)
    return cached[1]


def _misspelled(word: str, countries: set[str], cities: _Cities) -> Place | None:
    """The one city, of a country the article names, that `word` (folded) is one edit away from
    (the first letter kept: outlets misspell the middle and the end of a name, not its start)."""
    found = {place for c in countries for n in (len(word) - 1, len(word), len(word) + 1)
             for key, place in cities.get(c, {}).get((n, word[0]), ()) if _one_edit(word, key)}
    return found.pop() if len(found) == 1 else None


def _places(text: str, folded: str, comp: Compiled, gazetteer: dict[str, Place]) -> Iterator[Span]:
    def place_data(p: Place) -> dict[str, Any]:
        return {"country": p.country, "lat": p.lat, "lon": p.lon, "place_kind": p.kind}

    found: list[Span] = []
    for m in comp.places.finditer(folded):
        p = gazetteer.get(m.group())
        if p:
            found.append((m.start(), m.end(), "place", p.name, "lexicon", place_data(p)))
    unknown: list[tuple[int, str]] = []  # capitalised words the gazetteer does not know: misspelled places?
    for m in _PLAIN_RUN.finditer(text):
        tokens = list(re.finditer(r"\S+", m.group()))
        i = 0
        while i < len(tokens):
            for n in (3, 2, 1):
                if i + n > len(tokens):
                    continue
                s, e = m.start() + tokens[i].start(), m.start() + tokens[i + n - 1].end()
                key = re.sub(r"'s$", "", folded[s:e])
                p = gazetteer.get(key) or gazetteer.get(key.replace("'", ""))
                if p:
                    found.append((s, s + len(key), "place", p.name, "gazetteer", place_data(p)))
                    i += n - 1
                    break
                if n == 1:
                    unknown.append((s, key))
            i += 1
    yield from found
    # Places misspelled as outlets write them ('Hamhun' for Hamhung): one edit from a city of a
    # country the article names (by name or adjective), and only when exactly one city is that close.
    countries = {d["country"] for *_, d in found if d.get("place_kind") == "country" and d.get("country")}
    countries |= {comp.country_of_adjective.get(re.sub(r"[\s-]+", " ", a.group()))
                  for a in comp.country_adjectives.finditer(folded)} - {None}
    if not countries:
        return
    cities = _cities_by_country(gazetteer)
    seen: dict[str, Place | None] = {}  # a word met again is not looked up again: linear in the text
    for s, key in unknown:
        if len(key) < FUZZY_MIN_LETTERS or not key.isalpha() or key in comp.stopwords or key in comp.blockers:
            continue
        if key not in seen:
            seen[key] = _misspelled(key, countries, cities)
        p = seen[key]
        if p is not None:
            yield s, s + len(key), "place", p.name, "fuzzy", {**place_data(p), "spelled": text[s:s + len(key)]}


def _figures(text: str, folded: str, comp: Compiled) -> Iterator[Span]:
    for m in _NUMBER.finditer(folded):
        after = folded[m.end():m.end() + 40]
        for unit, rx in comp.figure_units:
            u = rx.match(after)
            if u:
                number = re.sub(r"\s*(?:-|–|to|a)\s*", "-", m["n"]).rstrip(".,")
                qual = f"{m['q']} " if m["q"] else ""
                value = f"{qual}{number} %" if unit == "percent" else f"{qual}{number} {unit}"
                yield m.start(), m.end() + u.end(), "figure", value, "pattern", {"unit": unit, "number": number}
                break


def _dates(text: str, published: PartialDate | None) -> Iterator[Span]:
    for d in find_dates(text, published):
        best = d.best
        data = {"date": str(d.date) if d.date else None, "precision": d.date.precision.value if d.date else None,
                "until": str(d.until) if d.until else None, "relation": d.relation,
                "best": str(best) if best else None}
        yield d.start, d.end, "date", d.value, "pattern", data


def article_date(article: Article) -> PartialDate | None:
    """The article's publication date, or None if it has none or it cannot be read."""
    if not article.published:
        return None
    try:
        return PartialDate.parse(article.published)
    except ValidationError:
        return None


def extract(article: Article, comp: Compiled, gazetteer: dict[str, Place], aliases: list[AliasHit]) -> list[Mention]:
    """All mentions in an article, sorted by position, without overlapping spans."""
    text, folded = article.text, fold(article.text)
    starts = [s.start for s in article.sentences]

    def sentence_of(pos: int) -> int:
        return max(0, bisect.bisect_right(starts, pos) - 1)

    heads = {i for i, s in enumerate(article.sentences) if _headline(s.text)}
    spans: list[Span] = [
        *_facilities(text, folded, comp, aliases, lambda pos: sentence_of(pos) in heads),
        *_systems(text, folded, comp), *_organisations(text, folded, comp), *_people(text, folded, comp),
        *_places(text, folded, comp, gazetteer), *_dates(text, article_date(article)), *_figures(text, folded, comp),
    ]
    # longest first; on equal spans the alias beats the pattern, the facility beats the place
    spans.sort(key=lambda s: (-(s[1] - s[0]), _PRIORITY[s[2]], s[4] != "alias", s[0]))
    taken = bytearray(len(text) + 1)  # a mask, not a list of spans: linear on long texts
    out: list[Mention] = []
    for start, end, kind, value, via, data in spans:
        if end <= start or 1 in taken[start:end]:
            continue
        taken[start:end] = b"\x01" * (end - start)
        i = sentence_of(start)
        sentence = article.sentences[i].text if article.sentences else text
        out.append(Mention(kind, text[start:end], value, start, end, i, sentence, via, data))
    return sorted(out, key=lambda m: m.start)
