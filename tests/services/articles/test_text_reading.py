"""Reading input: decoding, binary refusal, HTML/Markdown to plain text, sentences, articles, language."""

from __future__ import annotations

import pytest

from facilities.errors import FacilitiesError, ValidationError
from tests.support.articles import resources
from tracker.articles import TextInputError
from tracker.articles.reading import (
    MAX_ARTICLE_CHARS,
    decode,
    html_to_text,
    markdown_to_text,
    read_articles,
    split_articles,
    split_sentences,
)


def test_html_drops_script_style_and_markup():
    html = ("<html><head><title>T</title><style>p{color:red}</style></head><body><h1>Report</h1>"
            "<script>alert('Secret Missile Plant')</script><p>The <b>Kusong</b> Tool Factory &amp; more.</p>"
            "<noscript>x</noscript></body></html>")
    text = html_to_text(html)
    assert "alert" not in text and "color" not in text and "<" not in text
    assert "Report" in text and "The Kusong Tool Factory & more." in text


def test_markdown_to_text():
    md = "# Title\n\nThe **February 11 Plant** is [here](https://x.org).\n\n```\ncode Plant\n```\n"
    text = markdown_to_text(md)
    assert "February 11 Plant is here." in text and "code" not in text and "#" not in text


def test_sentences_keep_offsets_and_abbreviations():
    text = "Factory No. 26 is in Kanggye. It grew 5.5 per cent! Dr. Lee said so.\nHeadline line"
    sents = split_sentences(text)
    assert [s.text for s in sents] == ["Factory No. 26 is in Kanggye.", "It grew 5.5 per cent!", "Dr. Lee said so.",
                                       "Headline line"]
    assert all(text[s.start:s.end] == s.text for s in sents)


def test_split_articles_on_rules():
    assert split_articles("One.\n---\nTwo.\n\n===\nThree.") == ["One.", "Two.", "Three."]


def test_language_detection():
    sw = resources.stopwords
    assert read_articles("The plant is in the city and it has grown.", sw)[0].language == "en"
    assert read_articles("La Corea del Nord sta ampliando la produzione di missili per la Russia.", sw)[0].language \
        == "it"
    assert read_articles("북한은 함흥의 미사일 공장을 확장하고 있다.", sw)[0].language == "ko"
    assert read_articles("12345 67 89", sw)[0].language == "und"


@pytest.mark.parametrize("data", [b"\x00\x01\x02binary\x00", b"%PDF-1.7\n...", b"\x89PNG\r\n\x1a\n\x00",
                                  bytes(range(1, 32)) * 50])
def test_binary_is_refused_with_a_clear_message(data):
    with pytest.raises(TextInputError, match="binary"):
        decode(data, "file.bin")


def test_decoding_fallbacks():
    assert decode("Hamhŭng".encode()) == "Hamhŭng"
    assert decode("città".encode("cp1252")) == "città"
    assert decode("\ufeffBOM".encode()) == "BOM"


@pytest.mark.parametrize("text", ["", "   \n\t ", "<html><script>x()</script></html>"])
def test_empty_input(text):
    with pytest.raises(TextInputError, match="no text"):
        read_articles(text, resources.stopwords, fmt="html")


def test_one_huge_article_is_refused_clearly():
    with pytest.raises(TextInputError, match="limit") as err:
        read_articles("word " * (MAX_ARTICLE_CHARS // 5 + 10), resources.stopwords)
    assert isinstance(err.value, ValidationError) and isinstance(err.value, FacilitiesError)
