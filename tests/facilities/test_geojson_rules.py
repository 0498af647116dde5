"""The GeoJSON codec rule by rule (issue 22): every refusal with its exact reason and feature number, the defaults
a missing or null property takes, foreign features (QGIS, geojson.io) named and identified, CRS members, and each
kind's exported properties exactly."""

from __future__ import annotations

import datetime as dt

import pytest
import shapely

from facilities.errors import InputError, ValidationError
from facilities.geojson_codec import (
    feature_collection,
    feature_id,
    parse_feature_collection,
    source_from_dict,
    to_feature,
)
from facilities.model import Alias, Facility, ImageRef, Observation, ParentClaim, Registry, Source, Structure

SQUARE = {"type": "Polygon", "coordinates": [[[0, 0], [0.01, 0], [0.01, 0.01], [0, 0.01], [0, 0]]]}
POINT = {"type": "Point", "coordinates": [0.005, 0.005]}


def feat(props: dict | None, geometry: dict | None = SQUARE, **extra: object) -> dict:
    return {"type": "Feature", "geometry": geometry, "properties": props, **extra}


def fac(**props: object) -> dict:
    return {"feature_type": "facility", "id": "site", "name": "Site", **props}


def problems(*features: object) -> list[tuple[int, str | None, str]]:
    _, found, _ = parse_feature_collection({"type": "FeatureCollection", "features": list(features)},
                                           skip_invalid=True)
    return [(p.index, p.feature_id, p.reason) for p in found]


def one(feature: dict) -> object:
    reg, found, _ = parse_feature_collection({"type": "FeatureCollection", "features": [feature]})
    assert not found
    (value,) = (*reg.facilities, *reg.structures, *reg.observations)
    return value


@pytest.mark.parametrize("feature, reason", [
    ("x", "is not a GeoJSON Feature object"),
    ({"type": "feature", "geometry": SQUARE}, "is not a GeoJSON Feature object"),
    ({**feat(fac()), "coordinates": [0, 0]}, "a Feature must not have 'coordinates' (RFC 7946 §7.1)"),
    (feat([1]), "'properties' must be an object or null"),
    (feat(fac(feature_type="road")), "feature_type 'road' is not facility, structure or observation"),
    (feat(fac(), None), "geometry is null; this feature needs a Polygon or MultiPolygon"),
    (feat({"feature_type": "structure", "id": "site.a", "facility_id": "site"}, None),
     "geometry is null; this feature needs a Point or MultiPoint or LineString or MultiLineString or Polygon or "
     "MultiPolygon"),
    (feat(fac(), [1]), "geometry is not a GeoJSON geometry object"),
    (feat(fac(), {"coordinates": []}), "geometry is not a GeoJSON geometry object"),
    (feat(fac(), {"type": "GeometryCollection", "geometries": []}),
     "GeometryCollection is not supported; split it into separate features"),
    (feat(fac(), {"type": "polygon", "coordinates": []}),
     "unknown geometry type 'polygon' (GeoJSON types are case-sensitive)"),
    (feat(fac(), {"type": "Polygon", "coordinates": "x"}), "Polygon has no coordinates array"),
    (feat(fac(), POINT), "geometry type Point is not allowed here (expected Polygon or MultiPolygon)"),
    (feat(fac(aliases="Feb 11")), "aliases must be a list, got text"),
    (feat(fac(aliases={"name": "x"})), "aliases must be a list, got an object"),
    (feat(fac(systems=True)), "systems must be a list, got true/false"),
    (feat(fac(source_ids=3)), "source_ids must be a list, got a number"),
    (feat(fac(source_ids=2.5)), "source_ids must be a list, got a number"),
    (feat(fac(aliases=["x"])), "aliases[0] must be an object, got text"),
    (feat(fac(aliases=[{"name": "a"}, {"name": "b", "script": "x", "lang": "en"}])),
     "aliases[1] has unknown fields: script (known: lang, name)"),
    (feat(fac(parents=[{"name": "p", "owner": 1, "url": 2}])),
     "parents[0] has unknown fields: owner, url (known: facility_id, name, source_ids)"),
    (feat(fac(extra=[1])), "extra must be an object, got an array"),
    (feat(fac(colour="red", size=1)), "unknown properties: colour, size"),
    (feat(fac(created_at="yesterday")),
     "created_at: timestamp 'yesterday' is not ISO 8601 (e.g. 2024-11-25T10:00:00Z)"),
    (feat(fac(updated_at="soon")), "updated_at: timestamp 'soon' is not ISO 8601 (e.g. 2024-11-25T10:00:00Z)"),
    (feat({"feature_type": "observation", "id": "site.o", "facility_id": "site", "kind": "progress"}, None),
     "observation has no date"),
    (feat({"feature_type": "observation", "id": "site.o", "facility_id": "site", "kind": "progress", "date": ""},
          None), "observation has no date"),
    (feat({"name": "  "}), "has no name (expected a 'name' property)"),
    (feat({"name": 5}), "has no name (expected a 'name' property)"),
])
def test_each_refusal_says_why(feature, reason):
    assert problems(feature) == [(0, None, reason)]


