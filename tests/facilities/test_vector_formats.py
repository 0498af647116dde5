"""Every table format round-trips the registry's own export, except what the format cannot hold,
which the export says; a GeoPackage export is a standalone registry GDAL's validator accepts."""

from __future__ import annotations

import json
import string

import geopandas as gpd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from facilities.errors import InputError
from facilities.geojson_io import export_text
from facilities.model import Alias, Facility, Observation, ParentClaim, Registry, Source, Structure
from facilities.store import Filter, GeoPackageStore
from facilities.vector_formats import _NULLABLE, format_of, read_table_file, shapefile_names, write_table
from tests.support.registry import run_isolated
from tracker.seeding import ensure_seeded

TEXT = st.text(alphabet=string.ascii_letters + string.digits + " ,;\"'\\é한ё-_/\n", max_size=30)
NAME = TEXT.filter(lambda t: t.strip() != "")
LANG = st.sampled_from([None, "en", "ko", "it"])
DATE = st.sampled_from([None, "2019", "2020-06", "2021-03-04", "~2018", "~2022-02"])


@st.composite
def registries(draw) -> Registry:
    n_sources = draw(st.integers(0, 2))
    sources = tuple(Source(id=f"src-{i}", title=draw(NAME), publisher=draw(TEXT), excerpt=draw(TEXT),
                           url=draw(st.sampled_from([None, "https://example.org/a?b=1"])),
                           published=draw(DATE), language=draw(LANG), notes=draw(TEXT))
                    for i in range(n_sources))
    cite = st.lists(st.sampled_from([s.id for s in sources]), unique=True, max_size=2) if sources else st.just([])
    facilities, structures, observations = [], [], []
    for i in range(draw(st.integers(1, 3))):
        x, y = draw(st.floats(-179, 178)), draw(st.floats(-80, 79))
        size = draw(st.floats(0.0001, 0.5))
        geom = shapely.box(x, y, x + size, y + size)
        if draw(st.booleans()):
            geom = shapely.MultiPolygon([geom, shapely.box(x + 2 * size, y, x + 3 * size, y + size)])
        fid = f"site-{i}"
        facilities.append(Facility(
            id=fid, name=draw(NAME), geometry=geom, aliases=tuple(Alias(draw(NAME), draw(LANG))
                                                                  for _ in range(draw(st.integers(0, 2)))),
            country=draw(st.sampled_from([None, "KP", "IR"])), category=draw(TEXT),
            status=draw(st.sampled_from(["active", "unknown", "under-construction"])),
            parents=tuple(ParentClaim(draw(NAME), None, tuple(draw(cite))) for _ in range(draw(st.integers(0, 1)))),
            systems=tuple(draw(st.lists(NAME, max_size=2))), notes=draw(TEXT), source_ids=tuple(draw(cite)),
            extra=draw(st.sampled_from([{}, {"k": 1}, {"nested": {"a": [1, "b"]}}]))))
        for j in range(draw(st.integers(0, 2))):
            kind = draw(st.sampled_from(["point", "polygon"]))
            sgeom = shapely.Point(x + size / 2, y + size / 2) if kind == "point" else shapely.box(
                x, y, x + size / 3, y + size / 3)
            structures.append(Structure(id=f"{fid}.s{j}", facility_id=fid, name=draw(NAME), geometry=sgeom,
                                        kind=draw(st.sampled_from(["building", "hall"])), built=draw(DATE),
                                        removed=draw(DATE), notes=draw(TEXT), source_ids=tuple(draw(cite))))
        for j in range(draw(st.integers(0, 2))):
            drawn = draw(st.sampled_from([None, "line", "point"]))
            ogeom = None if drawn is None else shapely.Point(x, y) if drawn == "point" else shapely.LineString(
                [(x, y), (x + size, y + size)])
            observations.append(Observation(
                id=f"{fid}.o{j}", facility_id=fid, date=draw(DATE.filter(bool)), kind="progress",
                summary=draw(NAME), geometry=ogeom, confidence=draw(st.sampled_from(["low", "high"])),
                analyst=draw(TEXT), source_ids=tuple(draw(cite)), notes=draw(TEXT),
                structure_id=f"{fid}.s0" if structures and structures[-1].facility_id == fid and draw(st.booleans())
                else None))
    return Registry(tuple(facilities), tuple(structures), tuple(observations), sources)


def _export(path) -> dict:
    store = GeoPackageStore(path)
    try:
        return {f["id"]: f for f in json.loads(export_text(store))["features"]}
    finally:
        store.close()


