"""Temporary files killed writers left behind are removed by the next run, and nothing else is.

A kill -9 during an export leaves `.<name>.<host>-<pid>.<random>.part`; a killed image import
leaves its upload folder and a half-written COG. The next export to the folder (or the next image
import) removes those whose process is gone or that are a day old; live writers' files, other
hosts' recent files, symlinks and unrelated names stay.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import tempfile
import time

import pytest

from facilities import geojson_io
from facilities.stale import PART_FILE, STALE_AFTER_S, is_stale, owner_tag, pid_alive, sweep_part_files
from imagery.errors import ImageryError
from tests.support.reports import make_store
from tracker.imports import UPLOAD_DIR, import_image_upload

HOST = owner_tag().rsplit("-", 1)[0]


@pytest.fixture(scope="module")
def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert not pid_alive(child.pid)
    return child.pid


def _make(path, size=1000, age_s=0.0):
    path.write_bytes(b"x" * size)
    if age_s:
        then = time.time() - age_s
        os.utime(path, (then, then))
    return path


def test_export_removes_a_killed_writers_part_file_and_keeps_live_ones(tmp_path, dead_pid):
    store = make_store(tmp_path / "r.gpkg", observations=1)
    out = tmp_path / "out"
    out.mkdir()
    stale = _make(out / f".export.geojson.{HOST}-{dead_pid}.abcd1234.part", size=1 << 20)
    mine = _make(out / f".export.geojson.{owner_tag()}.zzzz9999.part")  # this process: a write in progress
    live = _make(out / f".export.geojson.{HOST}-1.live0001.part")  # pid 1 exists
    other_host = _make(out / f".export.geojson.elsewhere-{dead_pid}.host0001.part")  # a shared folder
    other_host_old = _make(out / f".export.geojson.elsewhere-{dead_pid}.host0002.part", age_s=STALE_AFTER_S + 60)
    untagged_new = _make(out / ".export.geojson.k3j4h5g6.part")  # an older version's name
    untagged_old = _make(out / ".export.geojson.k3j4h5g7.part", age_s=STALE_AFTER_S + 60)
    unrelated = [_make(out / ".notes.part"), _make(out / "movie.mkv.part", age_s=STALE_AFTER_S + 60),
                 _make(out / f"export.geojson.{HOST}-{dead_pid}.abcd1234.part")]  # no leading dot
    target = tmp_path / "elsewhere.bin"
    target.write_bytes(b"keep")
    link = out / f".link.{HOST}-{dead_pid}.abcd1235.part"
    link.symlink_to(target)

    geojson_io.write_export(store, out / "export.geojson")

    assert (out / "export.geojson").exists()
    assert not stale.exists() and not other_host_old.exists() and not untagged_old.exists()
    for kept in (mine, live, other_host, untagged_new, *unrelated, link, target):
        assert kept.exists() or kept.is_symlink(), kept
    assert {p.name for p in out.glob(".*.part")} >= {mine.name, live.name}
    # and the export's own part file is gone after the rename
    assert not [p for p in out.glob(f".export.geojson.{owner_tag()}.*.part") if p != mine]


def test_a_write_names_its_part_file_with_host_and_pid(tmp_path, monkeypatch):
    seen = []
    real = tempfile.mkstemp

    def spy(*args, **kwargs):
        fd, name = real(*args, **kwargs)
        seen.append(os.path.basename(name))
        return fd, name

    monkeypatch.setattr(tempfile, "mkstemp", spy)
    from facilities.files import write_atomically
    write_atomically(tmp_path / "a.txt", ["x"])
    assert len(seen) == 1 and seen[0].startswith(f".a.txt.{owner_tag()}.")
    match = PART_FILE.match(seen[0])
    assert match and match["pid"] == str(os.getpid()) and match["host"] == HOST
    assert not is_stale(match, time.time(), time.time())


def test_stale_rule_for_hosts_with_dashes_and_digits(dead_pid):
    for host in ("web-1", "a1-2-3", "h"):
        match = PART_FILE.match(f".r.kml.{host}-{dead_pid}.abcdefgh.part")
        assert match and match["host"] == host and match["pid"] == str(dead_pid)


def test_sweep_never_raises_on_a_missing_or_unreadable_folder(tmp_path):
    assert sweep_part_files(tmp_path / "missing") == []


def test_image_import_removes_killed_imports_upload_folders_and_half_written_cogs(tmp_path, monkeypatch, dead_pid):
    tmp_root = tmp_path / "tmp"
    tmp_root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_root))
    data_dir = tmp_path / "data"
    (data_dir / "imagery").mkdir(parents=True)
    stale_dir = tmp_root / f"tracker-upload.{HOST}-{dead_pid}.abcd1234"
    stale_dir.mkdir()
    _make(stale_dir / "scene.tif", size=1 << 20)
    live_dir = tmp_root / f"tracker-upload.{HOST}-1.abcd1235"
    live_dir.mkdir()
    old_untagged = tmp_root / "tracker-upload-q1w2e3r4"
    old_untagged.mkdir()
    os.utime(old_untagged, (time.time() - STALE_AFTER_S - 60,) * 2)
    new_untagged = tmp_root / "tracker-upload-q1w2e3r5"  # maybe another engineer's import in progress
    new_untagged.mkdir()
    digest = "ab" * 32
    stale_cog = _make(data_dir / "imagery" / f".{digest}.{dead_pid}.tmp.tif", size=1 << 20)
    live_cog = _make(data_dir / "imagery" / f".{digest}.1.tmp.tif")
    stored = _make(data_dir / "imagery" / f"{digest}.tif")

    with pytest.raises(ImageryError):  # not a TIFF: refused, but the sweep ran first
        import_image_upload(b"not a tiff", "scene.tif", data_dir, dt.date(2024, 1, 1))

    assert not stale_dir.exists() and not old_untagged.exists() and not stale_cog.exists()
    assert live_dir.exists() and new_untagged.exists() and live_cog.exists() and stored.exists()
    assert UPLOAD_DIR.match(stale_dir.name)["pid"] == str(dead_pid)
    assert not [p for p in tmp_root.iterdir() if p.name.startswith(f"tracker-upload.{owner_tag()}.")]
