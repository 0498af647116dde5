"""Dates in English, Italian and French prose -> PartialDate, keeping only the precision the text gives.

'nel 2020', 'since 2020' -> 2020 (year); 'early October' -> ~YYYY-10 (approximate, month), the
year taken from the article's date when known; 'dall'inizio dell'anno' -> the article's year.
Relative to the article's date as news writes them: 'Monday, November 25' and 'lundi 25 novembre'
(the year of the latest such day), 'on Tuesday' (the latest Tuesday on or before the article),
'yesterday', 'last week' (approximate), 'last month', 'since last December', 'two years ago',
'in the past year' (the twelve months before the article, relation 'within').
Without an article date a relative expression is still reported, with no value. Pure.
"""

from __future__ import annotations

import datetime as dt
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
    "janvier": 1, "fevrier": 2, "mars": 3, "avril": 4, "mai": 5, "juin": 6, "juillet": 7, "aout": 8,
    "septembre": 9, "octobre": 10, "decembre": 12,
}
WEEKDAYS = {
    "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5, "sunday": 6,
    "lunedi": 0, "martedi": 1, "mercoledi": 2, "giovedi": 3, "venerdi": 4, "sabato": 5, "domenica": 6,
    "lundi": 0, "mardi": 1, "mercredi": 2, "jeudi": 3, "vendredi": 4, "samedi": 5, "dimanche": 6,
}
_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
            "ten": 10, "uno": 1, "un": 1, "due": 2, "tre": 3, "quattro": 4, "cinque": 5, "sei": 6, "dieci": 10,
            "une": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "dix": 10, "a": 1}
_WD = "|".join(WEEKDAYS)
_N = "|".join(sorted(_NUMBERS, key=len, reverse=True)) + r"|\d{1,2}"
# a month-day without a year that is a facility's name, not a date: 'February 11 Plant', 'Fabbrica 11 Febbraio'
_NAME_AFTER = re.compile(r"\s+(?:plant|factory|complex|works|vinalon|stabilimento|fabbrica|complesso|usine|complexe)\b")
_NAME_BEFORE = re.compile(r"(?:plant|factory|complex|stabilimento|fabbrica|complesso|impianto|usine|complexe|"
                          r"vinalon|cantiere)\s+(?:du\s+|del\s+|of\s+(?:the\s+)?)?$")
_M = "|".join(sorted(MONTHS, key=len, reverse=True))
_Y = r"(?:18|19|20)\d\d"
_QUAL = (r"(?P<q>early|mid|late|the end of|the beginning of|the start of|the middle of|"
         r"(?:all')?inizio|(?:a |alla )?meta|(?:a |alla )?fine|primi|ultimi|debut|mi|fin)")


@dataclass(frozen=True)
class DateFound:
    """A date expression found in text: its span, the date (None when it is relative and there is no article date to
    count from) and how it relates (at, since, until, range, relative)."""

    start: int
    end: int
    date: PartialDate | None
    until: PartialDate | None = None  # the end of a range
    relation: str = "at"  # at / since / until / range / relative

    @property
    def value(self) -> str:
        """The date as shown to the analyst: '2024-03', 'since 2022', '2019/2021', or what is missing."""
        if self.date is None:
            return f"{self.relation}: needs the article date"
        text = str(self.date) if self.until is None else f"{self.date}/{self.until}"
        return text if self.relation in ("at", "range", "relative") else f"{self.relation} {text}"

    @property
    def best(self) -> PartialDate | None:
        """One date for an observation: the value, or for 'in the past year' the end of the span,
        approximate (the event happened by then)."""
        if self.relation == "within" and self.until is not None:
            return _pd(f"~{self.until}")
        return self.date


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


def _unit(ref: PartialDate | None) -> str | None:
    """The unit the article's date is known to: day, month, year (None without a date)."""
    if ref is None:
        return None
    return ref.approx_unit if ref.precision == "approximate" else ref.precision.value


def _ref_day(ref: PartialDate | None) -> dt.date | None:
    return ref.value if ref is not None and _unit(ref) == "day" else None


def _is_name(m: re.Match[str]) -> bool:
    """'February 11 Plant', 'Stabilimento 11 Febbraio': a month and a day in a facility's name."""
    return bool(_NAME_AFTER.match(m.string, m.end()) or _NAME_BEFORE.search(m.string[max(0, m.start() - 30):m.start()]))