@pytest.mark.parametrize("fmt", ["gpkg", "fgb", "parquet", "csv", "shp"])
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(registry=registries())
def test_each_format_round_trips_the_registry_export(fmt, registry, tmp_path_factory):
    tmp = tmp_path_factory.mktemp(fmt)
    original = GeoPackageStore(tmp / "a.gpkg")
    original.import_registry(registry, actor="t")
    written = write_table(original, tmp / f"out.{fmt}", fmt)
    original.close()
    back = read_table_file(tmp / f"out.{fmt}", max_bytes=2**30)
    copy = GeoPackageStore(tmp / "b.gpkg")
    copy.import_registry(back.registry, actor="t")
    copy.close()
    before, after = _export(tmp / "a.gpkg"), _export(tmp / "b.gpkg")
    said = "\n".join(written.warnings)
    assert after == before or said, "lost something without saying so"
    # what the export said the format cannot hold, applied to both sides; nothing else may differ
    rules = {"empty_is_null": "empty" in said, "strip": "trailing spaces" in said}
    assert _normalised(after, **rules) == _normalised(before, **rules)


def _normalised(value, *, key=None, empty_is_null=False, strip=False):
    if isinstance(value, dict):
        return {k: _normalised(v, key=k, empty_is_null=empty_is_null, strip=strip) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalised(v, key=key, empty_is_null=empty_is_null, strip=strip) for v in value]
    if isinstance(value, str):
        value = value.strip(" ") if strip else value
        if empty_is_null and value == "" and key in _NULLABLE:
            return None
    return value


def test_gpkg_export_is_a_standalone_registry_gdal_validates(tmp_path):
    store = GeoPackageStore(tmp_path / "reg.gpkg")
    ensure_seeded(store)
    out = tmp_path / "copy" / "plant.gpkg"
    written = write_table(store, out, "gpkg", Filter(facility_ids=("february-11-plant",)))
    store.close()
    assert written.files == (out,) and not written.warnings
    assert not (tmp_path / "copy" / "plant.gpkg-wal").exists()
    check = run_isolated("import sys; from osgeo_utils.samples import validate_gpkg as v;"
                         "v.check(sys.argv[1], extra_checks=True, warning_as_error=True); print('valid')", str(out))
    assert check.returncode == 0, check.stderr
    copy = GeoPackageStore(out)
    assert [f.id for f in copy.list_facilities()] == ["february-11-plant"]
    assert copy.counts()["observations"] > 0
    copy.close()


def test_shapefile_names_sidecar_and_warnings(tmp_path):
    store = GeoPackageStore(tmp_path / "reg.gpkg")
    ensure_seeded(store)
    written = write_table(store, tmp_path / "seed.shp", "shp")
    store.close()
    text = "\n".join(written.warnings)
    assert "location_precision -> location_p" in text and "seed.fields.json" in text
    assert "one geometry type per file" in text and "seed_points.shp" in text
    assert "were cut" in text  # the seed's notes are longer than 254 bytes
    sidecar = json.loads((tmp_path / "seed.fields.json").read_text())
    assert sidecar["fields"]["location_p"] == "location_precision"
    assert len(set(shapefile_names(["abcdefghijk1", "abcdefghijk2", "abcdefghij"]).values())) == 3


def test_bad_rows_of_a_table_file_are_each_named(tmp_path):
    frame = gpd.GeoDataFrame(
        {"feature_type": ["facility", "facility", "structure"], "id": ["ok", "Bad Id", "s1"],
         "name": ["Fine", "Broken", "Hall"], "facility_id": [None, None, "missing"],
         "status": ["active", "sleeping", None]},
        geometry=[shapely.box(0, 0, 1, 1), shapely.box(0, 0, 1, 1), shapely.Point(0.5, 0.5)], crs="EPSG:4326")
    frame.to_file(tmp_path / "bad.fgb", driver="FlatGeobuf")
    with pytest.raises(InputError) as err:
        read_table_file(tmp_path / "bad.fgb", max_bytes=2**20)
    assert [p.index for p in err.value.problems] == [1]
    assert "sleeping" in str(err.value) or "Bad Id" in str(err.value)


def test_a_shapefile_without_prj_is_refused_and_size_is_checked(tmp_path):
    frame = gpd.GeoDataFrame({"name": ["A"]}, geometry=[shapely.box(0, 0, 1, 1)])
    frame.to_file(tmp_path / "nocrs.shp")
    with pytest.raises(InputError, match="no CRS"):
        read_table_file(tmp_path / "nocrs.shp", max_bytes=2**20)
    with pytest.raises(InputError, match="import limit"):
        read_table_file(tmp_path / "nocrs.shp", max_bytes=10)


def test_format_from_extension():
    assert format_of("a.FGB") == "fgb" and format_of("a.geoparquet") == "parquet"
    assert format_of("a.json") == "geojson" and format_of("a.out") == "geojson"
    with pytest.raises(InputError):
        format_of("a.gpkg", "kml")
