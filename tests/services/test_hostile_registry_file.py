"""Issue 14, the registry file itself: damaged, read-only, missing, out of room. Each through the `facilities`
command as a user runs it (a real process), each answered with one line naming the file, nothing changed."""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import subprocess
import sys
from pathlib import Path

import pytest

from facilities.model import Facility
from facilities.store import GeoPackageStore, open_store
from facilities.store.gpkg_faults import ReadOnlyRegistry
from tests.support.registry import square, store_digest

OBSERVE = ("observe", "february-11-plant", "--date", "2024", "--kind", "progress", "--summary", "seen")


def run(db: Path, *args: str, env: dict | None = None, prefix: tuple[str, ...] = ("-m", "tracker"),
        cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "TRACKER_ACTOR": "tester", **(env or {})}
    return subprocess.run([sys.executable, *prefix, "--db", str(db), *args], capture_output=True, text=True,
                          env=env, timeout=180, cwd=cwd or db.parent)


def one_error_line(res: subprocess.CompletedProcess, *words: str) -> str:
    assert res.returncode == 1, res
    assert "Traceback" not in res.stderr, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), res.stderr
    for w in words:
        assert w in lines[0], lines[0]
    return lines[0]


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def registry(tmp_path) -> Path:
    db = tmp_path / "r.gpkg"
    assert run(db, "init", "-q").returncode == 0
    return db


@pytest.fixture
def import_file(tmp_path) -> Path:
    feats = [{"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[
        [10 + i * 1e-3, 10], [10.0005 + i * 1e-3, 10], [10.0005 + i * 1e-3, 10.0005], [10 + i * 1e-3, 10.0005],
        [10 + i * 1e-3, 10]]]}, "properties": {"feature_type": "facility", "id": f"site-{i}",
                                              "name": f"Site {i} " + "x" * 200, "location_precision": "digitised",
                                              "status": "unknown"}} for i in range(2000)]
    path = tmp_path / "sites.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    return path


# ---------------------------------------------------------------- damaged file


