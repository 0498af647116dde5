"""The PostGIS store under load and faults, and `facilities migrate` between the two backends.

Figures (writes, conflicts, seconds) are printed; run with `-s` to see them. The GeoPackage
two-process case lives in tests/test_store.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import shapely

from facilities.errors import ConflictError, StoreError
from facilities.model import Facility, Observation
from facilities.store import open_store

# Writers are fresh interpreters that import only this module: multiprocessing's spawn would re-run
# whatever the parent's __main__ is (another test may have left app.py there), and no
# the child runs from the checkout's root so that `tests` is importable as a package.
_ROOT = str(Path(__file__).resolve().parents[2])
_CHILD = ("import sys; from tests.facilities.test_postgis_faults import _writer; "
          "_writer(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])")

WORKERS = 8
WRITES = 500
HOT_EVERY = 25  # every 25th write also edits the one observation all workers share


def _setup(url: str) -> None:
    s = open_store(url)
    s.add_facility(Facility(id="site-1", name="Site one", geometry=shapely.box(127.65, 39.92, 127.66, 39.93)),
                   actor="t")
    s.add_observation(Observation(id="hot", facility_id="site-1", date="2024", kind="activity", summary="shared"),
                      actor="t")
    s.close()


def _writer(url: str, worker: int, n: int, report: str) -> None:
    """One analyst: n new observations, plus optimistic edits of the shared one, retried on conflict."""
    import traceback

    try:
        s = open_store(url)
        conflicts, edits, start = 0, [], time.perf_counter()
        for i in range(n):
            s.add_observation(Observation(id=f"w{worker}-{i}", facility_id="site-1", date="2024", kind="activity",
                                          summary=f"writer {worker} #{i}"), actor=f"w{worker}")
            if i % HOT_EVERY == 0:
                token = f"w{worker}-{i}"
                while True:
                    hot = s.get_observation("hot")
                    try:
                        s.update_observation(hot.evolve(notes=f"{hot.notes} {token}".strip()), actor=f"w{worker}")
                        edits.append(token)
                        break
                    except ConflictError as err:
                        assert err.stored.version > hot.version and err.attempted.version == hot.version
                        conflicts += 1
        s.close()
        Path(report).write_text(json.dumps({"conflicts": conflicts, "edits": edits,
                                            "seconds": time.perf_counter() - start}))
    except BaseException:
        Path(report).write_text(json.dumps({"error": traceback.format_exc()}))
        raise


@pytest.mark.slow
def test_eight_processes_writing_at_once_lose_and_duplicate_nothing(pg_url, tmp_path):
    _setup(pg_url)
    reports = [tmp_path / f"writer-{w}.json" for w in range(WORKERS)]
    start = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-c", _CHILD, pg_url, str(w), str(WRITES), str(reports[w])], cwd=_ROOT)
             for w in range(WORKERS)]
    codes = [p.wait(600) for p in procs]
    elapsed = time.perf_counter() - start
    results = [json.loads(r.read_text()) for r in reports if r.exists()]
    assert codes == [0] * WORKERS, [r.get("error") for r in results]

    s = open_store(pg_url)
    try:
        observations = s.list_observations()
        ids = [o.id for o in observations]
        assert len(ids) == len(set(ids)) == 1 + WORKERS * WRITES == s.counts()["observations"]
        assert set(ids) == {"hot"} | {f"w{w}-{i}" for w in range(WORKERS) for i in range(WRITES)}
        created = [h.entity_id for h in s.history(limit=100_000) if h.action == "create" and h.entity == "observation"]
        assert sorted(created) == sorted(ids)  # each write has exactly one history row
        # no lost update: every acknowledged edit of the shared record is in it, once, in version order
        edits = [t for r in results for t in r["edits"]]
        hot = s.get_observation("hot")
        assert hot.version == 1 + len(edits) == 1 + WORKERS * len(range(0, WRITES, HOT_EVERY))
        assert sorted(hot.notes.split()) == sorted(edits)
        conflicts = sum(r["conflicts"] for r in results)
        print(f"\n{WORKERS} processes x {WRITES} observation writes + {len(edits)} shared edits: "
              f"{elapsed:.1f} s wall, {WORKERS * WRITES / elapsed:.0f} writes/s, {conflicts} conflicts reported "
              f"and retried, 0 lost, 0 duplicated")
    finally:
        s.close()


def test_server_stopped_in_the_middle_of_writes(pg_server, pg_url):
    _setup(pg_url)
    store = open_store(pg_url)
    acknowledged: list[str] = []
    failure: list[BaseException] = []

    def write_until_it_fails() -> None:
        i = 0
        while True:
            try:
                store.add_observation(Observation(id=f"x{i}", facility_id="site-1", date="2024", kind="visit",
                                                  summary="under fault"), actor="t")
            except StoreError as err:
                failure.append(err)
                return
            acknowledged.append(f"x{i}")
            i += 1

    writer = threading.Thread(target=write_until_it_fails)
    writer.start()
    try:
        deadline = time.monotonic() + 60
        while len(acknowledged) < 50 and writer.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        pg_server.stop("immediate")  # the server dies without a checkpoint, mid-transaction
        writer.join(60)
        assert not writer.is_alive() and failure, "the writer did not notice the server going away"
        message = str(failure[0])
        assert "lost the connection" in message or "not available" in message, message
        assert "nothing is half-written" in message or "cannot connect" in message
    finally:
        if not pg_server.running():
            pg_server.start()
    # after crash recovery: every acknowledged write is there, nothing else but the one in flight
    stored = {o.id for o in store.list_observations()} - {"hot"}
    assert set(acknowledged) <= stored and len(stored - set(acknowledged)) <= 1
    created = {h.entity_id for h in store.history(limit=100_000) if h.action == "create"} - {"hot", "site-1"}
    assert created == stored  # no record without its history row, no history row without its record
    after = store.add_observation(Observation(id="after-restart", facility_id="site-1", date="2024", kind="visit",
                                              summary="back"), actor="t")
    assert store.get_observation("after-restart") == after
    print(f"\nserver stopped after {len(acknowledged)} acknowledged writes: {type(failure[0]).__name__}: {message}")
    store.close()


def _cli(tmp_path: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "TRACKER_DATABASE": str(tmp_path / "r.gpkg"), "TRACKER_ACTOR": "tester"}
    res = subprocess.run([sys.executable, "-m", "tracker", *args], capture_output=True, text=True, env=env,
                         timeout=300, cwd=tmp_path)
    assert (res.returncode == 0) == ok, f"{args}: rc={res.returncode}\n{res.stdout}\n{res.stderr}"
    return res


def _features(path: Path) -> dict[str, dict]:
    return {f["id"]: f for f in json.loads(path.read_text("utf-8"))["features"]}


def test_migrate_gpkg_to_postgis_and_back_is_lossless(pg_url, tmp_path):
    _cli(tmp_path, "init", "-q")
    _cli(tmp_path, "observe", "february-11-plant", "--date", "2025-01", "--kind", "visit", "--summary", "walked")
    out = _cli(tmp_path, "migrate", "--from", f"gpkg:{tmp_path / 'r.gpkg'}", "--to", pg_url).stdout
    assert "added 4 source, 2 facility, 2 structure, 14 observation" in out
    # the CLI works unchanged against the server
    listing = json.loads(_cli(tmp_path, "--db", pg_url, "list", "--json").stdout)
    assert {f["id"] for f in listing} == {"february-11-plant", "february-8-vinalon-complex"}
    back = tmp_path / "back.gpkg"
    _cli(tmp_path, "migrate", "--from", pg_url, "--to", f"gpkg:{back}")
    for db, name in ((str(tmp_path / "r.gpkg"), "a.geojson"), (pg_url, "b.geojson"), (str(back), "c.geojson")):
        _cli(tmp_path, "--db", db, "export", str(tmp_path / name))
    original = _features(tmp_path / "a.geojson")
    assert len(original) == 2 + 2 + 14
    assert _features(tmp_path / "b.geojson") == original == _features(tmp_path / "c.geojson")
    # a non-empty target is refused unless the user says how to merge
    refused = _cli(tmp_path, "migrate", "--from", str(back), "--to", pg_url, ok=False)
    assert "already holds" in refused.stderr and "--on-conflict" in refused.stderr
    again = _cli(tmp_path, "migrate", "--from", str(back), "--to", pg_url, "--on-conflict", "skip").stdout
    assert "skipped 4 source, 2 facility, 2 structure, 14 observation" in again
