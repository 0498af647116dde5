"""Issue 14, part B: values the encoders cannot write, numbers out of range, nesting, coercion and rounding at the
vector front door. Every bad input is one clear InputError naming the feature and the field; nothing is stored."""

from __future__ import annotations

import json

import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from facilities.errors import InputError, ValidationError
from facilities.geojson_io import export_text
from facilities.model import Facility, Source
from facilities.store import open_store
from tests.support.registry import square, store_digest
from tracker.imports import import_vector, read_vector_bytes

HYP = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
RING = [[127.6, 39.9], [127.61, 39.9], [127.61, 39.91], [127.6, 39.91], [127.6, 39.9]]
POLYGON = {"type": "Polygon", "coordinates": [RING]}


def document(props: dict, geometry: dict | None = POLYGON, fid=None) -> bytes:
    feature = {"type": "Feature", "geometry": geometry, "properties": props}
    if fid is not None:
        feature["id"] = fid
    return json.dumps({"type": "FeatureCollection", "features": [feature]}).encode()


def own(**props) -> dict:
    return {"feature_type": "facility", "id": "site-a", "name": "Site A", **props}


def refused(raw: bytes, *words: str) -> str:
    """The one-line-per-feature message of a refused file; it names feature 0 and each of `words`, and can be
    printed (no lone surrogate leaks into the message)."""
    with pytest.raises(InputError) as info:
        read_vector_bytes(raw, "in.geojson", max_bytes=10**8)
    message = str(info.value)
    message.encode("utf-8")
    assert "feature 0" in message and "in.geojson" in message
    for w in words:
        assert w in message, message
    return message


# ---------------------------------------------------------------- text no encoder can write

SURROGATE = st.integers(0xD800, 0xDFFF).map(chr)
PLACES = {
    "name": lambda s: own(name="Site" + s),
    "notes": lambda s: own(notes="n" + s),
    "category": lambda s: own(category=s),
    "system": lambda s: own(systems=["KN-23" + s]),
    "alias": lambda s: own(aliases=[{"name": "B" + s}]),
    "alias lang": lambda s: own(aliases=[{"name": "B", "lang": s}]),
    "extra value": lambda s: own(extra={"k": ["x", {"y": s}]}),
    "extra key": lambda s: own(extra={"k" + s: 1}),
    "foreign property": lambda s: {"name": "QGIS site", "remark": s},
    "foreign name": lambda s: {"name": "QGIS" + s},
    "source title": lambda s: own(source_ids=["s1"], sources=[{"id": "s1", "title": s}]),
    "structure kind": lambda s: {"feature_type": "structure", "id": "b", "facility_id": "site-a", "name": "B",
                                 "kind": s},
    "observation summary": lambda s: {"feature_type": "observation", "id": "o", "facility_id": "site-a",
                                      "date": "2024", "kind": "activity", "summary": s},
}


@HYP
@given(place=st.sampled_from(sorted(PLACES)), surrogate=SURROGATE)
def test_a_lone_surrogate_anywhere_is_refused_naming_feature_and_field(place, surrogate):
    message = refused(document(PLACES[place](surrogate)), "lone surrogate")
    assert "\\ud" in message.lower()


def test_a_lone_surrogate_in_the_feature_id_or_an_enum_gives_a_printable_message():
    refused(document(own(), fid="x\ud800"), "id holds a lone surrogate")
    refused(document(own(status="\udc80")), "status")
    refused(document(own(built="\udc80")), "unknown properties: built")


@pytest.mark.parametrize("kind", ["gpkg", "postgis"])
def test_stores_refuse_a_lone_surrogate_before_writing(kind, tmp_path, request):
    url = str(tmp_path / "r.gpkg") if kind == "gpkg" else request.getfixturevalue("pg_url")
    s = open_store(url)
    try:
        s.add_facility(Facility(id="kept", name="Kept", geometry=square()), actor="t")
        before = export_text(s)
        with pytest.raises(ValidationError, match="facility name holds a lone surrogate"):
            s.add_facility(Facility(id="bad", name="Bad\ud800", geometry=square(127.7)), actor="t")
        with pytest.raises(ValidationError, match="extra"):
            s.add_facility(Facility(id="bad", name="Bad", geometry=square(127.7), extra={"\udfff": 1}), actor="t")
        with pytest.raises(InputError):
            import_vector(s, read_vector_bytes(document(own(notes="\ud800")), "in.geojson", max_bytes=10**8),
                          actor="t")
        assert export_text(s) == before
    finally:
        s.close()


# ---------------------------------------------------------------- numbers and timestamps out of range

