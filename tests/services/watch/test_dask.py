"""The watch scan on a Dask cluster (a two-worker LocalCluster on 127.0.0.1, worker processes): the same findings,
failures and per-site outcomes as the local run on the same fakes; the request budget held across both workers
(counted at the fake server); every request booked at the cluster's one token bucket; a site that makes its task
fail, or kills its worker, a listed failure while the other sites complete."""

from __future__ import annotations

import json
import sys

import dask
import pytest

distributed = pytest.importorskip("distributed")

from imagery.aoi import AreaOfInterest  # noqa: E402 - after the importorskip
from tests.support.watch import EXPECTED_NEWS, FAILING, SINCE, watch_world  # noqa: E402
from tests.support.watch_cluster import recipe  # noqa: E402
from tracker.watch.cluster import DaskSites  # noqa: E402
from tracker.watch.run import scan_watchlist, watch_tables  # noqa: E402

SOURCES = ("wayback", "local")


@pytest.fixture(scope="module")
def dask_client():
    # Dask's nannies spawn worker processes, and multiprocessing's spawn re-runs the parent's __main__ by path when
    # it has no module name: under pytest-xdist that is execnet's bootstrap script, which fails outside execnet.
    # Without __file__ the workers start as from an interactive session (and so does a nanny's restart).
    main = pytest.MonkeyPatch()
    main.delattr(sys.modules["__main__"], "__file__", raising=False)
    try:
        yield from _cluster_client()
    finally:
        main.undo()


def _cluster_client():
    # no retry by Dask of a task whose worker died (its default is 3, each killing one more worker): the sites lost
    # with a dying worker, the one that killed it and those that were beside it, are the queue's to scan again;
    # every site's task is sent to a worker at once (all of them beside the one that dies)
    with dask.config.set({"distributed.scheduler.worker-saturation": "inf",
                          "distributed.scheduler.allowed-failures": 0}):
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                           dashboard_address=None)
        client = distributed.Client(cluster, set_as_default=False)
        yield client
        client.close()
        cluster.close()


def _world(tmp_path, name, server, endpoints):
    path = tmp_path / name
    path.mkdir()
    return watch_world(path, server, endpoints)


def _signature(report, store):
    findings = sorted((f.facility_id, f.kind.value, f.after_key, str(f.after_date), f.before_key, f.significant,
                       f.changed_m2, f.changed_m2_range) for f in report.findings)
    outcomes = sorted((fid, outcome, n, err) for fid, outcome, n, err, _at in
                      watch_tables(store).run_outcomes(report.run_id))
    return findings, dict(report.failures), outcomes


def _local(world):
    session = world.session()
    try:
        return scan_watchlist(world.store, session, actor="tester", since=SINCE, sources=SOURCES)
    finally:
        session.close()


def _on_cluster(world, client, *, concurrency=4, rate_per_host=None, **kw):
    runner = DaskSites(client, recipe(world.tmp, world.data_dir, world.endpoints, **kw), concurrency=concurrency,
                       rate_per_host=rate_per_host)
    session = world.session()
    try:
        report = scan_watchlist(world.store, session, actor="tester", since=SINCE, sources=SOURCES, executor=runner)
        return report, runner, session.client.stats.requests
    finally:
        runner.close()
        session.close()


def test_the_dask_run_equals_the_local_run(tmp_path, server, endpoints, dask_client):
    local_world = _world(tmp_path, "local", server, endpoints)
    local = _local(local_world)
    local_requests = server.counts["total"]  # before the next world resets the fake's counts
    dask_world = _world(tmp_path, "dask", server, endpoints)
    on_cluster, _, by_driver = _on_cluster(dask_world, dask_client)
    assert _signature(on_cluster, dask_world.store) == _signature(local, local_world.store)
    kinds: dict[str, set[str]] = {}
    for f in on_cluster.findings:
        kinds.setdefault(f.facility_id, set()).add(f.kind.value)
    assert set(kinds) == set(EXPECTED_NEWS) and set(on_cluster.failures) == {FAILING}  # the fakes' news sites
    assert dask_world.server.counts["total"] == local_requests > 0  # the same requests, none repeated
    assert on_cluster.requests + by_driver == local_requests  # workers' own counts came back, exact
    stored = watch_tables(dask_world.store).findings()  # only the driver wrote, and it wrote everything
    assert sorted(f.id for f in stored) == sorted(f.id for f in on_cluster.findings)
    assert watch_tables(dask_world.store).open_run() is None


