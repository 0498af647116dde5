"""Files written whole or not at all: a temporary file beside the target, fsync, then rename.

A full disk or a crash mid-write leaves the previous file untouched and no partial one behind.
A process killed mid-write (kill -9) leaves its `.<name>.<host>-<pid>.<random>.part`; the next
write to that folder removes it (facilities.stale).
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import stat
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from .errors import InputError, OutputError
from .stale import owner_tag, sweep_part_files


def _output_errors(write: Callable[..., int]) -> Callable[..., int]:
    """OSError from writing `path` -> OutputError naming the file and the reason in words."""
    @functools.wraps(write)
    def named(path: str | os.PathLike, *args: Any, **kwargs: Any) -> int:
        try:
            mode = os.stat(path).st_mode
        except OSError:
            mode = stat.S_IFREG  # absent (or unreachable, which the write reports): a new file
        if stat.S_ISDIR(mode):
            raise OutputError(f"cannot write {path}: it is a directory (give a file name)")
        if not stat.S_ISREG(mode):  # renaming over /dev/null or a FIFO would replace the device node itself
            raise OutputError(f"cannot write {path}: it is {_file_kind(mode)}, not a file (give a file name)")
        try:
            return write(path, *args, **kwargs)
        except OutputError:
            raise
        except OSError as err:
            reason = _WRITE_REASONS.get(err.errno or 0, err.strerror or str(err))
            raise OutputError(f"cannot write {path}: {reason}") from err
    return named


_WRITE_REASONS = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is exceeded",
                  errno.EFBIG: "the file is larger than the system allows (file-size limit)",
                  errno.EISDIR: "it is a directory (give a file name)", errno.EROFS: "the file system is read-only",
                  errno.ENOTDIR: "a part of the path is a file, not a folder",
                  errno.EEXIST: "a part of the path is a file, not a folder"}  # from mkdir(exist_ok=True)


@_output_errors
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


_IMPORT_HINT = "split the file, or raise TRACKER_MAX_IMPORT_MB"


def check_size(size: int, max_bytes: int, source: str, *, limit_hint: str = _IMPORT_HINT) -> None:
    """The one import size rule: InputError naming the file, its size and the limit."""
    if size > max_bytes:
        raise InputError(f"is {size / 2**20:,.1f} MB; the import limit is {max_bytes / 2**20:,.0f} MB "
                         f"({limit_hint})", source=source)


def read_import_file(path: str | os.PathLike, max_bytes: int, *, limit_hint: str = _IMPORT_HINT) -> bytes:
    """A file a user named, read whole but never more than `max_bytes`; InputError naming it otherwise.

    Only a regular file is read: a directory, a FIFO (which would block), a device (/dev/zero never
    ends) or a socket is refused. It is opened non-blocking and checked with fstat on the open
    descriptor, so what is checked is what is read. The size is checked before reading and the read
    itself stops at the limit, because st_size can lie (/proc files say 0; a file can grow)."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as err:
        raise InputError(f"cannot read: {err.strerror or err}", source=str(path)) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise InputError(f"is {_file_kind(info.st_mode)}, not a regular file", source=str(path))
        check_size(info.st_size, max_bytes, str(path), limit_hint=limit_hint)
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(max_bytes + 1)
    except OSError as err:
        raise InputError(f"cannot read: {err.strerror or err}", source=str(path)) from None
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise InputError(f"is larger than the limit of {max_bytes / 2**20:,.0f} MB ({limit_hint})", source=str(path))
    return data


def _file_kind(mode: int) -> str:
    """What a non-regular file is, for a message."""
    kinds = [(stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISCHR, "a device"),
             (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")]
    return next((name for test, name in kinds if test(mode)), "not a file")
