"""GeoJSON in and out: RFC 7946 export, lossless round trip, and every bad input the issue lists."""

import json
import os
import signal
import subprocess
import sys

import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from facilities import geojson_io
from facilities.errors import DuplicateId, InputError
from facilities.geojson_codec import feature_collection
from facilities.model import Alias, Facility, Observation, Registry, Source, Structure
from facilities.store import Filter, GeoPackageStore, OnConflict
from tests.support.registry import store_digest


def fc(*features, **extra):
    return {"type": "FeatureCollection", "features": list(features), **extra}


def feat(geometry, **props):
    return {"type": "Feature", "geometry": geometry, "properties": {"name": "Site", **props}}


def poly(coords):
    return {"type": "Polygon", "coordinates": [coords]}


SQUARE = [[127.65, 39.92], [127.66, 39.92], [127.66, 39.93], [127.65, 39.93], [127.65, 39.92]]


def write(tmp_path, data, name="in.geojson"):
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else json.dumps(data).encode())
    return path


def import_file(store, path, **kw):
    registry, problems, notes = geojson_io.read_registry(path, **{k: v for k, v in kw.items()
                                                                 if k in ("repair", "skip_invalid", "max_bytes")})
    store.import_registry(registry, actor="t", on_conflict=kw.get("on_conflict", OnConflict.ERROR))
    return problems, notes


# ------------------------------------------------------------------ export

def test_seed_export_is_rfc7946_with_dated_sourced_observations(seeded, tmp_path):
    out = tmp_path / "report.geojson"
    geojson_io.write_export(seeded, out, Filter(facility_ids=("february-11-plant",)))
    data = json.loads(out.read_text("utf-8"))
    assert data["type"] == "FeatureCollection" and "crs" not in data
    kinds = [f["properties"]["feature_type"] for f in data["features"]]
    assert kinds.count("facility") == 1 and kinds.count("structure") == 2 and kinds.count("observation") == 13
    plant = data["features"][0]
    assert plant["properties"]["location_precision"] == "approximate"
    ring = plant["geometry"]["coordinates"][0]
    assert 127 < ring[0][0] < 128 and 39 < ring[0][1] < 40  # longitude first
    assert shapely.LinearRing(ring).is_ccw  # right-hand rule
    years = sorted(int(f["properties"]["date"].lstrip("~")[:4]) for f in data["features"]
                   if f["properties"]["feature_type"] == "observation")
    assert years[0] == 2011 and years[-1] == 2024
    for f in data["features"]:
        cited = f["properties"]["source_ids"]
        assert cited and [s["id"] for s in f["properties"]["sources"]] == cited
        assert all(s["title"] for s in f["properties"]["sources"])


def test_export_rounds_coordinates_and_orients_rings(store, make_facility, tmp_path):
    cw = shapely.Polygon([(0.123456789123, 0), (0, 1), (1, 1), (1, 0)])  # clockwise shell
    assert not cw.exterior.is_ccw
    store.add_facility(make_facility(geometry=cw), actor="t")
    data = json.loads(geojson_io.export_text(store))
    ring = data["features"][0]["geometry"]["coordinates"][0]
    assert shapely.LinearRing(ring).is_ccw
    assert [0.1234568, 0.0] in ring


def test_export_filters_by_facility_bbox_and_dates(seeded):
    plant_only = json.loads(geojson_io.export_text(seeded, Filter(bbox=(127.64, 39.91, 127.67, 39.93))))
    facs = {f["properties"]["id"] for f in plant_only["features"] if f["properties"]["feature_type"] == "facility"}
    assert facs == {"february-11-plant", "february-8-vinalon-complex"} or facs == {"february-11-plant"}
    far = json.loads(geojson_io.export_text(seeded, Filter(bbox=(0, 0, 1, 1))))
    assert far["features"] == []
    import datetime as dt
    recent = json.loads(geojson_io.export_text(seeded, Filter(facility_ids=("february-11-plant",),
                                                              date_from=dt.date(2024, 1, 1))))
    dates = [f["properties"]["date"] for f in recent["features"] if f["properties"]["feature_type"] == "observation"]
    assert sorted(dates) == ["2024-10", "2024-11", "2024-11-25"]


