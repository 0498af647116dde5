"""Where the per-site work runs: the seam between the scan's driver (run.py) and a pool.

The driver hands sites to a `SiteExecutor` and records each result as it completes; it never learns where the
work ran. `LocalSites` runs `scan_site` on a thread pool with the driver's own imagery session (the default);
tracker/watch/cluster.py's `DaskSites` runs the very same `scan_site` on the workers of a Dask cluster, each
with a session of its own. Both give back futures with `result`, `exception`, `cancel` and `cancelled`, and
an `as_completed` over them: concurrent.futures' for threads, distributed's for Dask.

`SiteQueue` keeps at most `executor.window` sites in flight and submits the next as one completes, so the
driver's memory does not grow with the watchlist (finished futures and their results are dropped once
recorded) and an interrupted scan has few sites running to wait for.

A worker process that dies (a site that exhausts memory or crashes the interpreter) takes every site it was
running with it. Those the executor reports as `lost` are scanned again once, one at a time, after the rest:
the site that killed its worker kills one more and is listed as failed; its neighbours complete.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, Protocol

from imagery.session import ImagerySession

from .site import SiteInput, scan_site


class SiteFuture(Protocol):
    """The part of a future the driver uses (concurrent.futures.Future and distributed.Future both have it)."""

    def result(self, timeout: float | None = None) -> Any:
        """The SiteResult, or the exception the work raised."""
        ...

    def exception(self, timeout: float | None = None) -> Any:
        """Wait for it; the exception it raised, or None."""
        ...

    def cancel(self) -> Any:
        """Cancel it if it has not started."""
        ...

    def cancelled(self) -> bool:
        """Whether it was cancelled."""
        ...


class SiteExecutor(Protocol):
    """Runs `scan_site` for one site somewhere and gives back a future of its SiteResult."""

    window: int  # sites in flight at once (SiteQueue)

    def submit_site(self, site: SiteInput, **scan_kwargs: Any) -> SiteFuture:
        """Start `scan_site(site, <a session>, **scan_kwargs)`."""
        ...

    def wait_any(self, futures: Iterable[SiteFuture]) -> set[SiteFuture]:
        """Block until at least one of `futures` is done; the done ones."""
        ...

    def lost(self, fut: SiteFuture) -> bool:
        """Whether `fut` failed because its worker died rather than because of its own site."""
        ...

    def close(self) -> None:
        """Release what the executor started (not a cluster it was given)."""
        ...


class LocalSites:
    """`scan_site` on a thread pool of `workers`, with the driver's session (one HTTP client, so one budget).

    `submit(fn, *args, **kwargs)`, when given, replaces the pool (tests interrupt a scan through it)."""

    def __init__(self, session: ImagerySession, workers: int = 4,
                 submit: Callable[..., Future] | None = None) -> None:
        self.session = session
        self.window = max(1, workers) * 4
        self._pool = None if submit is not None else ThreadPoolExecutor(max_workers=max(1, workers),
                                                                      thread_name_prefix="watch")
        self._submit = submit if submit is not None else self._pool.submit  # type: ignore[union-attr]

    def submit_site(self, site: SiteInput, **scan_kwargs: Any) -> Future:
        """scan_site(site, session, ...) on the pool."""
        return self._submit(scan_site, site, self.session, **scan_kwargs)

    def wait_any(self, futures: Iterable[SiteFuture]) -> set[SiteFuture]:
        """concurrent.futures.wait(FIRST_COMPLETED)."""
        done, _ = wait(list(futures), return_when=FIRST_COMPLETED)  # type: ignore[arg-type]
        return set(done)

    def lost(self, fut: SiteFuture) -> bool:
        """Never: a thread that fails fails its own site only (a dying process ends the scan itself)."""
        return False

    def close(self) -> None:
        """Shut the pool down, dropping sites not started."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)


class SiteQueue:
    """Sites through an executor with at most `executor.window` in flight; iterating gives (future, site) as
    each completes. `pending` is what is still in flight (the driver cancels or waits for it when interrupted)."""

    def __init__(self, executor: SiteExecutor, sites: Iterable[SiteInput], **scan_kwargs: Any) -> None:
        self.executor = executor
        self.pending: dict[SiteFuture, SiteInput] = {}
        self._sites = iter(sites)
        self._kwargs = scan_kwargs
        self._again: list[SiteInput] = []  # lost with their worker: scanned again, alone, at the end

    def _fill(self) -> None:
        while len(self.pending) < self.executor.window:
            site = next(self._sites, None)
            if site is None:
                return
            self.pending[self.executor.submit_site(site, **self._kwargs)] = site

    def __iter__(self) -> Iterator[tuple[SiteFuture, SiteInput]]:
        self._fill()
        while self.pending:
            for fut in self.executor.wait_any(self.pending):
                site = self.pending.pop(fut)
                if self.executor.lost(fut):
                    self._again.append(site)
                else:
                    yield fut, site
            self._fill()
        for site in self._again:  # one at a time: a second death is this site's own doing
            fut = self.executor.submit_site(site, **self._kwargs)
            self.pending[fut] = site
            self.executor.wait_any([fut])
            del self.pending[fut]
            yield fut, site
