"""The fast read of big files (facilities/bulk.py): the garbage collector is paused while a file is
parsed and its records built, and comes back afterwards whatever happened; the parser still refuses
duplicate keys anywhere in a big file (the reason no faster JSON parser is used: orjson and msgspec
keep a duplicate key's last value silently)."""

from __future__ import annotations

import gc
import json
import threading

import pytest

from facilities.bulk import gc_paused
from facilities.errors import InputError
from facilities.geojson_io import read_registry, read_registry_bytes


def _big(n: int = 3000) -> dict:
    ring = [[0, 0], [0.001, 0], [0.001, 0.001], [0, 0.001], [0, 0]]
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[[x + i * 0.01, y] for x, y in ring]]},
         "properties": {"feature_type": "facility", "id": f"f{i}", "name": f"F {i}",
                        "location_precision": "digitised"}} for i in range(n)]}


def test_a_big_file_reads_with_the_collector_paused_and_resumed(tmp_path, monkeypatch):
    seen = []
    real = json.loads
    monkeypatch.setattr(json, "loads", lambda *a, **k: (seen.append(gc.isenabled()), real(*a, **k))[1])
    path = tmp_path / "big.geojson"
    path.write_text(json.dumps(_big()))
    registry, problems, _notes = read_registry(path)
    assert len(registry.facilities) == 3000 and not problems
    assert seen == [False] and gc.isenabled()


@pytest.mark.parametrize("where", ["properties", "geometry", "feature"])
def test_duplicate_keys_are_refused_anywhere_in_a_big_file(where):
    text = json.dumps(_big())
    needle = {"properties": '"id": "f2999",', "geometry": '"type": "Polygon",', "feature": '"type": "Feature",'}[where]
    head, sep, tail = text.rpartition(needle)
    doubled = head + sep + needle + tail  # the last feature gets the key twice
    with pytest.raises(InputError, match="duplicate key"):
        read_registry_bytes(doubled.encode(), "big.geojson")
    assert gc.isenabled()


def test_the_collector_comes_back_after_nested_and_concurrent_pauses():
    inside = threading.Event()
    release = threading.Event()

    def other():
        with gc_paused():
            inside.set()
            release.wait(5)

    t = threading.Thread(target=other)
    t.start()
    inside.wait(5)
    with gc_paused():
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert not gc.isenabled()  # the other thread still reads
    release.set()
    t.join(5)
    assert gc.isenabled()


def test_outlines_built_in_one_batch_equal_those_built_one_by_one():
    from facilities.geojson_codec import _construct, _polygonal_batch

    hole = [[0.2, 0.2], [0.4, 0.2], [0.4, 0.4], [0.2, 0.4], [0.2, 0.2]]
    shell = [[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]
    raws = [{"type": "Polygon", "coordinates": [shell, hole]},
            {"type": "MultiPolygon", "coordinates": [[shell], [[[x + 2, y] for x, y in shell], hole]]},
            {"type": "Polygon", "coordinates": [[[x, y + 5] for x, y in shell]]},
            {"type": "MultiPolygon", "coordinates": [[[[x + 9, y] for x, y in shell]]]}]
    batch = _polygonal_batch(raws)
    assert [g.wkt for g in batch] == [_construct(r).wkt for r in raws]
    assert _polygonal_batch([{"type": "Polygon", "coordinates": [[[0, 0, 1], [1, 0, 1], [1, 1, 1], [0, 0, 1]]]},
                             *raws]) is None  # 3D: each is built alone
    assert _polygonal_batch([{"type": "MultiPolygon", "coordinates": []}]) is None


def test_a_file_mixing_outlines_points_and_bad_rings_reads_as_before():
    data = _big(5)
    data["features"][1]["geometry"]["coordinates"][0].pop()  # not closed any more
    data["features"].append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [0.5, 0.5]},
                             "properties": {"feature_type": "structure", "id": "f0.a", "facility_id": "f0",
                                            "name": "A"}})
    registry, problems, _notes = read_registry_bytes(json.dumps(data).encode(), "mixed.geojson", skip_invalid=True)
    assert [p.index for p in problems] == [1] and "not closed" in problems[0].reason
    assert [f.id for f in registry.facilities] == ["f0", "f2", "f3", "f4"]
    assert registry.structures[0].geometry.geom_type == "Point"
