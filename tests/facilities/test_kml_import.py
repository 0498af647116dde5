"""KML and KMZ import: outlines become facilities, points inside them structures; hostile files
(billion laughs, XXE, zip bombs, `..` members) are refused; every bad placemark is named."""

from __future__ import annotations

import io
import tracemalloc
import zipfile

import pytest
from typer.testing import CliRunner

from facilities import kml_io
from facilities.errors import InputError
from facilities.store import GeoPackageStore
from tests.support.cli import cli_env, run_cli
from tests.support.registry import store_digest
from tracker.cli.registry import app

XSS = "<img src=x onerror=alert(1)>"


def ring(x: float, y: float, d: float = 0.01, alt: str = "") -> str:
    pts = [(x, y), (x + d, y), (x + d, y + d), (x, y + d), (x, y)]
    return " ".join(f"{a},{b}{alt}" for a, b in pts)


def polygon(x: float, y: float, d: float = 0.01, alt: str = "") -> str:
    return (f"<Polygon><outerBoundaryIs><LinearRing><coordinates>{ring(x, y, d, alt)}</coordinates>"
            "</LinearRing></outerBoundaryIs></Polygon>")


def placemark(name: str, geometry: str, extra: str = "") -> str:
    return f"<Placemark><name>{name}</name>{extra}{geometry}</Placemark>"


def kml(*placemarks: str) -> bytes:
    body = "".join(placemarks)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="http://www.opengis.net/kml/2.2">'
            f"<Document><Folder><name>f</name>{body}</Folder></Document></kml>").encode()


def read(raw: bytes, name: str = "t.kml", **kw):
    return kml_io.read_registry_bytes(raw, name, **kw)


def test_polygons_become_facilities_with_names_notes_and_extended_data():
    escaped = XSS.replace("<", "&lt;").replace(">", "&gt;")
    raw = kml(
        placemark(escaped, polygon(127.6, 39.9, alt=",0"),
                  "<description><![CDATA[<b>Main</b> hall<br/>built 2019 &amp; more]]></description>"
                  '<ExtendedData><Data name="source"><value>KCNA</value></Data>'
                  '<SchemaData schemaUrl="#s"><SimpleData name="floors">3</SimpleData></SchemaData>'
                  "</ExtendedData>"),
        placemark("February 11 Plant", polygon(127.7, 39.9), "<description>plain notes</description>"),
        placemark("February 11 Plant", polygon(127.8, 39.9)),
    )
    registry, problems, notes = read(raw)
    assert problems == [] and notes == []
    first, second, third = registry.facilities
    assert first.name == XSS  # stored verbatim: escaping is the renderer's job
    assert first.notes == "Main hall\nbuilt 2019 & more"
    assert first.extra == {"source": "KCNA", "floors": "3",
                           "description_html": "<b>Main</b> hall<br/>built 2019 &amp; more"}
    assert second.notes == "plain notes" and second.extra == {}
    assert (second.id, third.id) == ("february-11-plant", "february-11-plant-2")
    assert first.location_precision.value == "digitised"
    assert 0.9e6 < first.area_m2 < 1.0e6 and not first.geometry.has_z


def test_multigeometry_holes_and_points_inside_become_structures():
    hole = ("<innerBoundaryIs><LinearRing><coordinates>127.602,39.902 127.603,39.902 127.603,39.903 "
            "127.602,39.902</coordinates></LinearRing></innerBoundaryIs>")
    with_hole = polygon(127.6, 39.9).replace("</outerBoundaryIs>", "</outerBoundaryIs>" + hole)
    multi = f"<MultiGeometry>{polygon(128.0, 40.0)}{polygon(128.1, 40.0)}</MultiGeometry>"
    raw = kml(
        placemark("Complex", with_hole),
        placemark("Annex", polygon(127.605, 39.905, d=0.002)),  # nested inside Complex
        placemark("Twin sites", multi),
        placemark("Hall A", "<Point><coordinates>127.601,39.901,12</coordinates></Point>"),
        placemark("Hall B", "<Point><coordinates>127.606,39.906</coordinates></Point>"),  # in Annex too
        placemark("Rail spur", "<LineString><coordinates>128.001,40.001 128.005,40.005</coordinates></LineString>"),
    )
    registry, problems, notes = read(raw)
    assert problems == []
    facs = {f.id: f for f in registry.facilities}
    assert len(facs["complex"].geometry.interiors) == 1
    assert facs["twin-sites"].geometry.geom_type == "MultiPolygon"
    structures = {s.id: s for s in registry.structures}
    assert structures["complex.hall-a"].facility_id == "complex"
    assert structures["annex.hall-b"].facility_id == "annex"  # the smallest outline that holds it
    assert structures["twin-sites.rail-spur"].geometry.geom_type == "LineString"
    assert any("altitudes were dropped" in n for n in notes)