def test_antimeridian_export_parts_are_narrower_than_180(store, make_facility):
    store.add_facility(make_facility(geometry=shapely.Polygon([(170, 0), (-170, 0), (-170, 10), (170, 10)])),
                       actor="t")
    geom = json.loads(geojson_io.export_text(store))["features"][0]["geometry"]
    assert geom["type"] == "MultiPolygon"
    for part in geom["coordinates"]:
        xs = [p[0] for p in part[0]]
        assert max(xs) - min(xs) < 180


def test_failed_export_leaves_the_previous_file_intact(seeded, tmp_path):
    """A full disk (here: a file-size limit) mid-export must not truncate the last good report."""
    out = tmp_path / "report.geojson"
    geojson_io.write_export(seeded, out)
    good = out.read_bytes()
    assert out.stat().st_mode & 0o044 == 0o044  # readable by others, like any file the user writes
    code = (
        "import resource, signal, sys\n"
        "from facilities.store import GeoPackageStore\nfrom facilities import geojson_io\n"
        "s = GeoPackageStore(sys.argv[1])\n"
        "s.list_sources()\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))\n"
        "try:\n    geojson_io.write_export(s, sys.argv[2])\nexcept OSError as e:\n    print('failed', e.errno)\n")
    seeded.close()
    res = subprocess.run([sys.executable, "-c", code, str(seeded.path), str(out)], capture_output=True, text=True,
                         timeout=60)
    assert "failed" in res.stdout, res.stderr
    assert out.read_bytes() == good
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []
    assert signal.SIGXFSZ  # the limit is enforced by the kernel, not simulated


# ------------------------------------------------------------------ round trip

def test_seed_round_trips_without_loss(seeded, tmp_path):
    first = geojson_io.export_text(seeded)
    path = write(tmp_path, first.encode())
    other = GeoPackageStore(tmp_path / "copy.gpkg")
    import_file(other, path)
    assert geojson_io.export_text(other) == first
    other.close()


_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1,
                max_size=30).filter(str.strip)
_ids = st.from_regex(r"[a-z0-9][a-z0-9-]{0,12}", fullmatch=True)
_dates = st.builds(lambda y, m, d, kind: {"day": f"{y}-{m:02d}-{d:02d}", "month": f"{y}-{m:02d}", "year": str(y),
                                          "approx": f"~{y}-{m:02d}"}[kind],
                   st.integers(1990, 2025), st.integers(1, 12), st.integers(1, 28),
                   st.sampled_from(["day", "month", "year", "approx"]))


@st.composite
def registries(draw):
    n = draw(st.integers(1, 4))
    fac_ids = draw(st.lists(_ids, min_size=n, max_size=n, unique=True))
    sources = (Source(id="s1", title=draw(_text), url="https://example.org/a?b=<c>", published=draw(_dates),
                      excerpt=draw(_text)),)
    facilities, structures, observations = [], [], []
    for fid in fac_ids:
        x = draw(st.integers(-1790000, 1790000)) / 1e4
        y = draw(st.integers(-890000, 890000)) / 1e4
        w = draw(st.integers(1, 900)) / 1e4
        facilities.append(Facility(
            id=fid, name=draw(_text), geometry=shapely.box(x, y, round(x + w, 4), round(y + w, 4)),
            aliases=tuple(Alias(draw(_text), draw(st.sampled_from([None, "it", "ko"])))
                          for _ in range(draw(st.integers(0, 2)))),
            country=draw(st.sampled_from([None, "KP", "IR"])), notes=draw(_text),
            location_precision=draw(st.sampled_from(["surveyed", "digitised", "approximate", "city"])),
            systems=tuple(draw(st.lists(_text, max_size=2))), source_ids=("s1",),
            extra=draw(st.dictionaries(st.sampled_from(["a", "b"]), st.integers(-5, 5) | _text, max_size=2))))
        if draw(st.booleans()):
            structures.append(Structure(id=f"{fid}.b", facility_id=fid, name=draw(_text),
                                        geometry=shapely.Point(round(x + w / 2, 6), round(y + w / 2, 6)),
                                        built=draw(st.none() | _dates)))
        for j in range(draw(st.integers(0, 2))):
            observations.append(Observation(
                id=f"{fid}.o{j}", facility_id=fid, date=draw(_dates),
                kind=draw(st.sampled_from(["visit", "progress", "reroofed"])), summary=draw(_text),
                confidence=draw(st.sampled_from(["low", "medium", "high"])), source_ids=("s1",),
                structure_id=f"{fid}.b" if structures and structures[-1].facility_id == fid else None))
    return Registry(tuple(facilities), tuple(structures), tuple(observations), sources)


