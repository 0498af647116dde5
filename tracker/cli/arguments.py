"""Command-line values turned into the model's types, every refusal one line naming the option.

One date parser for every command's date options (facilities.dates.PartialDate: YYYY, YYYY-MM,
YYYY-MM-DD, ~ for approximate), one geometry reader for --geometry (inline GeoJSON or WKT, or a
file holding either), and one check that the arguments are text at all.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence
from pathlib import Path

import shapely
import shapely.errors
import shapely.geometry
from shapely.geometry.base import BaseGeometry

from facilities.dates import PartialDate
from facilities.errors import InputError, ValidationError
from facilities.files import read_import_file

MAX_GEOMETRY_FILE = 64 * 2**20  # a --geometry file is one outline, not a registry
_GEOMETRY_TYPES = {"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon",
                   "GeometryCollection"}
_JSON_NAMES = {list: "array", int: "number", float: "number", str: "string", bool: "true/false",
               type(None): "null"}
_SURROGATE = re.compile("[\ud800-\udfff]")


def check_text_arguments(argv: Sequence[str]) -> None:
    """InputError when an argument holds bytes that are not UTF-8 (Python hands them over as lone
    surrogates, which no output, file or database can encode): refused before anything runs."""
    for n, arg in enumerate(argv, 1):
        if _SURROGATE.search(arg):
            shown = arg.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            raise InputError(f"command-line argument {n} ({shown[:60]!r}) is not valid UTF-8 text")


def option_date(text: str | None, option: str) -> PartialDate | None:
    """A date option (YYYY, YYYY-MM or YYYY-MM-DD, ~ if approximate) or None when not given."""
    if text is None:
        return None
    try:
        return PartialDate.parse(text)
    except ValidationError as err:
        raise InputError(f"{option}: {err}") from None


def date_range(date_from: str | None, date_to: str | None) -> tuple[dt.date | None, dt.date | None]:
    """--from and --to as the first and last day they cover (`--from 2020` is 2020-01-01, `--to 2020` 2020-12-31)."""
    start, end = option_date(date_from, "--from"), option_date(date_to, "--to")
    first, last = (start.start if start else None), (end.end if end else None)
    if first and last and first > last:
        raise InputError(f"--from {date_from} is after --to {date_to}")
    return first, last


def read_geometry(text: str, option: str = "--geometry") -> BaseGeometry:
    """A geometry from inline GeoJSON or WKT, or from a file holding either; InputError saying what is wrong."""
    if not text.strip():
        raise InputError(f"{option}: empty; expected GeoJSON or WKT, inline or in a file")
    raw = text
    if len(text) < 4096 and "\x00" not in text and not text.lstrip().startswith(("{", "[")) and Path(text).exists():
        data = read_import_file(text, MAX_GEOMETRY_FILE)
        try:
            raw = data.decode("utf-8-sig")
        except UnicodeDecodeError as err:
            raise InputError(f"{option} {text}: not UTF-8 text (byte {err.start})") from None
    try:
        data = json.loads(raw)
    except ValueError:
        return _from_wkt(raw, option)
    except RecursionError:
        raise InputError(f"{option}: GeoJSON nested too deeply") from None
    return _from_geojson(data, option)


def _from_wkt(raw: str, option: str) -> BaseGeometry:
    try:
        geom = shapely.from_wkt(raw.strip())
    except (shapely.errors.GEOSException, ValueError, TypeError) as err:
        raise InputError(f"{option}: neither GeoJSON nor WKT ({_first_line(err)})") from None
    if geom is None:
        raise InputError(f"{option}: empty; expected GeoJSON or WKT")
    return geom


def _from_geojson(data: object, option: str) -> BaseGeometry:
    if isinstance(data, dict) and data.get("type") == "FeatureCollection":
        features = data.get("features")
        if not isinstance(features, list) or len(features) != 1:
            n = len(features) if isinstance(features, list) else "no"
            raise InputError(f"{option}: a FeatureCollection with {n} features; expected exactly one")
        data = features[0]
    if isinstance(data, dict) and data.get("type") == "Feature":
        data = data.get("geometry")
    if not isinstance(data, dict) or not isinstance(data.get("type"), str) or data["type"] not in _GEOMETRY_TYPES:
        what = (f"type {data.get('type')!r}" if isinstance(data, dict) else
                f"JSON {_JSON_NAMES.get(type(data), type(data).__name__)}")
        raise InputError(f"{option}: {what} is not a GeoJSON geometry (expected a Polygon, MultiPolygon, "
                         "Point..., a Feature or a FeatureCollection of one)")
    if data["type"] != "GeometryCollection" and "coordinates" not in data:
        raise InputError(f"{option}: GeoJSON {data['type']} has no coordinates")
    try:
        return shapely.geometry.shape(data)
    except Exception as err:  # noqa: BLE001 - shapely raises several types (KeyError, TypeError, GEOSException...)
        raise InputError(f"{option}: malformed GeoJSON {data.get('type')}: {_first_line(err)}") from None


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return (text[0] if text else type(err).__name__)[:200]
