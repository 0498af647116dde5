"""The watch scan on an existing Dask cluster (`facilities watch scan --dask ADDRESS`; the optional `dask` extra).

`DaskSites` is a `SiteExecutor` (executors.py): the driver is unchanged and alone writes to the registry;
the workers run the same `scan_site` and send back `SiteResult`s. A worker builds its own imagery session
once per run from a picklable recipe (the CLI's: `imagery_session(settings)` with the driver's settings, so
the same services, cache folder and local imports: the data dir must be one the workers see too), and
plugs into its HTTP client a `ClusterLimiter`, so the request budget holds for the whole cluster
(docs/decisions/0026):

- concurrency: a `distributed.Semaphore` of `HttpConfig.concurrency` leases, held while a request is in flight;
- rate per host: one `imagery.limits.TokenBucket` living on one worker as a Dask Actor; each request books
  its moment there (one small round trip) and sleeps until it.

dask is imported here only, and this module is imported only when `--dask` is given.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from imagery.limits import TokenBucket
from imagery.session import ImagerySession

from ..errors import TrackerError
from .site import SiteInput, SiteResult, scan_site

try:
    import distributed
except ImportError as err:  # pragma: no cover - the extra is not installed
    raise TrackerError("--dask needs the optional dask extra: pip install 'facility-tracker[dask]'") from err

CONNECT_S = 5  # a scheduler that has not answered by then is reported as not there
SessionRecipe = Callable[[], ImagerySession]  # picklable: a module-level function or a functools.partial of one


class SharedBucket:
    """The cluster's one token bucket (a Dask Actor: its methods run one at a time on the worker holding it)."""

    def __init__(self, rate: float, burst: int = 1) -> None:
        self.bucket = TokenBucket(rate, burst)
        self.booked = 0

    def count(self) -> int:
        """Requests booked so far (tests, benches)."""
        return self.booked

    def reserve(self, host: str) -> float:
        """Seconds the caller waits before its request to `host` (the actor's clock: only differences count)."""
        self.booked += 1
        return self.bucket.reserve(host, time.monotonic())


@dataclass(frozen=True)
class ClusterBudget:
    """The cluster-wide request budget a worker's HTTP client keeps to (picklable; made by `DaskSites`)."""

    name: str  # the semaphore's name, unique per run
    concurrency: int


class ClusterLimiter:
    """`imagery.limits.RequestLimiter` for a worker: a lease of the cluster's semaphore while the request is in
    flight, and inside it the wait the shared bucket books."""

    def __init__(self, budget: ClusterBudget, bucket: Any = None) -> None:
        self.budget = budget
        self._semaphore = distributed.Semaphore(max_leases=budget.concurrency, name=budget.name)
        # the SharedBucket actor, or None: no rate limit. The handle a task receives is bound to a worker only
        # when first used on the task's own thread; the HTTP client calls it from its pool threads, so it is
        # bound here, on the task's thread, to this worker
        self._bucket = (distributed.Actor(SharedBucket, bucket._address, bucket.key, worker=distributed.get_worker())
                        if bucket is not None else None)

    @contextmanager
    def slot(self, host: str) -> Iterator[None]:
        """Hold one of the cluster's leases; wait for the host's booked moment."""
        with self._semaphore:
            if self._bucket is not None:
                wait = self._bucket.reserve(host).result()
                if wait > 0:
                    time.sleep(wait)
            yield


_sessions: dict[str, tuple[str, ImagerySession]] = {}  # worker address -> (budget name, its session)
_sessions_lock = threading.Lock()


def _worker_session(recipe: SessionRecipe, budget: ClusterBudget, bucket: Any) -> ImagerySession:
    """This worker's session for this run: built once, its client on the cluster's budget; a session of an
    earlier run on this worker is closed."""
    address = distributed.get_worker().address
    with _sessions_lock:
        held = _sessions.get(address)
        if held is not None and held[0] == budget.name:
            return held[1]
        session = recipe()
        session.client.limiter = ClusterLimiter(budget, bucket)
        _sessions[address] = (budget.name, session)
    if held is not None:
        held[1].close()
    return session


