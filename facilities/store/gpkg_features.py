"""The export fast path: GeoPackage rows straight to GeoJSON feature text.

Building domain objects and then dicts for every feature costs several times more than the
geometry encoding itself; the rows already hold what the features say (JSON columns are stored
in their GeoJSON form, timestamps in their text form), so they are spliced in as they are.
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
_FEATURE_TYPE = {"facilities": "facility", "structures": "structure", "observations": "observation"}


def _value(v) -> str:
    if v is None:
        return "null"
    if type(v) is str:
        return encode_basestring(v)
    return repr(v)  # int, or a finite float: Python's repr is valid JSON


def feature_texts(table: str, columns: tuple[str, ...], rows: list[tuple], sources: Mapping[str, str],
                  precision: int, bbox_geoms: list | None = None) -> Iterator[tuple[str, str]]:
    """(id, feature text) for each row; `rows` hold `columns` with the geometry first and
    `sources` maps source id -> its JSON text. With `bbox_geoms`, rows whose geometry meets
    none of those boxes are left out (the R-tree only compared envelopes)."""
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
    kind = _FEATURE_TYPE[table]
    names = columns[1:]
    keys = ['"' + n + '":' for n in names]
    plans = [(k, 1 if n in _RAW_JSON else 2 if n in _ROUNDED else 0) for k, n in zip(keys, names, strict=True)]
    head = '{"type":"Feature","id":' + encode_basestring(kind + ":")[:-1]
    sid_index = names.index("source_ids") + 1
    for r, g in zip(rows, geojson, strict=True):
        parts = ['"feature_type":"' + kind + '"']
        for (key, how), v in zip(plans, r[1:], strict=True):
            if how == 1:
                parts.append(key + v)
            elif how == 2:
                parts.append(key + ("null" if v is None else repr(round(v, 1))))
            else:
                parts.append(key + _value(v))
        cited = r[sid_index]
        found = [sources[s] for s in json.loads(cited) if s in sources] if cited != "[]" else ()
        parts.append('"sources":[' + ",".join(found) + "]")
        yield r[1], (head + encode_basestring(r[1])[1:] + ',"geometry":' + g + ',"properties":{'
                     + ",".join(parts) + "}}")


def source_texts(sources: Iterable) -> dict[str, str]:
    from ..geojson_codec import source_properties

    return {s.id: json.dumps(source_properties(s), ensure_ascii=False, separators=(",", ":")) for s in sources}