def test_problems_carry_the_feature_number_and_a_printable_id_and_come_in_order():
    got = problems(feat(fac(id="a", name="A")), {**feat(fac(id="b", extra=1)), "id": "facility:b"},
                   {**feat(fac(id="a", name="A again")), "id": 7}, {**feat("x"), "id": True},
                   {**feat(fac(), None), "id": 10**30})
    assert got == [(1, "facility:b", "extra must be an object, got a number"),
                   (2, "7", "duplicate facility id 'a' (also feature 0)"),
                   (3, None, "'properties' must be an object or null"),
                   (4, None, "id is an integer of 31 digits; the limit is a 64-bit integer (|n| < 2**63); write it "
                             "as text if it is an identifier")]


def test_one_bad_feature_refuses_the_file_unless_told_to_skip():
    doc = {"type": "FeatureCollection", "features": [feat(fac()), feat(fac(id="b", extra=1))]}
    with pytest.raises(InputError, match=r"1 of 2 features are invalid; nothing was imported") as err:
        parse_feature_collection(doc, source="f.geojson")
    assert [(p.index, p.reason) for p in err.value.problems] == [(1, "extra must be an object, got a number")]
    reg, found, _ = parse_feature_collection(doc, skip_invalid=True)
    assert [f.id for f in reg.facilities] == ["site"] and len(found) == 1


@pytest.mark.parametrize("doc, message", [
    ([1], "top level is a JSON list, not a GeoJSON object"),
    ({"type": "FeatureCollection"}, "FeatureCollection has no 'features' array"),
    ({"type": "FeatureCollection", "features": {}}, "FeatureCollection has no 'features' array"),
    ({"type": "featurecollection", "features": []}, "type 'featurecollection' is misspelled: GeoJSON types are "
                                                    "case-sensitive"),
    ({"type": "FEATURE"}, "type 'FEATURE' is misspelled: GeoJSON types are case-sensitive"),
    ({"type": "Topology"}, "type 'Topology' is not a Feature or FeatureCollection"),
    ({"type": 3}, "type 3 is not a Feature or FeatureCollection"),
    ({"type": "FeatureCollection", "features": [], "crs": {"properties": {"name": "EPSG:3857"}}},
     "the file declares CRS 'EPSG:3857'; GeoJSON (RFC 7946) must be WGS 84 longitude/latitude. Reproject it first, "
     "e.g. ogr2ogr -t_srs EPSG:4326 -lco RFC7946=YES out.geojson in.geojson"),
    ({"type": "FeatureCollection", "features": [], "crs": "EPSG:3857"}, "the file declares CRS 'EPSG:3857';"),
    ({"type": "FeatureCollection", "features": [], "crs": {"type": "name"}}, "the file declares CRS {'type': "),
])
def test_documents_that_are_not_a_feature_collection_say_so(doc, message):
    with pytest.raises(InputError) as err:
        parse_feature_collection(doc, source="f.geojson")
    assert str(err.value).startswith("f.geojson") and message in str(err.value)


@pytest.mark.parametrize("name", ["urn:ogc:def:crs:OGC:1.3:CRS84", "urn:ogc:def:crs:OGC::CRS84", "EPSG:4326",
                                  "urn:ogc:def:crs:EPSG::4326", "OGC:CRS84", "CRS84",
                                  "http://www.opengis.net/def/crs/OGC/1.3/CRS84"])
def test_every_wgs84_crs_name_is_accepted(name):
    reg, _, _ = parse_feature_collection({"type": "FeatureCollection", "features": [feat(fac())],
                                          "crs": {"type": "name", "properties": {"name": name}}})
    assert [f.id for f in reg.facilities] == ["site"]


