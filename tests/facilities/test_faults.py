"""Faults: a writer killed at random moments loses no acknowledged write and leaves a valid file."""

import os
import random
import signal
import subprocess
import sys
import time

import pytest

from facilities.store import GeoPackageStore

WRITER = """
import sys
from facilities.model import Observation
from facilities.store import GeoPackageStore
s = GeoPackageStore(sys.argv[1])
i = int(sys.argv[2])
while True:
    oid = f"k{i}"
    s.add_observation(Observation(id=oid, facility_id="site-1", date="2024", kind="activity", summary="x"),
                      actor="killer")
    print(oid, flush=True)  # acknowledged: committed before this line is written
    i += 1
"""


@pytest.mark.slow
def test_sigkill_during_writes_loses_no_acknowledged_observation(populated):
    rng = random.Random(7)
    acknowledged: set[str] = set()
    start = 0
    path = str(populated.path)
    for _ in range(12):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, path, str(start)], stdout=subprocess.PIPE, text=True)
        time.sleep(0.4 + rng.random() * 0.4)  # interpreter start-up, then a random moment in the write loop
        os.kill(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        ids = out.split()
        acknowledged.update(ids)
        start += len(ids) + 1000  # never reuse an id a killed writer may have committed unacknowledged
    s = GeoPackageStore(path)
    assert s.check() == []
    stored = {o.id for o in s.list_observations()}
    assert acknowledged <= stored and len(acknowledged) > 0
    creates = {h.entity_id for h in s.history(limit=100_000) if h.entity == "observation" and h.action == "create"}
    assert stored - {"obs-1"} <= creates  # record and its history entry are one transaction
    s.close()
