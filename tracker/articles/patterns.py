"""Text folding and the regular expressions built from the lexicon. Pure.

`fold` keeps one character per input character, so a match found in folded text has the same
offsets in the original: 'Hamhŭng' and 'Hamhung' fold alike and spans stay exact.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

_SPECIAL = {"ß": "s", "ø": "o", "Ø": "o", "đ": "d", "Đ": "d", "ł": "l", "Ł": "l", "æ": "a", "œ": "o", "ı": "i",
            "’": "'", "‘": "'", "`": "'", "‐": "-", "‑": "-", "–": "-", "—": "-"}


@lru_cache(maxsize=65536)
def _fold_char(c: str) -> str:
    if c in _SPECIAL:
        return _SPECIAL[c]
    if c.isascii():
        return c.lower()
    base = unicodedata.normalize("NFKD", c)[:1].lower()
    return base if len(base) == 1 else c


def fold(text: str) -> str:
    """Case- and accent-insensitive form of the same length: 'Hamhŭng' -> 'hamhung'."""
    if text.isascii():
        return text.lower()
    return "".join(map(_fold_char, text))


@dataclass(frozen=True)
class Place:
    """A gazetteer place: name, country, location, population, and whether it is a city, region or country."""

    name: str
    country: str | None
    lat: float | None
    lon: float | None
    population: int
    kind: str  # city / region / country


@dataclass(frozen=True)
class SystemEntry:
    """A weapon system: its designation, the other names it goes by, its kind."""

    designation: str
    names: tuple[str, ...]
    kind: str = ""


def alternation(phrases: Iterable[str]) -> str:
    """A regex alternation of folded phrases, longest first, flexible on spaces and hyphens."""
    parts = []
    for p in sorted({fold(p).strip() for p in phrases if p and p.strip()}, key=len, reverse=True):
        parts.append(r"[\s-]+".join(re.escape(w) for w in re.split(r"[\s-]+", p)))
    return "|".join(parts) or r"(?!x)x"


# Word boundaries for Latin and Cyrillic only: Korean and Japanese attach particles to names
# ('공장에서'), so a name there may be followed by letters.
_WORDISH = r"[0-9A-Za-z_\u00C0-\u024F\u0400-\u04FF-]"


def phrase_regex(phrases: Iterable[str]) -> re.Pattern[str]:
    """Whole-word matches of any phrase, to run on folded text."""
    return re.compile(rf"(?<!{_WORDISH})(?:{alternation(phrases)})(?!{_WORDISH})")


# A capitalised word or a number: the stuff names are made of. Hyphens and apostrophes inside.
# Anchored at a word start and possessive, so a 100,000-letter "word" costs linear time, not quadratic.
CAP = r"(?<![\w'’.-])(?:[A-Z\u00C0-\u00DE]\w*+(?:['’.-]++\w++)*+|\d++[A-Za-z]?(?!\w))"
QUOTED = re.compile(r"[\"“«„]([^\"”»“\n]{2,80}?)[\"”»“]")


@dataclass(frozen=True)
class Compiled:
    """The lexicon's regular expressions, compiled once per lexicon."""

    head_en: re.Pattern[str]
    head_it: re.Pattern[str]
    numbered: re.Pattern[str]
    number_marker: re.Pattern[str]
    heads_lower: re.Pattern[str]
    quote_cue: re.Pattern[str]
    generic: frozenset[str]
    blockers: frozenset[str]
    stopwords: frozenset[str]
    systems: re.Pattern[str]
    system_names: dict[str, SystemEntry]
    system_free: re.Pattern[str]
    organisations: re.Pattern[str]
    organisation_names: dict[str, str]
    organisation_acronyms: re.Pattern[str]
    organisation_heads: frozenset[str]
    people: re.Pattern[str]
    person_cue: re.Pattern[str]
    observations: tuple[tuple[str, str, re.Pattern[str], bool], ...]
    figure_units: tuple[tuple[str, re.Pattern[str]], ...]
    places: re.Pattern[str]
    dated_name: re.Pattern[str]  # a head word in any case with a day and a month: 'March 16 factory'
    country_adjectives: re.Pattern[str] = re.compile(r"(?!x)x")  # 'North Korean', 'nordcoreano' (folded)
    country_of_adjective: dict[str, str] = field(default_factory=dict)  # folded, spaces for hyphens -> ISO code


def _all(section: Any) -> list[str]:
    if isinstance(section, dict):
        return [w for words in section.values() for w in words]
    return list(section or ())


