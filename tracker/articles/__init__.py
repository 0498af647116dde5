"""Reading articles: facilities, places, systems, organisations, people, dates and figures named in
text, linked to the registry, with candidate observations for an analyst to review.

    from tracker.articles import Reader, load_resources
    results = Reader(load_resources(), store.list_facilities()).read(text)
"""

from .analyse import ArticleResult, Reader
from .reading import TextInputError
from .resources import load_resources

__all__ = ["ArticleResult", "Reader", "TextInputError", "load_resources"]