def test_the_request_budget_holds_for_the_whole_cluster(tmp_path, server, endpoints, dask_client):
    world = _world(tmp_path, "budget", server, endpoints)
    server.scenario.latency = 0.05  # every answer takes 50 ms: requests overlap when they can
    # each worker's own client would allow 4 at once (8 for the cluster); the cluster's budget is 2 and 40/s
    report, runner, by_driver = _on_cluster(world, dask_client, concurrency=2, rate_per_host=40.0)
    assert set(report.failures) == {FAILING} and report.scanned == report.total
    assert server.counts["total"] >= 20  # enough requests for overlap to show
    assert server.most_all_in_flight == 2  # both workers used the budget, never beyond it
    assert runner.booked() == server.counts["total"] - by_driver  # every worker request went through the one bucket
    assert by_driver == 1  # the driver's own: the Wayback catalogue, once, before the workers start


@pytest.mark.parametrize("mode", ["raise", "exit"])
def test_a_site_that_fails_on_its_worker_is_a_listed_failure(tmp_path, server, endpoints, dask_client, mode):
    world = _world(tmp_path, f"crash-{mode}", server, endpoints)
    quiet = AreaOfInterest.of(world.store.get_facility("quiet").geometry).bbox
    report, *_ = _on_cluster(world, dask_client, explode=(tuple(quiet), mode))
    dask_client.wait_for_workers(2, timeout=60)  # the nanny restarts a lost worker; later tests want both
    assert set(report.failures) == {FAILING, "quiet"} and report.scanned == report.total
    assert "crash" in report.failures["quiet"]
    if mode == "raise":
        assert "RuntimeError" in report.failures["quiet"]
    else:
        assert "KilledWorker" in report.failures["quiet"]
    kinds: dict[str, set[str]] = {}
    for f in report.findings:
        kinds.setdefault(f.facility_id, set()).add(f.kind.value)
    assert set(kinds) == set(EXPECTED_NEWS) and "change" in kinds["yard"]  # the others completed
    outcomes = {fid: outcome for fid, outcome, *_ in watch_tables(world.store).run_outcomes(report.run_id)}
    assert outcomes["quiet"] == "failed" and watch_tables(world.store).open_run() is None


def test_facilities_watch_scan_on_a_cluster_and_a_scheduler_that_is_not_there(tmp_path, monkeypatch, dask_client):
    from tests.services.watch.test_watch_cli import X0, Y0, _image  # one local image at a generated site
    from tests.support.cli import cli_in

    monkeypatch.setenv("TRACKER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TRACKER_OFFLINE", "1")
    run = cli_in(tmp_path)
    run("init", "-q", "--no-seed")
    from pyproj import Transformer
    from shapely.geometry import box

    to_ll = Transformer.from_crs("EPSG:32652", "EPSG:4326", always_xy=True)
    (w, s), (e, n) = to_ll.transform(X0 + 50, Y0 - 150), to_ll.transform(X0 + 150, Y0 - 50)
    run("add", "Depot", "--id", "depot", "--country", "KP", "--geometry", box(w, s, e, n).wkt)
    run("watch", "add", "--facility", "depot")
    _image(tmp_path, 1, "2030-05-01")
    address = dask_client.scheduler.address
    doc = json.loads(run("watch", "scan", "--source", "local", "--json", "--no-progress", "--dask", address).stdout)
    assert doc["sites"] == 1 and doc["sites_with_news"] == ["depot"] and doc["failures"] == {}
    refused = run("watch", "scan", "--no-progress", "--dask", "tcp://127.0.0.1:9", ok=False)
    assert refused.returncode == 1 and refused.stderr.strip().count("\n") == 0
    assert "--dask tcp://127.0.0.1:9: no Dask scheduler answers there" in refused.stderr
