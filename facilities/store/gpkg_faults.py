"""What is wrong with a GeoPackage file, said in one line: damaged, read-only, missing, disk full.

sqlite3 reports these as codes ("database disk image is malformed", "disk I/O error", "attempt to
write a readonly database") that hide the cause a user can act on. `explain` turns one into a
StoreError naming the file and the cause; `access` decides before connecting whether the registry
can be written at all (a read-only file, directory or mount), so reads still work where writes
cannot, and `read_only_uri` is how such a file is opened.
"""

from __future__ import annotations

import os
import resource
import shutil
import sqlite3
from pathlib import Path
from urllib.parse import quote

from ..errors import StoreError

_DAMAGED = ("SQLITE_CORRUPT", "SQLITE_NOTADB")
_READ_ONLY = ("SQLITE_READONLY",)


class DamagedRegistry(StoreError):
    """The registry file is corrupt: SQLite's own check or a read found damaged pages."""


class ReadOnlyRegistry(StoreError):
    """The registry can be read but not written (file mode, directory or mount)."""


def damaged(path: Path, detail: str) -> DamagedRegistry:
    """The one line for a damaged registry: restore a backup, nothing was written."""
    return DamagedRegistry(f"the registry {path} is damaged ({detail}); nothing was written to it. Restore it "
                           "from a backup (SQLite's `.recover` may save what is left)")


def read_only(path: Path, why: str) -> ReadOnlyRegistry:
    """The one line for a write to a registry that can only be read."""
    return ReadOnlyRegistry(f"the registry {path} is read-only ({why}); nothing was changed")


def access(path: Path) -> str | None:
    """None if the registry file can be written; otherwise why not. A GeoPackage in WAL mode also writes
    `-wal` and `-shm` files beside it, so its directory must be writable too (unless they exist and are)."""
    if not os.access(path, os.W_OK):  # also false on a read-only mount (EROFS), even for root
        return "the file is not writable" if not _read_only_mount(path) else "it is on a read-only file system"
    sidecars = [path.with_name(path.name + s) for s in ("-wal", "-shm")]
    if not os.access(path.parent, os.W_OK) and not all(os.access(s, os.W_OK) for s in sidecars):
        return f"its folder {path.parent} is not writable"
    return None


def _read_only_mount(path: Path) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def read_only_uri(path: Path) -> str:
    """A `mode=ro` URI; `immutable=1` as well where SQLite could not create the WAL index (`-shm`) beside it:
    nothing can write a file in a read-only folder or mount, so no change can be missed."""
    shm = path.with_name(path.name + "-shm")
    wal = path.with_name(path.name + "-wal")
    uri = f"file:{quote(str(path.resolve()))}?mode=ro"
    if not shm.exists() and not os.access(path.parent, os.W_OK):
        if wal.exists() and wal.stat().st_size > 0:
            raise StoreError(f"the registry {path} has changes not yet merged into it ({wal.name}) and its folder "
                             "is read-only, so they cannot be read; open it once where it can be written")
        uri += "&immutable=1"
    return uri


def explain(err: sqlite3.Error, path: Path, doing: str) -> StoreError:
    """A sqlite3 error as the StoreError a user can act on; `doing` is e.g. 'writing to' or 'reading'."""
    name = getattr(err, "sqlite_errorname", "") or ""
    text = str(err)
    if name.startswith(_DAMAGED) or ("malformed" in text and "JSON" not in text) or "file is not a database" in text:
        return damaged(path, text)
    if name.startswith(_READ_ONLY) or "readonly database" in text:
        return read_only(path, "SQLite refused to write it")
    if name.startswith("SQLITE_FULL") or name.startswith("SQLITE_IOERR") or "disk is full" in text:
        cause = _space_cause(path) or text
        return StoreError(f"{doing} {path} failed: {cause}; nothing was changed")
    tail = "; nothing was changed" if doing.startswith("writing") else ""
    return StoreError(f"{doing} {path} failed: {text}{tail}")


def _space_cause(path: Path) -> str | None:
    """Why a write ran out of room: the process's file-size limit or a full disk; None if neither shows."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    if soft != resource.RLIM_INFINITY:
        biggest = max((p.stat().st_size for p in (path, path.with_name(path.name + "-wal")) if p.exists()),
                      default=0)
        if biggest + 65536 >= soft:
            return f"the file-size limit of {soft:,} bytes (ulimit -f) was reached"
    try:
        free = shutil.disk_usage(path.parent).free
    except OSError:
        return None
    if free < 16 * 2**20:
        return f"the disk is full ({free:,} bytes free on {path.parent})"
    return None
