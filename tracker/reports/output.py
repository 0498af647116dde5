"""What every report writer shares: labels that fit, the stamp (software version, UTC time), atomic files.

The site itself (records, citations, the built-up curve) is `tracker.site.SiteView`.
"""

from __future__ import annotations

import datetime as dt
import os
import textwrap
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from facilities.files import write_atomically


def software_version() -> str:
    """The installed facility-tracker version, or 'unknown' in a checkout that was never installed."""
    try:
        return version("facility-tracker")
    except PackageNotFoundError:  # running from a checkout that was never installed
        return "unknown"


def utc_now() -> str:
    """The current UTC time as ISO 8601 to the second, with a Z."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def shorten(text: str, width: int = 60) -> str:
    """One-line label no longer than `width`: long names would cover the image or the page."""
    return textwrap.shorten(" ".join(text.split()), width=width, placeholder="…") or text[:width]


def wrap(text: str, width: int = 40, lines: int = 2) -> str:
    """Text wrapped to `width` characters in at most `lines` lines, ending in an ellipsis if cut."""
    return "\n".join(textwrap.wrap(" ".join(text.split()), width=width, max_lines=lines, placeholder="…"))


def atomic_write(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write to a temporary file beside `path` and rename it: readers never see half a file."""
    write_atomically(path, [data], binary=True)
    return Path(path)
