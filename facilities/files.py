"""Files written whole or not at all: a temporary file beside the target, fsync, then rename.

A full disk or a crash mid-write leaves the previous file untouched and no partial one behind.
A process killed mid-write (kill -9) leaves its `.<name>.<host>-<pid>.<random>.part`; the next
write to that folder removes it (facilities.stale).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from .errors import InputError
from .stale import owner_tag, sweep_part_files


def write_atomically(path: str | os.PathLike, chunks: Iterable[str] | Iterable[bytes], *, binary: bool = False,
                     batch: int = 1000) -> int:
    """Write the chunks to `path` atomically; returns the number of characters (or bytes) written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sweep_part_files(path.parent)  # what killed writers left here (facilities.stale)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{owner_tag()}.", suffix=".part", dir=path.parent)
    written = 0
    try:
        with open(fd, "wb" if binary else "w", buffering=1 << 20, encoding=None if binary else "utf-8",
                  newline=None if binary else "\n") as out:
            pending: list = []
            for chunk in chunks:
                pending.append(chunk)
                if len(pending) >= batch:  # join small pieces: one write call per batch
                    written += out.write((b"" if binary else "").join(pending))
                    pending.clear()
            written += out.write((b"" if binary else "").join(pending))
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp made it 0600; reports are for sharing
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return written


def _umask() -> int:
    """The process umask, read without os.umask(), which would change it under other threads."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    return 0o022


def check_size(size: int, max_bytes: int, source: str) -> None:
    """The one import size rule: InputError naming the file, its size and the limit."""
    if size > max_bytes:
        raise InputError(f"is {size / 2**20:,.1f} MB; the import limit is {max_bytes / 2**20:,.0f} MB "
                         "(split the file, or raise TRACKER_MAX_IMPORT_MB)", source=source)


def read_import_file(path: str | os.PathLike, max_bytes: int) -> bytes:
    """A file to import, its size checked before a byte is read; InputError when it cannot be read."""
    path = Path(path)
    try:
        check_size(path.stat().st_size, max_bytes, str(path))
        return path.read_bytes()
    except OSError as err:
        raise InputError(f"cannot read: {err.strerror or err}", source=str(path)) from None
