"""The reader in one call: text in, articles with mentions, links and proposals out. Pure once
given `Resources` (see resources.load_resources) and the registry's facilities.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from facilities.dates import PartialDate
from facilities.errors import ValidationError
from facilities.model import Facility

from .dates import MONTHS
from .extract import Mention, article_date, extract
from .feeds import is_feed, read_feed
from .linking import AliasIndex, Link, link_all
from .patterns import Compiled, compile_lexicon, fold
from .proposals import Proposal, propose
from .reading import Article, decode, guess_format, read_articles
from .resources import Resources


@dataclass(frozen=True)
class ArticleResult:
    """What reading one article found: its mentions, their links to registry facilities, and the observations
    proposed from them."""

    article: Article
    mentions: tuple[Mention, ...]
    links: tuple[Link, ...]
    proposals: tuple[Proposal, ...]

    def of_kind(self, kind: str) -> list[Mention]:
        """The mentions of one kind (facility, place, system, date, ...), in text order."""
        return [m for m in self.mentions if m.kind == kind]

    def as_dict(self) -> dict[str, Any]:
        """The result as JSON-ready data (the CLI's --json output)."""
        a = self.article
        return {"index": a.index, "title": a.title, "language": a.language, "published": a.published,
                "publisher": a.publisher, "url": a.url,
                "characters": len(a.text), "mentions": [m.as_dict() for m in self.mentions],
                "links": [lk.as_dict() for lk in self.links], "proposals": [p.as_dict() for p in self.proposals]}


@lru_cache(maxsize=4)
def _compiled(res: Resources) -> Compiled:
    months = [m for m in MONTHS if len(m) > 3] + ["Feb", "février", "août", "décembre"]
    return compile_lexicon(res.lexicon, res.systems, months)


class Reader:
    """Reads articles against one registry snapshot; build once, call `read` per input."""

    def __init__(self, resources: Resources, facilities: Iterable[Facility] = ()):
        self.res = resources
        self.comp = _compiled(resources)
        self.index = AliasIndex(facilities, self.comp.generic)
        self.stopwords = resources.stopwords

    def read_article(self, article: Article, published: PartialDate | None = None, origin: str = "") -> ArticleResult:
        """Read one article: find mentions, link them to the registry and propose observations. `published` stands in
        for an article without its own date."""
        if published is not None and article.published is None:
            article = replace(article, published=str(published))
        hits = self.index.find(fold(article.text))
        mentions = extract(article, self.comp, self.res.gazetteer, hits)
        links = link_all(mentions, self.index)
        proposals = propose(article, mentions, links, self.comp, article_date(article), origin)
        return ArticleResult(article, tuple(mentions), tuple(links), tuple(proposals))

    def read(self, text: str, fmt: str = "text", name: str = "input", published: str | None = None
             ) -> list[ArticleResult]:
        """Every article in a text; `published` (YYYY[-MM[-DD]]) dates relative expressions."""
        date = self._date(published)
        articles = read_articles(text, self.stopwords, fmt, name)
        return [self.read_article(a, date, name) for a in articles]

    @staticmethod
    def _date(published: str | None) -> PartialDate | None:
        if not published:
            return None
        try:
            return PartialDate.parse(published)
        except ValidationError as err:
            raise ValidationError(f"--date: {err}") from None

    def read_bytes(self, data: bytes, name: str = "input", published: str | None = None) -> list[ArticleResult]:
        """A file's bytes: text, Markdown or HTML, or an RSS/Atom feed (one article per item)."""
        if is_feed(data, name):
            date = self._date(published)
            return [self.read_article(a, date, name) for a in read_feed(data, self.stopwords, name)]
        text = decode(data, name)
        return self.read(text, guess_format(text, name), name, published)