def damage(db: Path) -> None:
    """Overwrite part of every page after the schema's: b-tree pages that no longer parse."""
    data = bytearray(db.read_bytes())
    for page in range(3, len(data) // 4096):
        data[page * 4096 + 100: page * 4096 + 400] = bytes(range(256)) + bytes(44)
    db.write_bytes(bytes(data))


@pytest.mark.parametrize("command", [("validate",), ("import", "{import}"), OBSERVE, ("show", "february-11-plant"),
                                     ("export", "-")])
def test_a_damaged_registry_is_named_and_never_written(registry, import_file, command):
    damage(registry)
    before = sha(registry)
    args = [a.replace("{import}", str(import_file)) for a in command]
    one_error_line(run(registry, *args), str(registry.name), "is damaged", "nothing was written")
    assert sha(registry) == before


def test_a_write_checks_the_whole_file_first(registry, import_file):
    """A write into a file whose damage no read has touched yet is refused too (quick_check before the first
    write); the import would otherwise have written into it and exited 0."""
    import sqlite3

    con = sqlite3.connect(registry)
    (root,) = con.execute("SELECT rootpage FROM sqlite_master WHERE name = 'observations'").fetchone()
    con.close()
    data = bytearray(registry.read_bytes())
    page = (root - 1) * 4096  # the observations table, which a facility import never reads
    data[page + 3: page + 5] = b"\xff\xff"  # its cell count: only a full check sees it
    registry.write_bytes(bytes(data))
    before = sha(registry)
    one_error_line(run(registry, "import", str(import_file)), "is damaged")
    assert sha(registry) == before


# ---------------------------------------------------------------- missing file


@pytest.mark.parametrize("command", [("list",), ("show", "x"), ("export", "-"), ("validate",)])
def test_reading_a_missing_registry_says_so_and_creates_nothing(tmp_path, command):
    db = tmp_path / "none" / "r.gpkg"
    one_error_line(run(db, *command, cwd=tmp_path), "does not exist", "nothing was created", "facilities init")
    assert not db.parent.exists()


def test_init_and_writes_create_a_missing_registry(tmp_path, import_file):
    assert run(tmp_path / "a.gpkg", "init", "-q", "--no-seed").returncode == 0
    assert run(tmp_path / "b.gpkg", "import", str(import_file)).returncode == 0
    assert (tmp_path / "a.gpkg").exists() and (tmp_path / "b.gpkg").exists()


# ---------------------------------------------------------------- read-only


def test_a_store_opened_read_only_reads_and_refuses_writes(tmp_path):
    """Exercises the read-only open (`mode=ro` URI, no WAL or pragma writes) whatever user runs the tests."""
    db = tmp_path / "r.gpkg"
    rw = GeoPackageStore(db)
    rw.add_facility(Facility(id="a", name="A", geometry=square()), actor="t")
    rw.close()
    before = store_digest(db), sha(db)
    ro = open_store(db, read_only=True)
    assert [f.id for f in ro.list_facilities()] == ["a"] and ro.check() == []
    with pytest.raises(ReadOnlyRegistry, match=r"r\.gpkg is read-only .*nothing was changed"):
        ro.add_facility(Facility(id="b", name="B", geometry=square(1, 1)), actor="t")
    ro.close()
    assert (store_digest(db), sha(db)) == before


NOBODY = """
import os, pwd, sys
sys.argv = ["facilities", *sys.argv[1:]]
from tracker.cli import facilities_main  # imported before dropping root: the interpreter may live in /root
import tracker.site, facilities.geojson_io  # noqa: F401 - imported lazily by commands
pw = pwd.getpwnam("nobody")
os.setgid(pw.pw_gid)
os.setuid(pw.pw_uid)
facilities_main()
"""


def _can_become_nobody() -> bool:
    try:
        pwd.getpwnam("nobody")
    except KeyError:
        return False
    return os.geteuid() == 0


@pytest.mark.skipif(not _can_become_nobody(), reason="needs root to drop to the user nobody")
@pytest.mark.parametrize("layout", ["file-0444", "folder-0555"])
def test_a_registry_the_user_cannot_write_is_read_and_writes_say_read_only(tmp_path_factory, import_file, layout):
    """Root ignores file modes, so the commands run as `nobody` (setuid in the child process): this proves a
    registry whose file (or folder) its user cannot write is read through the read-only open, with no -wal or
    -shm left where they cannot be created, and that writes fail with the read-only line."""
    import tempfile

    home = Path(tempfile.mkdtemp(prefix="h14-ro-"))
    try:
        home.chmod(0o755)
        folder = home / "reg"
        folder.mkdir()
        db = folder / "r.gpkg"
        assert run(db, "init", "-q").returncode == 0
        assert not db.with_name("r.gpkg-wal").exists()
        if layout == "file-0444":
            db.chmod(0o444)
            folder.chmod(0o777)  # sqlite may create the WAL index beside a read-only file
        else:
            db.chmod(0o666)
            folder.chmod(0o555)
        before = store_digest(db)
        env = {"HOME": str(home), "XDG_DATA_HOME": str(home), "XDG_CACHE_HOME": str(home),
               "TRACKER_CONFIG": str(home / "no-such-tracker.toml"), "TRACKER_DATABASE": str(db),
               "TRACKER_DATA_DIR": str(home / "data"),
               "XDG_CONFIG_HOME": str(home)}
        nobody = ("-c", NOBODY)
        listing = run(db, "list", "--json", env=env, prefix=nobody, cwd=home)
        assert listing.returncode == 0, listing.stderr
        assert {f["id"] for f in json.loads(listing.stdout)} == {"february-11-plant", "february-8-vinalon-complex"}
        assert run(db, "show", "february-11-plant", env=env, prefix=nobody, cwd=home).returncode == 0
        assert "ok (" in run(db, "validate", env=env, prefix=nobody, cwd=home).stdout
        readable = home / import_file.name
        readable.write_bytes(import_file.read_bytes())
        for command in (("import", str(readable)), OBSERVE):
            one_error_line(run(db, *command, env=env, prefix=nobody, cwd=home), "r.gpkg is read-only",
                           "nothing was changed")
        folder.chmod(0o755)
        assert store_digest(db) == before
    finally:
        for p in home.rglob("*"):
            p.chmod(0o777)
        subprocess.run(["rm", "-rf", str(home)], check=False)


# ---------------------------------------------------------------- out of room

FSIZE = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails with EFBIG instead of killing the process
import os
limit = int(os.environ["FSIZE_LIMIT"])
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
sys.argv = ["facilities", *sys.argv[1:]]
from tracker.cli import facilities_main
facilities_main()
"""


@pytest.mark.parametrize("room", [4096 * 10, 300_000, 900_000])
def test_an_import_that_runs_out_of_room_names_the_cause_and_stores_nothing(registry, import_file, room):
    """A real file-size limit (RLIMIT_FSIZE), not a mock: SQLite sees EFBIG as a disk I/O error; the user is
    told which limit was reached and the registry holds exactly what it held."""
    before = store_digest(registry)
    size = registry.stat().st_size
    res = run(registry, "import", str(import_file), prefix=("-c", FSIZE), env={"FSIZE_LIMIT": str(size + room)})
    one_error_line(res, "r.gpkg", "file-size limit", "nothing was changed")
    assert store_digest(registry) == before
    assert "ok (" in run(registry, "validate").stdout
