"""GeoJSON files: read with every check a hostile or broken file needs, and write exports
streamed in batches to a temporary file that replaces the target only when complete (a full
disk or a crash never leaves a half-written report).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator

from . import geojson_codec as codec
from .bulk import gc_paused
from .errors import FeatureProblem, InputError
from .files import read_import_file, write_atomically
from .model import Registry
from .store import Filter, Store

_HUGE_EXPONENT = re.compile(rb"[eE]\+?\d{3,}")


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a JSON number (RFC 8259); coordinates and values must be finite")


def _no_duplicate_keys(pairs):
    obj = {}
    for key, value in pairs:
        if key in obj:
            raise ValueError(f"duplicate key {key!r} in one object")
        obj[key] = value
    return obj


def parse_json(raw: bytes, source: str = "input") -> object:
    """Bytes -> JSON value, or InputError saying where and why (encoding, syntax, nesting, NaN...)."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError("is UTF-16; GeoJSON must be UTF-8 (RFC 7946 §11.1)", source=source)
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    if b"\x00" in raw[:1024] or not raw.strip():
        raise InputError("is empty or binary, not GeoJSON text", source=source)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise InputError(f"is not valid UTF-8 at byte {err.start}", source=source) from None
    # Duplicate keys are rejected: json would silently keep the last (a Point that says Polygon).
    try:
        value = json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_no_duplicate_keys)
    except json.JSONDecodeError as err:
        raise InputError(f"invalid JSON at line {err.lineno} column {err.colno} (byte {err.pos}): {err.msg}",
                         source=source) from None
    except RecursionError:
        raise InputError("is nested too deeply to be GeoJSON", source=source) from None
    except ValueError as err:  # duplicate keys, NaN, numbers with more than 4300 digits
        raise InputError(f"invalid JSON: {err}", source=source) from None
    if _HUGE_EXPONENT.search(raw) and _has_infinite(value):
        raise InputError("invalid JSON: a number is too large to be finite (e.g. 1e400)", source=source)
    return value


def _has_infinite(value) -> bool:
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, float) and (v != v or v in (float("inf"), float("-inf"))):
            return True
        if isinstance(v, dict):
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    return False


def read_registry(path: str | os.PathLike, *, max_bytes: int = 200 * 2**20, repair: bool = False,
                  skip_invalid: bool = False, default_precision: str = "digitised",
                  ) -> tuple[Registry, list[FeatureProblem], list[str]]:
    """Read and validate a GeoJSON file; see geojson_codec.parse_feature_collection."""
    raw = read_import_file(path, max_bytes)
    with gc_paused():  # facilities/bulk.py: the collector, not the parser, was most of a big file's read
        data = parse_json(raw, source=str(path))
        return codec.parse_feature_collection(data, repair=repair, skip_invalid=skip_invalid,
                                              default_precision=default_precision, source=str(path))


def read_registry_bytes(raw: bytes, name: str, **kwargs) -> tuple[Registry, list[FeatureProblem], list[str]]:
    """GeoJSON bytes -> (registry, problems left out, notes); keyword arguments go to parse_feature_collection. The
    garbage collector is paused while the many small objects are built."""
    with gc_paused():
        data = parse_json(raw, source=name)
        return codec.parse_feature_collection(data, source=name, **kwargs)


# ---------------------------------------------------------------- export

def iter_export(store: Store, flt: Filter = Filter(), precision: int = codec.COORDINATE_PRECISION,
                batch_size: int = 5000) -> Iterator[str]:
    """The report as text chunks: facilities, then their structures, then their observations.

    A facility filter (ids, bbox) selects facilities; structures and observations follow their
    facility; the date range selects observations. Memory holds one batch and the id set.
    """
    yield '{"type":"FeatureCollection","features":[\n'
    first = True
    for text in store.iter_geojson_features(flt, precision, batch_size):
        yield text if first else ",\n" + text
        first = False
    yield "\n]}\n"


def write_export(store: Store, path: str | os.PathLike, flt: Filter = Filter(),
                 precision: int = codec.COORDINATE_PRECISION) -> int:
    """Write the report atomically; returns the number of characters written."""
    return write_atomically(path, iter_export(store, flt, precision))


def export_text(store: Store, flt: Filter = Filter(), precision: int = codec.COORDINATE_PRECISION) -> str:
    """The whole export of `flt` as one GeoJSON text (iter_export joined; for files, stream iter_export instead)."""
    return "".join(iter_export(store, flt, precision))