def test_a_single_feature_is_a_document_too():
    reg, _, _ = parse_feature_collection(feat(fac()))
    assert [f.id for f in reg.facilities] == ["site"]


def test_missing_and_null_properties_take_their_defaults():
    f = one(feat(fac(aliases=None, systems=None, extra=None, version=None, category=None, notes=None)))
    assert isinstance(f, Facility)
    assert (f.name, f.aliases, f.systems, f.extra, f.version, f.category, f.notes, f.status.value,
            f.location_precision.value, f.country, f.created_at) == (
        "Site", (), (), {}, 1, "", "", "unknown", "digitised", None, None)
    s = one(feat({"feature_type": "structure", "id": "site.a", "facility_id": "site", "name": "A", "kind": None},
                  POINT))
    assert isinstance(s, Structure)
    assert (s.name, s.kind, s.location_precision.value, s.status.value, s.built, s.removed, s.traced_on,
            s.version) == ("A", "building", "approximate", "unknown", None, None, None, 1)
    o = one(feat({"feature_type": "observation", "id": "site.o", "facility_id": "site", "kind": "progress",
                  "date": "2020-06", "image_id": "x", "summary": "S", "analyst": None}, None))
    assert isinstance(o, Observation)
    assert (o.summary, o.confidence.value, o.analyst, o.notes, o.image, o.geometry, o.structure_id) == (
        "S", "medium", "", "", None, None, None)


def test_given_values_are_kept():
    f = one(feat(fac(location_precision="surveyed", status="active", country="KP", category="c", notes="n",
                     aliases=[{"name": "A", "lang": "ko"}, {"name": "B"}], systems=["S"], source_ids=["s1"],
                     parents=[{"name": "P", "facility_id": "pp", "source_ids": ["s1"]}, {"name": "Q"}],
                     extra={"k": [1]}, version=3, created_at="2024-01-02T03:04:05Z",
                     updated_at="2024-01-03T00:00:00+01:00")))
    assert isinstance(f, Facility)
    assert (f.location_precision.value, f.status.value, f.country, f.category, f.notes) == (
        "surveyed", "active", "KP", "c", "n")
    assert f.aliases == (Alias("A", "ko"), Alias("B", None)) and f.systems == ("S",) and f.source_ids == ("s1",)
    assert f.parents == (ParentClaim("P", "pp", ("s1",)), ParentClaim("Q", None, ()))
    assert f.extra == {"k": [1]} and f.version == 3
    assert f.created_at == dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    assert f.updated_at == dt.datetime(2024, 1, 2, 23, 0, tzinfo=dt.UTC)
    s = one(feat({"feature_type": "structure", "id": "site.a", "facility_id": "site", "name": "A", "kind": "hall",
                  "status": "demolished", "built": "2019", "removed": "~2021-03", "traced_provider": "local",
                  "traced_image_id": "img", "traced_acquired": "2020-05-06", "location_precision": "digitised"},
                 POINT))
    assert isinstance(s, Structure)
    assert (s.kind, s.status.value, str(s.built), str(s.removed), s.location_precision.value) == (
        "hall", "demolished", "2019", "~2021-03", "digitised")
    assert s.traced_on == ImageRef("local", "img", "2020-05-06")
    o = one(feat({"feature_type": "observation", "id": "site.o", "facility_id": "site", "kind": "progress",
                  "date": "~2020-06-15", "image_provider": "local", "image_id": "i", "image_acquired": "2020-06-01",
                  "confidence": "high", "analyst": "me", "summary": "s", "structure_id": "site.a"}, POINT))
    assert isinstance(o, Observation)
    assert o.image == ImageRef("local", "i", "2020-06-01") and o.confidence.value == "high"
    assert (o.analyst, o.summary, o.structure_id, str(o.date)) == ("me", "s", "site.a", "~2020-06-15")


