"""Feed exports (RSS 2.0, RSS 1.0/RDF, Atom) read as one article per item.

Each item's title, link, publication date and language (the item's, else the feed's) become the
article's source metadata; the feed's own title is the publisher. An item's HTML content is
reduced to its text (reading.html_to_text: text nodes only, nothing rendered). The XML is parsed
by facilities.safe_xml: a DOCTYPE or an entity declaration refuses the file (billion laughs, XXE).
Pure: bytes in, articles out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from email.utils import parsedate_to_datetime
from xml.etree.ElementTree import Element, tostring

from facilities.errors import InputError
from facilities.safe_xml import parse_xml

from .metadata import Meta, _iso_date
from .reading import Article, TextInputError, guess_format, read_articles, to_plain

FEED_SUFFIXES = (".rss", ".atom", ".xml")
_FEED_ROOT = re.compile(rb"^(?:\xef\xbb\xbf)?\s*(?:<\?xml[^>]{0,300}\?>\s*)?(?:<!--.{0,2000}?-->\s*)*"
                        rb"<(?:rss|feed|rdf:RDF)\b", re.S)
_SEPARATOR_LINE = re.compile(r"\n[ \t]*(?:-{3,}|={3,}|\*{3,}|\f)[ \t]*(?=\n)")


def is_feed(data: bytes, name: str = "") -> bool:
    """An RSS or Atom document, by its root element; a .rss/.atom/.xml name is read as one too (and
    refused with a message if it is not)."""
    return bool(_FEED_ROOT.match(data[:4096])) or name.lower().endswith(FEED_SUFFIXES)


def _child(el: Element, *names: str) -> Element | None:
    return next((c for n in names for c in el if c.tag == n), None)


def _text(el: Element | None) -> str:
    return " ".join("".join(el.itertext()).split()) if el is not None else ""


def _content(el: Element | None) -> str:
    """An item's body as plain text: escaped HTML (RSS description, Atom type="html"), inline
    XHTML (Atom type="xhtml") or plain text."""
    if el is None:
        return ""
    if len(el):  # inline XHTML: its markup, read as HTML
        raw = (el.text or "") + "".join(tostring(c, encoding="unicode") for c in el)
        return to_plain(raw, "html")
    raw = el.text or ""
    html = el.get("type") in ("html", "xhtml") or guess_format(raw) == "html"
    return to_plain(raw, "html" if html else "text").strip()


def _date(el: Element | None) -> str | None:
    value = _text(el)
    if not value:
        return None
    try:  # RSS: 'Tue, 26 Nov 2024 08:00:00 GMT' (RFC 822)
        # An article's date is the calendar day its publisher wrote, in the offset it gave (not converted to UTC
        # nor to the machine's zone): a news date, unlike a capture date, is what readers saw on the page.
        return parsedate_to_datetime(value).date().isoformat()
    except (TypeError, ValueError, IndexError):
        return _iso_date(value)  # Atom and Dublin Core: ISO 8601


def _language(value: str | None) -> str | None:
    m = re.fullmatch(r"\s*([A-Za-z]{2,3})(?:[-_]\w+)*\s*", value or "")
    return m.group(1).lower() if m else None


def _link(item: Element) -> str | None:
    for c in item:
        if c.tag != "link":
            continue
        href = c.get("href") or (c.text or "").strip()  # Atom: <link href rel="alternate">; RSS: <link>url</link>
        if href and c.get("rel", "alternate") == "alternate" and re.match(r"^https?://", href):
            return href[:2000]
    guid = _child(item, "guid", "id")
    href = _text(guid)
    return href[:2000] if re.match(r"^https?://", href) else None


def read_feed(data: bytes, stopwords: Mapping[str, frozenset[str]], name: str = "feed") -> list[Article]:
    """The feed's items as articles, in the feed's order; InputError when it is not a feed or has no item."""
    root = parse_xml(data, name, "an RSS or Atom feed")
    if root.tag not in ("rss", "feed", "RDF"):
        raise InputError(f"is XML but not an RSS or Atom feed (the root element is <{root.tag}>)", source=name)
    channel = _child(root, "channel") if root.tag != "feed" else root
    channel = channel if channel is not None else root
    items = [e for e in (root.iter("item") if root.tag != "feed" else root.iter("entry"))]
    if not items:
        raise InputError("is a feed without items (no <item> or <entry>)", source=name)
    publisher = _text(_child(channel, "title")) or None
    feed_language = _language(_text(_child(channel, "language")) or root.get("lang") or channel.get("lang"))
    articles: list[Article] = []
    for n, item in enumerate(items, 1):
        title = _text(_child(item, "title"))
        body = _content(_child(item, "encoded", "content")) or _content(_child(item, "description", "summary"))
        if not (title or body):
            continue
        meta = Meta(title=title[:300] or None, publisher=publisher[:300] if publisher else None,
                    published=_date(_child(item, "pubDate", "published", "date", "updated", "issued")),
                    url=_link(item),
                    language=_language(_text(_child(item, "language")) or item.get("lang")) or feed_language)
        text = f"{title}\n\n{body}" if title and body else title or body
        text = _SEPARATOR_LINE.sub("\n", text)  # an item is one article, even with a line of --- in it
        try:
            article = read_articles(text, stopwords, "text", f"{name} item {n}")[0]
        except TextInputError:
            continue
        m = meta.over(Meta(article.title or None, article.publisher, article.published, article.url, None))
        articles.append(replace(article, index=len(articles), title=m.title or "", published=m.published,
                                publisher=m.publisher, url=m.url, language=m.language or article.language))
    if not articles:
        raise TextInputError(f"{name}: the feed's items hold no text")
    return articles
