"""The checks an image import passes before it is converted, shared by the Import page and `facilities imagery
import`: a capture date that is a whole day between 1960 (Corona) and today (UTC), and the one image size limit
(TRACKER_MAX_IMAGE_MB). The raster checks themselves are imagery.local's, behind tracker.imports."""

from __future__ import annotations

import datetime as dt

from facilities.dates import utc_today
from facilities.errors import InputError

from .settings import Settings

EARLIEST_CAPTURE = dt.date(1960, 1, 1)  # the first satellite photographs (Corona)
IMAGE_LIMIT_HINT = "TRACKER_MAX_IMAGE_MB"


def image_limit_bytes(settings: Settings, upload_limit_mb: int | None = None) -> int:
    """The largest image accepted, in bytes: TRACKER_MAX_IMAGE_MB, capped by a server's upload limit if any."""
    mb = settings.max_image_mb if upload_limit_mb is None else min(settings.max_image_mb, upload_limit_mb)
    return mb * 2**20


def parse_capture_date(text: str, where: str) -> dt.date:
    """A capture date given as YYYY-MM-DD; InputError naming `where` otherwise (an image needs its day)."""
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"{where}: {text!r} is not a capture date (YYYY-MM-DD)") from None


def check_capture_date(day: dt.date, where: str) -> None:
    """InputError naming `where` when the day is before 1960 or after today (UTC)."""
    today = utc_today()
    if day < EARLIEST_CAPTURE or day > today:
        raise InputError(f"{where}: capture date {day} is outside {EARLIEST_CAPTURE} to today ({today})")
