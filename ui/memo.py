"""A small thread-safe memo with a time-to-live and a size cap, for work whose progress the page draws itself.

`st.cache_data` replays the elements a cached function drew and refuses widgets inside it, so a
scan that draws a progress bar and offers a Cancel button cannot run inside one. The page asks
`get` first, runs the work itself (with its progress hooks) on a miss, and `put`s the answer.
Errors are never stored (the caller only puts answers). No Streamlit here: ui.state holds the
one instance per process.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class Memo(Generic[V]):
    """Answers by key for `ttl` seconds, at most `max_entries` of them (the least recently used go first)."""

    def __init__(self, ttl: float, max_entries: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._clock = clock
        self._items: OrderedDict[Hashable, tuple[float, V]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> V | None:
        """The answer kept for `key`, or None when there is none or it is older than the ttl."""
        with self._lock:
            hit = self._items.get(key)
            if hit is None:
                return None
            stored, value = hit
            if self._clock() - stored > self.ttl:
                del self._items[key]
                return None
            self._items.move_to_end(key)
            return value

    def put(self, key: Hashable, value: V) -> None:
        """Keep an answer (replacing an older one for the same key)."""
        with self._lock:
            self._items[key] = (self._clock(), value)
            self._items.move_to_end(key)
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)

    def clear(self) -> None:
        """Forget every answer."""
        with self._lock:
            self._items.clear()