def test_kmz_reads_doc_kml_and_refuses_parent_paths():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("files/other.kml", kml(placemark("Wrong", polygon(1, 1))))
        zf.writestr("doc.kml", kml(placemark("Right", polygon(127.6, 39.9))))
        zf.writestr("files/icon.png", b"\x89PNG")
    registry, _, _ = read(buf.getvalue(), "t.kmz")
    assert [f.name for f in registry.facilities] == ["Right"]

    bad = io.BytesIO()
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("doc.kml", kml(placemark("Right", polygon(127.6, 39.9))))
        zf.writestr("../../evil.kml", b"<kml/>")
    with pytest.raises(InputError, match="outside the archive"):
        read(bad.getvalue(), "t.kmz")
    with pytest.raises(InputError, match="not a zip"):
        read(b"<kml/>", "t.kmz")


def test_zip_bomb_kmz_is_refused_without_inflating():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("doc.kml", b"<kml>" + b" " * (100 * 2**20) + b"</kml>")
    assert len(buf.getvalue()) < 2**20
    tracemalloc.start()  # memory, not time: inflating would hold 100 MB
    try:
        with pytest.raises(InputError, match="zip bomb"):
            read(buf.getvalue(), "bomb.kmz")
        with pytest.raises(InputError, match="uncompressed"):
            read(buf.getvalue(), "bomb.kmz", max_bytes=10 * 2**20)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 12 * 2**20, f"{peak / 2**20:.0f} MB held while refusing"


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE kml [
 <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
 <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
 <!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">
 <!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">
 <!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;">
]>
<kml><Document><Placemark><name>&g;</name></Placemark></Document></kml>
"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE kml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<kml><Document><Placemark><name>&xxe;</name></Placemark></Document></kml>
"""


@pytest.mark.parametrize("raw", [BILLION_LAUGHS, XXE], ids=["billion-laughs", "xxe"])
def test_doctype_and_entities_are_refused_fast(raw):
    tracemalloc.start()  # memory, not time: billion laughs expands to 2.5 GB, XXE reads a file
    try:
        with pytest.raises(InputError, match="DOCTYPE") as err:
            read(raw)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**20, f"{peak / 2**20:.1f} MB held while refusing"
    assert "root:" not in str(err.value)  # no /etc/passwd content anywhere


def test_bad_placemarks_are_named_by_number_and_name():
    raw = kml(
        placemark("Good", polygon(127.6, 39.9)),
        placemark("Typo", "<Polygon><outerBoundaryIs><LinearRing><coordinates>127.6,39.9 127.61;39.9 "
                          "127.61,39.91 127.6,39.9</coordinates></LinearRing></outerBoundaryIs></Polygon>"),
        placemark("Swapped", polygon(39.9, 127.6)),
        placemark("Open ring", "<Polygon><outerBoundaryIs><LinearRing><coordinates>127.6,39.9 127.61,39.9 "
                               "127.61,39.91 127.6,39.91</coordinates></LinearRing></outerBoundaryIs></Polygon>"),
        placemark("Lonely well", "<Point><coordinates>10,10</coordinates></Point>"),
        "<Placemark>" + polygon(127.6, 39.9) + "</Placemark>",
    )
    with pytest.raises(InputError) as err:
        read(raw)
    text = str(err.value)
    assert "5 of 6 placemarks are invalid; nothing was imported" in text
    assert "placemark 2 ('Typo'): Polygon outer boundary: position 2 '127.61;39.9' is not lon,lat" in text
    assert "placemark 3 ('Swapped')" in text and "latitude" in text
    assert "placemark 4 ('Open ring')" in text and "not closed" in text
    assert "placemark 5 ('Lonely well'): is a Point not inside any outline" in text
    assert "placemark 6: has no <name>" in text
    registry, problems, _ = read(raw, skip_invalid=True)
    assert [f.name for f in registry.facilities] == ["Good"]
    assert [p.index for p in problems] == [2, 3, 4, 5, 6]


def test_not_kml_and_network_links():
    with pytest.raises(InputError, match="not well-formed XML at line 1"):
        read(b"<kml><Document>")
    with pytest.raises(InputError, match="root element is <gpx>"):
        read(b"<gpx></gpx>")
    with pytest.raises(InputError, match="no placemarks"):
        read(kml())
    raw = kml(placemark("Site", polygon(127.6, 39.9)),
              "<NetworkLink><Link><href>http://127.0.0.1:9/x.kml</href></Link></NetworkLink>")
    _, _, notes = read(raw)
    assert any("was not followed" in n for n in notes)
    with pytest.raises(InputError, match="import limit is 0 MB"):
        read(raw, max_bytes=10)


def test_gdal_written_kml_reads_back(tmp_path):
    import numpy as np
    import pyogrio.raw
    import shapely

    path = tmp_path / "gdal.kml"
    geoms = np.array([shapely.to_wkb(shapely.box(127.6, 39.9, 127.61, 39.91)),
                      shapely.to_wkb(shapely.Point(127.605, 39.905))], dtype=object)
    fields = [np.array(["Site <b>one</b>", "Hall A"], dtype=object), np.array(["notes", ""], dtype=object),
              np.array([5, 6])]
    pyogrio.raw.write(str(path), geoms, fields, ["Name", "Description", "floors"], driver="KML",
                      geometry_type="Unknown", crs="EPSG:4326")
    registry, problems, _ = kml_io.read_registry(path)
    assert problems == []
    (site,) = registry.facilities
    assert (site.id, site.name, site.notes, site.extra) == ("site-b-one-b", "Site <b>one</b>", "notes",
                                                            {"floors": "5"})
    assert site.geometry.equals(shapely.box(127.6, 39.9, 127.61, 39.91))
    assert [(s.id, s.name) for s in registry.structures] == [("site-b-one-b.hall-a", "Hall A")]


def test_cli_validates_and_imports_kml_and_kmz(tmp_path):
    path = tmp_path / "sites.kml"
    path.write_bytes(kml(placemark("Site", polygon(127.6, 39.9)),
                         placemark("Hall", "<Point><coordinates>127.605,39.905</coordinates></Point>")))
    kmz = tmp_path / "more.data"  # no extension: told apart by the zip signature
    with zipfile.ZipFile(kmz, "w") as zf:
        zf.writestr("doc.kml", kml(placemark("Other site", polygon(128.6, 39.9))))
    db = str(tmp_path / "r.gpkg")
    runner = CliRunner()
    out = runner.invoke(app, ["--db", db, "validate", str(path)])
    assert out.exit_code == 0, out.output
    assert "valid: 1 facilities, 1 structures" in out.output
    out = runner.invoke(app, ["--db", db, "import", str(path)])
    assert out.exit_code == 0 and "added 1 facility, 1 structure" in out.output
    out = runner.invoke(app, ["--db", db, "import", str(kmz)])
    assert out.exit_code == 0, out.output
    store = GeoPackageStore(tmp_path / "r.gpkg")
    assert {f.id for f in store.list_facilities()} == {"site", "other-site"}
    store.close()
    before = store_digest(tmp_path / "r.gpkg")
    bomb = tmp_path / "bomb.kml"
    bomb.write_bytes(BILLION_LAUGHS)
    # through the real entry point: CliRunner on the typer app would pass on the InputError's traceback too
    done = run_cli(["--db", db, "import", str(bomb)], env=cli_env(tmp_path), cwd=tmp_path)
    assert done.clear_error and done.returncode == 1 and "DOCTYPE" in done.stderr, done
    assert store_digest(tmp_path / "r.gpkg") == before


def test_multigeometry_of_points_stays_whole_and_mixed_points_and_lines_are_named():
    points = ("<MultiGeometry><Point><coordinates>127.601,39.901</coordinates></Point>"
              "<Point><coordinates>127.602,39.902</coordinates></Point></MultiGeometry>")
    mixed = ("<MultiGeometry><Point><coordinates>127.601,39.901</coordinates></Point>"
             "<LineString><coordinates>127.601,39.901 127.602,39.902</coordinates></LineString></MultiGeometry>")
    registry, problems, _ = read(kml(placemark("Site", polygon(127.6, 39.9)), placemark("Gates", points),
                                     placemark("Odd", mixed)), skip_invalid=True)
    (gates,) = registry.structures
    assert (gates.id, gates.geometry.geom_type, len(gates.geometry.geoms)) == ("site.gates", "MultiPoint", 2)
    assert [str(p) for p in problems] == [
        "placemark 3 ('Odd'): mixes points and lines in one MultiGeometry; split it into one placemark per building"]
