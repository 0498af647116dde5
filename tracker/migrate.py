"""Copying a whole registry between backends (GeoPackage <-> PostGIS): `facilities migrate`.

One all-or-nothing import into the target, the source's history carried along; inside that same
transaction, before it commits, the counts (history included: one update entry per merged record)
and every record the copy wrote are checked. A copy that does not add up raises StoreError naming
what differs and the target is left exactly as it was.
"""

from __future__ import annotations

import json

import shapely

from facilities.errors import StoreError
from facilities.geojson_codec import properties
from facilities.model import Registry
from facilities.store import ImportReport, OnConflict, Store

_RECORDS = {"facilities": "facility", "structures": "structure", "observations": "observation", "sources": "source"}


def copy_registry(src: Store, dst: Store, *, actor: str, on_conflict: OnConflict | None = None,
                  verify: bool = True) -> ImportReport:
    """Every record of `src` into `dst` in one all-or-nothing import, counts and (with `verify`) every record
    written checked before it commits. Facilities keep their stored order, so exports come out the same."""
    before = dst.counts()
    if on_conflict is None and any(before[t] for t in _RECORDS):
        raise StoreError(f"{dst.location} already holds {', '.join(f'{before[t]} {t}' for t in _RECORDS)}; "
                         "choose --on-conflict error, skip or update to merge into it")
    expected = src.counts()
    registry = Registry(facilities=tuple(f for batch in src.iter_facilities() for f in batch),
                        structures=tuple(src.list_structures()), observations=tuple(src.list_observations()),
                        sources=tuple(src.list_sources()))
    history = tuple(reversed(src.history(limit=expected["history"])))  # oldest first, as they happened
    read = [f"{t}: read {n} of {expected[t]}" for t, n in
            zip(_RECORDS, (len(registry.facilities), len(registry.structures), len(registry.observations),
                           len(registry.sources)), strict=True) if n != expected[t]]
    if read:
        raise StoreError(f"reading {src.location} for the migration did not add up, nothing was written: "
                         + "; ".join(read))
    mode = on_conflict or OnConflict.ERROR
    verify_records = verify
    wanted = {f"{_RECORDS[t]}:{o.id}": _fingerprint(o) for t in _RECORDS for o in getattr(registry, t)}

    def check(report: ImportReport, after: dict[str, int], records) -> list[str]:
        """Inside the target's import transaction: counts, the history (the source's entries, one update entry
        per merged record, the migration's own entry) and every record the copy wrote, as the target holds it."""
        wrong = [f"{t}: {after[t]} stored, expected {before[t] + report.added.get(kind, 0)}"
                 for t, kind in _RECORDS.items() if after[t] != before[t] + report.added.get(kind, 0)]
        history_expected = before["history"] + len(history) + sum(report.updated.values()) + 1
        if after["history"] != history_expected:
            wrong.append(f"history: {after['history']} entries, expected {history_expected}")
        if verify_records:
            kept = set() if mode is OnConflict.UPDATE else {  # skip: what the target already held stays
                f"{kind}:{i}" for kind, ids in stored_ids.items() for i in ids}
            for kind in _RECORDS.values():
                for o in records(kind):
                    key = f"{kind}:{o.id}"
                    if key in wanted and key not in kept and _fingerprint(o) != wanted[key]:
                        wrong.append(f"{key} differs after the copy")
        return wrong

    stored_ids: dict[str, set[str]] = {kind: set() for kind in _RECORDS.values()}
    if mode is OnConflict.SKIP and any(before[t] for t in _RECORDS):
        stored_ids = {kind: {o.id for o in getattr(registry, t)} & _ids(dst, kind) for t, kind in _RECORDS.items()}
    report = dst.import_registry(registry, actor=actor, on_conflict=mode, note=f"migrate from {src.location}",
                                 history=history, verify=check)
    seed = src.get_meta("seed_version")
    if seed is not None and dst.get_meta("seed_version") is None:
        dst.set_meta("seed_version", seed)
    return report


def _fingerprint(o) -> str:
    """A record as the copy must keep it: its GeoJSON properties and its geometry."""
    return json.dumps(properties(o), sort_keys=True) + (getattr(o, "geometry", None) or shapely.Point()).wkb_hex


def _ids(store: Store, kind: str) -> set[str]:
    """The ids of one kind of record a store holds."""
    if kind == "facility":
        return {f.id for batch in store.iter_facilities() for f in batch}
    if kind == "source":
        return {s.id for s in store.list_sources()}
    return {o.id for o in (store.list_structures() if kind == "structure" else store.list_observations())}