def test_a_foreign_feature_is_named_by_its_first_name_key_and_identified_by_a_usable_id():
    assert one(feat({"Name": "Big Site", "title": "ignored", "colour": "red"})).name == "Big Site"
    f = one(feat({"name": " ", "NAME": "Upper", "label": "L"}))
    assert isinstance(f, Facility) and f.name == "Upper" and f.id == "upper"
    assert one(feat({"label": "Only label"})).name == "Only label"
    assert one(feat({"Title": "T"})).name == "T"
    g = one({**feat({"name": "Named Site", "id": "given-id", "colour": "red"}), "id": "feature-id"})
    assert isinstance(g, Facility) and g.id == "given-id" and g.extra == {"colour": "red"}
    assert one({**feat({"name": "Named Site"}), "id": "feature-id"}).id == "feature-id"  # type: ignore[union-attr]
    assert one({**feat({"name": "Named Site", "id": "Has Caps"}), "id": "f"}).id == "named-site"  # type: ignore
    assert one({**feat({"name": "Named Site", "id": "with space"})}).id == "named-site"  # type: ignore[union-attr]
    assert one({**feat({"name": "Named Site"}), "id": 5}).id == "named-site"  # type: ignore[union-attr]
    h = one(feat({"name": "N", "Name": "M", "extra_field": 1}))
    assert isinstance(h, Facility) and h.extra == {"extra_field": 1}
    assert h.location_precision.value == "digitised"
    reg, _, _ = parse_feature_collection(feat({"name": "N"}), default_precision="city")
    assert reg.facilities[0].location_precision.value == "city"


def test_sources_come_from_the_features_citing_them():
    src = {"id": "s1", "title": "Report", "publisher": "P", "url": "https://e.org", "published": "2020-05",
           "language": "en", "excerpt": "x", "retrieved_at": "2024-01-01T00:00:00Z", "notes": "n", "version": 2}
    s = source_from_dict(src)
    assert (s.id, s.title, s.publisher, s.url, str(s.published), s.language, s.excerpt, s.notes, s.version) == (
        "s1", "Report", "P", "https://e.org", "2020-05", "en", "x", "n", 2)
    assert s.retrieved_at == dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    bare = source_from_dict({"id": "s2", "title": "T", "publisher": None, "excerpt": None, "notes": None})
    assert (bare.title, bare.publisher, bare.excerpt, bare.notes, bare.retrieved_at, bare.version) == (
        "T", "", "", "", None, 1)
    with pytest.raises(ValidationError, match=r"^source title is required and empty$"):
        source_from_dict({"id": "s2", "title": None})
    with pytest.raises(ValidationError, match=r"^source has unknown fields: a, b$"):
        source_from_dict({"id": "s", "b": 1, "a": 2})
    with pytest.raises(ValidationError, match=r"^retrieved_at: timestamp 'x' is not ISO 8601"):
        source_from_dict({"id": "s", "retrieved_at": "x"})


