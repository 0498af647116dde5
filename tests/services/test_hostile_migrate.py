"""Issue 14, `facilities migrate` into a registry that shares ids: every on-conflict mode adds up (history
counted right for merges), verified inside the target's transaction, and a copy that would not add up leaves
the target exactly as it was."""

from __future__ import annotations

import pytest

from facilities.errors import DuplicateId, StoreError
from facilities.model import Facility, Source
from facilities.store import GeoPackageStore, OnConflict, open_store
from tests.support.registry import square, store_digest
from tracker.migrate import copy_registry
from tracker.seeding import ensure_seeded


def _source_registry(path) -> GeoPackageStore:
    src = GeoPackageStore(path)
    ensure_seeded(src)
    f = src.get_facility("february-11-plant")
    src.update_facility(f.evolve(notes="edited in the source"), actor="a")
    src.add_facility(Facility(id="only-in-source", name="Only in source", geometry=square(5, 5)), actor="a")
    return src


def _target(kind: str, tmp_path, pg_url=None):
    store = GeoPackageStore(tmp_path / "dst.gpkg") if kind == "gpkg" else open_store(pg_url)
    ensure_seeded(store)  # shares every seed id with the source
    store.add_source(Source(id="only-in-target", title="Target's own"), actor="b")
    return store


def _digest(store) -> object:
    if isinstance(store, GeoPackageStore):
        return store_digest(store.path)
    rows = {}
    for t in ("facilities", "structures", "observations", "sources", "history", "tracker_meta"):
        rows[t] = store.dialect.query(f"SELECT * FROM {t} ORDER BY 1")
    return repr(rows)


@pytest.fixture(params=["gpkg", "postgis"])
def target_kind(request):
    return request.param


@pytest.fixture
def dst(target_kind, tmp_path, request):
    url = request.getfixturevalue("pg_url") if target_kind == "postgis" else None
    store = _target(target_kind, tmp_path, url)
    yield store
    store.close()


@pytest.mark.parametrize("mode", [OnConflict.SKIP, OnConflict.UPDATE])
def test_a_merge_with_shared_ids_adds_up_and_commits(tmp_path, dst, mode):
    src = _source_registry(tmp_path / "src.gpkg")
    before, carried = dst.counts(), src.counts()["history"]
    report = copy_registry(src, dst, actor="m", on_conflict=mode)
    after = dst.counts()
    assert report.added["facility"] == 1 and after["facilities"] == before["facilities"] + 1
    shared = sum(report.updated.values()) if mode is OnConflict.UPDATE else 0
    assert after["history"] == before["history"] + carried + shared + 1
    notes = dst.get_facility("february-11-plant").notes
    assert (notes == "edited in the source") == (mode is OnConflict.UPDATE)
    assert dst.get_source("only-in-target").title == "Target's own"
    src.close()


def test_on_conflict_error_with_shared_ids_changes_nothing(tmp_path, dst):
    src = _source_registry(tmp_path / "src.gpkg")
    before = _digest(dst)
    with pytest.raises(DuplicateId, match="already in the registry"):
        copy_registry(src, dst, actor="m", on_conflict=OnConflict.ERROR)
    assert _digest(dst) == before
    src.close()


@pytest.mark.parametrize("mode", [OnConflict.SKIP, OnConflict.UPDATE])
def test_a_copy_that_does_not_add_up_leaves_the_target_unchanged(tmp_path, dst, mode, monkeypatch):
    """A record that comes out of the target different from what was copied (here: the store writes one
    facility's name wrong) is caught inside the transaction: StoreError, and the target is as it was."""
    from facilities.store import tables

    src = _source_registry(tmp_path / "src.gpkg")
    before = _digest(dst)
    real = tables.Table.rows

    def corrupting(self, items, encode_geoms):
        rows = real(self, items, encode_geoms)
        if self.name == "facilities":
            i = self.names.index("name")
            rows = [r[:i] + ("wrong",) + r[i + 1:] if r[self.names.index("id")] == "only-in-source" else r
                    for r in rows]
        return rows

    monkeypatch.setattr(tables.Table, "rows", corrupting)
    with pytest.raises(StoreError, match=r"does not add up, nothing was written: facility:only-in-source differs"):
        copy_registry(src, dst, actor="m", on_conflict=mode)
    monkeypatch.undo()
    assert _digest(dst) == before
    src.close()
