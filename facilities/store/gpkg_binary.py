"""GeoPackage binary geometry (spec §2.1.3): a small header with an envelope, then WKB.

Encoding and decoding are vectorised with shapely so a batch of rows costs one GEOS call. The
ST_* functions are what the R-tree triggers call; SQLite needs them registered on every
connection that writes (a plain sqlite3 connection otherwise fails with
"no such function: ST_IsEmpty").
"""

from __future__ import annotations

import struct

import numpy as np
import shapely

SRS_ID = 4326
_ENVELOPE_BYTES = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}
_EMPTY = 0x10


def encode(geoms) -> list[bytes | None]:
    """Shapely geometries (None allowed) -> GeoPackage blobs, little-endian, 2D envelope."""
    geoms = np.asarray(geoms, dtype=object)
    out: list[bytes | None] = [None] * len(geoms)
    present = np.array([g is not None for g in geoms], dtype=bool)
    if not present.any():
        return out
    idx = np.flatnonzero(present)
    sub = geoms[idx]
    wkbs = shapely.to_wkb(sub, byte_order=1, output_dimension=2)
    bounds = shapely.bounds(sub)
    empty = shapely.is_empty(sub)
    for k, i in enumerate(idx):
        if empty[k]:
            out[i] = b"GP\x00" + bytes([0x01 | _EMPTY]) + struct.pack("<i", SRS_ID) + wkbs[k]
        else:
            minx, miny, maxx, maxy = bounds[k]
            out[i] = b"GP\x00\x03" + struct.pack("<i4d", SRS_ID, minx, maxx, miny, maxy) + wkbs[k]
    return out


def header_length(blob: bytes) -> int:
    """Bytes before the WKB in a GeoPackage geometry blob (8 plus its envelope); ValueError if it is not one."""
    if blob[:2] != b"GP":
        raise ValueError("not a GeoPackage geometry blob (no 'GP' magic)")
    code = (blob[3] >> 1) & 0x07
    if code not in _ENVELOPE_BYTES:
        raise ValueError(f"invalid GeoPackage envelope code {code}")
    return 8 + _ENVELOPE_BYTES[code]


def decode(blobs) -> np.ndarray:
    """GeoPackage blobs (None allowed) -> array of shapely geometries."""
    wkbs = [None if b is None else b[header_length(b):] for b in blobs]
    return shapely.from_wkb(wkbs)


def decode_one(blob: bytes | None):
    """One GeoPackage geometry blob -> shapely geometry (None stays None)."""
    return None if blob is None else shapely.from_wkb(blob[header_length(blob):])


def _envelope(blob: bytes) -> tuple[float, float, float, float] | None:
    """(minx, maxx, miny, maxy) from the header, or computed from the WKB when absent."""
    flags = blob[3]
    if flags & _EMPTY:
        return None
    if (flags >> 1) & 0x07:
        order = "<" if flags & 0x01 else ">"
        return struct.unpack_from(order + "4d", blob, 8)
    g = decode_one(blob)
    if g.is_empty:
        return None
    minx, miny, maxx, maxy = g.bounds
    return minx, maxx, miny, maxy


def st_is_empty(blob):
    """The ST_IsEmpty SQL function the R-tree triggers call: 1 for an empty geometry, 0 otherwise, NULL for NULL."""
    if blob is None:
        return None
    return 1 if _envelope(blob) is None else 0


def _coord(i: int):
    def fn(blob):
        if blob is None:
            return None
        env = _envelope(blob)
        return None if env is None else env[i]

    return fn


SQL_FUNCTIONS = {
    "ST_IsEmpty": st_is_empty,
    "ST_MinX": _coord(0),
    "ST_MaxX": _coord(1),
    "ST_MinY": _coord(2),
    "ST_MaxY": _coord(3),
}
