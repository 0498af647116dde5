"""The request budget of the one HTTP client: how many requests are in flight at once, and how fast each host
is asked.

`HttpClient` takes every network attempt inside `limiter.slot(host)`. The local limiter (`LocalLimiter`, the
default) is a bounded semaphore of `HttpConfig.concurrency` plus, when `HttpConfig.rate_per_host` is set, a
token bucket per host, so one process keeps to the budget. A cluster plugs in a limiter of its own with the
same `slot(host)` (tracker/watch/cluster.py: a Dask semaphore and one shared bucket), so the budget holds for
all workers together; the client's code does not change.

`TokenBucket` is pure: it is given the time, and answers how long to wait before the next request to a host
may go (a reservation: the wait is taken by the caller, the next caller queues behind it). The cluster's
shared bucket is this same class living on one worker.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol

from .errors import ImageryError


class RequestLimiter(Protocol):
    """Something that admits one request to `host` while its context is open."""

    def slot(self, host: str) -> AbstractContextManager[None]:
        """Wait until a request to `host` may go; the request is in flight until the context closes."""
        ...


class TokenBucket:
    """Requests per second per host, with a burst of `burst` (pure: the caller passes the time).

    `reserve(host, now)` books the next free moment for `host` and returns how many seconds from `now` that is
    (0 when a token is there). Booked moments are `1 / rate` apart once the burst is used up, so over any span T
    a host gets at most `burst + rate * T` requests, whoever asks."""

    def __init__(self, rate: float, burst: int = 1) -> None:
        if rate <= 0:
            raise ImageryError(f"rate per host must be positive, not {rate}")
        self.rate = float(rate)
        self.burst = max(1, int(burst))
        self._tat: dict[str, float] = {}  # host -> when its bucket would be full again (GCRA)

    def reserve(self, host: str, now: float) -> float:
        """Seconds from `now` until the booked request to `host` may go."""
        interval = 1.0 / self.rate
        tat = max(self._tat.get(host, now), now)  # GCRA's theoretical arrival time, queued callers included
        self._tat[host] = tat + interval
        return max(0.0, tat - (self.burst - 1) * interval - now)


class LocalLimiter:
    """This process's budget: at most `concurrency` requests in flight, and `rate_per_host` (None: no limit)."""

    def __init__(self, concurrency: int, rate_per_host: float | None = None, burst: int = 1) -> None:
        self._slots = threading.BoundedSemaphore(max(1, concurrency))
        self._bucket = TokenBucket(rate_per_host, burst) if rate_per_host else None
        self._lock = threading.Lock()

    def wait_for_token(self, host: str) -> None:
        """Sleep until the host's bucket lets a request go (no-op without a rate)."""
        if self._bucket is None:
            return
        with self._lock:
            wait = self._bucket.reserve(host, time.monotonic())
        if wait > 0:
            time.sleep(wait)

    @contextmanager
    def slot(self, host: str) -> Iterator[None]:
        """One of the `concurrency` slots while the request is in flight, and in it the wait for a token for `host`
        (taken inside the slot, so a request that waited for its slot cannot then overtake the rate)."""
        with self._slots:
            self.wait_for_token(host)
            yield
