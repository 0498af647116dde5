"""SiteQueue (tracker/watch/executors.py) against an executor whose futures are settled by hand: sites lost with a
dying worker are scanned again once, alone, after the rest; every site comes out exactly once."""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import Future

from tracker.watch.executors import SiteQueue


class WorkerDeath(Exception):
    """What a future of a site whose worker died raises here (Dask's is KilledWorker)."""


class HandSettled:
    """A `SiteExecutor`: "poison" kills its worker every time and the sites in flight beside it die too."""

    def __init__(self, window: int) -> None:
        self.window = window
        self.submitted: list[str] = []
        self.in_flight_at_submit: list[int] = []
        self._flight: dict[Future, str] = {}

    def submit_site(self, site: str, **_: object) -> Future:
        self.submitted.append(site)
        self.in_flight_at_submit.append(len(self._flight))
        fut: Future = Future()
        self._flight[fut] = site
        return fut

    def wait_any(self, futures: Iterable[Future]) -> set[Future]:
        waiting = {f: self._flight[f] for f in futures}
        if "poison" in waiting.values():  # its worker dies: everything in flight with it is lost
            for fut in waiting:
                fut.set_exception(WorkerDeath(f"worker died running {waiting[fut]}"))
        else:
            for fut, site in waiting.items():
                fut.set_result(f"scanned {site}")
        for fut in waiting:
            del self._flight[fut]
        return set(waiting)

    def lost(self, fut: Future) -> bool:
        return isinstance(fut.exception(), WorkerDeath)

    def close(self) -> None:
        pass


def _outcomes(queue: SiteQueue) -> dict[str, str]:
    out: dict[str, str] = {}
    for fut, site in queue:
        assert site not in out  # each site comes out once
        out[site] = str(fut.exception()) if fut.exception() else fut.result()
    return out


def test_the_neighbours_of_a_site_that_kills_its_worker_complete_and_it_fails():
    ex = HandSettled(window=3)
    out = _outcomes(SiteQueue(ex, ["a", "poison", "b", "c", "d"]))
    assert out == {"a": "scanned a", "b": "scanned b", "c": "scanned c", "d": "scanned d",
                   "poison": "worker died running poison"}
    # a, poison and b were lost together; scanned again at the end (in the order they were given back), each alone
    assert ex.submitted[:5] == ["a", "poison", "b", "c", "d"] and sorted(ex.submitted[5:]) == ["a", "b", "poison"]
    assert ex.in_flight_at_submit[-3:] == [0, 0, 0]


def test_a_site_lost_twice_is_not_scanned_a_third_time():
    ex = HandSettled(window=1)
    out = _outcomes(SiteQueue(ex, ["poison"]))
    assert out == {"poison": "worker died running poison"} and ex.submitted == ["poison", "poison"]


def test_sites_that_are_not_lost_are_scanned_once():
    ex = HandSettled(window=2)
    assert _outcomes(SiteQueue(ex, ["a", "b", "c"])) == {s: f"scanned {s}" for s in "abc"}
    assert ex.submitted == ["a", "b", "c"]
