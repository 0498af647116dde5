"""Temporary files a killed process left behind, recognised by name and removed by the next run.

A writer names its temporary file or folder with an owner tag, `<host>-<pid>` (`owner_tag`); a
later run that starts writing to the same place removes those whose owner is gone: the host is
this one and no process has that pid. Anything whose owner cannot be told (another host, a pid
now used by another process, the untagged names of older versions) is removed only when it has
not been modified for `STALE_AFTER_S` (a day), so a slow writer elsewhere is never cut off.
Only names matching a writer's own pattern are touched, never a symlink, and a failure to remove
one is logged, not raised: cleaning up must not stop the write that triggered it.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import socket
import time
from pathlib import Path

log = logging.getLogger(__name__)

STALE_AFTER_S = 24 * 3600
_HOST = re.sub(r"[^A-Za-z0-9]+", "-", socket.gethostname()).strip("-")[:40] or "host"

# `.<name>.<host>-<pid>.<random>.part` (write_atomically), and the untagged `.<name>.<random>.part`
# that mkstemp made before the tag existed.
PART_FILE = re.compile(r"^\..+?\.(?:(?P<host>[A-Za-z0-9-]+)-(?P<pid>\d+)\.)?[a-z0-9_]{8}\.part$")


def owner_tag() -> str:
    """`<host>-<pid>` of this process: what a temporary name carries so a later run can tell it is stale."""
    return f"{_HOST}-{os.getpid()}"


def pid_alive(pid: int) -> bool:
    """True when a process with this pid exists on this host (it may not be ours: pids are reused)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except OSError:
        return True  # cannot tell: treat as alive, the age rule still applies
    return True


def is_stale(match: re.Match[str], mtime: float, now: float, max_age: float = STALE_AFTER_S) -> bool:
    """Whether a temporary name (matched by a writer's pattern with optional `host` and `pid`
    groups) was left by a process that is gone, or has not been touched for `max_age` seconds."""
    if now - mtime > max_age:
        return True
    groups = match.groupdict()
    pid, host = groups.get("pid"), groups.get("host")
    if pid is None or int(pid) == os.getpid():
        return False
    if "host" in groups and host != _HOST:
        return False  # another machine's writer (a shared folder): only the age rule
    return not pid_alive(int(pid))


def sweep(directory: str | os.PathLike[str], pattern: re.Pattern[str], *, folders: bool = False,
          max_age: float = STALE_AFTER_S) -> list[Path]:
    """Remove the stale temporary files (or, with `folders`, folders) in `directory` whose names
    match `pattern`; returns what was removed. Never raises for a file it cannot remove."""
    removed: list[Path] = []
    now = time.time()
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    for entry in entries:
        match = pattern.match(entry.name)
        if match is None:
            continue
        try:
            if entry.is_symlink() or (entry.is_dir(follow_symlinks=False) != folders):
                continue
            if not is_stale(match, entry.stat(follow_symlinks=False).st_mtime, now, max_age):
                continue
            if folders:
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)
        except FileNotFoundError:
            continue  # another run removed it first
        except OSError as err:
            log.warning("cannot remove stale temporary %s: %s", entry.path, err)
            continue
        log.info("removed stale temporary %s", entry.path)
        removed.append(Path(entry.path))
    return removed


def sweep_part_files(directory: str | os.PathLike[str]) -> list[Path]:
    """Remove the stale `.part` files `write_atomically` left in `directory` (killed exports)."""
    return sweep(directory, PART_FILE)
