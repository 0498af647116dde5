"""Logging, configured once where a program starts (app.py's main, the CLI entry points).

Every module logs through its own `logging.getLogger(__name__)`; nothing below configures
handlers. Here the project's packages get the level from settings (TRACKER_LOG_LEVEL) and, unless
the host program already set up logging (Streamlit, pytest, a notebook), one stderr handler on the
root logger. Other libraries stay at the root's level (WARNING), so a DEBUG run shows our requests,
not urllib3's.
"""

from __future__ import annotations

import logging
import sys

from .settings import Settings

PACKAGES = ("facilities", "imagery", "tracker", "ui")
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class _TrackerHandler(logging.StreamHandler):
    """Marks the handler this module added, so configuring twice adds it once."""


def configure_logging(settings: Settings) -> None:
    """Set the packages' log level and make sure their records reach stderr. Safe to call again."""
    level = logging.getLevelName(settings.log_level)
    for name in PACKAGES:
        logging.getLogger(name).setLevel(level)
    root = logging.getLogger()
    if not root.handlers:  # the host program configured nothing: records would be lost below WARNING
        handler = _TrackerHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(FORMAT))
        root.addHandler(handler)
