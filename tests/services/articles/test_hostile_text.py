"""Issue 14, part D: article reading stays linear on pathological text. No timing here (the bench,
bench/hostile_text_bench.py, measures growth against ordinary text); these check that the bounded
patterns still remove the markup they are for, and that pathological input is read, not refused."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.articles import reader
from tracker.articles.reading import _MD_RULES, html_to_text, markdown_to_text, split_sentences


def test_markdown_markup_is_still_removed():
    md = ("# Title\n\n> quoted **bold** and __strong__ and *em* text\n\n- item with [a link](http://x/y) and "
          "![alt](i.png) and `code`\n\n```\nprint(1)\n```\nAfter.")
    text = markdown_to_text(md)
    assert "Title" in text and "bold" in text and "strong" in text and "em text" in text
    assert "a link" in text and "alt" in text and "code" in text and "After." in text
    for mark in ("**", "__", "](", "```", "print(1)", "# ", "> "):
        assert mark not in text, (mark, text)


def test_an_unclosed_fence_hides_the_rest_as_commonmark_does():
    assert markdown_to_text("Before.\n```\ncode\nmore").strip() == "Before."


def test_no_markdown_pattern_has_an_unbounded_span():
    # every repeated span is bounded ({m,n}) or cannot cross a line; '.+', '.*' and an unbounded negated class
    # that may cross lines are what made reading quadratic
    for pattern, _ in _MD_RULES:
        src = pattern.pattern
        assert not re.search(r"\.[+*]", src), src
        assert not re.search(r"\[\^[^\]]*\][+*]", src) or "\\n" in src, src


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="*_[]()!`#>-\n \ta.", max_size=400))
def test_any_markdown_punctuation_reads(md):
    markdown_to_text(md)
    split_sentences(md)
    html_to_text(md)


def test_pathological_inputs_are_read_not_refused():
    for unit, fmt in [("*a ", "markdown"), ("[", "markdown"), ("```\nx\n", "markdown"), ("\n \n", "html"),
                      (".", "text"), ("?!", "text"), ("No. ", "text"), ("<a b=", "html"), ("<!--a", "html"),
                      ("<", "html")]:
        text = "Report. " + unit * (60_000 // len(unit))
        results = reader.read(text, fmt=fmt)
        assert results and results[0].article.text


def test_html_defused_keeps_the_visible_text():
    from tracker.articles.reading import defuse_html, html_to_text

    page = "<p>a < b and <b>bold</b><!-- hidden <i>x</i> --> after</p><script>if (a<b) {}</script>"
    assert html_to_text(page) == "a < b and bold after"
    assert defuse_html(defuse_html(page)) == defuse_html(page)
    assert "<" not in defuse_html("<a b=<a b=x") and html_to_text("<!-- never closed <p>x") == ""