# slow: 40 registries through a GeoPackage and back; `make mutate` leaves it out (it would run for every mutant of the
# codec and the store, hours), the rule tests (test_geojson_rules.py, test_sql_rules.py) stand for it there
@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(reg=registries())
def test_export_then_import_is_lossless(tmp_path_factory, reg):
    tmp = tmp_path_factory.mktemp("rt")
    a = GeoPackageStore(tmp / "a.gpkg")
    a.import_registry(reg, actor="t")
    text = geojson_io.export_text(a)
    b = GeoPackageStore(tmp / "b.gpkg")
    registry, problems, _ = geojson_io.read_registry_bytes(text.encode(), "export")
    b.import_registry(registry, actor="t")
    assert not problems
    for getter in ("list_facilities", "list_structures", "list_observations", "list_sources"):
        assert getattr(b, getter)() == getattr(a, getter)()
    # the export's fast path (rows -> text) says exactly what the object codec says
    stored = Registry(tuple(a.list_facilities()), tuple(a.list_structures()), tuple(a.list_observations()),
                      tuple(a.list_sources()))
    by_id = {f["id"]: f for f in json.loads(json.dumps(feature_collection(stored)))["features"]}
    assert {f["id"]: f for f in json.loads(text)["features"]} == by_id
    a.close()
    b.close()


# ------------------------------------------------------------------ bad input

def test_one_bad_feature_among_good_ones_names_it_and_imports_nothing(store, tmp_path):
    before = store_digest(store.path)
    bowtie = poly([[0, 0], [2, 2], [2, 0], [0, 2], [0, 0]])
    path = write(tmp_path, fc(feat(poly(SQUARE), name="Good"), {**feat(bowtie, name="Bad"), "id": "b-7"},
                              feat(poly(SQUARE), name="Also good")))
    with pytest.raises(InputError) as err:
        import_file(store, path)
    assert "1 of 3 features are invalid; nothing was imported" in str(err.value)
    assert "feature 1 (id 'b-7')" in str(err.value) and "Self-intersection" in str(err.value)
    assert store_digest(store.path) == before
    problems, _ = import_file(store, path, skip_invalid=True)
    assert [p.index for p in problems] == [1] and store.counts()["facilities"] == 2


def test_repair_only_when_asked_and_said(store, tmp_path):
    path = write(tmp_path, fc(feat(poly([[0, 0], [2, 2], [2, 0], [0, 2], [0, 0]]), name="Bow")))
    _, notes = import_file(store, path, repair=True)
    assert any("make_valid" in n for n in notes)
    assert store.get_facility("bow").area_m2 > 0


