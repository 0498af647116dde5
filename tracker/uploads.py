"""How much uploaded data the app may hold at once: per browser session and for the whole server.

Streamlit keeps every uploaded file in the server's memory until the session ends or the file is
removed (six 150 MB uploads took a server from 0.4 to 1.3 GB). The per-file limit is enforced by
Streamlit while the bytes arrive; this accountant caps the sum. The Import page claims an upload
before using it and releases it as soon as it is imported or refused (ui/state.py removes it from
Streamlit's store and clears the widget), so memory comes back at once instead of at session end.
Plain Python with a lock (sessions run in threads); nothing here knows Streamlit.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from .errors import TrackerError

MB = 2**20


class UploadRefused(TrackerError):
    """An upload that would take this session, or the server, over its upload memory limit."""


class UploadBudget:
    """Bytes of uploads held, per (session, upload id), against a per-session and a total limit."""

    def __init__(self, per_session: int, total: int) -> None:
        self.per_session = per_session
        self.total = total
        self._held: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def claim(self, session: str, upload: str, name: str, size: int) -> None:
        """Count an upload as held (again: no change); UploadRefused naming the file, the sizes and
        the setting to raise when it would go over a limit."""
        with self._lock:
            if (session, upload) in self._held:
                return
            mine = sum(n for (s, _), n in self._held.items() if s == session)
            everyone = sum(self._held.values())
            if mine + size > self.per_session:
                raise UploadRefused(
                    f"{name} ({size / MB:,.1f} MB) would make this session hold {(mine + size) / MB:,.1f} MB of "
                    f"uploads; the limit is {self.per_session / MB:,.0f} MB a session "
                    "(TRACKER_MAX_SESSION_UPLOAD_MB). Import or remove the files already uploaded first.")
            if everyone + size > self.total:
                raise UploadRefused(
                    f"{name} ({size / MB:,.1f} MB) was not kept: the server already holds "
                    f"{everyone / MB:,.1f} MB of uploads from all sessions and the limit is "
                    f"{self.total / MB:,.0f} MB (TRACKER_MAX_UPLOADS_MB). Try again when other imports are done.")
            self._held[(session, upload)] = size

    def release(self, session: str, upload: str | None = None) -> None:
        """Stop counting one upload, or (upload None) all of a session's."""
        with self._lock:
            for key in [k for k in self._held if k[0] == session and upload in (None, k[1])]:
                del self._held[key]

    def prune(self, still_held: Callable[[str, str], bool]) -> None:
        """Forget uploads the server no longer holds (their session ended, the user removed them)."""
        with self._lock:
            keys = list(self._held)
        gone = [k for k in keys if not still_held(*k)]
        with self._lock:
            for key in gone:
                self._held.pop(key, None)

    def held(self, session: str | None = None) -> int:
        """Bytes counted for one session, or for all of them."""
        with self._lock:
            return sum(n for (s, _), n in self._held.items() if session in (None, s))