def compile_lexicon(lexicon: dict[str, Any], systems: tuple[SystemEntry, ...],
                    months: Iterable[str] = ()) -> Compiled:
    """The regular expressions the reader runs, compiled once from the lexicon and the system list."""
    heads_en = sorted(lexicon["facility_heads"]["en"], key=len, reverse=True)
    heads_it = sorted({*lexicon["facility_heads"]["it"], *lexicon["facility_heads"].get("fr", ())},
                      key=len, reverse=True)
    lower = _all(lexicon["facility_heads_lower"])
    markers = "|".join(re.escape(m) for m in sorted(lexicon["number_markers"], key=len, reverse=True))
    all_heads = "|".join(re.escape(h) for h in sorted({*heads_en, *heads_it, *lower}, key=len, reverse=True))
    head_en = re.compile(rf"((?:{CAP}[ \t]+){{1,6}}?)(?:{'|'.join(map(re.escape, heads_en))})\b"
                         rf"(?:[ \t]+(?:{markers})[ \t]*\d+\b)?")
    head_it = re.compile(rf"\b(?:{'|'.join(map(re.escape, heads_it))})\b")
    numbered = re.compile(rf"(?i:\b(?:{all_heads})\b)[ \t]+(?:{markers})[ \t]*\d+\b"
                          rf"|(?:{markers})[ \t]*\d+[ \t]+(?i:(?:{all_heads}))\b")
    system_names = {}
    for s in systems:
        for n in (s.designation, *s.names):
            system_names[fold(n).replace(" ", "-")] = s
    orgs = lexicon.get("organisations") or {}
    org_names = {fold(n): canon for canon, names in orgs.items() for n in names if not n.isupper()}
    acronyms = [n for names in orgs.values() for n in names if n.isupper()]
    org_acr = {n: canon for canon, names in orgs.items() for n in names if n.isupper()}
    org_names.update({fold(k): v for k, v in org_acr.items()})
    stop = frozenset(fold(w) for w in _all(lexicon["languages"]))
    generic = frozenset(fold(w) for w in [*heads_en, *heads_it, *lower, "the", "a", "an", "il", "lo", "la", "l'",
                                          "di", "del", "della", "of", "no", "no.", "n.", "nr.", "new", "nuovo",
                                          "de", "du", "des", "d'", "le"])
    places = [n for e in (lexicon.get("places") or {}).values() for n in e.get("names") or ()]
    adjectives = {re.sub(r"[\s-]+", " ", fold(a)): iso
                  for iso, words in (lexicon.get("country_adjectives") or {}).items() for a in words}
    return Compiled(
        head_en=head_en, head_it=head_it, numbered=numbered, number_marker=re.compile(rf"(?i:{markers})"),
        heads_lower=re.compile(rf"\b(?:{'|'.join(map(re.escape, sorted(lower, key=len, reverse=True)))})\b"),
        quote_cue=re.compile(rf"(?:{alternation(_all(lexicon['quote_cues']))})\s*$"),
        generic=generic, blockers=frozenset(fold(b) for b in lexicon.get("facility_blockers") or ()),
        stopwords=stop,
        systems=phrase_regex([*system_names, *(n for s in systems for n in (s.designation, *s.names))]),
        system_names=system_names,
        system_free=re.compile(rf"\b(?:{'|'.join(lexicon.get('system_patterns') or [r'(?!x)x'])})(?![\w-])"),
        organisations=phrase_regex(k for k in org_names if not k.isupper()),
        organisation_names=org_names,
        organisation_acronyms=re.compile(rf"\b(?:{'|'.join(map(re.escape, acronyms)) or '(?!x)x'})\b"),
        organisation_heads=frozenset(lexicon.get("organisation_heads") or ()),
        people=phrase_regex(lexicon.get("people") or ()),
        person_cue=re.compile(rf"(?:{alternation(_all(lexicon.get('person_cues')))})\W*$"),
        observations=tuple((o["kind"], o["label"], phrase_regex(o.get("en", []) + o.get("it", []) + o.get("fr", [])),
                            bool(o.get("fallback"))) for o in lexicon.get("observations") or ()),
        figure_units=tuple((unit, re.compile(rf"^\s*(?:{alternation(words)})(?![\w])"))
                           for unit, words in (lexicon.get("figure_units") or {}).items()),
        places=phrase_regex(places),
        dated_name=_dated_name(lower, months),
        country_adjectives=phrase_regex(adjectives), country_of_adjective=adjectives,
    )


def _dated_name(heads: list[str], months: Iterable[str]) -> re.Pattern[str]:
    """Names made of a day and a month and a head word in any case and order: 'March 16 factory',
    'Vinalon 8 February complex', 'fabbrica 11 Febbraio', "l'usine du 16 Mars", 'complexe Vinalon du 8 Février'."""
    h = "|".join(re.escape(x) for x in sorted(heads, key=len, reverse=True))
    mo = "|".join(re.escape(x) for x in sorted(months, key=len, reverse=True))
    cap = r"(?:[A-Z][\w'-]*[ \t]+)"
    day_month = rf"(?:\d{{1,2}}[ \t]+(?i:{mo})|(?i:{mo})[ \t]+\d{{1,2}})(?![\w-])"
    return re.compile(rf"(?<![\w'-]){cap}{{0,2}}{day_month}[ \t]+(?i:{h})\b"
                      rf"|(?<![\w-])(?i:{h})[ \t]+(?:(?:du|del|of the|of)[ \t]+)?{cap}?(?:(?:du|del)[ \t]+)?"
                      rf"{day_month}")


def name_core(name: str, generic: frozenset[str]) -> list[str]:
    """The words of a name that are not head words or articles: what makes the name specific."""
    return [w for w in re.findall(r"[\w']+", fold(name)) if w not in generic and w.strip("'") not in generic]
