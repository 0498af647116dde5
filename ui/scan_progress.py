"""Progress and cancel for a long imagery scan on a page (the Compare page's first Wayback scan).

The scan reports `progress(stage, done, total)` from the script's thread and asks `cancelled()` from
its worker threads. Streamlit stops a running script by raising its control exception at the next
Streamlit call once the analyst presses a button (Cancel) or leaves the page; that call is the
progress bar's update here, so the hook records it and `cancelled()` turns True, and the scan's
workers stop at their next request instead of finishing every tile. The page itself learns that
Cancel was pressed from the button's callback (ui.state.SCAN_CANCELLED).
"""

from __future__ import annotations

import threading
from typing import Protocol


class Bar(Protocol):
    """What a Streamlit progress bar offers (st.progress's return value)."""

    def progress(self, value: float, text: str | None = None) -> object:
        """Move the bar to `value` (0..1) with a label."""


def stage_text(stage: str, done: int, total: int) -> str:
    """The bar's label: "Wayback change scan: 12 of 49"."""
    return f"{stage}: {done} of {total}"


class ScanProgress:
    """A progress hook drawing on `bar`; `cancelled()` once a Streamlit call in it was interrupted."""

    def __init__(self, bar: Bar) -> None:
        self.bar = bar
        self._stop = threading.Event()
        self.calls = 0

    def __call__(self, stage: str, done: int, total: int) -> None:
        """Show how far `stage` is; re-raises Streamlit's stop or rerun after marking the scan cancelled."""
        self.calls += 1
        try:
            self.bar.progress(min(1.0, done / total) if total > 0 else 0.0, text=stage_text(stage, done, total))
        except BaseException:  # Streamlit's RerunException/StopException derive from BaseException
            self._stop.set()
            raise

    def cancel(self) -> None:
        """Stop the scan at the workers' next check."""
        self._stop.set()

    def cancelled(self) -> bool:
        """Whether the scan should stop."""
        return self._stop.is_set()
