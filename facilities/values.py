r"""Values every writer can write: the checks a value passes before it may enter the registry.

A value read from a file can be valid Python and still poison every later step: a lone surrogate
("\ud800", legal in a JSON string escape) cannot be encoded as UTF-8, so SQLite, psycopg and the
export all fail on it; an integer with 400 digits is stored, then cannot be written as a JSON
number by SQLite (it becomes a float, infinity) or by a PostGIS int column; a property nested a
thousand levels deep makes the JSON encoder recurse out of stack. These checks run where values
enter (the model's constructors and the GeoJSON codec, which every vector format passes through),
so one error names the record and the field, and nothing is stored half-way.
"""

from __future__ import annotations

import math
from typing import Any

from .errors import ValidationError

# Properties (`extra`) nested deeper than this are refused: foreign GeoJSON properties are flat or
# a few levels deep; the JSON encoder and json_extract recurse per level.
MAX_DEPTH = 32
# Integers both stores hold exactly (SQLite INTEGER and JSON integers are 64-bit).
MAX_INT = 2**63 - 1
# A record's version is a PostGIS `integer` column.
MAX_VERSION = 2**31 - 1


def printable(text: str) -> str:
    r"""`text` safe to print or write in a message: lone surrogates shown as \udXXX escapes."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def check_encodable(value: str, what: str) -> str:
    """`value` if it can be written as UTF-8; ValidationError naming `what` and the position if it holds a lone
    surrogate (a half of a UTF-16 pair, which no file or database can store)."""
    if value.isascii():
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as err:
        raise ValidationError(
            f"{what} holds a lone surrogate {value[err.start]!r} at character {err.start} (an unpaired "
            "\\uD800-\\uDFFF escape), which cannot be written as UTF-8") from None
    return value


def check_number(value: Any, what: str) -> None:
    """ValidationError naming `what` unless `value` is a finite float or an integer both stores hold exactly."""
    if isinstance(value, bool):
        return
    if isinstance(value, int):
        if -MAX_INT - 1 <= value <= MAX_INT:
            return
        digits = len(str(abs(value))) if abs(value) < 10**4000 else "thousands of"
        raise ValidationError(f"{what} is an integer of {digits} digits; the limit is a 64-bit integer "
                              f"(|n| < 2**63); write it as text if it is an identifier")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValidationError(f"{what} is {value!r}, not a finite number")


def check_json_value(value: Any, what: str, max_depth: int = MAX_DEPTH) -> None:
    """ValidationError naming the first bad place in `value` (as `what.key[3]`) unless it is plain JSON every store
    and the export can write: objects with text keys, lists, text without lone surrogates, finite numbers and
    64-bit integers, true/false/null, nested at most `max_depth` levels."""
    if not _plain(value, max_depth):
        _explain(value, what, max_depth)


def _plain(value: Any, max_depth: int) -> bool:
    """Whether `value` passes check_json_value: the fast pass, no paths built (a file's properties are millions of
    values; naming the place is left to _explain, for the rare value that fails)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    pop, push = stack.pop, stack.append
    while stack:
        v, depth = pop()
        t = type(v)
        if t is str:
            if not v.isascii() and not _encodable(v):
                return False
        elif t is int:
            if not -MAX_INT - 1 <= v <= MAX_INT:
                return False
        elif t is float:
            if not math.isfinite(v):
                return False
        elif t is dict:
            if depth >= max_depth:
                return False
            for key, item in v.items():
                if type(key) is not str or not (key.isascii() or _encodable(key)):
                    return False
                push((item, depth + 1))
        elif t is list or t is tuple:
            if depth >= max_depth:
                return False
            for item in v:
                push((item, depth + 1))
        elif v is not None and t is not bool:
            return False
    return True


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _explain(value: Any, what: str, max_depth: int) -> None:
    """Raise ValidationError naming the first bad place in `value` (the slow pass, with paths)."""
    stack: list[tuple[Any, str, int]] = [(value, what, 0)]
    while stack:
        v, where, depth = stack.pop()
        if v is None or isinstance(v, bool):
            continue
        if isinstance(v, str):
            check_encodable(v, where)
        elif isinstance(v, (int, float)):
            check_number(v, where)
        elif isinstance(v, dict):
            if depth >= max_depth:
                raise ValidationError(f"{_short(where)} is nested more than {max_depth} levels deep")
            for key, item in v.items():
                if not isinstance(key, str):
                    raise ValidationError(f"{where} has a key {key!r} that is not text")
                check_encodable(key, f"a key of {where}")
                stack.append((item, f"{where}.{key}", depth + 1))
        elif isinstance(v, (list, tuple)):
            if depth >= max_depth:
                raise ValidationError(f"{_short(where)} is nested more than {max_depth} levels deep")
            stack.extend((item, f"{where}[{k}]", depth + 1) for k, item in enumerate(v))
        else:
            raise ValidationError(f"{where} is a {type(v).__name__}, not a JSON value (text, number, list, object)")


def _short(where: str) -> str:
    return where if len(where) <= 80 else f"{where[:40]}...{where[-30:]}"


def check_version(value: Any, what: str = "version") -> int:
    """`value` if it is a whole number from 1 to 2**31-1 (a record's version); ValidationError naming `what`."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{what} must be a whole number, got {type(value).__name__} {value!r:.40}")
    if not 1 <= value <= MAX_VERSION:
        shown = value if abs(value) < 10**30 else "a number of more than 30 digits"
        raise ValidationError(f"{what} is {shown}, out of range (1 to {MAX_VERSION})")
    return value
