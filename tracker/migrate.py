"""Copying a whole registry between backends (GeoPackage <-> PostGIS): `facilities migrate`.

One all-or-nothing import into the target, the source's history carried along, then the counts
checked and, into an empty target, every record compared. A copy that does not add up raises
StoreError naming what differs; the target's own import transaction has already rolled back any
partial write the store could detect.
"""

from __future__ import annotations

import json

import shapely

from facilities.errors import StoreError
from facilities.geojson_codec import properties
from facilities.model import Facility, Observation, Registry, Source, Structure
from facilities.store import ImportReport, OnConflict, Store

_RECORDS = {"facilities": "facility", "structures": "structure", "observations": "observation", "sources": "source"}


def copy_registry(src: Store, dst: Store, *, actor: str, on_conflict: OnConflict | None = None,
                  verify: bool = True) -> ImportReport:
    """Every record of `src` into `dst` in one all-or-nothing import, then counts (and, into an empty
    target, every record) checked. Facilities keep their stored order, so exports come out the same."""
    before = dst.counts()
    if on_conflict is None and any(before[t] for t in _RECORDS):
        raise StoreError(f"{dst.location} already holds {', '.join(f'{before[t]} {t}' for t in _RECORDS)}; "
                         "choose --on-conflict error, skip or update to merge into it")
    expected = src.counts()
    registry = Registry(facilities=tuple(f for batch in src.iter_facilities() for f in batch),
                        structures=tuple(src.list_structures()), observations=tuple(src.list_observations()),
                        sources=tuple(src.list_sources()))
    history = tuple(reversed(src.history(limit=expected["history"])))  # oldest first, as they happened
    report = dst.import_registry(registry, actor=actor, on_conflict=on_conflict or OnConflict.ERROR,
                                 note=f"migrate from {src.location}", history=history)
    after = dst.counts()
    wrong = [f"{t}: {after[t]} stored, expected {before[t] + report.added.get(kind, 0)}"
             for t, kind in _RECORDS.items() if after[t] != before[t] + report.added.get(kind, 0)]
    if after["history"] != before["history"] + len(history) + 1:  # + the migration's own entry
        wrong.append(f"history: {after['history']} entries, expected {before['history'] + len(history) + 1}")
    wrong += [f"{t}: read {n} of {expected[t]}" for t, n in
              zip(_RECORDS, (len(registry.facilities), len(registry.structures), len(registry.observations),
                             len(registry.sources)), strict=True) if n != expected[t]]
    if verify and not any(before[t] for t in _RECORDS):
        wrong += _differences(src, dst)
    if wrong:
        raise StoreError(f"migration to {dst.location} does not add up: " + "; ".join(wrong[:10]))
    seed = src.get_meta("seed_version")
    if seed is not None and dst.get_meta("seed_version") is None:
        dst.set_meta("seed_version", seed)
    return report


def _differences(src: Store, dst: Store) -> list[str]:

    def records(store: Store) -> dict[str, str]:
        objs: tuple[Facility | Structure | Observation | Source, ...] = (
            *store.list_facilities(), *store.list_structures(), *store.list_observations(), *store.list_sources())
        return {f"{type(o).__name__}:{o.id}": json.dumps(properties(o), sort_keys=True)
                + (getattr(o, "geometry", None) or shapely.Point()).wkb_hex for o in objs}

    a, b = records(src), records(dst)
    return [f"{k} differs after the copy" for k in sorted(a) if a[k] != b.get(k)][:10]