def test_exported_properties_of_each_kind():
    t = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    f = Facility(id="site", name="Site", geometry=shapely.box(0, 0, 0.01, 0.01), aliases=(Alias("A", "ko"),),
                 country="KP", parents=(ParentClaim("P", "pp", ("s1",)),), systems=("S",), source_ids=("s1",),
                 extra={"k": 1}, created_at=t, updated_at=t)
    s = Structure(id="site.a", facility_id="site", name="A", geometry=shapely.Point(0.005, 0.005), built="2019",
                  traced_on=ImageRef("local", "img", "2020-05-06"))
    o = Observation(id="site.o", facility_id="site", date="~2020-06", kind="progress", summary="s",
                    image=ImageRef("local", "i", "2020-06-01"), source_ids=("s1",))
    src = Source(id="s1", title="R", published="2020")
    reg = Registry((f,), (s,), (o,), (src,))
    fc = feature_collection(reg)
    assert fc["type"] == "FeatureCollection" and [x["id"] for x in fc["features"]] == [
        "facility:site", "structure:site.a", "observation:site.o"]
    fp = fc["features"][0]["properties"]
    assert {k: v for k, v in fp.items() if k not in ("area_m2", "sources")} == {
        "feature_type": "facility", "id": "site", "name": "Site", "aliases": [{"name": "A", "lang": "ko"}],
        "country": "KP", "category": "", "status": "unknown", "location_precision": "approximate",
        "parents": [{"name": "P", "facility_id": "pp", "source_ids": ["s1"]}], "systems": ["S"], "notes": "",
        "source_ids": ["s1"], "extra": {"k": 1}, "version": 1, "created_at": "2024-01-02T03:04:05.000Z",
        "updated_at": "2024-01-02T03:04:05.000Z"}
    assert fp["area_m2"] == round(f.area_m2, 1) and fp["area_m2"] > 1e6
    assert fp["sources"] == [{"id": "s1", "title": "R", "publisher": "", "url": None, "published": "2020",
                              "language": None, "excerpt": "", "retrieved_at": None, "notes": "", "version": 1}]
    sp = fc["features"][1]["properties"]
    assert sp == {"feature_type": "structure", "id": "site.a", "facility_id": "site", "name": "A",
                  "kind": "building", "location_precision": "approximate", "status": "unknown", "built": "2019",
                  "removed": None, "notes": "", "source_ids": [], "traced_provider": "local",
                  "traced_image_id": "img", "traced_acquired": "2020-05-06", "footprint_m2": 0.0, "version": 1,
                  "created_at": None, "updated_at": None, "sources": []}
    op = fc["features"][2]["properties"]
    assert op == {"feature_type": "observation", "id": "site.o", "facility_id": "site", "structure_id": None,
                  "date": "~2020-06", "date_precision": "approximate", "date_start": "2020-04-16",
                  "date_end": "2020-08-14", "kind": "progress", "summary": "s", "image_provider": "local",
                  "image_id": "i", "image_acquired": "2020-06-01", "confidence": "medium", "analyst": "",
                  "source_ids": ["s1"], "notes": "", "version": 1, "created_at": None, "updated_at": None,
                  "sources": fp["sources"]} | {"date_start": op["date_start"], "date_end": op["date_end"]}
    assert (op["date_start"], op["date_end"]) == (o.date.start.isoformat(), o.date.end.isoformat())
    assert fc["features"][2]["geometry"] is None
    assert fc["features"][1]["geometry"] == {"type": "Point", "coordinates": (0.005, 0.005)}
    bare = to_feature(s)
    assert "sources" not in bare["properties"] and bare["properties"]["traced_provider"] == "local"
    plain = to_feature(Structure(id="site.b", facility_id="site", name="B", geometry=shapely.Point(1, 1)))
    assert (plain["properties"]["traced_provider"], plain["properties"]["traced_image_id"],
            plain["properties"]["traced_acquired"]) == (None, None, None)
    assert feature_id(src) == "source:s1" and feature_id(f) == "facility:site"
    coarse = to_feature(Facility(id="x", name="X", geometry=shapely.box(0.123456789, 0, 1, 1)), precision=3)
    assert coarse["geometry"]["coordinates"][0][0][0] in (0.123, 1.0)


MULTI_RINGS = [SQUARE["coordinates"], [[[1, 1], [2, 1], [2, 2], [1, 2]]]]
BOW_TIE = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
INVALID = "invalid geometry: Self-intersection[0.5 0.5] (fix it, or import with repair to apply make_valid)"


def structure(geometry: dict, **props: object) -> dict:
    return feat({"feature_type": "structure", "id": "site.s", "facility_id": "site", "name": "S", **props}, geometry)


def test_ring_refusals_name_the_ring_the_polygon_and_the_positions():
    assert problems(feat(fac(), {"type": "MultiPolygon", "coordinates": MULTI_RINGS})) == [
        (0, None, "ring 0 of polygon 1 is not closed: first position [1, 1] differs from last [1, 2]")]
    short = [SQUARE["coordinates"], [[[1, 1], [2, 1], [1, 1]]]]
    assert problems(feat(fac(), {"type": "MultiPolygon", "coordinates": short})) == [
        (0, None, "ring 0 of polygon 1 has fewer than 4 positions (a closed ring needs 4 or more)")]
    open_ring = {"type": "Polygon", "coordinates": [SQUARE["coordinates"][0], [[1, 1], [2, 1], [2, 2], [3, 3]]]}
    assert problems(feat(fac(), open_ring)) == [
        (0, None, "ring 1 is not closed: first position [1, 1] differs from last [3, 3]")]


def test_a_feature_id_that_is_not_text_or_a_number_is_refused_saying_what_it_is():
    assert problems({**feat(fac()), "id": [1]}, {**feat(fac(id="b")), "id": {"a": 1}}) == [
        (0, None, "id must be text or a number (RFC 7946 §3.2), got an array"),
        (1, None, "id must be text or a number (RFC 7946 §3.2), got an object")]


