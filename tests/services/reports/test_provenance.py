"""The provenance appendix against a real registry: local imports (one converted to a COG on import, one kept as
imported), observations on each, an edited observation, a traced structure, an accepted dating naming a third
image only in its notes, a Wayback observation and a cached EOX tile. Every image is listed with the sha256 of
the bytes used (hashed here, independently, from the stored files and the cached tile), its original file name,
credit and import time; the history says who changed what; the JSON round-trips; the partial escapes a hostile
name; the CLI prints the same."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import jinja2
import pytest
from affine import Affine
from pyproj import Transformer
from shapely.geometry import box

from facilities.dates import PartialDate
from facilities.model import Facility, ImageRef, Observation, ObservationKind, Structure
from facilities.store import GeoPackageStore
from imagery.keys import ImageKey
from imagery.local import import_image
from imagery.tiles import tile_for
from tests.support.cli import cli_in
from tests.support.rasters import UTM52_ORIGIN, scene, write_cog, write_tif
from tracker.dating import Bound, Dating, accept_dating
from tracker.image_mentions import keys_named
from tracker.reports.provenance import (
    WAYBACK_BYTES,
    Provenance,
    build_provenance,
    provenance_path,
    render_provenance_html,
    write_provenance,
)
from tracker.settings import load_settings
from tracker.site import load_site
from tracker.wiring import imagery_session

HOSTILE = '<script>alert("x")</script> & Plant'
EOX_YEAR = "2020"


def _lonlat_box(x0: float, y0: float, side: float):
    to_ll = Transformer.from_crs("EPSG:32652", "EPSG:4326", always_xy=True)
    (w, e), (s, n) = zip(to_ll.transform(x0, y0 - side), to_ll.transform(x0 + side, y0), strict=True)
    return box(min(w, e), min(s, n), max(w, e), max(s, n))


@dataclass
class Site:
    data: Path
    keys: dict[str, ImageKey]  # a: converted GeoTIFF, b: a COG kept as imported, c: named only in dating notes
    stored: dict[str, Path]
    obs: dict[str, str]  # role -> observation id
    tile_sha: str
    tile_url: str


@pytest.fixture
def site(tmp_path, monkeypatch) -> Site:
    monkeypatch.setenv("TRACKER_DATABASE", str(tmp_path / "r.gpkg"))
    monkeypatch.setenv("TRACKER_OFFLINE", "1")
    data = tmp_path / "data"
    x0, y0 = UTM52_ORIGIN
    tf = Affine(0.5, 0, x0, 0, -0.5, y0)
    src = tmp_path / "src"
    src.mkdir()
    files = {"a": write_tif(src / "plant <2023> a.tif", scene(96, 96, seed=1), "EPSG:32652", tf),
             "b": write_cog(src / "plant-b.tif", scene(96, 96, seed=2), "EPSG:32652", tf),
             "c": write_tif(src / "plant-c.tif", scene(96, 96, seed=3), "EPSG:32652", tf)}
    days = {"a": dt.date(2023, 4, 1), "b": dt.date(2024, 10, 5), "c": dt.date(2022, 6, 30)}
    credits = {"a": "Image © Analyst A", "b": "Image © Analyst B", "c": "Image © Analyst C"}
    keys = {k: ImageKey("local", import_image(p, data, days[k], licence=f"licence {k}",
                                              attribution=credits[k]).capture_id) for k, p in files.items()}
    outline = _lonlat_box(x0, y0, 48)
    store = GeoPackageStore(tmp_path / "r.gpkg")
    session = imagery_session(load_settings())
    try:
        store.add_facility(Facility(id="plant", name=HOSTILE, geometry=outline), actor="tester")
        store.add_structure(Structure(id="b1", facility_id="plant", name="Building 1", geometry=outline.buffer(-1e-4),
                                      traced_on=ImageRef("local", keys["b"].image_id, PartialDate(days["b"]))),
                            actor="tester")

        def add(kind: str, key: ImageKey, day: dt.date, summary: str) -> str:
            return store.add_observation(Observation(
                id=f"obs-{kind}", facility_id="plant", date=PartialDate(day), kind=ObservationKind.PROGRESS,
                summary=summary, image=ImageRef(key.provider, key.image_id, PartialDate(day)), analyst="tester"),
                actor="tester").id

        obs = {"a": add("a", keys["a"], days["a"], "Roof on image a"),
               "b": add("b", keys["b"], days["b"], "Roof on image b"),
               "wayback": add("wayback", ImageKey("esri-wayback", "45134"), dt.date(2022, 3, 9), "Seen in Wayback"),
               "eox": add("eox", ImageKey("eox-s2cloudless", EOX_YEAR), dt.date(2020, 7, 1), "Context composite")}
        first = store.get_observation(obs["a"])
        store.update_observation(first.evolve(summary="Roof finished on image a", confidence="high"), actor="editor")
        structure = store.list_structures()[0]
        dating = Dating(facility_id="plant", structure=structure, change="appeared",
                        before=Bound(days["c"], keys["c"]), after=Bound(days["b"], keys["b"]), confidence="medium",
                        score=5.0, levels=(0.1, 0.6), method="temporal cluster matching", skipped=(), scores=())
        obs["dating"] = accept_dating(store, dating, actor="tester").id
        # one EOX tile over the site, kept by the imagery cache as the composite reader would keep it
        layer = session.eox.layers[EOX_YEAR]
        tile = tile_for(outline.centroid.x, outline.centroid.y, 15)
        url = session.eox.tile_url(layer, tile.z, tile.x, tile.y)
        body = b"\xff\xd8\xff" + b"jpeg tile bytes"
        session.cache.put(url, body, provider=layer.key, kind="tile")
        far = tile_for(10.0, 50.0, 15)  # a tile of the same composite elsewhere: not this site's evidence
        session.cache.put(session.eox.tile_url(layer, far.z, far.x, far.y), body + b"far", provider=layer.key,
                          kind="tile")
    finally:
        session.close()
        store.close()
    stored = {k: data / "imagery" / f"{key.image_id}.tif" for k, key in keys.items()}
    return Site(data, keys, stored, obs, hashlib.sha256(body).hexdigest(), url)


def _build(tmp_path) -> Provenance:
    store = GeoPackageStore(tmp_path / "r.gpkg")
    session = imagery_session(load_settings())
    try:
        return build_provenance(load_site(store, "plant"), store, session)
    finally:
        session.close()
        store.close()


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_every_image_is_listed_with_the_sha256_of_its_stored_bytes_file_name_credit_and_import_time(tmp_path, site):
    prov = _build(tmp_path)
    assert {r.key for r in prov.images} == {*(str(k) for k in site.keys.values()), "esri-wayback:45134",
                                           f"eox-s2cloudless:{EOX_YEAR}"}
    for name, key in site.keys.items():
        row = prov.image(str(key))
        assert row is not None and row.kind == "local"
        assert row.sha256 == _sha(site.stored[name])  # the bytes used: the stored file, hashed here
        sidecar = json.loads((site.data / "imagery" / f"{key.image_id}.json").read_text())
        assert row.original_name == sidecar["original_name"] and row.imported_at.endswith("Z")
        assert dt.datetime.fromisoformat(row.imported_at) == dt.datetime.fromisoformat(sidecar["imported_at"])
        assert row.credit == f"Image © Analyst {name.upper()}" and row.licence == f"licence {name}"
        assert row.date_certainty == "stated" and row.capture_date == sidecar["captured"]
    assert prov.image(str(site.keys["a"])).original_name == "plant <2023> a.tif"
    # a GeoTIFF converted on import is stored as a new file; a COG is kept as imported, so its hash is its id
    converted, kept = prov.image(str(site.keys["a"])), prov.image(str(site.keys["b"]))
    assert converted.sha256 != site.keys["a"].image_id and "converted on import" in converted.bytes_note
    assert kept.sha256 == site.keys["b"].image_id and "verified" in kept.bytes_note


def test_each_image_says_which_records_name_it_including_images_named_only_in_notes(tmp_path, site):
    prov = _build(tmp_path)
    b = prov.image(str(site.keys["b"]))
    assert "structure b1: footprint traced on it" in b.used_by
    assert f"observation {site.obs['b']}: seen on it" in b.used_by
    assert f"observation {site.obs['dating']}: seen on it" in b.used_by  # the dating's first image of the new state
    c = prov.image(str(site.keys["c"]))  # the dating's last image of the old state: only in the notes
    assert c.used_by == (f"observation {site.obs['dating']}: named in its notes",)


def test_a_changed_stored_file_is_reported_not_verified(tmp_path, site):
    with site.stored["b"].open("ab") as f:
        f.write(b"tampered")
    row = _build(tmp_path).image(str(site.keys["b"]))
    assert row.sha256 == _sha(site.stored["b"]) and "differs from the image id" in row.bytes_note


def test_wayback_is_listed_by_release_and_never_with_bytes_or_a_tile_url(tmp_path, site):
    row = _build(tmp_path).image("esri-wayback:45134")
    assert row.kind == "wayback" and row.release and row.release.startswith("release 45134")
    assert row.bytes_note == WAYBACK_BYTES == "shown by the browser only; no bytes used by the server"
    assert row.sha256 is None and row.urls == () and row.cached == ()
    assert row.capture_date == "2022-03-09"


def test_a_composite_lists_the_cached_tiles_over_the_site_with_their_recorded_sha256(tmp_path, site):
    row = _build(tmp_path).image(f"eox-s2cloudless:{EOX_YEAR}")
    assert row.date_certainty == "composite" and row.capture_date == EOX_YEAR
    assert [(c.url, c.sha256) for c in row.cached] == [(site.tile_url, site.tile_sha)]
    assert row.urls and "{z}" in row.urls[0] and row.credit and row.retrieved == row.cached[0].fetched_at


def test_the_history_says_who_changed_which_field_from_what_to_what(tmp_path, site):
    prov = _build(tmp_path)
    hist = {h.observation_id: h for h in prov.histories}
    assert set(hist) == set(site.obs.values())
    entries = hist[site.obs["a"]].entries
    assert [(e.action, e.actor) for e in entries] == [("create", "tester"), ("update", "editor")]
    changes = {c.field: (c.before, c.after) for c in entries[1].changes}
    assert changes == {"summary": ("Roof on image a", "Roof finished on image a"), "confidence": ("medium", "high")}
    assert [e.action for e in hist[site.obs["b"]].entries] == ["create"]


def test_json_round_trips_and_is_written_beside_the_report(tmp_path, site):
    prov = _build(tmp_path)
    path = write_provenance(provenance_path(tmp_path / "out" / "plant.html"), prov)
    assert path == tmp_path / "out" / "plant-provenance.json"
    assert Provenance.from_json(json.loads(path.read_text(encoding="utf-8"))) == prov


def test_the_partial_renders_every_hash_and_escapes_a_hostile_name(tmp_path, site):
    prov = _build(tmp_path)
    env = jinja2.Environment(loader=jinja2.PackageLoader("tracker.reports", "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined)
    html = env.get_template("provenance.html.j2").render(provenance=prov)
    assert "Appendix: provenance" in html and "<script>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Plant" in html
    assert "plant &lt;2023&gt; a.tif" in html
    for row in prov.images:
        assert row.key in html and (row.sha256 is None or f'<span class="hash">{row.sha256}</span>' in html)
    assert "word-break: break-all" in html and "monospace" in html
    assert render_provenance_html(prov).startswith("<!DOCTYPE html>")


def test_keys_named_reads_the_keys_change_and_dating_write_in_notes():
    sha = "ab" * 32
    text = (f"Measured from the pixels: before local:{sha} (2023-04-01, stated), after sentinel-2-l2a:"
            f"S2A_52SCG_20240105_0_L2A (2024-01-05, captured). Absent on esri-wayback:45134. note: local:{sha}.")
    assert keys_named(text) == [ImageKey("local", sha), ImageKey("sentinel-2-l2a", "S2A_52SCG_20240105_0_L2A"),
                                ImageKey("esri-wayback", "45134")]
    assert keys_named("note: nothing here; local: none") == []


def test_cli_prints_and_writes_the_appendix(tmp_path, site):
    run = cli_in(tmp_path)
    doc = json.loads(run("report", "provenance", "plant", "--json").stdout)
    assert {r["key"]: r["sha256"] for r in doc["images"]}[str(site.keys["a"])] == _sha(site.stored["a"])
    text = run("report", "provenance", "plant").stdout
    assert _sha(site.stored["b"]) in text and "editor: update" in text and "summary: Roof on image a ->" in text
    out = tmp_path / "appendix.html"
    assert "wrote" in run("report", "provenance", "plant", "-o", str(out)).stdout
    assert "Appendix: provenance" in out.read_text(encoding="utf-8")
    refused = run("report", "provenance", "no-such-plant", ok=False)
    assert refused.stderr.startswith("error:") and "Traceback" not in refused.stderr


def test_observations_without_history_are_one_sentence_not_a_table_each():
    from tracker.reports.provenance import HistoryRow, ObservationHistory, Provenance, render_provenance_html

    rows = (HistoryRow(at="2026-12-01T10:00:00Z", actor="tester", action="create", changes=()),)
    prov = Provenance(facility_id="f", facility_name="F", generated_at="2026-12-01T10:00:00Z", images=(),
                      histories=(ObservationHistory("obs-a", "2021", "kept", rows),
                                 ObservationHistory("obs-b", "2011", "old", ()),
                                 ObservationHistory("obs-c", "2013", "old too", ())))
    html = render_provenance_html(prov)
    assert html.count("<table class=\"changes\"") == 1 and "obs-a" in html
    assert "for 2\nobservations:" in html or "for 2 observations:" in " ".join(html.split())
    assert "obs-b" in html and "obs-c" in html
