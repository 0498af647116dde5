"""From bytes to articles: decoding, binary detection, HTML/Markdown to plain text, article and
sentence splitting with character offsets, language detection. Pure: no files are opened here.

HTML is never rendered: the stdlib parser keeps only text nodes, dropping script/style/template
content, so nothing from the input reaches the output as markup.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser

from ..errors import TextInputError  # defined with the services' errors; importable here
from .metadata import Meta, html_meta, text_meta

MAX_ARTICLE_CHARS = 2_000_000  # one article; a larger one is almost surely not an article
MAX_INPUT_CHARS = 20_000_000  # one file of several articles


@dataclass(frozen=True)
class Sentence:
    """One sentence of an article: its span and text."""

    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Article:
    """One article as plain text; offsets of mentions refer to `text`."""

    text: str
    title: str
    language: str
    index: int = 0
    published: str | None = None  # YYYY[-MM[-DD]] when the text says so
    sentences: tuple[Sentence, ...] = field(default=(), repr=False)
    publisher: str | None = None  # from the page's meta tags or the text's first lines
    url: str | None = None


def decode(data: bytes, name: str = "input") -> str:
    """Bytes to text: UTF-8 (with or without BOM), else UTF-16 with BOM, else cp1252. Binary is refused."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise TextInputError(f"{name}: not valid UTF-16 text") from None
    head = data[:65536]
    if b"\x00" in head or head.startswith((b"%PDF", b"PK\x03\x04", b"\x89PNG", b"GIF8", b"\x7fELF")):
        raise TextInputError(f"{name}: looks like a binary file (PDF, image, archive...), not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    controls = sum(1 for c in text[:65536] if unicodedata.category(c) == "Cc" and c not in "\n\r\t\f")
    if controls > max(8, len(text[:65536]) // 100):
        raise TextInputError(f"{name}: contains {controls} control characters; it looks binary, not text")
    return text


class _TextOnly(HTMLParser):
    """Collects text nodes; blocks become line breaks so sentences and titles survive."""

    SKIP = frozenset({"script", "style", "template", "noscript", "iframe", "object", "svg", "head", "nav"})
    BLOCK = frozenset({"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "article", "section",
                       "blockquote", "title", "hr", "header", "footer"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in self.SKIP:
            self.skipping += 1
        elif tag == "article":
            self.parts.append("\n\n---\n\n")  # an <article> is a new article
        elif tag in self.BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self.BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def defuse_html(html: str) -> str:
    """HTML the stdlib parser reads in linear time, with the same visible text.

    Python 3.11's HTMLParser is quadratic on unclosed constructs ('<a b=' or '<!--' repeated: 100 KB took
    13 minutes; CPython gh-135462): each unclosed one is rescanned to the end of the page. Comments
    (never shown) are removed in one pass, an unclosed one hiding the rest as in a browser; then between
    two '>' only the last '<' can open a tag, so every earlier one, and every '<' after the last '>', is
    text and becomes '&lt;'."""
    if "<" not in html:
        return html
    kept: list[str] = []
    at = 0
    while (start := html.find("<!--", at)) >= 0:
        kept.append(html[at:start])
        end = html.find("-->", start + 4)
        at = len(html) if end < 0 else end + 3
    kept.append(html[at:])
    parts = "".join(kept).split(">")
    for n, part in enumerate(parts):
        last = part.rfind("<") if n < len(parts) - 1 else len(part)
        if last > 0 and "<" in part[:last]:
            parts[n] = part[:last].replace("<", "&lt;") + part[last:]
    return ">".join(parts)


def html_to_text(html: str) -> str:
    """The visible text of an HTML page (scripts and styles dropped), blank lines collapsed."""
    parser = _TextOnly()
    parser.feed(defuse_html(html))
    parser.close()
    text = "".join(parser.parts)
    text = re.sub(r"[ \t\r\f\v]+", " ", text)
    return _BLANK_LINES.sub("\n\n", text).strip()


# three or more line breaks with only spaces between them; no two parts can match the same character, so
# a long run of whitespace is scanned once (the former \n\s*\n\s*(\n\s*)+ rescanned it from every break)
_BLANK_LINES = re.compile(r"\n(?:[^\S\n]*\n){2,}[^\S\n]*")


# Linear on any input: every span is bounded and stays on its line, and no pattern can start over inside
# a run it already scanned. Unbounded spans ((.+?), [^\]]+) made '*a ' * 100000 take minutes: each
# unclosed opener scanned to the end of the text.
# The longest emphasis or link text removed is 300 characters (a link's target 1200); a longer one keeps its
# markup characters.
_MD_RULES = [
    (re.compile(r"!\[([^\]\n]{0,300})\]\([^()\n]{0,1200}\)"), r"\1"),
    (re.compile(r"\[([^\]\[\n]{1,300})\]\([^()\n]{0,1200}\)"), r"\1"),
    (re.compile(r"^[ \t]{0,3}#{1,6}[ \t]*", re.M), ""),
    (re.compile(r"^[ \t]{0,3}>[ \t]?", re.M), ""),
    (re.compile(r"^[ \t]*[-*+][ \t]+(?=\S)", re.M), ""),
    (re.compile(r"(\*\*|__)([^\n]{1,300}?)\1"), r"\2"),
    (re.compile(r"(?<![\w*])\*(?![\s*])([^\n]{1,300}?)(?<!\s)\*(?![\w*])"), r"\1"),
    (re.compile(r"`([^`\n]{0,300})`"), r"\1"),
]
_FENCE = re.compile(r"^[ \t]{0,3}```")


def _without_code_blocks(md: str) -> str:
    """Fenced code blocks removed (they are not prose), in one pass over the lines; an unclosed fence
    runs to the end, as in CommonMark."""
    if "```" not in md:
        return md
    kept: list[str] = []
    inside = False
    for line in md.split("\n"):
        if _FENCE.match(line):
            inside = not inside
            continue
        if not inside:
            kept.append(line)
    return "\n".join(kept)


def markdown_to_text(md: str) -> str:
    """Markdown with its markup removed, in time linear in the text."""
    md = _without_code_blocks(md)
    for pattern, repl in _MD_RULES:
        md = pattern.sub(repl, md)
    return md


def guess_format(text: str, name: str = "") -> str:
    """'html', 'markdown' or 'text', from the file name, else from HTML tags near the start."""
    lower = name.lower()
    if lower.endswith((".html", ".htm", ".xhtml")):
        return "html"
    if lower.endswith((".md", ".markdown")):
        return "markdown"
    if re.search(r"<(html|body|p|div|article|script|br|span|h[1-6])\b[^>]*>", text[:5000], re.I):
        return "html"
    return "text"


def to_plain(text: str, fmt: str) -> str:
    """Text in `fmt` as plain text with newlines normalised and control characters removed."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if fmt == "html":
        text = html_to_text(text)
    elif fmt == "markdown":
        text = markdown_to_text(text)
    # drop remaining control characters (but keep line structure) so output strings are plain
    return _CONTROL.sub("", text)


_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ue000-\uf8ff\u202a-\u202e\u2066-\u2069]")
_SEPARATOR = re.compile(r"\n[ \t]*(?:-{3,}|={3,}|\*{3,}|\f)[ \t]*\n")


def split_articles(text: str) -> list[str]:
    """Several articles in one file are separated by a line of '---', '===' or '***' (or a form feed)."""
    return [part.strip() for part in _SEPARATOR.split("\n" + text.replace("\f", "\n\f\n") + "\n") if part.strip()]


_ABBREV = {"no", "nr", "n", "st", "mr", "mrs", "ms", "dr", "prof", "gen", "col", "lt", "sen", "rep", "gov", "jr",
           "sr", "inc", "ltd", "co", "corp", "vs", "etc", "e.g", "i.e", "u.s", "u.k", "sig", "dott", "ing", "on",
           "fig", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "approx"}
_LAST_WORD = re.compile(r"([\w.]+)$")
# a run of stops or closers is tried from its first character only (the lookbehinds), not again from each
_BOUNDARY = re.compile(r"(?<![.!?…])[.!?…]+(?<![\"'”’»)\]])[\"'”’»)\]]*(?=\s)|\n[^\S\n]*\n\s*|\n(?=\S)")


def split_sentences(text: str) -> tuple[Sentence, ...]:
    """Sentences with character offsets into `text`; a line break also ends a sentence (headlines)."""
    out: list[Sentence] = []
    start = 0
    for m in _BOUNDARY.finditer(text):
        end = m.end()
        if m.group().startswith((".",)) and not m.group().startswith(".."):
            word = _LAST_WORD.search(text, max(start, m.start() - 40), m.start())  # bounded: no rescans
            if word and (word.group(1).lower() in _ABBREV or len(word.group(1)) == 1 and word.group(1).isupper()):
                continue  # 'Factory No. 26', 'Kim J. Un': not the end of a sentence
            if word and word.group(1)[-1:].isdigit() and text[end:end + 2].strip()[:1].isdigit():
                continue
        _add(out, text, start, end)
        start = end
    _add(out, text, start, len(text))
    return tuple(out)


def _add(out: list[Sentence], text: str, start: int, end: int) -> None:
    chunk = text[start:end]
    stripped = chunk.strip()
    if stripped:
        s = start + (len(chunk) - len(chunk.lstrip()))
        out.append(Sentence(s, s + len(stripped), stripped))


def detect_language(text: str, stopwords: Mapping[str, frozenset[str]]) -> str:
    """A BCP 47 tag by script, then by counting stop words; 'und' when it cannot tell."""
    sample = text[:20000]
    letters = [c for c in sample if c.isalpha()]
    if not letters:
        return "und"
    counts = {"ko": 0, "ru": 0, "zh": 0, "ja": 0, "ar": 0}
    for c in letters:
        o = ord(c)
        if 0xAC00 <= o <= 0xD7AF or 0x1100 <= o <= 0x11FF:
            counts["ko"] += 1
        elif 0x0400 <= o <= 0x04FF:
            counts["ru"] += 1
        elif 0x3040 <= o <= 0x30FF:
            counts["ja"] += 1
        elif 0x4E00 <= o <= 0x9FFF:
            counts["zh"] += 1
        elif 0x0600 <= o <= 0x06FF:
            counts["ar"] += 1
    script, n = max(counts.items(), key=lambda kv: kv[1])
    if n > len(letters) / 2:
        if script == "ru" and re.search(r"[іїєґ]", sample):
            return "uk"
        return "ja" if script == "zh" and counts["ja"] else script
    words = re.findall(r"[^\W\d_]+", sample.lower())
    scores = {lang: sum(1 for w in words if w in sw) for lang, sw in stopwords.items()}
    if not scores:
        return "und"
    best = max(scores, key=lambda k: scores[k])
    return best if scores[best] >= 2 and scores[best] >= 0.05 * len(words) else "und"


def read_articles(text: str, stopwords: Mapping[str, frozenset[str]], fmt: str = "text",
                  name: str = "input") -> list[Article]:
    """Plain-text articles from one input; raises TextInputError when there is nothing to read.
    Each carries the source's own metadata (metadata.py): the page's head for HTML (all of it when
    the page holds one article; publisher, URL and language when it holds several), then the
    article's first lines."""
    if len(text) > MAX_INPUT_CHARS:
        raise TextInputError(f"{name}: {len(text):,} characters; the limit is {MAX_INPUT_CHARS:,} per file")
    if fmt == "html":
        text = defuse_html(text)
    page = html_meta(text) if fmt == "html" else Meta()
    plain = to_plain(text, fmt)
    parts = split_articles(plain)
    if len(parts) > 1:
        page = Meta(publisher=page.publisher, url=None, language=page.language)
    articles = []
    for i, part in enumerate(parts):
        if len(part) > MAX_ARTICLE_CHARS:
            raise TextInputError(f"{name}: article {i + 1} has {len(part):,} characters; the limit is "
                                 f"{MAX_ARTICLE_CHARS:,} per article (separate articles with a line of ---)")
        meta = page.over(text_meta(part))
        language = detect_language(part, stopwords)
        if language == "und" and meta.language:
            language = meta.language
        articles.append(Article(text=part, title=meta.title or "", language=language, index=i,
                                published=meta.published, sentences=split_sentences(part),
                                publisher=meta.publisher, url=meta.url))
    if not articles:
        raise TextInputError(f"{name}: no text to read (empty, or only markup)")
    return articles