def scan_on_worker(site: SiteInput, recipe: SessionRecipe, budget: ClusterBudget, bucket: Any,
                   **scan_kwargs: Any) -> SiteResult:
    """scan_site on a Dask worker, with the worker's session (what `DaskSites` submits)."""
    return scan_site(site, _worker_session(recipe, budget, bucket), **scan_kwargs)


class DaskSites:
    """A `SiteExecutor` on a Dask cluster: `client` a distributed.Client (connected by the caller or by
    `connect`), `recipe` builds a worker's session, `concurrency` and `rate_per_host` the cluster's budget
    (defaults: the recipe's own HttpConfig)."""

    def __init__(self, client: distributed.Client, recipe: SessionRecipe, *, concurrency: int,
                 rate_per_host: float | None = None, burst: int = 1, window: int | None = None) -> None:
        self.client = client
        self.recipe = recipe
        name = f"watch-http-{uuid.uuid4().hex[:8]}"
        self._semaphore = distributed.Semaphore(max_leases=concurrency, name=name,  # registers it
                                                scheduler_rpc=client.scheduler, loop=client.loop)
        # the actor lives as long as its future is held: keep it, or the scheduler releases the bucket
        self._bucket_future = client.submit(SharedBucket, rate_per_host, burst, actor=True) if rate_per_host else None
        self.bucket: Any = self._bucket_future.result() if self._bucket_future is not None else None
        self.budget = ClusterBudget(name, concurrency)
        threads = sum(client.nthreads().values()) or 1
        self.window = window or max(8, 4 * threads)

    @classmethod
    def connect(cls, address: str, recipe: SessionRecipe, **kwargs: Any) -> DaskSites:
        """Connect to the scheduler at `address`; TrackerError naming it when it does not answer."""
        try:
            client = distributed.Client(address, timeout=CONNECT_S, set_as_default=False)
        except (OSError, TimeoutError) as err:
            raise TrackerError(f"--dask {address}: no Dask scheduler answers there ({err})") from err
        runner = cls(client, recipe, **kwargs)
        runner._owns_client = True
        return runner

    _owns_client = False

    def submit_site(self, site: SiteInput, **scan_kwargs: Any) -> distributed.Future:
        """scan_on_worker(site, ...) on the cluster; never cached (pure=False: a site is scanned afresh)."""
        return self.client.submit(scan_on_worker, site, self.recipe, self.budget, self.bucket, pure=False,
                                  key=f"watch-{site.facility.id}-{uuid.uuid4().hex[:8]}", **scan_kwargs)

    def booked(self) -> int | None:
        """Requests the cluster's bucket has booked (None without a rate limit)."""
        if self.bucket is None:
            return None
        with self.client.as_current():  # binds the actor handle to our client
            return int(self.bucket.count().result())

    def wait_any(self, futures: Iterable[Any]) -> set[Any]:
        """distributed.wait(FIRST_COMPLETED)."""
        pending = list(futures)
        try:
            with self.client.as_current():  # distributed.wait asks for the current client (ours is not the default)
                done, _ = distributed.wait(pending, return_when="FIRST_COMPLETED")
        except distributed.client.FuturesCancelledError:  # the scheduler gave one up: the driver lists it
            return {f for f in pending if f.done() or f.cancelled()}
        return set(done)

    def lost(self, fut: Any) -> bool:
        """Whether `fut` failed with KilledWorker: its worker died (or every worker that tried it did)."""
        return fut.status == "error" and isinstance(fut.exception(), distributed.KilledWorker)

    def close(self) -> None:
        """Close the semaphore's client-side state, and the client when `connect` opened it."""
        self._semaphore.close()
        if self._owns_client:
            self.client.close()
