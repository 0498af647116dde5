"""The export fast path: rows straight to GeoJSON feature text, on either dialect.

Building domain objects and then dicts for every feature costs several times more than the
geometry encoding itself. The rows already hold what the features say (JSON columns are stored
in their GeoJSON form, timestamps in their text form), so the database's own JSON function
(SQLite's json_object, PostgreSQL's json_build_object) writes each feature's properties and
Python only joins them to the geometry and the cited sources. tests/test_geojson.py checks that
this path and the object codec produce the same features.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from json.encoder import encode_basestring  # the C string encoder behind json.dumps(ensure_ascii=False)

import numpy as np
import shapely

from ..geometry import rfc7946
from .dialect import Dialect
from .tables import Table


def polygonal(geoms: np.ndarray) -> np.ndarray:
    """One-part MultiPolygons back to the Polygons they were (the facilities column is MULTIPOLYGON)."""
    single = shapely.get_num_geometries(geoms) == 1
    out = geoms.copy()
    out[single] = shapely.get_geometry(geoms[single], 0)
    return out



def select_list(table: Table, dialect: Dialect) -> str:
    """SELECT expressions giving (geom, id, source_ids, properties JSON, accepted) for one feature table;
    properties keep the declaration's order, as the object codec writes them. `accepted` is 0 for a row
    whose coded values (status, precision, kind...) are not the model's: written outside the app."""
    pairs = [("feature_type", f"'{table.kind}'")]
    for c in table.columns:
        if c.name in SKIPPED_COLUMNS:
            continue
        expr = dialect.json_raw(c.name) if c.is_json else dialect.rounded(c.name) if c.rounded else c.name
        pairs.append((c.name, expr))
    return f"{dialect.geom_select()}, id, source_ids, {dialect.json_object(pairs)}, {accepted(table)}"


SKIPPED_COLUMNS = {"row_hash"}  # the store's own bookkeeping, not a property of the record


def accepted(table: Table) -> str:
    """SQL: 1 if every coded column holds one of the model's values, else 0."""
    checks = []
    for c in table.columns:
        if c.values:
            members = ", ".join(f"'{v}'" for v in c.values)
            checks.append(f"{c.name} IN ({members})")
    return f"CASE WHEN {' AND '.join(checks)} THEN 1 ELSE 0 END" if checks else "1"


def feature_texts(table: Table, dialect: Dialect, rows: list[tuple], sources: Mapping[str, str], precision: int,
                  bbox_geoms: list | None = None, refused: list[str] | None = None) -> Iterator[tuple[str, str]]:
    """(id, feature text) for rows of `select_list`; `sources` maps source id -> its JSON text.
    With `bbox_geoms`, rows whose geometry meets none of those boxes are left out (the R-tree
    only compared envelopes). Rows our own import would refuse (a coded value not the model's, an
    outline that is not polygonal or not valid as written) are left out and their ids added to `refused`."""
    geoms = dialect.decode_geoms([r[0] for r in rows])
    if table.name == "facilities":
        geoms = polygonal(geoms)
    if bbox_geoms:
        near = np.zeros(len(rows), dtype=bool)
        for box in bbox_geoms:
            near |= shapely.intersects(geoms, box)
        rows = [r for r, k in zip(rows, near, strict=True) if k]
        geoms = geoms[near]
    keep = np.array([r[4] == 1 for r in rows], dtype=bool) if rows else np.zeros(0, dtype=bool)
    if table.name == "facilities":
        keep &= np.isin(shapely.get_type_id(geoms), [3, 6])
    rounded = geoms.copy()
    present = ~shapely.is_missing(geoms)
    if present.any():
        rounded[present] = rfc7946(geoms[present], precision)
        keep[present] &= shapely.is_valid(rounded[present])
    if not keep.all():
        if refused is not None:
            refused += [r[1] for r, k in zip(rows, keep, strict=True) if not k]
        rows = [r for r, k in zip(rows, keep, strict=True) if k]
        rounded = rounded[keep]
    present = ~shapely.is_missing(rounded)
    geojson = np.full(len(rows), "null", dtype=object)
    if present.any():
        geojson[present] = shapely.to_geojson(rounded[present])
    head = '{"type":"Feature","id":"' + table.record_kind + ":"
    cache: dict[str, str] = {"[]": ""}
    for (_g, ident, cited, props, _ok), g in zip(rows, geojson, strict=True):
        if cited not in cache:
            cache[cited] = ",".join(sources[s] for s in json.loads(cited) if s in sources)
        yield ident, (head + encode_basestring(ident)[1:] + ',"geometry":' + g + ',"properties":' + props[:-1]
                      + ',"sources":[' + cache[cited] + "]}}")


def source_texts(sources: Iterable) -> dict[str, str]:
    """Source id -> its properties as compact JSON text, to be spliced into the features that cite it."""
    from ..geojson_codec import source_properties

    return {s.id: json.dumps(source_properties(s), ensure_ascii=False, separators=(",", ":")) for s in sources}
