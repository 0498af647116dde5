"""Shared fixtures: every test makes its own registry in a temporary directory; no network."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
import shapely

from facilities.model import Facility, Observation, Source, Structure
from facilities.store import GeoPackageStore
from tests.support import socket_guard
from tests.support.registry import square
from tracker.seeding import ensure_seeded

ROOT = Path(__file__).resolve().parent.parent

# Fixtures shared by several directories, loaded once here: a temporary PostGIS server (started only
# when a test asks for it) and the fake imagery services on 127.0.0.1.
pytest_plugins = ["tests.support.postgis", "tests.support.fake_wayback"]

# The network guard (tests/support/socket_guard.py): in this process, and in every Python process a
# test starts (through sitecustomize on PYTHONPATH), a connection to a non-loopback address or a look-up of
# a name other than localhost is refused and recorded; the test that made it fails at teardown even if its
# code caught the error.
_REFUSED: list[str] = []
_SOCKET_LOG = Path(tempfile.mkstemp(prefix="tracker-socket-guard-", suffix=".log")[1])
os.environ[socket_guard.SOCKET_LOG_ENV] = str(_SOCKET_LOG)
# The checkout comes next on PYTHONPATH: `python -m tracker` in a test's child process (whatever its working
# folder) runs this tree's code, not an installed copy (tests/test_environment.py checks it).
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (str(socket_guard.SITE_DIR), str(ROOT), os.environ.get("PYTHONPATH")) if p)
socket_guard.install(_REFUSED.append)


@pytest.hookimpl(optionalhook=True)  # xdist's hook: absent with `-p no:xdist`
def pytest_xdist_make_scheduler(config, log):
    """`make test`'s `--dist loadfile`: a file's tests on one worker, every browser test on one worker
    (tests/support/xdist_schedule.py says why it is a scheduler and not xdist_group marks)."""
    if config.getvalue("dist") != "loadfile":
        return None
    from tests.support.xdist_schedule import FilesAndBrowserScheduling

    return FilesAndBrowserScheduling(config, log)


@pytest.fixture(autouse=True)
def _no_outside_network():
    seen, logged = len(_REFUSED), _SOCKET_LOG.stat().st_size
    yield
    with _SOCKET_LOG.open(encoding="utf-8") as f:
        f.seek(logged)
        children = f.read().splitlines()
    refused = _REFUSED[seen:] + children
    if refused:
        pytest.fail("the test opened a socket to the outside network or looked up a name:\n" + "\n".join(refused),
                    pytrace=False)


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path, monkeypatch):
    # No test may touch the analyst's real registry or read a stray tracker.toml.
    monkeypatch.setenv("TRACKER_DATABASE", str(tmp_path / "default-registry.gpkg"))
    monkeypatch.setenv("TRACKER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TRACKER_CONFIG", str(tmp_path / "no-such-tracker.toml"))


@pytest.fixture
def store(tmp_path):
    s = GeoPackageStore(tmp_path / "registry.gpkg")
    yield s
    s.close()


@pytest.fixture
def seeded(store):
    ensure_seeded(store)
    return store


@pytest.fixture
def source():
    return Source(id="src-1", title="A report", url="https://example.org/r")


@pytest.fixture
def make_facility():
    def make(id="site-1", name="Site one", **kw):
        kw.setdefault("geometry", square())
        return Facility(id=id, name=name, **kw)

    return make


@pytest.fixture
def populated(store, source, make_facility):
    store.add_source(source, actor="t")
    store.add_facility(make_facility(source_ids=("src-1",)), actor="t")
    store.add_structure(Structure(id="site-1.a", facility_id="site-1", name="A",
                                  geometry=shapely.Point(127.655, 39.925)), actor="t")
    store.add_observation(Observation(id="obs-1", facility_id="site-1", date="2024-10", kind="progress",
                                      summary="roof", structure_id="site-1.a", source_ids=("src-1",)), actor="t")
    return store
