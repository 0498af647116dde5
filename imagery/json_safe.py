"""The one parse of JSON that came from the network: a clear BadResponse, never RecursionError.

Python's parser recurses once per `[` or `{`: a service answering `[` x 200,000 raises
RecursionError (not ValueError), which no handler of malformed JSON catches, and a document a
few hundred levels deep parses but then breaks whatever walks it recursively (pystac copies
items with deepcopy). No service we read nests beyond about ten levels (a STAC item's
MultiPolygon is the deepest), so anything over `MAX_DEPTH` is refused before it is parsed.
The size limit is the HTTP client's (`HttpConfig.max_bytes`, checked while the body is read).
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np

from .errors import BadResponse

MAX_DEPTH = 100
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')  # JSON strings, whose brackets do not nest
_CHUNK = 1 << 22
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
_AS_STEP = bytes.maketrans(b"[]{}", b"\x01\xff\x01\xff")  # +1 / -1 as int8


def nesting_depth(body: bytes) -> int:
    """The deepest `[`/`{` nesting of a JSON text, brackets inside strings not counted (only the
    brackets are kept, then summed with numpy: a 30 MB body takes a fraction of a second)."""
    brackets = _STRING.sub(b'""', body).translate(None, _NOT_BRACKET)
    if len(brackets) <= 1:
        return len(brackets)
    steps = np.frombuffer(brackets.translate(_AS_STEP), dtype=np.int8)
    deepest, depth = 0, 0
    for start in range(0, len(steps), _CHUNK):
        levels = np.cumsum(steps[start:start + _CHUNK], dtype=np.int64) + depth
        deepest = max(deepest, int(levels.max()))
        depth = int(levels[-1])
    return deepest


def parse_json(body: bytes | str, what: str, *, url: str = "", status: int | None = None) -> Any:
    """`body` parsed as JSON, or BadResponse naming `what` (a host, "tilemap", ...) and the fault:
    not UTF-8, malformed, or nested deeper than MAX_DEPTH levels."""
    raw = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else bytes(body)
    depth = nesting_depth(raw)
    if depth > MAX_DEPTH:
        raise BadResponse(f"{what}: JSON nested {depth:,} levels deep (the limit is {MAX_DEPTH}); refused",
                          url=url, status=status)
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise BadResponse(f"{what}: malformed JSON ({err})", url=url, status=status) from err
    except (RecursionError, ValueError) as err:  # ValueError: an integer of over 4300 digits
        raise BadResponse(f"{what}: JSON cannot be read ({err})", url=url, status=status) from err
