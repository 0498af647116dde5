"""Bad input: empty, binary, huge, mixed scripts, hostile HTML. A clear error or safe output, never a crash."""

from __future__ import annotations

import json
import random
import unicodedata

import pytest

from tests.support.articles import reader
from tracker.articles import TextInputError
from tracker.articles.reading import MAX_ARTICLE_CHARS

HOSTILE = """<html><head><script>var p = "Secret Missile Plant"; document.write('<b>Hwasong-99</b>');</script>
<style>.x:after{content:"Factory No. 99"}</style></head>
<body onload="alert('KN-99')"><h1>Report</h1><p>The <a href="javascript:alert(1)">February 11 Plant</a> in Hamhung
makes the KN-23.</p><img src=x onerror="alert('Kanggye')"><iframe>Plant No. 77</iframe>
<p>&lt;script&gt;alert("x")&lt;/script&gt; is shown as text, not run.</p></body></html>"""


def all_strings(obj):
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from all_strings(v)
    elif isinstance(obj, list | tuple):
        for v in obj:
            yield from all_strings(v)


def test_html_script_never_becomes_a_mention():
    (r,) = reader.read(HOSTILE, fmt="html")
    texts = {m.text for m in r.mentions}
    assert {"February 11 Plant", "Hamhung", "KN-23"} <= texts
    for bad in ("Secret Missile Plant", "Hwasong-99", "Factory No. 99", "KN-99", "Kanggye", "Plant No. 77"):
        assert bad not in r.article.text and bad not in texts
    # entities decode to plain text; nothing in the output is markup from the input
    for s in all_strings(r.as_dict()):
        assert "<b>" not in s and "javascript:" not in s and "onerror" not in s


def test_html_is_detected_from_content():
    (r,) = reader.read_bytes(HOSTILE.encode(), name="page.txt")
    assert "Secret Missile Plant" not in r.article.text


@pytest.mark.parametrize("data", [b"", b"\x00" * 100, b"PK\x03\x04zipfile", bytes(range(256)) * 10])
def test_empty_and_binary_bytes(data):
    with pytest.raises(TextInputError):
        reader.read_bytes(data, name="f")


def test_ten_megabytes_in_one_article_is_refused_with_the_limit():
    with pytest.raises(TextInputError, match=f"{MAX_ARTICLE_CHARS:,}"):
        reader.read("The February 11 Plant grew. " * (10 * 2**20 // 28))


def test_mixed_scripts_and_controls_are_safe():
    rng = random.Random(7)
    pieces = ["함흥 ", "Hamhŭng ", "공장에서 ", "Plant ", "No. 26 ", "«x» ", "\u202e", "2020 ", "Курск ", "北朝鮮 ",
              "\x07", "February 11 Plant. ", "صاروخ ", "🚀 ", "\ufeff", "e\u0301 ", "KN-23 ", "\ud7a3 "]
    text = "".join(rng.choice(pieces) for _ in range(20000))
    results = reader.read(text)
    for r in results:
        for m in r.mentions:
            assert r.article.text[m.start:m.end] == m.text
            assert not any(unicodedata.category(c) == "Cc" and c not in "\n\t" for c in m.sentence)
        json.dumps(r.as_dict(), ensure_ascii=False)  # serialisable
    assert any(m.value == "February 11 Plant" for r in results for m in r.mentions)


@pytest.mark.parametrize("text", ["\n\n---\n\n", "...", "«»", '""', "0" * 5000, "A" * 100_000, "Plant " * 2000])
def test_degenerate_texts(text):
    try:
        results = reader.read(text)
    except TextInputError as err:
        assert "no text" in str(err)
        return
    assert all(m.kind != "facility" for r in results for m in r.mentions)


def test_other_languages_degrade_gracefully():
    (r,) = reader.read("Nordkorea baut die Fabrik in Hamhung aus. Die Rakete KN-23 wird dort gebaut, sagte er 2024.")
    assert r.article.language == "de"
    assert {("place", "Hamhŭng"), ("system", "KN-23"), ("date", "2024")} <= {(m.kind, m.value) for m in r.mentions}