@HYP
@given(exponent=st.integers(19, 1000), sign=st.sampled_from([1, -1]))
def test_integers_no_store_holds_exactly_are_refused_in_properties(exponent, sign):
    raw = b'{"type":"Feature","geometry":' + json.dumps(POLYGON).encode() + \
        b',"properties":{"name":"A","count":' + (b"-" if sign < 0 else b"") + b"1" + b"0" * exponent + b"}}"
    refused(raw, "count", "64-bit")


@pytest.mark.parametrize("version, words", [(10**30, "facility version"), (2**31, "out of range"),
                                            (0, "out of range"), (True, "whole number"), ("3", "whole number"),
                                            (1.5, "whole number")])
def test_versions_out_of_range_or_not_whole_numbers_are_refused(version, words):
    refused(document(own(version=version)), words)


@HYP
@given(stamp=st.datetimes(min_value=__import__("datetime").datetime(1, 1, 1),
                          max_value=__import__("datetime").datetime(1, 1, 2)) |
       st.datetimes(min_value=__import__("datetime").datetime(9999, 12, 30)),
       offset=st.integers(-23, 23))
def test_timestamps_at_the_ends_of_the_calendar_are_accepted_or_refused_naming_the_field(stamp, offset):
    text = stamp.isoformat() + f"{'+' if offset >= 0 else '-'}{abs(offset):02d}:00"
    try:
        vf = read_vector_bytes(document(own(created_at=text)), "in.geojson", max_bytes=10**8)
    except InputError as err:
        assert "created_at" in str(err) and "out of range" in str(err)
    else:
        assert vf.registry.facilities[0].created_at.tzinfo is not None


def test_the_brief_timestamp_is_refused():
    refused(document(own(updated_at="0001-01-01T00:00:00+01:00")), "updated_at", "out of range")
    refused(document(own(source_ids=["s"], sources=[{"id": "s", "title": "T",
                                                     "retrieved_at": "9999-12-31T23:00:00-05:00"}])),
            "retrieved_at", "out of range")


def test_numbers_that_are_not_finite_are_refused():
    for text in (b"1e400", b"-1e999", b"NaN", b"Infinity"):
        raw = document(own(extra={"x": 0})).replace(b'"x": 0', b'"x": ' + text)
        with pytest.raises(InputError, match="finite|not a JSON number"):
            read_vector_bytes(raw, "in.geojson", max_bytes=10**8)
    for text in (b".0", b"1.", b"01", b"+1", b"0x10"):  # not JSON numbers at all
        raw = document(own(extra={"x": 0})).replace(b'"x": 0', b'"x": ' + text)
        with pytest.raises(InputError, match="invalid JSON"):
            read_vector_bytes(raw, "in.geojson", max_bytes=10**8)


def test_a_huge_integer_is_never_stored_so_export_and_migration_keep_working(tmp_path):
    s = open_store(tmp_path / "r.gpkg")
    before = store_digest(tmp_path / "r.gpkg")
    raw = document(own(extra={"x": 0})).replace(b'"x": 0', b'"x": 1' + b"0" * 400)
    with pytest.raises(InputError, match="extra.x"):
        import_vector(s, read_vector_bytes(raw, "in.geojson", max_bytes=10**8), actor="t")
    assert store_digest(tmp_path / "r.gpkg") == before
    json.loads(export_text(s))
    s.close()


# ---------------------------------------------------------------- nesting

@pytest.mark.parametrize("depth", [40, 500, 5000, 100_000])
def test_deeply_nested_properties_are_refused_with_the_limit(depth):
    raw = document(own(extra={"x": 0})).replace(b'"x": 0', b'"x": ' + b"[" * depth + b"]" * depth)
    with pytest.raises(InputError, match="nested"):
        read_vector_bytes(raw, "in.geojson", max_bytes=10**8)


@pytest.mark.parametrize("depth", [5, 50, 900, 100_000])
def test_deeply_nested_coordinates_are_refused(depth):
    raw = document({"name": "A"}, {"type": "Polygon", "coordinates": []}).replace(
        b'"coordinates": []', b'"coordinates": ' + b"[" * depth + b"1" + b"]" * depth)
    with pytest.raises(InputError, match="nested|malformed Polygon"):
        read_vector_bytes(raw, "in.geojson", max_bytes=10**8)


# ---------------------------------------------------------------- coercion

NOT_NUMBERS = st.sampled_from([True, False, None, "127.6", "", [], {}, [1, 2], 10**400, -(10**309)])


@HYP
@given(ring=st.integers(0, 4), axis=st.integers(0, 1), bad=NOT_NUMBERS,
       kind=st.sampled_from(["Polygon", "MultiPolygon", "Point", "LineString"]))
