"""The source's own description of itself: title, publisher, date, URL and language.

From an HTML page's head (Open Graph and other meta tags, <title>, the canonical link, <html lang>)
and from the first lines of a pasted text (a headline, a byline or dateline with a date, an
agency in parentheses: 'SEOUL, Nov 25 (Reuters) -', 'Redazione ANSA, 25 novembre 2024',
'Korea Watch - 27 September 2024', 'Publié le 26 novembre 2024'). A first line that reads as a
sentence of prose is not a title: the title is then its first words, marked as cut. Pure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

from facilities.dates import DatePrecision

from .dates import find_dates

HEAD_LINES = 4  # lines (after the headline) that may hold a byline or dateline
DATELINE_CHARS = 160  # of the first paragraph: 'SEOUL, Nov 25 (Reuters) - ...'
TITLE_WORDS = 10  # words kept from a first line that is a sentence, not a headline


@dataclass(frozen=True)
class Meta:
    """An article's title, publisher, publication date, URL and language, as far as they are known."""

    title: str | None = None
    publisher: str | None = None
    published: str | None = None  # YYYY[-MM[-DD]]
    url: str | None = None
    language: str | None = None

    def over(self, other: Meta) -> Meta:
        """This metadata, its gaps filled from `other`."""
        return Meta(*(a if a else b for a, b in zip(self._values(), other._values(), strict=True)))

    def _values(self) -> tuple:
        return self.title, self.publisher, self.published, self.url, self.language


_TITLE_KEYS = ("og:title", "twitter:title", "dc.title", "title", "headline")
_PUBLISHER_KEYS = ("og:site_name", "application-name", "publisher", "dc.publisher", "article:publisher")
_DATE_KEYS = ("article:published_time", "datepublished", "date", "pubdate", "publish-date", "dc.date",
              "dc.date.issued", "sailthru.date", "parsely-pub-date", "og:published_time", "publication_date")
_URL_KEYS = ("og:url", "twitter:url")


class _Head(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.meta: dict[str, str] = {}
        self.lang = ""
        self.canonical = ""
        self.title_parts: list[str] = []
        self.in_title = False

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = {k.lower(): (v or "") for k, v in attrs}
        if tag == "html" and a.get("lang"):
            self.lang = a["lang"]
        elif tag == "meta":
            key = (a.get("property") or a.get("name") or a.get("itemprop") or "").strip().lower()
            if key and a.get("content", "").strip():
                self.meta.setdefault(key, a["content"].strip())
        elif tag == "link" and "canonical" in a.get("rel", "").lower().split() and a.get("href"):
            self.canonical = a["href"].strip()
        elif tag == "title":
            self.in_title = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self.in_title = False

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title_parts.append(data)


def _first(meta: dict[str, str], keys: tuple[str, ...]) -> str | None:
    return next((meta[k] for k in keys if meta.get(k)), None)


def _iso_date(text: str | None) -> str | None:
    if not text:
        return None
    m = re.match(r"\s*(\d{4})-(\d{2})(?:-(\d{2}))?", text)
    if m:
        return "-".join(g for g in m.groups() if g)
    found = [d for d in find_dates(text) if d.date is not None]
    return str(found[0].date) if found else None


def html_meta(html: str) -> Meta:
    """What the page's head says about it; the parts it does not say are None."""
    head = _Head()
    try:
        head.feed(html[:200_000])
        head.close()
    except (AssertionError, ValueError):  # malformed markup: keep what was read
        pass
    publisher = _first(head.meta, _PUBLISHER_KEYS)
    title = _first(head.meta, _TITLE_KEYS) or " ".join("".join(head.title_parts).split()) or None
    if title and not _first(head.meta, _TITLE_KEYS):
        # '<title>Headline | Site</title>': the site is the publisher, not part of the title
        parts = re.split(r"\s+[|–—-]\s+", title)
        if len(parts) > 1 and len(parts[-1]) <= 60:
            publisher = publisher or parts[-1]
            title = " - ".join(parts[:-1])
    url = _first(head.meta, _URL_KEYS) or head.canonical or None
    if url and not re.match(r"^https?://", url):
        url = None
    lang = head.lang.split("-")[0].lower() if re.fullmatch(r"[A-Za-z]{2,3}(?:[-_]\w+)*", head.lang) else None
    return Meta(title=_clean(title), publisher=_clean(publisher), published=_iso_date(_first(head.meta, _DATE_KEYS)),
                url=url[:2000] if url else None, language=lang)


def _clean(text: str | None, limit: int = 300) -> str | None:
    if not text:
        return None
    text = " ".join(text.split())
    return text[:limit] or None


_AGENCY = re.compile(r"\(([A-Z][A-Za-z&.]+(?: [A-Z][A-Za-z&.]+){0,2})\)\s*[-–—]")
_REDAZIONE = re.compile(r"^(?:Redazione|Rédaction|Newsroom)\s+([A-Z][\w&.']+(?: [A-Z][\w&.']+){0,3})")
_BYLINE = re.compile(r"^(?:by|di|par|von|por)\s", re.I)
_NAMED_LINE = re.compile(r"^(?P<name>[A-Z][\w&.'’ ]{1,58}?)\s+[-–—|]\s+(?P<rest>.+)$")
_HEADER_DATE = re.compile(r"^(?:date|published|data|pubblicato|updated)\s*:\s*(\d{4}(?:-\d{2}(?:-\d{2})?)?)\s*$", re.I)


def _is_headline(line: str) -> bool:
    words = line.split()
    return len(line) <= 200 and not (line.rstrip("\"'”’»)").endswith((".", "!", "?", ";")) and len(words) > 14)


def title_of(first_line: str) -> str:
    """The first line as a title; a sentence of prose gives only its first words, marked as cut."""
    line = " ".join(first_line.split())
    if _is_headline(line):
        return line[:300]
    return " ".join(line.split()[:TITLE_WORDS]).rstrip(",;:") + "…"


def text_meta(text: str) -> Meta:
    """Title, publisher and date from the first lines of a plain-text article."""
    lines = [line.strip() for line in text[:4000].splitlines() if line.strip()]
    if not lines:
        return Meta()
    title = title_of(lines[0])
    head = lines[1:1 + HEAD_LINES] if _is_headline(lines[0]) else []
    published = publisher = None
    for line in head:
        m = _HEADER_DATE.match(line)
        if m:
            published = published or m.group(1)
            continue
        if len(line) > 120:  # a paragraph: only its dateline
            line = line[:DATELINE_CHARS]
        found = [d for d in find_dates(line) if d.date is not None and d.date.precision is not DatePrecision.YEAR]
        if found and published is None:
            published = str(found[0].date)
        r = _REDAZIONE.match(line)
        if r:
            publisher = publisher or r.group(1).rstrip(",")
        named = _NAMED_LINE.match(line) if len(line) <= 120 else None
        if (named and not _BYLINE.match(line) and find_dates(named["rest"])
                and not find_dates(named["name"])):
            publisher = publisher or named["name"].strip()
    body = next((line for line in lines[1:] if len(line) > 120), "")[:DATELINE_CHARS]
    agency = _AGENCY.search(body) or _AGENCY.search(" ".join(head))
    if agency:
        publisher = publisher or agency.group(1)
    if published is None:
        found = [d for d in find_dates(body) if d.date is not None and d.date.precision is DatePrecision.DAY]
        published = str(found[0].date) if found else None
    return Meta(title=title, publisher=publisher, published=published)