def _month_day(m: re.Match[str], ref: PartialDate | None) -> DateFound | None:
    """'November 25', 'Monday, November 25', 'lundi 25 novembre': the year of the latest such day."""
    if _is_name(m):
        return None
    mo, day = MONTHS[m["mon"]], int(m["d"])
    if not 1 <= day <= 31:
        return None
    if ref is None:
        return DateFound(m.start(), m.end(), None, relation="relative")
    year = ref.value.year
    if _unit(ref) != "year" and (mo, day) > (ref.value.month, ref.value.day if _unit(ref) == "day" else 31):
        year -= 1
    return DateFound(m.start(), m.end(), _pd(f"{year:04d}-{mo:02d}-{day:02d}"), relation="relative")


def _weekday(m: re.Match[str], ref: PartialDate | None) -> DateFound | None:
    """'on Tuesday', 'lunedì', 'mardi': the latest such weekday on or before the article's day."""
    day = _ref_day(ref)
    if day is None:
        return DateFound(m.start(), m.end(), None, relation="relative")
    back = (day.weekday() - WEEKDAYS[m["wd"]]) % 7
    if m["last"] and back == 0:
        back = 7
    return DateFound(m.start(), m.end(), _pd((day - dt.timedelta(days=back)).isoformat()), relation="relative")


def _days_back(m: re.Match[str], ref: PartialDate | None) -> DateFound | None:
    """'yesterday' (the day before), 'last week' (about seven days before)."""
    day = _ref_day(ref)
    if day is None:
        return DateFound(m.start(), m.end(), None, relation="relative")
    if m["week"]:
        return DateFound(m.start(), m.end(), _pd(f"~{(day - dt.timedelta(days=7)).isoformat()}"), relation="relative")
    return DateFound(m.start(), m.end(), _pd((day - dt.timedelta(days=1)).isoformat()), relation="relative")


def _month_back(ref: PartialDate, months: int) -> tuple[int, int]:
    n = ref.value.year * 12 + ref.value.month - 1 - months
    return n // 12, n % 12 + 1


def _rel_month(m: re.Match[str], ref: PartialDate | None) -> DateFound | None:
    """'last month', 'il mese scorso', 'le mois dernier' (and 'this month')."""
    rel = "since" if m["since"] else "relative"
    if ref is None or _unit(ref) == "year":
        return DateFound(m.start(), m.end(), None, relation=rel)
    y, mo = _month_back(ref, 0 if m["this"] else 1)
    return DateFound(m.start(), m.end(), _pd(f"{y:04d}-{mo:02d}"), relation=rel)


def _years_ago(m: re.Match[str], ref: PartialDate | None) -> DateFound | None:
    """'two years ago', 'due anni fa', 'il y a deux ans'."""
    n = m["n1"] or m["n2"] or m["n3"]
    count = int(n) if n.isdigit() else _NUMBERS[n]
    if ref is None:
        return DateFound(m.start(), m.end(), None, relation="relative")
    return DateFound(m.start(), m.end(), _pd(str(ref.value.year - count)), relation="relative")


def _past_year(m: re.Match[str], ref: PartialDate | None) -> DateFound | None:
    """'in the past year', 'nell'ultimo anno': the twelve months up to the article (relation 'within')."""
    if ref is None:
        return DateFound(m.start(), m.end(), None, relation="within")
    if _unit(ref) == "year":
        return DateFound(m.start(), m.end(), _pd(str(ref.value.year - 1)), _pd(str(ref.value.year)), "within")
    y, mo = _month_back(ref, 12)
    return DateFound(m.start(), m.end(), _pd(f"{y:04d}-{mo:02d}"),
                     _pd(f"{ref.value.year:04d}-{ref.value.month:02d}"), "within")


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
    rel = "since" if text.startswith(("since", "dall", "depuis")) else "relative"
    if ref is None:
        return DateFound(m.start(), m.end(), None, relation=rel)
    year = ref.value.year - (1 if re.search(r"last|scors|passat|precedent|dernier|derniere|passe", text) else 0)
    return DateFound(m.start(), m.end(), _pd(str(year)), relation=rel)


def _range_either(m: re.Match[str], ref: PartialDate | None) -> DateFound | None:
    y1, y2 = m["y1"] or m["y1b"], m["y2"] or m["y2b"]
    if int(y2) < int(y1):
        return None
    return DateFound(m.start(), m.end(), _pd(y1), _pd(y2), "range")


