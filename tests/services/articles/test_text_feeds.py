"""Feed exports (RSS 2.0, Atom) read as one article per item: title, link, date and language from
the item or the feed, HTML content reduced to text, hostile XML refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from facilities.errors import FacilitiesError
from tests.support.articles import observations, reader
from tracker.articles.feeds import is_feed

FEED = Path(__file__).resolve().parent / "feeds" / "korea_watch.rss"

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="fr">
 <title type="text">Veille Cor\xc3\xa9e</title>
 <entry>
  <title>L'usine du 11 f\xc3\xa9vrier s'agrandit</title>
  <link rel="alternate" href="https://veille.example/usine-11-fevrier"/>
  <id>urn:uuid:1</id>
  <published>2024-11-27T08:00:00Z</published>
  <content type="html">&lt;p&gt;Des images satellites montrent un nouveau b\xc3\xa2timent \xc3\xa0
   l'usine du 11 F\xc3\xa9vrier de Hamhung.&lt;/p&gt;</content>
 </entry>
 <entry xml:lang="en">
  <title>Yard work at Sinpo</title>
  <link rel="alternate" href="https://veille.example/sinpo"/>
  <updated>2024-10-02</updated>
  <content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>The Sinpo South Shipyard was expanded
   in 2019.</p><p>A second hall stands there now.</p></div></content>
 </entry>
</feed>
"""


def test_rss_items_are_articles_with_their_own_metadata():
    results = reader.read_bytes(FEED.read_bytes(), name="korea_watch.rss")
    articles = [r.article for r in results]
    assert [a.index for a in articles] == [0, 1, 2]
    assert [a.title for a in articles] == ["Missile plant in Hamhung keeps growing", "Sohae launch pad extended",
                                           "Lo stabilimento di Hamhung si allarga"]
    assert [a.published for a in articles] == ["2024-11-26", "2024-10-14", "2024-11-27"]
    assert [a.url for a in articles] == ["https://korea-watch.example/2024/11/hamhung-plant",
                                         "https://korea-watch.example/2024/10/sohae",
                                         "https://korea-watch.example/it/2024/11/hamhung"]
    assert [a.language for a in articles] == ["en", "en", "it"]  # the item's dc:language over the channel's
    assert {a.publisher for a in articles} == {"Korea Watch"}
    first = articles[0].text
    assert "<p>" not in first and "alert" not in first and "KN-23 missiles" in first  # HTML to text, no script
    assert "A new gantry was completed last month." in articles[1].text  # CDATA content:encoded read as HTML
    # each item is read against the registry: the plant named in item 1 and item 3 is linked and dated
    p = results[0].proposals
    assert [x.facility_id for x in p] == ["february-11-plant"] and str(p[0].date) == "~2024-10"
    assert p[0].source.url == articles[0].url and str(p[0].source.published) == "2024-11-26"
    assert any(lk.facility_id == "february-11-plant" for lk in results[2].links)


def test_atom_entries_html_and_xhtml_content_and_xml_lang():
    results = reader.read_bytes(ATOM, name="export.atom")
    a, b = (r.article for r in results)
    assert (a.title, a.url, a.published, a.language, a.publisher) == (
        "L'usine du 11 février s'agrandit", "https://veille.example/usine-11-fevrier", "2024-11-27", "fr",
        "Veille Corée")
    assert "nouveau bâtiment" in a.text and "<p>" not in a.text
    assert (b.title, b.published, b.language) == ("Yard work at Sinpo", "2024-10-02", "en")
    assert "expanded in 2019." in " ".join(b.text.split())
    assert "A second hall stands there now." in [s.text for s in b.sentences]  # <p> ends a paragraph


def test_feeds_are_known_by_their_root_or_their_name():
    assert is_feed(FEED.read_bytes()) and is_feed(ATOM) and is_feed(b"\xef\xbb\xbf  <rss version='2.0'>")
    assert is_feed(b"<notes/>", "x.xml") and not is_feed(b"<html><body>rss</body></html>", "page.html")


@pytest.mark.parametrize("data, message", [
    (b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
     b"<rss><channel><item><title>&b;</title></item></channel></rss>", "DOCTYPE"),
    (b"<rss><channel><item><title>cut", "not well-formed"),
    (b"<kml><Document/></kml>", "not an RSS or Atom feed"),
    (b"<rss><channel><title>empty</title></channel></rss>", "without items"),
])
def test_hostile_or_wrong_feeds_are_refused_with_a_message(data, message):
    with pytest.raises(FacilitiesError, match=message):
        reader.read_bytes(data, name="bad.xml")


def test_ingest_reads_a_feed_file_and_a_folder_with_one(cli, tmp_path):  # noqa: F811
    out = json.loads(cli("ingest", str(FEED), "--json").stdout)
    articles = out["files"][0]["articles"]
    assert [(a["title"], a["published"], a["language"]) for a in articles] == [
        ("Missile plant in Hamhung keeps growing", "2024-11-26", "en"),
        ("Sohae launch pad extended", "2024-10-14", "en"),
        ("Lo stabilimento di Hamhung si allarga", "2024-11-27", "it")]
    assert articles[0]["url"] == "https://korea-watch.example/2024/11/hamhung-plant"
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "a.atom").write_bytes(ATOM)
    (folder / "b.rss").write_bytes(FEED.read_bytes())
    res = cli("ingest", str(folder), "--review", "--accept-all", "--json")
    assert "[1/2]" in res.stderr and "[2/2]" in res.stderr
    assert [len(f["articles"]) for f in json.loads(res.stdout)["files"]] == [2, 3]
    written = observations(tmp_path)
    assert written and {o.facility_id for o in written} >= {"february-11-plant"}