@pytest.mark.parametrize("raw, message", [
    (b'{"type": "FeatureCollection", "features": [', r"invalid JSON at line 1 column 44 \(byte 43\)"),
    (b"", "empty or binary"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "empty or binary"),
    ('{"type": "FeatureCollection"}'.encode("utf-16"), "UTF-16"),
    (b'{"type": "Feature\xff"}', "not valid UTF-8 at byte 17"),
    (b"[" * 100_000, "nested too deeply"),
    (b'{"type":"Feature","geometry":{"type":"Point","coordinates":[NaN,0]},"properties":{}}', "NaN is not"),
    (b'{"type":"Feature","geometry":null,"properties":{"x":1e400}}', "too large to be finite"),
    (b'{"type":"Feature","properties":{"x":' + b"9" * 5000 + b"}}", "digits"),
    (b'{"type":"Point","type":"Polygon"}', "duplicate key 'type'"),
])
def test_malformed_json_is_refused_with_where_and_why(store, tmp_path, raw, message):
    with pytest.raises(InputError, match=message):
        import_file(store, write(tmp_path, raw))
    assert store.counts()["facilities"] == 0


def test_utf8_bom_is_accepted(store, tmp_path):
    import_file(store, write(tmp_path, b"\xef\xbb\xbf" + json.dumps(fc(feat(poly(SQUARE)))).encode()))
    assert store.counts()["facilities"] == 1


@pytest.mark.parametrize("crs, ok", [
    ("urn:ogc:def:crs:OGC:1.3:CRS84", True),
    ("urn:ogc:def:crs:EPSG::3857", False),
    ("EPSG:32652", False),
])
def test_crs_member(store, tmp_path, crs, ok):
    data = fc(feat(poly(SQUARE)), crs={"type": "name", "properties": {"name": crs}})
    if ok:
        import_file(store, write(tmp_path, data))
        assert store.counts()["facilities"] == 1
    else:
        with pytest.raises(InputError, match=f"declares CRS '{crs}'.*ogr2ogr"):
            import_file(store, write(tmp_path, data))


@pytest.mark.parametrize("geometry, message", [
    (poly([[127.65, 39.92], [127.66, 39.92], [127.66, 39.93], [127.65, 39.93]]), "ring 0 is not closed"),
    (poly([[127.65, 39.92], [127.66, 39.92], [127.65, 39.92]]), "fewer than 4 positions"),
    (poly([[39.92, 127.65], [39.92, 127.66], [39.93, 127.66], [39.92, 127.65]]), "latitude, longitude order"),
    (poly([[200, 95], [201, 95], [201, 96], [200, 95]]), "outside longitude"),
    ({"type": "Polygon", "coordinates": []}, "empty Polygon"),
    (None, "geometry is null"),
    ({"type": "Point", "coordinates": [127.6, 39.9]}, "type Point is not allowed"),
    ({"type": "GeometryCollection", "geometries": []}, "GeometryCollection is not supported"),
    ({"type": "polygon", "coordinates": [SQUARE]}, "unknown geometry type 'polygon'"),
    ({"type": "Polygon", "coordinates": [[["a", "b"], ["c", "d"], ["e", "f"], ["a", "b"]]]}, "malformed Polygon"),
    (poly([[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]) | {"coordinates": [
        [[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]], [[2, 2], [3, 2], [3, 3], [2, 3], [2, 2]]]}, "Hole lies outside"),
])
def test_bad_geometries_are_refused_with_reason(store, tmp_path, geometry, message):
    with pytest.raises(InputError, match=message):
        import_file(store, write(tmp_path, fc(feat(geometry))))
    assert store.counts()["facilities"] == 0


@pytest.mark.parametrize("doc, message", [
    ({"type": "featurecollection", "features": []}, "misspelled"),
    ({"type": "Topology"}, "not a Feature or FeatureCollection"),
    ([1, 2], "top level is a JSON list"),
    ({"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, "geometry": None,
                                                 "coordinates": []}]}, "must not have 'coordinates'"),
    ({"type": "FeatureCollection", "features": [feat(poly(SQUARE), name=None)]}, "has no name"),
    ({"type": "FeatureCollection", "features": [feat(poly(SQUARE), feature_type="tower")]}, "feature_type 'tower'"),
])
def test_bad_structure_is_refused(store, tmp_path, doc, message):
    with pytest.raises(InputError, match=message):
        import_file(store, write(tmp_path, doc))


