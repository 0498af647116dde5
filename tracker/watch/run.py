"""The watch scan's driver: the watchlist in, `scan_site` on a pool, each site's results written by the driver
alone with its checkpoint.

A run has an id, kept in the registry as the open run until every site is done. Each site's findings and its
checkpoint (news / nothing / failed, with the error) are one transaction (facilities/store/watch.py
`record_site`), so an interrupted run (Ctrl-C, a crash, a reboot) resumes where it stopped: the next scan
finds the open run, skips the sites it has done and repeats no request for them and no finding. A site whose
service fails is recorded as failed with the reason, and the others go on. Workers (threads here; Dask
workers in the same shape) only fetch and compute; `submit` is the seam: `submit(fn, site)` returns a
future.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field

from facilities.store import Store
from facilities.store.watch import WatchTables
from facilities.watchlist import Finding
from imagery.errors import ImageryError
from imagery.session import ImagerySession

from ..errors import TrackerError
from .executors import LocalSites, SiteExecutor, SiteFuture, SiteQueue
from .site import MAX_CLOUD, SOURCES, SiteInput, SiteResult

log = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]  # (done, total, facility id)
DEFAULT_WORKERS = 4


@dataclass
class ScanReport:
    """What one scan did: its run id, sites done now and before (resumed), findings written, failures."""

    run_id: str
    resumed: bool
    total: int
    skipped: int = 0  # done by the run before it was interrupted
    scanned: int = 0
    findings: list[Finding] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)  # facility id -> error
    requests: int = 0

    def as_json(self) -> dict:
        """The `facilities watch scan --json` object."""
        return {"run_id": self.run_id, "resumed": self.resumed, "sites": self.total, "skipped": self.skipped,
                "scanned": self.scanned, "findings": [f.id for f in self.findings],
                "sites_with_news": sorted({f.facility_id for f in self.findings}), "failures": self.failures,
                "requests": self.requests}


def watch_tables(store: Store) -> WatchTables:
    """The registry's watch tables; TrackerError for a store that has none (not a SqlStore)."""
    from facilities.store.sql import SqlStore

    if not isinstance(store, SqlStore):
        raise TrackerError(f"{store.location}: this registry has no watchlist")
    return WatchTables(store)


def site_inputs(store: Store, *, since: dt.date | None = None,
                facility_ids: Iterable[str] | None = None) -> Iterator[SiteInput]:
    """One SiteInput per watched facility (in id order): `since` overrides every site's last review day."""
    tables = watch_tables(store)
    known = tables.known_keys()
    for entry in tables.watched(facility_ids):
        fac = store.get_facility(entry.facility_id)
        yield SiteInput(fac, since or entry.since, entry.reviewed_keys,
                        frozenset(known.get(entry.facility_id, ())))


def scan_watchlist(store: Store, session: ImagerySession, *, actor: str, since: dt.date | None = None,
                   max_cloud: float = MAX_CLOUD, sources: tuple[str, ...] = SOURCES, workers: int = DEFAULT_WORKERS,
                   progress: Progress | None = None, after_site: Callable[[SiteResult], None] | None = None,
                   submit: Callable[..., Future] | None = None, executor: SiteExecutor | None = None) -> ScanReport:
    """Scan every watched site (resuming the open run if one was interrupted) and store the findings.

    `after_site(result)` is called after each site's results are written (tests interrupt a run there);
    `submit(fn, *args, **kwargs)` runs the per-site work elsewhere (default: a thread pool of `workers`);
    `executor` runs it on something else altogether (tracker/watch/cluster.py: a Dask cluster), the rest of
    the scan unchanged."""
    tables = watch_tables(store)
    open_run = tables.open_run()
    run_id = open_run or f"run-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    if open_run is None:
        tables.start_run(run_id)
    done = tables.done_sites(run_id)
    watched = [e.facility_id for e in tables.watched()]
    total, skipped = len(watched), sum(1 for f in watched if f in done)
    del watched
    # Streamed: a site's facility (its outline) is read when the queue takes it, so the driver's memory does not
    # grow with the number of watched sites.
    todo = (s for s in site_inputs(store, since=since) if s.facility.id not in done)
    report = ScanReport(run_id, open_run is not None, total, skipped=skipped)
    if report.resumed:
        log.info("resuming watch scan %s: %d of %d sites done already", run_id, report.skipped, total)
    if "wayback" in sources and total > skipped:
        try:  # the catalogue once, before the workers race for it (then every site reads it from the cache)
            session.wayback.releases()
        except ImageryError as err:
            log.warning("Wayback catalogue: %s (each site will report it)", err)
    runner = executor or LocalSites(session, workers, submit=submit)
    queue = SiteQueue(runner, todo, max_cloud=max_cloud, sources=sources)
    recorded: set[str] = set()

    def record(fut: SiteFuture, site: SiteInput, hooks: bool = True) -> None:
        try:
            result = fut.result()
        except Exception as err:  # noqa: BLE001 - a crash on one site is recorded, never stops the others
            log.warning("watch scan of %s crashed: %s: %s", site.facility.id, type(err).__name__, err)
            result = SiteResult(site.facility.id, errors={"crash": f"{type(err).__name__}: {err}"})
        written = tables.record_site(run_id, site.facility.id, result.findings, result.error, actor=actor)
        recorded.add(site.facility.id)
        report.scanned += 1
        report.requests += result.requests
        report.findings += written
        if result.error:
            report.failures[site.facility.id] = result.error
        if hooks and progress is not None:
            progress(report.skipped + report.scanned, total, site.facility.id)
        if hooks and after_site is not None:
            after_site(result)

    try:
        for fut, site in queue:
            record(fut, site)
    except BaseException:
        # Interrupted: sites not started are left for the resumed run; those already running finish and are
        # written, so the resumed run repeats none of their requests.
        for fut in queue.pending:
            fut.cancel()
        for fut, site in queue.pending.items():
            if not fut.cancelled() and site.facility.id not in recorded:
                try:
                    fut.exception()  # waits for it
                    record(fut, site, hooks=False)
                except BaseException:  # noqa: BLE001 - a second interrupt: leave the rest to the resumed run
                    break
        raise
    finally:
        if executor is None:
            runner.close()
    tables.finish_run(run_id)
    return report

