"""A throwaway PostgreSQL + PostGIS server for the tests, on 127.0.0.1 only.

Loaded for the suite by tests/conftest.py; the server starts only when a test asks for it.
The session fixture runs initdb in a temporary directory, starts the server with pg_ctl on a free
port (listen_addresses=127.0.0.1, its socket in that directory), builds a template database with
the PostGIS extension, and stops and removes everything at the end. `pg_url` gives each test a
fresh database cloned from that template.

If the PostgreSQL server binaries are missing the PostGIS cases are skipped, except under CI
(CI=true), where a missing server is a failure: the team backend must not go untested silently.
`make test` installs the PostGIS package (`make postgis`) when it is missing.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

BINDIR = Path(os.environ.get("PG_BINDIR", "/usr/lib/postgresql/15/bin"))
POSTGIS_CONTROL = Path("/usr/share/postgresql/15/extension/postgis.control")
TEMPLATE = "facilities_template"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgServer:
    """One temporary cluster; `stop(mode)` and `start()` let fault tests pull the plug."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.log = root / "server.log"
        self.port = _free_port()
        # initdb and postgres refuse to run as root: run them as the postgres system user then
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self._names = itertools.count()

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        res = subprocess.run([*self._as, *args], capture_output=True, text=True, timeout=timeout)
        if res.returncode != 0:
            log = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
            raise RuntimeError(f"{' '.join(args)} failed ({res.returncode}):\n{res.stdout}\n{res.stderr}\n{log}")
        return res

    def init(self) -> None:
        self._run(str(BINDIR / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                  "--no-locale", "--no-sync")

    def start(self) -> None:
        # fsync off: the faults tested are a killed server process, not a lost OS page cache
        opts = (f"-k {self.root} -p {self.port} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c max_connections=60 -c shared_buffers=128MB")
        self._run(str(BINDIR / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
                  "-o", opts, "start")

    def stop(self, mode: str = "fast") -> None:
        self._run(str(BINDIR / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def running(self) -> bool:
        return subprocess.run([*self._as, str(BINDIR / "pg_ctl"), "-D", str(self.data), "status"],
                              capture_output=True).returncode == 0

    def url(self, db: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{db}"

    def sql(self, statement: str, db: str = "postgres") -> None:
        import psycopg

        with psycopg.connect(self.url(db), autocommit=True, connect_timeout=10) as con:
            con.execute(statement)

    def new_database(self) -> str:
        name = f"t{os.getpid()}_{next(self._names)}"
        self.sql(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
        return self.url(name)


@contextlib.contextmanager
def running_cluster(prefix: str) -> Iterator[PgServer]:
    """A throwaway cluster on 127.0.0.1 with a PostGIS template database; removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    if os.geteuid() == 0:  # initdb refuses root: the cluster belongs to the postgres user
        pw = pwd.getpwnam("postgres")
        os.chown(root, pw.pw_uid, pw.pw_gid)
    server = PgServer(root)
    try:
        server.init()
        server.start()
        server.sql(f"CREATE DATABASE {TEMPLATE}")
        server.sql("CREATE EXTENSION postgis", db=TEMPLATE)
        yield server
    finally:
        if server.running():
            with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                server.stop("fast")
        shutil.rmtree(root, ignore_errors=True)


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"PostGIS tests cannot run under CI: {reason}", pytrace=False)
    pytest.skip(f"PostGIS tests skipped: {reason}")


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    if not (BINDIR / "initdb").exists() or not (BINDIR / "pg_ctl").exists():
        _unavailable(f"no PostgreSQL server binaries in {BINDIR} (apt-get install postgresql)")
    if not POSTGIS_CONTROL.exists():
        pytest.fail(f"PostGIS is not installed ({POSTGIS_CONTROL} missing): run `make postgis`", pytrace=False)
    with running_cluster("facilities-pg-") as server:
        yield server


@pytest.fixture
def pg_url(pg_server: PgServer) -> str:
    """A fresh, empty database with PostGIS enabled, for one test."""
    if not pg_server.running():  # a fault test that failed half-way may have left it stopped
        pg_server.start()
    return pg_server.new_database()