def test_a_problem_prints_the_feature_id_within_64_bits_only():
    got = problems(*({**feat(fac()), "id": n, "properties": 5} for n in (2**63 - 1, -2**63, 2**63, -2**63 - 1)))
    assert [(i, fid) for i, fid, _ in got] == [(0, "9223372036854775807"), (1, "-9223372036854775808"),
                                               (2, None), (3, None)]
    assert problems({**feat(fac(feature_type="nope")), "id": "x"}) == [
        (0, "x", "feature_type 'nope' is not facility, structure or observation")]


def test_source_refusals_say_which_source_and_where_it_was_given_before():
    assert problems(feat(fac(sources=[5])), feat(fac(id="b", sources=[{"title": "x"}])),
                    feat(fac(id="c", sources=[{"id": "s", "bogus": 1}]))) == [
        (0, None, "sources[0] must be an object, got a number"), (1, None, "sources[0] has no id"),
        (2, None, "sources[0]: source has unknown fields: bogus")]
    tail = "; give each source once, or the same fields each time"
    assert problems(feat(fac(sources=[{"id": "s", "title": "A"}, {"id": "s", "title": "B"}])),
                    feat(fac(id="d", sources=[{"id": "t", "title": "A"}])),
                    feat(fac(id="e", sources=[{"id": "t", "title": "B"}]))) == [
        (0, None, "sources[1]: source 's' differs from the source with that id given earlier in this feature" + tail),
        (2, None, "sources[0]: source 't' differs from the source with that id given by feature 1" + tail)]


def test_a_bad_location_precision_is_named():
    assert problems(feat(fac(location_precision="nope"))) == [
        (0, None, "location_precision 'nope' is not one of: surveyed, digitised, approximate, city")]
    _, found, _ = parse_feature_collection(feat({"name": "N"}), default_precision="bogus", skip_invalid=True)
    assert [p.reason for p in found] == [
        "location_precision 'bogus' is not one of: surveyed, digitised, approximate, city"]


def test_a_null_where_an_object_belongs_is_called_null():
    assert problems(feat(fac(sources=[None]))) == [(0, None, "sources[0] must be an object, got null")]


def test_every_geometry_is_checked_whatever_else_the_file_holds():
    assert problems(feat(fac()), structure(BOW_TIE)) == [(1, None, INVALID)]  # beside a facility
    assert problems(structure(BOW_TIE)) == [(0, None, INVALID)]  # alone
    assert problems(feat(fac(), BOW_TIE)) == [(0, None, INVALID)]  # not repaired unless asked
    reg, found, notes = parse_feature_collection({"type": "FeatureCollection", "features": [feat(fac(), BOW_TIE)]},
                                                 repair=True)
    assert not found and reg.facilities[0].geometry.is_valid and notes


def test_structure_and_observation_fields_read_from_the_file_are_kept():
    s = one(structure(SQUARE, notes="Roof replaced", version=3))
    assert isinstance(s, Structure) and (s.notes, s.version) == ("Roof replaced", 3)
    assert s.geometry.equals(shapely.geometry.shape(SQUARE))
    o = one(feat({"feature_type": "observation", "id": "site.o", "facility_id": "site", "date": "2020",
                  "kind": "progress", "summary": "seen", "version": 2}, POINT))
    assert isinstance(o, Observation) and o.version == 2 and o.geometry == shapely.Point(0.005, 0.005)


def test_file_level_refusals_name_the_file():
    with pytest.raises(InputError, match=r"^f\.geojson: FeatureCollection has no 'features' array$") as err:
        parse_feature_collection({"type": "FeatureCollection"}, source="f.geojson")
    assert err.value.source == "f.geojson"
    with pytest.raises(InputError) as err:
        parse_feature_collection({"type": "FeatureCollection", "features": [feat(fac(extra=1))]}, source="g.geojson")
    assert err.value.source == "g.geojson"


def test_exports_round_to_the_precision_asked_and_carry_source_times():
    f = Facility(id="site", name="Site", geometry=shapely.box(0.123456789, 0.1, 0.2, 0.2), source_ids=("s1",))
    src = Source(id="s1", title="R", retrieved_at=dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC))
    feature = to_feature(f, {"s1": src}, 3)
    assert 0.123 in [x for ring in feature["geometry"]["coordinates"] for x, _ in ring]
    assert feature["properties"]["sources"][0]["retrieved_at"] == "2024-01-02T03:04:05.000Z"
    fc = feature_collection(Registry((f,), (), (), (src,)), precision=2)
    assert {x for ring in fc["features"][0]["geometry"]["coordinates"] for x, _ in ring} == {0.12, 0.2}
