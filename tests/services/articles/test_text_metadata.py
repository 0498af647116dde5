"""Issue 19: the source's own metadata (title, publisher, date, URL, language) from HTML meta tags
and from the first lines of a pasted text; never a whole pasted sentence as a title."""

from __future__ import annotations

from tests.support.articles import read, reader
from tracker.articles.metadata import html_meta, text_meta, title_of

PAGE = """<!doctype html><html lang="en-GB"><head>
<title>Plant grows | Some Monitor</title>
<meta property="og:title" content="Arms plant in Chagang keeps expanding">
<meta property="og:site_name" content="Northeast Asia Monitor">
<meta property="article:published_time" content="2024-09-18T08:30:00+09:00">
<link rel="canonical" href="https://example.org/news/chagang">
</head><body><nav>Home Korea World</nav><article><h1>Arms plant in Chagang keeps expanding</h1>
<p>At the February 11 Plant in Hamhung, a new building went up in the past year.</p></article></body></html>"""


def test_html_meta_tags():
    m = html_meta(PAGE)
    assert (m.title, m.publisher, m.published, m.url, m.language) == (
        "Arms plant in Chagang keeps expanding", "Northeast Asia Monitor", "2024-09-18",
        "https://example.org/news/chagang", "en")


def test_html_title_tag_without_open_graph_splits_off_the_site():
    m = html_meta("<html><head><title>Missile plant expands - The Daily Example</title>"
                  "<meta name='date' content='2024-07-03'></head><body><p>x</p></body></html>")
    assert (m.title, m.publisher, m.published) == ("Missile plant expands", "The Daily Example", "2024-07-03")


def test_an_html_article_carries_its_metadata_into_the_source():
    (r,) = reader.read(PAGE, fmt="html")
    a = r.article
    assert (a.title, a.publisher, a.published, a.url, a.language) == (
        "Arms plant in Chagang keeps expanding", "Northeast Asia Monitor", "2024-09-18",
        "https://example.org/news/chagang", "en")
    assert not a.text.startswith("Home")  # navigation is not the article
    (p,) = [p for p in r.proposals if p.label == "new building"]
    assert (p.source.publisher, p.source.url, str(p.source.published)) == (
        "Northeast Asia Monitor", "https://example.org/news/chagang", "2024-09-18")
    assert str(p.date) == "~2024-09"  # 'in the past year', against the page's date


def test_first_lines_of_pasted_text():
    cases = {
        "Headline here\nBy Staff Writer | Published July 12, 2024\n\nBody.": (None, "2024-07-12"),
        "Headline here\nKorea Watch - 27 September 2024\n\nBody.": ("Korea Watch", "2024-09-27"),
        "Titolo\nRedazione ANSA, 25 novembre 2024 10:12\n\nTesto.": ("ANSA", "2024-11-25"),
        "Titre\nPublié le 26 novembre 2024 à 09h15\n\nTexte.": (None, "2024-11-26"),
        "Titre\nParis, le 5 février 2025\n\nTexte.": (None, "2025-02-05"),
        "Headline\nPublished: 2024-12-03\n\nBody.": (None, "2024-12-03"),
        ("Headline\n\nLONDON, Oct 14, 2024 (Reuters) - A drone factory in Russia's Tatarstan region has doubled "
         "its floor space over the past year, according to an analysis published on Monday."):
            ("Reuters", "2024-10-14"),
    }
    for text, (publisher, published) in cases.items():
        m = text_meta(text)
        assert (m.publisher, m.published) == (publisher, published), text
        assert m.title == text.splitlines()[0]


def test_a_pasted_sentence_is_never_the_title():
    sentence = ("North Korea fired seven short-range ballistic missiles off its east coast on Tuesday, South "
                "Korea's military said, days after it tested a new long-range missile.")
    title = title_of(sentence)
    assert title != sentence and title.endswith("…") and len(title.split()) <= 10
    r = read(sentence + " The February 11 Plant got new housing.")
    assert r.article.title == title and r.proposals[0].source.title == title
    assert title_of("North Korea expands missile plant, researchers say") == (
        "North Korea expands missile plant, researchers say")


def test_the_date_line_dates_relative_expressions():
    r = read("Kim's missile factory is growing\nNovember 26, 2024 | Asia Desk\n\n"
             "Researchers reported on Monday, November 25, that the February 11 Factory got new housing last month.")
    assert r.article.published == "2024-11-26"
    assert {m.data["date"] for m in r.mentions if m.kind == "date"} >= {"2024-11-25", "2024-10"}
