"""Dates in English and Italian prose -> PartialDate, keeping only the precision the text gives.

'nel 2020', 'since 2020' -> 2020 (year); 'early October' -> ~YYYY-10 (approximate, month), the
year taken from the article's date when known; 'dall'inizio dell'anno' -> the article's year.
Without an article date a relative expression is still reported, with no value. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from facilities.dates import PartialDate
from facilities.errors import ValidationError

from .patterns import fold

MONTHS = {
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7, "august": 8,
    "september": 9, "october": 10, "november": 11, "december": 12,
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9, "oct": 10,
    "nov": 11, "dec": 12,
    "gennaio": 1, "febbraio": 2, "marzo": 3, "aprile": 4, "maggio": 5, "giugno": 6, "luglio": 7, "agosto": 8,
    "settembre": 9, "ottobre": 10, "novembre": 11, "dicembre": 12,
}
_M = "|".join(sorted(MONTHS, key=len, reverse=True))
_Y = r"(?:18|19|20)\d\d"
_QUAL = (r"(?P<q>early|mid|late|the end of|the beginning of|the start of|the middle of|"
         r"(?:all')?inizio|(?:a |alla )?meta|(?:a |alla )?fine|primi|ultimi)")
_QUAL_SENSE = {"early": "early", "mid": "mid", "late": "late", "end": "late", "beginning": "early", "start": "early",
               "middle": "mid", "inizio": "early", "meta": "mid", "fine": "late", "primi": "early", "ultimi": "late"}


@dataclass(frozen=True)
class DateFound:
    start: int
    end: int
    date: PartialDate | None
    until: PartialDate | None = None  # the end of a range
    relation: str = "at"  # at / since / until / range / relative

    @property
    def value(self) -> str:
        if self.date is None:
            return f"{self.relation}: needs the article date"
        text = str(self.date) if self.until is None else f"{self.date}/{self.until}"
        return text if self.relation in ("at", "range", "relative") else f"{self.relation} {text}"


def _pd(text: str) -> PartialDate | None:
    try:
        return PartialDate.parse(text)
    except ValidationError:
        return None


def _month_year(month: int, year: str | None, ref: PartialDate | None) -> int | None:
    if year:
        return int(year)
    if ref is None:
        return None
    # a month named without a year is the latest one not after the article
    return ref.value.year - 1 if ref.precision != "year" and month > ref.value.month else ref.value.year


Handler = Callable[[re.Match[str], PartialDate | None], DateFound | None]


def _day(m: re.Match[str], ref: PartialDate | None) -> DateFound | None:
    mo = MONTHS[m["mon"]]
    return DateFound(m.start(), m.end(), _pd(f"{int(m['y']):04d}-{mo:02d}-{int(m['d']):02d}"))


def _iso(m: re.Match[str], ref: PartialDate | None) -> DateFound | None:
    return DateFound(m.start(), m.end(), _pd(m.group()))


def _day_range(m: re.Match[str], ref: PartialDate | None) -> DateFound | None:
    mo = MONTHS[m["mon"]]
    y = _month_year(mo, m["y"], ref)
    if y is None:
        return DateFound(m.start(), m.end(), None, relation="range")
    return DateFound(m.start(), m.end(), _pd(f"{y:04d}-{mo:02d}-{int(m['d1']):02d}"),
                     _pd(f"{y:04d}-{mo:02d}-{int(m['d2']):02d}"), "range")


def _qual_month(m: re.Match[str], ref: PartialDate | None) -> DateFound | None:
    mo = MONTHS[m["mon"]]
    y = _month_year(mo, m["y"], ref)
    return DateFound(m.start(), m.end(), _pd(f"~{y:04d}-{mo:02d}") if y else None,
                     relation="at" if m["y"] else "relative")


def _month(m: re.Match[str], ref: PartialDate | None) -> DateFound | None:
    mo = MONTHS[m["mon"]]
    y = _month_year(mo, m["y"], ref)
    return DateFound(m.start(), m.end(), _pd(f"{y:04d}-{mo:02d}") if y else None,
                     relation="at" if m["y"] else "relative")


def _year_range(m: re.Match[str], ref: PartialDate | None) -> DateFound | None:
    if int(m["y2"]) < int(m["y1"]):
        return None
    return DateFound(m.start(), m.end(), _pd(m["y1"]), _pd(m["y2"]), "range")


def _qual_year(m: re.Match[str], ref: PartialDate | None) -> DateFound | None:
    return DateFound(m.start(), m.end(), _pd(f"~{m['y']}"))


def _since_year(m: re.Match[str], ref: PartialDate | None) -> DateFound | None:
    word = m["w"]
    rel = "until" if word.startswith(("until", "by", "entro", "fino")) else "since"
    return DateFound(m.start(), m.end(), _pd(m["y"]), relation=rel)


def _year(m: re.Match[str], ref: PartialDate | None) -> DateFound | None:
    return DateFound(m.start(), m.end(), _pd(m["y"]))


def _relative(m: re.Match[str], ref: PartialDate | None) -> DateFound | None:
    text = m.group()
    rel = "since" if text.startswith(("since", "dall")) else "relative"
    if ref is None:
        return DateFound(m.start(), m.end(), None, relation=rel)
    year = ref.value.year - (1 if re.search(r"last|scors|passat|precedent", text) else 0)
    return DateFound(m.start(), m.end(), _pd(str(year)), relation=rel)


_RULES: list[tuple[re.Pattern[str], Handler]] = [
    (re.compile(rf"\b{_Y}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])\b"), _iso),
    (re.compile(rf"\b(?P<d>[0-3]?\d)(?:st|nd|rd|th|°|º)?\s+(?:of\s+)?(?P<mon>{_M})\.?,?\s+(?P<y>{_Y})\b"), _day),
    (re.compile(rf"\b(?P<mon>{_M})\.?\s+(?P<d>[0-3]?\d)(?:st|nd|rd|th)?,?\s+(?P<y>{_Y})\b"), _day),
    (re.compile(rf"(?:\b(?:from|between)\s+(?:the\s+)?|\bdal(?:l')?\s*)(?P<d1>[0-3]?\d)\s*(?:to|and|al(?:l')?)\s*"
                rf"(?P<d2>[0-3]?\d)\s+(?P<mon>{_M})\b(?:\s+(?P<y>{_Y})\b)?"), _day_range),
    (re.compile(rf"\b{_QUAL}\s*(?:-\s*|di\s+|d'|of\s+)?(?P<mon>{_M})\b(?:\s+(?:of\s+|del\s+)?(?P<y>{_Y})\b)?"),
     _qual_month),
    (re.compile(rf"\b(?:from|between|dal|tra il|fra il)\s+(?P<y1>{_Y})\s+(?:to|and|until|al|e il)\s+(?P<y2>{_Y})\b"
                rf"|\b(?P<y1b>{_Y})\s*[-–/]\s*(?P<y2b>{_Y})\b"), None),  # type: ignore[list-item]
    (re.compile(rf"\b(?P<mon>{_M})\s+(?:of\s+|del\s+)?(?P<y>{_Y})\b"), _month),
    (re.compile(rf"\b(?:in|since|until|by|during|from|a|ad|da|dal|entro|durante|nel mese di|in the month of)\s+"
                rf"(?P<mon>{_M})\b(?!\s+\d)(?P<y>)"), _month),
    (re.compile(rf"\b{_QUAL}\s*(?:-\s*|del\s+|of\s+)?(?P<y>{_Y})\b"), _qual_year),
    (re.compile(rf"\b(?P<w>since|until|by|starting in|a partire dal|dal|dall'|fino al|entro il)\s*(?P<y>{_Y})\b"),
     _since_year),
    (re.compile(r"\b(?:since the (?:start|beginning) of the year|dall'inizio dell'anno|this year|earlier this year|"
                r"quest'anno|all'inizio dell'anno|last year|l'anno scorso|lo scorso anno|l'anno passato)\b"),
     _relative),
    (re.compile(rf"(?<![\w.,/-])(?P<y>{_Y})(?![\w/-]|[.,]\d)"), _year),
]


def _range_either(m: re.Match[str], ref: PartialDate | None) -> DateFound | None:
    y1, y2 = m["y1"] or m["y1b"], m["y2"] or m["y2b"]
    if int(y2) < int(y1):
        return None
    return DateFound(m.start(), m.end(), _pd(y1), _pd(y2), "range")


_RULES = [(rx, h or _range_either) for rx, h in _RULES]


def find_dates(text: str, ref: PartialDate | None = None) -> list[DateFound]:
    """Every date expression in `text`, longest rules first, without overlaps."""
    folded = fold(text)
    taken = bytearray(len(text) + 1)
    out: list[DateFound] = []
    for rx, handler in _RULES:
        for m in rx.finditer(folded):
            if 1 in taken[m.start():m.end()]:
                continue
            found = handler(m, ref)
            if found is None:
                continue
            taken[found.start:found.end] = b"\x01" * (found.end - found.start)
            out.append(found)
    return sorted(out, key=lambda d: d.start)
