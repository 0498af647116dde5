"""Issue 16 §2: a structure's footprint remembers the image it was traced on (Structure.traced_on), in both
backends, every format a structure goes through, and a registry upgraded from schema 4 (migration 5)."""

from __future__ import annotations

import json

import shapely

from facilities import geojson_codec as codec
from facilities.model import ImageRef, Registry, Structure
from facilities.store import migrations, open_store
from facilities.store.tables import row_hash
from tests.support.registry import square

TRACED = ImageRef(provider="local", image_id="abc123", acquired="2023-05-04")
V4_STRUCTURE_COLUMNS = ("id", "facility_id", "name", "kind", "location_precision", "status", "built", "removed",
                        "notes", "source_ids", "footprint_m2", "version", "created_at", "updated_at")


def _traced(ident: str = "site-1.b", image: ImageRef | None = TRACED) -> Structure:
    return Structure(id=ident, facility_id="site-1", name="B", geometry=square(127.66, 39.93, 0.001),
                     traced_on=image)


def test_traced_on_round_trips_through_the_store_and_its_history(any_populated):
    s = any_populated
    added = s.add_structure(_traced(), actor="t")
    got = next(x for x in s.list_structures() if x.id == "site-1.b")
    assert got.traced_on == TRACED and added.traced_on == TRACED
    assert next(x for x in s.list_structures() if x.id == "site-1.a").traced_on is None
    wayback = ImageRef(provider="esri-wayback", image_id="45134", acquired="2022-11")
    s.update_structure(got.evolve(traced_on=wayback), actor="t")
    again = next(x for x in s.list_structures() if x.id == "site-1.b")
    assert again.traced_on == wayback and again.version == 2
    entry = s.history("site-1.b")[0]
    assert entry.before["traced_image_id"] == "abc123" and entry.after["traced_provider"] == "esri-wayback"
    assert entry.after["traced_acquired"] == "2022-11"
    assert s.outside_edits() == []  # the checksums cover the new columns as the store wrote them
    # the export fast path writes the same properties as the object codec, in the same order
    exported = {f["id"]: f for f in map(json.loads, s.iter_geojson_features())}
    assert [k for k in exported["structure:site-1.b"]["properties"] if k != "sources"] == list(codec.properties(again))
    assert exported["structure:site-1.b"]["properties"]["traced_provider"] == "esri-wayback"


def test_geojson_codec_round_trip():
    s = _traced()
    feature = json.loads(json.dumps(codec.to_feature(s)))
    assert feature["properties"]["traced_provider"] == "local"
    assert feature["properties"]["traced_acquired"] == "2023-05-04"
    reg, problems, _ = codec.parse_feature_collection({"type": "FeatureCollection", "features": [feature]})
    assert not problems and reg.structures[0].traced_on == TRACED
    bare = json.loads(json.dumps(codec.to_feature(_traced(image=None))))
    assert bare["properties"]["traced_provider"] is None
    reg, _, _ = codec.parse_feature_collection({"type": "FeatureCollection", "features": [bare]})
    assert reg.structures[0].traced_on is None


def test_frames_and_flat_formats_round_trip(tmp_path, any_populated):
    from facilities.frames import read_structures
    from facilities.frames_import import frame_to_registry

    any_populated.add_structure(_traced(), actor="t")
    frame = read_structures(any_populated)
    by_id = dict(zip(frame["id"], frame["traced_provider"].astype(object), strict=True))
    assert by_id["site-1.b"] == "local" and not isinstance(by_id["site-1.a"], str)
    assert frame.set_index("id").loc["site-1.b", "traced_acquired_text"] == "2023-05-04"
    reg, problems, _ = frame_to_registry(frame)
    assert not problems
    assert {s.id: s.traced_on for s in reg.structures} == {"site-1.a": None, "site-1.b": TRACED}


def test_a_model_value_refuses_a_traced_on_that_is_not_an_image():
    import pytest

    from facilities.errors import ValidationError

    with pytest.raises(ValidationError, match="traced_on"):
        _traced(image="local:abc")  # type: ignore[arg-type]
    assert _traced(image={"provider": "local", "image_id": "x"}).traced_on == ImageRef("local", "x")  # type: ignore


def _as_version_4(store) -> None:
    """The registry as schema 4 left it: no traced_* columns, structure checksums over the v4 columns."""
    d = store.dialect
    geom = d.sql.get("geom_written", "geom")
    with d.write() as tx:
        for col in ("traced_provider", "traced_image_id", "traced_acquired"):
            tx.execute(f"ALTER TABLE structures DROP COLUMN {col}")
        rows = tx.execute(f"SELECT fid, {geom}, {', '.join(V4_STRUCTURE_COLUMNS)} FROM structures").fetchall()
        tx.executemany("UPDATE structures SET row_hash = ? WHERE fid = ?", [(row_hash(r[1:]), r[0]) for r in rows])
        # one row edited outside the app while at version 4: it must still read as such after the upgrade
        tx.execute("UPDATE structures SET name = 'renamed in QGIS' WHERE id = 'site-1.c'")
        tx.execute("UPDATE tracker_meta SET value = '4' WHERE key = 'schema_version'")


def test_upgrade_from_version_4_keeps_checksums_and_reports_only_real_outside_edits(any_populated, request):
    s = any_populated
    s.add_structure(Structure(id="site-1.c", facility_id="site-1", name="C", geometry=square(127.67, 39.94, 0.001)),
                    actor="t")
    assert s.outside_edits() == []
    location = s.location if s.dialect.name == "gpkg" else request.getfixturevalue("pg_url")
    _as_version_4(s)
    with s.dialect.write() as tx:
        assert "traced_provider" not in s.dialect.column_names(tx, "structures")
    s.close()
    again = open_store(location)
    try:
        assert again.get_meta("schema_version") == str(migrations.schema_version()) and migrations.schema_version() >= 5
        assert [e.id for e in again.outside_edits()] == ["site-1.c"]  # not site-1.a: the app wrote it last
        a = next(x for x in again.list_structures() if x.id == "site-1.a")
        assert a.traced_on is None and a.version == 1
        saved = again.update_structure(a.evolve(traced_on=TRACED), actor="t")
        assert saved.traced_on == TRACED
        assert next(x for x in again.list_structures() if x.id == "site-1.a").traced_on == TRACED
        assert [e.id for e in again.outside_edits()] == ["site-1.c"]
    finally:
        again.close()


def test_registry_value_keeps_traced_on():
    reg = Registry(structures=(_traced(),))
    assert reg.structures[0].traced_on.image_id == "abc123"
    assert shapely.is_valid(reg.structures[0].geometry)
