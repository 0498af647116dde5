"""The digest files after a scan: sites ranked (the measured change first), before/after thumbnails only from
readable sources, the Compare link on the pair, failures listed, user text escaped in HTML and Markdown, and
GeoJSON with one feature per finding."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

from PIL import Image

from tests.support.watch import FAILING, PLANT, SINCE, watch_world
from tracker.watch.digest import md_escape, write_digest
from tracker.watch.run import scan_watchlist, watch_tables


def test_digest_ranks_links_escapes_and_lists_failures(tmp_path, server, endpoints):
    world = watch_world(tmp_path, server, endpoints)
    yard = world.store.get_facility("yard")
    world.store.update_facility(yard.evolve(name="<script>alert(1)</script> *Yard* [x](y)"), actor="tester")
    session = world.session()
    try:
        scan_watchlist(world.store, session, actor="tester", since=SINCE, sources=("wayback", "local"))
        files = write_digest(world.store, session, tmp_path / "out" / "digest", app_url="http://app:8501/")
    finally:
        session.close()
    findings = watch_tables(world.store).findings()
    html = files.html.read_text()
    md = files.markdown.read_text()

    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert md_escape("*Yard* [x](y)") in md and "*Yard*" not in md.replace("\\*Yard\\*", "")
    order = [html.index(f'id="{fid}"') for fid in ("yard", "depot", PLANT)]
    assert order == sorted(order)  # the measured change first, then the newest news
    change = next(f for f in findings if f.kind.value == "change")
    link = next(part.split('"')[0] for part in html.split('href="')[1:] if "facility=yard" in part)
    query = parse_qs(urlsplit(link.replace("&amp;", "&")).query)
    assert link.startswith("http://app:8501/compare?")
    assert query == {"facility": ["yard"], "before": [change.before_key], "image": [change.after_key],
                     "view": ["Difference"]}
    thumbs = {p.name for p in files.thumbnails}
    assert thumbs == {"digest-001-before.png", "digest-001-after.png", "digest-002-after.png"}  # none for Wayback
    assert Image.open(tmp_path / "out" / "digest-001-after.png").size == (256, 256)
    assert f"{FAILING}: wayback:" in html and FAILING in md and files.failures == 1

    doc = json.loads(files.geojson.read_text())
    assert {f["properties"]["finding"] for f in doc["features"]} == {f.id for f in findings}
    by_kind = {f["properties"]["kind"]: f for f in doc["features"]}
    assert by_kind["change"]["properties"]["geometry_is"] == "change regions"
    assert by_kind["new-wayback-release"]["properties"]["changed_m2"] is None