def test_a_coordinate_that_is_not_a_number_is_refused_never_coerced(ring, axis, bad, kind):
    positions = json.loads(json.dumps(RING))
    positions[ring][axis] = bad
    if ring in (0, 4):  # keep the ring closed, so the refusal is about the value
        positions[0][axis] = positions[4][axis] = bad
    coordinates = {"Polygon": [positions], "MultiPolygon": [[positions]], "Point": positions[ring],
                   "LineString": positions}[kind]
    props = {"name": "A"} if kind.endswith("Polygon") else {
        "feature_type": "structure", "id": "b", "facility_id": "site-a", "name": "B"}
    refused(document(props, {"type": kind, "coordinates": coordinates}), f"malformed {kind}")


def test_the_brief_boolean_triangle_is_refused():
    refused(document({"name": "A"}, {"type": "Polygon", "coordinates": [[[True, False], [1, 0], [1, 1],
                                                                         [True, False]]]}), "true/false")


@pytest.mark.parametrize("props, words", [
    (own(systems={"a": 1}), "systems must be a list, got an object"),
    (own(systems="KN-23"), "systems must be a list, got text"),
    (own(source_ids={"s1": 1}), "source_ids must be a list"),
    (own(aliases=[{"name": "B", "script": "Hangul"}]), "aliases[0] has unknown fields: script"),
    (own(aliases=["B"]), "aliases[0] must be an object"),
    (own(parents=[{"name": "P", "since": 2020}]), "parents[0] has unknown fields: since"),
    (own(extra=["a"]), "extra must be an object"),
    (own(sources=["s1"]), "sources[0] must be an object"),
    (own(sources=[{"title": "no id"}]), "sources[0] has no id"),
])
def test_types_are_not_coerced_and_fields_are_not_dropped(props, words):
    refused(document(props), words)


def _two(first: dict, second: dict) -> bytes:
    feats = [{"type": "Feature", "geometry": POLYGON, "properties": own(source_ids=["s1"], sources=[first])},
             {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[[x + 1, y] for x, y in RING]]},
              "properties": own(id="site-b", source_ids=["s1"], sources=[second])}]
    return json.dumps({"type": "FeatureCollection", "features": feats}).encode()


def test_two_different_sources_under_one_id_are_a_named_conflict_identical_ones_merge():
    a = {"id": "s1", "title": "Report", "publisher": "KCNA"}
    vf = read_vector_bytes(_two(a, dict(a)), "in.geojson", max_bytes=10**8)
    assert vf.registry.sources == (Source(id="s1", title="Report", publisher="KCNA"),)
    with pytest.raises(InputError) as info:
        read_vector_bytes(_two(a, {**a, "publisher": "Yonhap"}), "in.geojson", max_bytes=10**8)
    assert "feature 1" in str(info.value) and "'s1' differs" in str(info.value) and "feature 0" in str(info.value)


# ---------------------------------------------------------------- rounding: what is accepted exports valid

def test_the_brief_2mm_outline_is_refused_naming_the_feature():
    ring = [[127.6, 39.9], [127.61, 39.9], [127.61, 39.90000002], [127.6, 39.9]]
    refused(document({"name": "Sliver"}, {"type": "Polygon", "coordinates": [ring]}), "too narrow", "7 decimals")


@HYP
@given(width=st.floats(1e-9, 1e-5), x=st.floats(-179.0, 179.0), y=st.floats(-89.0, 89.0),
       skew=st.floats(0, 1e-6))
def test_every_accepted_outline_exports_as_a_valid_geometry(tmp_path_factory, width, x, y, skew):
    ring = [[x, y], [x + 0.001, y + skew], [x + 0.001, y + width], [x, y + width + skew], [x, y]]
    raw = document({"name": "Thin"}, {"type": "Polygon", "coordinates": [ring]})
    try:
        vf = read_vector_bytes(raw, "in.geojson", max_bytes=10**8)
    except InputError as err:
        assert "too narrow" in str(err) or "invalid geometry" in str(err), str(err)
        return
    s = open_store(tmp_path_factory.mktemp("r") / "r.gpkg")
    try:
        import_vector(s, vf, actor="t")
        exported = json.loads(export_text(s))["features"]
    finally:
        s.close()
    assert all(shapely.geometry.shape(f["geometry"]).is_valid for f in exported)


def test_a_store_write_of_a_too_narrow_outline_is_refused(tmp_path):
    s = open_store(tmp_path / "r.gpkg")
    try:
        thin = shapely.box(127.6, 39.9, 127.61, 39.90000002)
        with pytest.raises(ValidationError, match="too narrow"):
            s.add_facility(Facility(id="thin", name="Thin", geometry=thin), actor="t")
    finally:
        s.close()