def test_duplicate_ids_in_file_and_in_store(store, tmp_path):
    dup = fc({**feat(poly(SQUARE), name="A"), "id": "x"}, {**feat(poly(SQUARE), name="A"), "id": "x"})
    with pytest.raises(InputError, match=r"feature 1 \(id 'x'\): duplicate facility id 'x' \(also feature 0\)"):
        import_file(store, write(tmp_path, dup))
    one = write(tmp_path, fc(feat(poly(SQUARE), name="A")), "one.geojson")
    import_file(store, one)
    before = store_digest(store.path)
    with pytest.raises(DuplicateId, match="already in the registry"):
        import_file(store, one)
    assert store_digest(store.path) == before
    import_file(store, one, on_conflict=OnConflict.SKIP)
    assert store.counts()["facilities"] == 1


def test_clockwise_3d_and_foreign_properties_are_accepted(store, tmp_path):
    """What QGIS and geojson.io write: CRS84 member, fid, 3D positions, style properties."""
    ring = [[127.65, 39.92, 10], [127.65, 39.93, 10], [127.66, 39.93, 10], [127.66, 39.92, 10], [127.65, 39.92, 10]]
    doc = fc({"type": "Feature", "properties": {"fid": 3, "Name": "Drawn <site>", "stroke": "#555555",
                                                "fill-opacity": 0.5}, "geometry": poly(ring)},
             name="layer", crs={"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}})
    _, notes = import_file(store, write(tmp_path, doc))
    f = store.list_facilities()[0]
    assert f.name == "Drawn <site>" and f.extra == {"fid": 3, "stroke": "#555555", "fill-opacity": 0.5}
    assert not f.geometry.has_z and any("dropped Z" in n for n in notes)
    assert f.location_precision.value == "digitised"


def test_html_and_script_are_stored_as_text(store, tmp_path):
    payload = "<img src=x onerror=alert(1)> `${alert(1)}` </script>"
    import_file(store, write(tmp_path, fc(feat(poly(SQUARE), name=payload, notes="<script>alert(1)</script>"))))
    f = store.list_facilities()[0]
    assert f.name == payload and f.extra["notes"] == "<script>alert(1)</script>"
    assert json.loads(geojson_io.export_text(store))["features"][0]["properties"]["name"] == payload


def test_files_over_the_limit_are_refused_before_reading(store, tmp_path):
    path = write(tmp_path, fc(feat(poly(SQUARE))))
    with pytest.raises(InputError, match="the import limit is 0 MB"):
        geojson_io.read_registry(path, max_bytes=10)


@pytest.mark.slow
def test_a_50_mb_file_imports(store, tmp_path):
    features = []
    for i in range(12_000):
        x, y = (i % 300) * 0.01, (i // 300) * 0.01
        ring = [[round(x + 0.004 * (1 + (k % 2)) * __import__("math").cos(k / 100 * 6.2832), 7),
                 round(y + 0.004 * (1 + (k % 2)) * __import__("math").sin(k / 100 * 6.2832), 7)] for k in range(100)]
        ring.append(ring[0])
        features.append({"type": "Feature", "id": f"f{i}", "properties": {"name": f"Site {i}", "notes": "n" * 2000},
                         "geometry": poly(ring)})
    path = write(tmp_path, fc(*features))
    assert os.path.getsize(path) > 50e6
    import_file(store, path)
    assert store.counts()["facilities"] == 12_000


def test_feature_collection_helper_matches_streamed_export(seeded):
    reg = Registry(tuple(seeded.list_facilities()), tuple(seeded.list_structures()),
                   tuple(seeded.list_observations()), tuple(seeded.list_sources()))
    streamed = json.loads(geojson_io.export_text(seeded))
    built = feature_collection(reg)
    key = lambda f: f["id"]  # noqa: E731
    assert sorted(streamed["features"], key=key) == sorted(json.loads(json.dumps(built))["features"], key=key)
