"""Round trips of every format the registry writes and reads back (issue 22), over generated registries: names and
aliases in any script (Arabic, Devanagari, CJK, Hangul, combining marks, emoji, right-to-left), partial dates of
every precision (year, month, day, and each approximately), multipolygons with holes, aliases with and without a
language. GeoJSON and every table format (GeoPackage, FlatGeobuf, GeoParquet, CSV with WKT, zipped Shapefile)
must give back what the registry's own export says, except what the writer says the format cannot hold; KML and
KMZ, which the importer reads as outlines, give back every facility's name and outline."""

from __future__ import annotations

import json

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from facilities import geojson_io, kml_io
from facilities.errors import ValidationError
from facilities.model import Alias, Facility, Observation, Registry, Source, Structure
from facilities.store import GeoPackageStore
from facilities.vector_formats import read_table_file, write_table
from tests.facilities.test_vector_formats import _export, _normalised
from tracker.reports.kml import write_kml
from tracker.site import load_site

# letters and marks of many scripts, spaces and punctuation; no control characters or surrogates
SCRIPTS = st.characters(codec="utf-8", categories=("L", "M", "N", "P", "S", "Zs"))
SAMPLES = st.sampled_from(["Завод №26", "مصنع الأسمدة", "순천 시멘트 공장", "福建舰 船坞", "कारखाना",
                           "Ŭnjŏng-ri ‘8 February’", "e\u0301cole", "🏭 plant", "שדה תעופה"])
NAME = (SAMPLES | st.text(SCRIPTS, min_size=1, max_size=24)).filter(lambda t: t.strip() == t and t != "")
DATE = st.sampled_from(["2019", "2020-06", "2021-03-04", "~2018", "~2022-02", "~2023-11-30", "2024-02-29"])
LANG = st.sampled_from([None, "ko", "ar", "zh", "hi", "ru"])

pytestmark = pytest.mark.slow  # about a minute in all: the full suite runs it, the mutation runs leave it out


def on_grid(geom):
    """Coordinates on the 1e-6 degree grid: the export rounds to 7 decimals, so these come back exactly."""
    return shapely.transform(geom, lambda c: np.round(c, 6))


@st.composite
def registries(draw) -> Registry:
    sources = (Source(id="src-1", title=draw(NAME), publisher=draw(NAME), published=draw(DATE),
                      language=draw(LANG)),)
    facilities, structures, observations = [], [], []
    for i in range(draw(st.integers(1, 3))):
        x, y = draw(st.integers(-1700, 1700)) / 10, draw(st.integers(-700, 700)) / 10
        size = draw(st.integers(10, 500)) / 1e4
        outer = shapely.box(x, y, x + size, y + size)
        if draw(st.booleans()):  # a hole in the middle
            q = size / 4
            outer = shapely.Polygon(outer.exterior.coords, [shapely.box(x + q, y + q, x + 3 * q, y + 3 * q)
                                                            .exterior.coords[::-1]])
        geom = outer
        if draw(st.booleans()):
            geom = shapely.MultiPolygon([outer, shapely.box(x + 2 * size, y, x + 3 * size, y + size / 2)])
        fid = f"site-{i}"
        try:
            facilities.append(Facility(
                id=fid, name=draw(NAME), geometry=on_grid(geom),
                aliases=tuple(Alias(draw(NAME), draw(LANG)) for _ in range(draw(st.integers(0, 3)))),
                country=draw(st.sampled_from([None, "KP", "CN", "IN"])), source_ids=("src-1",)))
        except ValidationError:
            assume(False)
        if draw(st.booleans()):
            structures.append(Structure(id=f"{fid}.a", facility_id=fid, name=draw(NAME),
                                        geometry=on_grid(shapely.box(x, y, x + size / 8, y + size / 8)),
                                        built=draw(st.none() | DATE), removed=draw(st.none() | DATE)))
        for j in range(draw(st.integers(0, 3))):
            observations.append(Observation(id=f"{fid}.o{j}", facility_id=fid, date=draw(DATE), kind="progress",
                                            summary=draw(NAME), source_ids=("src-1",)))
    return Registry(tuple(facilities), tuple(structures), tuple(observations), sources)


def stored(tmp, registry: Registry) -> GeoPackageStore:
    store = GeoPackageStore(tmp / "a.gpkg")
    store.import_registry(registry, actor="t")
    return store


def lists(store: GeoPackageStore) -> tuple:
    return (store.list_facilities(), store.list_structures(), store.list_observations(), store.list_sources())


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(registry=registries())
def test_geojson_gives_back_the_registry(registry, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gj")
    a = stored(tmp, registry)
    text = geojson_io.export_text(a)
    back, problems, _ = geojson_io.read_registry_bytes(text.encode(), "export.geojson")
    assert not problems
    b = GeoPackageStore(tmp / "b.gpkg")
    b.import_registry(back, actor="t")
    assert lists(b) == lists(a)
    assert {f.name for f in back.facilities} == {f.name for f in registry.facilities}  # every script, unchanged
    assert sorted(str(o.date) for o in back.observations) == sorted(str(o.date) for o in registry.observations)
    a.close()
    b.close()


@pytest.mark.parametrize("fmt", ["gpkg", "fgb", "parquet", "csv", "shp"])
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(registry=registries())
def test_each_table_format_gives_back_the_registry(fmt, registry, tmp_path_factory):
    tmp = tmp_path_factory.mktemp(fmt)
    a = stored(tmp, registry)
    written = write_table(a, tmp / f"out.{fmt}", fmt)
    a.close()
    back = read_table_file(tmp / f"out.{fmt}", max_bytes=2**30)
    b = GeoPackageStore(tmp / "b.gpkg")
    b.import_registry(back.registry, actor="t")
    b.close()
    before, after = _export(tmp / "a.gpkg"), _export(tmp / "b.gpkg")
    said = "\n".join(written.warnings)
    rules = {"empty_is_null": "empty" in said, "strip": "trailing spaces" in said}
    assert _normalised(after, **rules) == _normalised(before, **rules)
    names = {f["id"]: f["properties"]["name"] for f in after.values() if f["properties"].get("feature_type")
             == "facility"}
    assert names == {f"facility:{f.id}": f.name for f in registry.facilities}


@pytest.mark.parametrize("suffix", [".kml", ".kmz"])
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(registry=registries())
def test_kml_and_kmz_give_back_every_facilitys_name_and_outline(suffix, registry, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("kml")
    a = stored(tmp, registry)
    sites = [load_site(a, f.id) for f in registry.facilities]
    path = write_kml(sites, tmp / f"out{suffix}")
    a.close()
    back, problems, _ = kml_io.read_registry_bytes(path.read_bytes(), path.name)
    assert not problems
    for f in registry.facilities:  # structures come back too (as the importer reads them): find the facility
        same = [b for b in back.facilities if b.name == f.name
                and b.geometry.symmetric_difference(f.geometry).area <= 1e-6 * f.geometry.area]
        assert same, f"{f.name!r} did not come back with its outline"
    assert json.dumps([f.name for f in back.facilities], ensure_ascii=False)
