"""One behaviour for every backend: this suite runs against GeoPackage and PostGIS alike.

Each test takes `any_store` (parametrised over both backends) and uses only the Store interface,
so the backends cannot drift apart. Backend-specific checks (file format, server faults) live in
tests/test_store.py and tests/test_postgis_faults.py.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
import shapely

from facilities import geojson_codec as codec
from facilities.errors import (
    ConflictError,
    DuplicateId,
    FacilitiesError,
    InputError,
    NotFound,
    StoreError,
    ValidationError,
)
from facilities.model import Facility, ImageRef, Observation, Registry, Source, Structure
from facilities.store import Filter, GeoPackageStore, OnConflict, migrations, open_store
from tests.support.registry import readable_digest, square
from tracker.images import image_key
from tracker.seeding import ensure_seeded

T0 = dt.datetime(2024, 11, 25, 12, 0, tzinfo=dt.UTC)


def registry_with(*objs) -> Registry:
    kinds: dict[type, list] = {Facility: [], Structure: [], Observation: [], Source: []}
    for o in objs:
        kinds[type(o)].append(o)
    return Registry(tuple(kinds[Facility]), tuple(kinds[Structure]), tuple(kinds[Observation]),
                    tuple(kinds[Source]))


def test_add_update_delete_keep_history(any_populated):
    f = any_populated.get_facility("site-1")
    assert f.version == 1 and f.created_at is not None
    g = any_populated.update_facility(f.evolve(name="Site one renamed"), actor="ana")
    assert g.version == 2 and g.created_at == f.created_at and g.updated_at >= f.updated_at
    assert any_populated.get_facility("site-1") == g
    any_populated.delete_observation("obs-1", actor="ana")
    history = any_populated.history("site-1")
    assert [h.action for h in history] == ["update", "create"]
    assert history[0].before["name"] == "Site one" and history[0].after["name"] == "Site one renamed"
    assert history[0].actor == "ana"
    deleted = any_populated.history("obs-1")[0]
    assert deleted.action == "delete" and deleted.before["summary"] == "roof" and deleted.after is None
    with pytest.raises(NotFound):
        any_populated.get_observation("obs-1")
    assert any_populated.counts() == {"facilities": 1, "structures": 1, "observations": 0, "sources": 1, "history": 6}


def test_values_come_back_exactly_as_written(any_store, source):
    any_store.add_source(source.evolve(published="~2023-05", retrieved_at=T0, excerpt="«군수공업» 11호"),
                         actor="t")
    poly = shapely.MultiPolygon([square(1.123456789012, 2.1, 0.01), square(1.2, 2.2, 0.01)])
    f = any_store.add_facility(Facility(
        id="multi", name="Два завода", geometry=poly, aliases=({"name": "二月十一日", "lang": "zh"},),
        country="KP", extra={"k": [1, 2.5, None]}, source_ids=("src-1",)), actor="t")
    assert any_store.get_facility("multi") == f and any_store.get_source("src-1").excerpt == "«군수공업» 11호"
    o = any_store.add_observation(Observation(id="o-line", facility_id="multi", date="2024-02-29", kind="visit",
                                              summary="s", geometry=shapely.LineString([(1.1, 2.1), (1.3, 2.3)]),
                                              image={"provider": "esri", "image_id": "42", "acquired": "2024"}),
                                  actor="t")
    assert any_store.get_observation("o-line") == o


def test_stale_edit_is_a_conflict_with_both_versions(any_populated):
    mine = any_populated.get_observation("obs-1")
    theirs = any_populated.get_observation("obs-1")
    any_populated.update_observation(theirs.evolve(notes="theirs"), actor="b")
    with pytest.raises(ConflictError, match="changed by someone else") as err:
        any_populated.update_observation(mine.evolve(notes="mine"), actor="a")
    assert err.value.stored.notes == "theirs" and err.value.stored.version == 2
    assert err.value.attempted.notes == "mine" and err.value.attempted.version == 1
    assert any_populated.get_observation("obs-1").notes == "theirs"


def test_refused_writes_change_nothing(any_populated, make_facility):
    before = readable_digest(any_populated)
    with pytest.raises(DuplicateId):
        any_populated.add_facility(make_facility(), actor="t")
    with pytest.raises(ValidationError, match="unknown source ids"):
        any_populated.add_facility(make_facility(id="site-2", source_ids=("nope",)), actor="t")
    with pytest.raises(ValidationError, match="facility 'ghost' does not exist"):
        any_populated.add_observation(Observation(id="o2", facility_id="ghost", date="2024", kind="visit",
                                              summary="x"), actor="t")
    with pytest.raises(ValidationError, match="not a structure of"):
        any_populated.add_observation(Observation(id="o2", facility_id="site-1", structure_id="other.b", date="2024",
                                              kind="visit", summary="x"), actor="t")
    with pytest.raises(ValidationError, match="Self-intersection"):
        any_populated.add_facility(make_facility(id="site-3", geometry=shapely.Polygon(
            [(0, 0), (2, 2), (2, 0), (0, 2), (0, 0)])), actor="t")
    with pytest.raises(StoreError, match="has 1 structures and 1 observations"):
        any_populated.delete_facility("site-1", actor="t")
    with pytest.raises(StoreError, match="referenced by observations"):
        any_populated.delete_structure("site-1.a", actor="t")
    with pytest.raises(NotFound):
        any_populated.update_facility(make_facility(id="nobody"), actor="t")
    assert readable_digest(any_populated) == before


def test_cascading_delete_records_every_removed_record(any_populated):
    any_populated.delete_facility("site-1", actor="t", cascade=True)
    assert any_populated.counts()["facilities"] == 0 and any_populated.counts()["observations"] == 0
    assert {(h.entity, h.action) for h in any_populated.history(limit=3)} == {
        ("facility", "delete"), ("structure", "delete"), ("observation", "delete")}
    with pytest.raises(NotFound):
        any_populated.get_facility("site-1")


def test_bbox_query_is_exact_not_just_envelopes(any_store, make_facility):
    ell = shapely.Polygon([(0, 0), (3, 0), (3, 1), (1, 1), (1, 3), (0, 3)])
    any_store.add_facility(make_facility(id="ell", geometry=ell), actor="t")
    any_store.add_facility(make_facility(id="near", geometry=square(2.2, 2.2, 0.5)), actor="t")
    assert [f.id for f in any_store.facilities_in_bbox((2, 2, 2.1, 2.1))] == []
    assert [f.id for f in any_store.facilities_in_bbox((2, 2, 2.3, 2.3))] == ["near"]
    assert {f.id for f in any_store.facilities_in_bbox((0.5, 0.5, 2.5, 2.5))} == {"ell", "near"}
    assert [f.id for f in any_store.list_facilities(Filter(bbox=(2, 2, 2.1, 2.1)))] == []


def test_bbox_across_the_antimeridian(any_store, make_facility):
    any_store.add_facility(make_facility(id="east", geometry=square(179.5, 0, 0.2)), actor="t")
    any_store.add_facility(make_facility(id="west", geometry=square(-179.8, 0, 0.2)), actor="t")
    any_store.add_facility(make_facility(id="greenwich", geometry=square(0, 0, 0.2)), actor="t")
    assert {f.id for f in any_store.facilities_in_bbox((179, -1, -179, 1))} == {"east", "west"}
    with pytest.raises(ValidationError, match="north of north"):
        any_store.facilities_in_bbox((0, 5, 1, 4))


def test_date_filter_uses_interval_overlap(any_populated):
    for i, date in enumerate(["2011", "~2020-06", "2023-05-01", "2024-11-25"]):
        any_populated.add_observation(Observation(id=f"o{i}", facility_id="site-1", date=date, kind="visit",
                                              summary="s"), actor="t")
    got = any_populated.list_observations(Filter(date_from=dt.date(2020, 1, 1), date_to=dt.date(2023, 12, 31)))
    assert [o.id for o in got] == ["o1", "o2"]
    assert [o.id for o in any_populated.list_observations(Filter(date_from=dt.date(2024, 11, 1)))] == ["o3"]
    assert [o.id for o in any_populated.list_observations(Filter(date_to=dt.date(2011, 6, 1)))] == ["o0"]
    assert [o.id for o in any_populated.list_observations(Filter(facility_ids=("nope",)))] == []


def test_import_is_all_or_nothing(any_populated, make_facility):
    before = readable_digest(any_populated)
    bad = registry_with(make_facility(id="new-1"), make_facility(id="new-2", source_ids=("missing",)))
    with pytest.raises(InputError, match="nothing was imported") as err:
        any_populated.import_registry(bad, actor="t")
    assert err.value.problems[0].feature_id == "new-2"
    with pytest.raises(DuplicateId, match="site-1"):
        any_populated.import_registry(registry_with(make_facility(id="new-1"), make_facility()), actor="t")
    orphan = Observation(id="o9", facility_id="site-1", structure_id="elsewhere.a", date="2024", kind="visit",
                         summary="x")
    with pytest.raises(InputError, match="not a structure of"):
        any_populated.import_registry(registry_with(make_facility(id="new-3"), orphan), actor="t")
    assert readable_digest(any_populated) == before


def test_import_conflict_policies(any_populated, make_facility):
    reg = registry_with(make_facility(name="Imported name"), make_facility(id="site-2"))
    report = any_populated.import_registry(reg, actor="t", on_conflict=OnConflict.SKIP)
    assert report.added["facility"] == 1 and report.skipped["facility"] == 1
    assert any_populated.get_facility("site-1").name == "Site one"
    report = any_populated.import_registry(reg, actor="t", on_conflict=OnConflict.UPDATE)
    assert report.updated["facility"] == 2 and any_populated.get_facility("site-1").name == "Imported name"
    assert any_populated.history("site-1")[0].before["name"] == "Site one"
    assert any_populated.history(limit=1)[0].entity == "registry"


def test_meta_and_schema_version(any_store):
    # a new registry is created at the newest version (3 since issue 12: history change groups)
    assert any_store.get_meta("schema_version") == str(migrations.schema_version()) >= "3"
    assert any_store.get_meta("nothing") is None
    any_store.set_meta("seed_version", "a")
    any_store.set_meta("seed_version", "b")
    assert any_store.get_meta("seed_version") == "b"
    assert any_store.check() == []


def test_migration_2_names_eox_mosaics_by_their_image_key(any_populated):
    """Before schema 2 an observation drawn on an EOX mosaic stored provider = id = 'eox-s2cloudless-2020',
    which no compare layer is called. Reopening fixes those two columns only: other rows, versions and the
    history stay exactly as they were."""
    s = any_populated
    s.add_observation(Observation(id="obs-eox", facility_id="site-1", date="2020", kind="progress",
                                  summary="on the 2020 mosaic", image=ImageRef(provider="eox-s2cloudless-2020",
                                                                              image_id="eox-s2cloudless-2020")),
                      actor="t")
    s.add_observation(Observation(id="obs-wb", facility_id="site-1", date="2022-11-04", kind="progress",
                                  summary="on Wayback", image=ImageRef(provider="esri-wayback", image_id="45134",
                                                                       acquired="2022-11-04")), actor="t")
    s.add_observation(Observation(id="obs-odd", facility_id="site-1", date="2021", kind="progress",
                                  summary="not a year", image=ImageRef(provider="eox-s2cloudless-latest")), actor="t")
    s.set_meta("schema_version", "1")  # the file as version 1 left it
    counts, _records, hist = readable_digest(s)
    others = {o.id: codec.properties(o) for o in s.list_observations() if o.id != "obs-eox"}
    again = open_store(s.location)
    try:
        assert again.get_meta("schema_version") == str(migrations.schema_version())  # 2, then every later step
        fixed = again.get_observation("obs-eox")
        assert fixed.image == ImageRef(provider="eox-s2cloudless", image_id="2020")
        assert str(image_key(fixed.image)) == "eox-s2cloudless:2020"  # the key of the 2020 mosaic's layer
        assert fixed.version == 1 and fixed.summary == "on the 2020 mosaic"
        assert {o.id: codec.properties(o) for o in again.list_observations() if o.id != "obs-eox"} == others
        after_counts, _, after_hist = readable_digest(again)
        assert after_counts == counts and after_hist == hist  # not an edit: no history entry, none changed
        assert again.history("obs-eox")[0].after["image_provider"] == "eox-s2cloudless-2020"
    finally:
        again.close()
    reopened = open_store(s.location)  # at version 2 nothing runs again
    try:
        assert reopened.get_observation("obs-eox").image == fixed.image
    finally:
        reopened.close()


def _export(store, flt: Filter = Filter()) -> list[dict]:
    return [json.loads(t) for t in store.iter_geojson_features(flt, batch_size=3)]


@pytest.mark.parametrize("flt", [
    Filter(),
    Filter(bbox=(127.0, 39.0, 128.0, 40.5)),
    Filter(facility_ids=("february-11-plant",), date_from=dt.date(2020, 1, 1)),
    Filter(date_to=dt.date(2019, 12, 31)),
], ids=["all", "bbox", "ids-dates", "until-2019"])
def test_export_matches_the_geopackage_backend(any_store, tmp_path, flt):
    """The seed registry stored in both backends exports the same features, in the same order."""
    reference = GeoPackageStore(tmp_path / "reference.gpkg")
    ensure_seeded(reference)
    copy = Registry(tuple(f for batch in reference.iter_facilities() for f in batch),
                    tuple(reference.list_structures()), tuple(reference.list_observations()),
                    tuple(reference.list_sources()))
    any_store.import_registry(copy, actor="t")
    mirror = GeoPackageStore(tmp_path / "mirror.gpkg")  # the same insertion order, so the same fid order
    mirror.import_registry(copy, actor="t")
    got = _export(any_store, flt)
    assert got == _export(mirror, flt) and got
    assert {f["id"] for f in got} == {f["id"] for f in _export(reference, flt)}


def test_postgresql_urls_open_the_postgis_store(pg_url):
    s = open_store(pg_url)
    try:
        assert type(s).__name__ == "PostGisStore" and s.counts()["facilities"] == 0
        assert "postgres@127.0.0.1" in s.location
    finally:
        s.close()


def test_an_unreachable_server_is_a_clear_error(pg_server):
    from tests.support.postgis import _free_port

    with pytest.raises(StoreError, match="PostGIS backend is not available at .*cannot connect"):
        open_store(f"postgresql://postgres@127.0.0.1:{_free_port()}/nothing")


def test_undo_last_writes_new_history_on_every_backend(any_populated):
    from tracker import undo as edits

    o = any_populated.get_observation("obs-1")
    any_populated.update_observation(o.evolve(date="2023-05", summary="moved"), actor="ana")
    any_populated.delete_observation("obs-1", actor="ana")
    edits.undo_last(any_populated, "ana")  # the delete: re-created as it was after the edit
    assert any_populated.get_observation("obs-1").summary == "moved"
    edits.undo_last(any_populated, "ana")  # the edit: the before state written as a new update
    back = any_populated.get_observation("obs-1")
    assert (str(back.date), back.summary, back.structure_id) == ("2024-10", "roof", "site-1.a")
    assert [(h.action, h.actor) for h in any_populated.history("obs-1")] == [
        ("update", "ana (undo)"), ("create", "ana (undo)"), ("delete", "ana"), ("update", "ana"), ("create", "t")]
    any_populated.update_observation(back.evolve(summary="bob's"), actor="bob")
    with pytest.raises(edits.NothingToUndo):
        edits.undo_last(any_populated, "ana")
    any_populated.update_observation(any_populated.get_observation("obs-1").evolve(notes="ana"), actor="ana")
    any_populated.update_observation(any_populated.get_observation("obs-1").evolve(notes="bob"), actor="bob")
    before = readable_digest(any_populated)
    with pytest.raises(edits.UndoConflict):
        edits.undo_last(any_populated, "ana")
    assert readable_digest(any_populated) == before


def test_revision_grows_with_every_write_and_only_then(any_populated, make_facility):
    first = any_populated.revision()
    any_populated.list_facilities()
    assert any_populated.revision() == first  # reads leave it
    f = any_populated.get_facility("site-1")
    any_populated.update_facility(f.evolve(notes="seen again"), actor="ana")
    second = any_populated.revision()
    assert second > first
    with pytest.raises(FacilitiesError):
        any_populated.add_facility(f, actor="ana")  # refused: the id exists
    assert any_populated.revision() == second
