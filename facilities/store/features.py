"""The export fast path: GeoPackage rows straight to GeoJSON feature text.

Building domain objects and then dicts for every feature costs several times more than the
geometry encoding itself. The rows already hold what the features say (JSON columns are stored
in their GeoJSON form, timestamps in their text form), so SQLite's own json_object() writes each
feature's properties in C and Python only joins them to the geometry and the cited sources.
tests/test_geojson.py checks that this path and the object codec produce the same features.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from json.encoder import encode_basestring  # the C string encoder behind json.dumps(ensure_ascii=False)

import numpy as np
import shapely

from ..geometry import rfc7946
from . import gpkg_binary
from .gpkg_rows import polygonal

_RAW_JSON = frozenset({"aliases", "parents", "systems", "source_ids", "extra"})
_ROUNDED = frozenset({"area_m2", "footprint_m2"})
FEATURE_TYPE = {"facilities": "facility", "structures": "structure", "observations": "observation"}


def select_list(table: str, columns: tuple[str, ...]) -> str:
    """SELECT expressions giving (geom, id, source_ids, properties JSON) for one feature table.

    `columns` is the table's column list, geometry first; properties keep its order, as the
    object codec writes them."""
    parts = [f"'feature_type','{FEATURE_TYPE[table]}'"]
    for c in columns[1:]:
        if c in _RAW_JSON:
            parts.append(f"'{c}',json({c})")
        elif c in _ROUNDED:
            parts.append(f"'{c}',round({c},1)")
        else:
            parts.append(f"'{c}',{c}")
    return f"geom, id, source_ids, json_object({','.join(parts)})"


def feature_texts(table: str, rows: list[tuple], sources: Mapping[str, str], precision: int,
                  bbox_geoms: list | None = None) -> Iterator[tuple[str, str]]:
    """(id, feature text) for rows of `select_list`; `sources` maps source id -> its JSON text.
    With `bbox_geoms`, rows whose geometry meets none of those boxes are left out (the R-tree
    only compared envelopes)."""
    geoms = gpkg_binary.decode([r[0] for r in rows])
    if table == "facilities":
        geoms = polygonal(geoms)
    if bbox_geoms:
        keep = np.zeros(len(rows), dtype=bool)
        for box in bbox_geoms:
            keep |= shapely.intersects(geoms, box)
        rows = [r for r, k in zip(rows, keep, strict=True) if k]
        geoms = geoms[keep]
    present = ~shapely.is_missing(geoms)
    geojson = np.full(len(rows), "null", dtype=object)
    if present.any():
        geojson[present] = shapely.to_geojson(rfc7946(geoms[present], precision))
    head = '{"type":"Feature","id":"' + FEATURE_TYPE[table] + ":"
    cache: dict[str, str] = {"[]": ""}
    for (_g, ident, cited, props), g in zip(rows, geojson, strict=True):
        if cited not in cache:
            cache[cited] = ",".join(sources[s] for s in json.loads(cited) if s in sources)
        yield ident, (head + encode_basestring(ident)[1:] + ',"geometry":' + g + ',"properties":' + props[:-1]
                      + ',"sources":[' + cache[cited] + "]}}")


def source_texts(sources: Iterable) -> dict[str, str]:
    from ..geojson_codec import source_properties

    return {s.id: json.dumps(source_properties(s), ensure_ascii=False, separators=(",", ":")) for s in sources}