_RULES: list[tuple[re.Pattern[str], Handler]] = [
    (re.compile(rf"\b{_Y}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])\b"), _iso),
    # a day range before single days: in 'from 3 to 5 March 2020' the day rule would take '5 March 2020' alone
    (re.compile(rf"(?:\b(?:from|between)\s+(?:the\s+)?|\bdal(?:l')?\s*)(?P<d1>[0-3]?\d)\s*(?:to|and|al(?:l')?)\s*"
                rf"(?P<d2>[0-3]?\d)\s+(?P<mon>{_M})\b(?:\s+(?P<y>{_Y})\b)?"), _day_range),
    (re.compile(rf"\b(?P<d>[0-3]?\d)(?:st|nd|rd|th|°|º)?\s+(?:of\s+)?(?P<mon>{_M})\.?,?\s+(?P<y>{_Y})\b"), _day),
    (re.compile(rf"\b(?P<mon>{_M})\.?\s+(?P<d>[0-3]?\d)(?:st|nd|rd|th)?,?\s+(?P<y>{_Y})\b"), _day),
    (re.compile(rf"\b(?:(?:{_WD}),?\s+)?(?P<mon>{_M})\.?\s+(?P<d>[0-3]?\d)(?:st|nd|rd|th)?\b(?![,.]?\s*\d|[.,]\d)"),
     _month_day),
    (re.compile(rf"\b(?:(?:{_WD}),?\s+)?(?:(?:le|il)\s+)?(?P<d>[0-3]?\d)(?:st|nd|rd|th|er|°|º)?\s+(?:of\s+)?"
                rf"(?P<mon>{_M})\b\.?(?!\s*,?\s*\d)"), _month_day),
    (re.compile(rf"\b{_QUAL}\s*(?:-\s*|di\s+|d'|of\s+)?(?P<mon>{_M})\b(?:\s+(?:of\s+|del\s+)?(?P<y>{_Y})\b)?"),
     _qual_month),
    (re.compile(rf"\b(?:from|between|dal|tra il|fra il)\s+(?P<y1>{_Y})\s+(?:to|and|until|al|e il)\s+(?P<y2>{_Y})\b"
                rf"|\b(?P<y1b>{_Y})\s*[-–/]\s*(?P<y2b>{_Y})\b"), _range_either),
    (re.compile(rf"\b(?P<mon>{_M})\s+(?:of\s+|del\s+)?(?P<y>{_Y})\b"), _month),
    (re.compile(rf"\b(?:in|since|until|by|during|from|a|ad|da|dal|entro|durante|nel mese di|in the month of|en|"
                rf"depuis|ce|in early|in late)\s+(?:last\s+)?(?P<mon>{_M})\b(?!\s+\d)(?P<y>)"), _month),
    (re.compile(rf"\b{_QUAL}\s*(?:-\s*|del\s+|of\s+)?(?P<y>{_Y})\b"), _qual_year),
    (re.compile(rf"\b(?P<w>since|until|by|starting in|a partire dal|dal|dall'|fino al|entro il|depuis)\s*"
                rf"(?P<y>{_Y})\b"), _since_year),
    (re.compile(r"\b(?:since the (?:start|beginning) of the year|dall'inizio dell'anno|this year|earlier this year|"
                r"quest'anno|all'inizio dell'anno|last year|l'anno scorso|lo scorso anno|l'anno passato|"
                r"cette annee|depuis le debut de l'annee|l'an dernier|l'annee derniere|l'an passe)(?!\w)"),
     _relative),
    (re.compile(r"\b(?:(?:in|over|during) the (?:past|last) (?:year|12 months|twelve months)|nell'ultimo anno|"
                r"negli ultimi (?:12|dodici) mesi|nel corso dell'ultimo anno|"
                r"au cours de (?:l'annee ecoulee|la derniere annee|l'annee passee)|depuis un an)\b"), _past_year),
    (re.compile(r"\b(?:(?P<since>since |dal |depuis )?(?:last month|(?:il |del |lo )?mese scorso|le mois dernier|"
                r"(?P<this>this month|earlier this month|questo mese|ce mois-ci)))\b"), _rel_month),
    (re.compile(rf"\b(?:(?P<n1>{_N}) years? ago|(?P<n2>{_N}) anni fa|il y a (?P<n3>{_N}) ans)\b"), _years_ago),
    (re.compile(r"\b(?:yesterday|ieri|hier|(?P<week>last week|la settimana scorsa|la scorsa settimana|"
                r"la semaine (?:derniere|passee)))(?!\w)"), _days_back),
    (re.compile(rf"\b(?:on\s+|(?P<last>last)\s+)?(?P<wd>{_WD})\b"), _weekday),
    (re.compile(rf"(?<![\w.,/-])(?P<y>{_Y})(?![\w/-]|[.,]\d)"), _year),
]


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
