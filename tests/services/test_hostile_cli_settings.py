"""Issue 14, part D: bad settings, odd command-line arguments and dates, files that are not files, and
writing where one cannot. Every refusal is one clear line (naming the setting, option or file), exit
non-zero, no traceback, and nothing written or half-written."""

from __future__ import annotations

import contextlib
import json
import os
import resource
import signal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from facilities.errors import InputError, OutputError
from facilities.files import read_import_file, write_atomically
from tests.support.cli import cli_env, run_cli
from tests.support.registry import store_digest
from tracker.cli.arguments import check_text_arguments, date_range, read_geometry
from tracker.errors import BadSetting
from tracker.settings import load_settings

PLANT = "february-11-plant"


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("seeded")
    res = run_cli(["init", "-q"], env=cli_env(tmp), cwd=tmp)
    assert res.returncode == 0, res
    return tmp


def refused(res, *words: str) -> str:
    assert res.clear_error, res
    line = res.stderr.strip().splitlines()[-1]
    for w in words:
        assert w in line, res
    return line


# -- settings ------------------------------------------------------------------------------------

BAD_ENV = [
    ({"TRACKER_MAX_IMPORT_MB": "abc"}, ["TRACKER_MAX_IMPORT_MB", "'abc'", "whole number"]),
    ({"TRACKER_MAX_IMPORT_MB": "0"}, ["TRACKER_MAX_IMPORT_MB", "above 0"]),
    ({"TRACKER_REQUEST_TIMEOUT": "0"}, ["TRACKER_REQUEST_TIMEOUT", "greater than 0"]),
    ({"TRACKER_REQUEST_TIMEOUT": "soon"}, ["TRACKER_REQUEST_TIMEOUT", "seconds"]),
    ({"TRACKER_IMAGERY_ALLOW_HOSTS": "localhost"}, ["TRACKER_IMAGERY_ALLOW_HOSTS", "JSON list"]),
    ({"TRACKER_IMAGERY_ALLOW_HOSTS": "[1, [2]]"}, ["TRACKER_IMAGERY_ALLOW_HOSTS"]),
    ({"TRACKER_LOG_LEVEL": "loud"}, ["TRACKER_LOG_LEVEL", "DEBUG"]),
    ({"TRACKER_SEED": "maybe"}, ["TRACKER_SEED", "true or false"]),
]


@pytest.mark.parametrize(("env", "words"), BAD_ENV, ids=[next(iter(e)) + "=" + next(iter(e.values()))
                                                          for e, _ in BAD_ENV])
def test_a_bad_environment_setting_is_named_in_one_line_by_every_entry_point(tmp_path, env, words):
    for program, args in (("facilities", ["list"]), ("tracker-report", ["kml", "x.kml"])):
        refused(run_cli(args, env=cli_env(tmp_path, **env), cwd=tmp_path, program=program), *words)
    with pytest.raises(BadSetting, match=words[0]):
        os.environ.update(env)
        try:
            load_settings()
        finally:
            for k in env:
                del os.environ[k]


def test_a_broken_settings_file_is_named_with_its_line(tmp_path):
    toml = tmp_path / "tracker.toml"
    toml.write_text('database = "x.gpkg"\nmax_import_mb = = 3\n', encoding="utf-8")
    line = refused(run_cli(["list"], env=cli_env(tmp_path, TRACKER_CONFIG=str(toml)), cwd=tmp_path))
    assert str(toml) in line and "TOML" in line and "line" in line


def test_a_bad_value_in_the_settings_file_names_the_key_and_the_file(tmp_path):
    toml = tmp_path / "tracker.toml"
    toml.write_text('max_import_mb = "lots"\nrequest_timeout = 0\n', encoding="utf-8")
    line = refused(run_cli(["list"], env=cli_env(tmp_path, TRACKER_CONFIG=str(toml)), cwd=tmp_path))
    assert "max_import_mb = 'lots' in" in line and "request_timeout = 0 in" in line and str(toml) in line


@pytest.mark.parametrize("kind", ["directory", "fifo", "binary"])
def test_a_settings_file_that_is_not_a_toml_file_is_refused(tmp_path, kind):
    target = tmp_path / "tracker.toml"
    if kind == "directory":
        target.mkdir()
    elif kind == "fifo":
        os.mkfifo(target)
    else:
        target.write_bytes(b"\xff\xfe\x00garbage")
    refused(run_cli(["list"], env=cli_env(tmp_path, TRACKER_CONFIG=str(target)), cwd=tmp_path), str(target))


def test_a_registry_path_that_is_a_directory_names_the_variable_or_the_option(tmp_path):
    folder = tmp_path / "registry.gpkg"
    folder.mkdir()
    refused(run_cli(["list"], env=cli_env(tmp_path, TRACKER_DATABASE=str(folder)), cwd=tmp_path),
            "TRACKER_DATABASE", "directory")
    refused(run_cli(["--db", str(folder), "list"], env=cli_env(tmp_path), cwd=tmp_path), "--db", "directory")
    refused(run_cli(["pdf", PLANT], env=cli_env(tmp_path, TRACKER_DATABASE=str(folder)), cwd=tmp_path,
                    program="tracker-report"), "TRACKER_DATABASE")


def test_a_setting_that_is_not_utf8_is_refused(tmp_path):
    env = {**cli_env(tmp_path), "TRACKER_ACTOR": "ok"}
    env_b = {k.encode(): v.encode() for k, v in env.items()}
    env_b[b"TRACKER_ACTOR"] = b"analyst\xff"
    import subprocess
    import sys
    res = subprocess.run([sys.executable, "-m", "tracker", "list"], env=env_b, cwd=tmp_path, capture_output=True,
                         timeout=120)
    err = res.stderr.decode("utf-8", "replace")
    assert res.returncode == 1 and "Traceback" not in err and "TRACKER_ACTOR" in err and "UTF-8" in err


def test_the_app_shows_a_bad_setting_and_stops(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("TRACKER_DATABASE", str(tmp_path / "r.gpkg"))
    monkeypatch.setenv("TRACKER_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("TRACKER_MAX_IMPORT_MB", "two hundred")
    at = AppTest.from_file(str(Path(__file__).resolve().parents[2] / "app.py"), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    assert len(at.error) == 1 and "TRACKER_MAX_IMPORT_MB" in at.error[0].value
    assert not (tmp_path / "r.gpkg").exists()


# -- arguments -----------------------------------------------------------------------------------

@pytest.mark.parametrize("geometry", ["[1,2]", "5", "null", '"POLYGON"', "{}", "true", '{"type":"Point"}',
                                      '{"type":"Polygon","coordinates":"x"}', '{"type":"Feature"}',
                                      '{"type":"FeatureCollection","features":[]}', "POLYGON((", "", "  ",
                                      "[" * 100000, "a\x01b", "/dev/zero", "/", "/proc/self/status"])
def test_a_geometry_that_is_not_one_is_a_clear_error_and_nothing_is_added(seeded, geometry):
    before = store_digest(seeded / "registry.gpkg")
    res = run_cli(["add", "Odd", "--geometry", geometry], env=cli_env(seeded), cwd=seeded, timeout=60)
    refused(res)
    assert store_digest(seeded / "registry.gpkg") == before


@settings(max_examples=150, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
                        st.sampled_from(["type", "coordinates", "geometry", "features", "x"]), inner, max_size=4),
                    max_leaves=12))
def test_any_json_is_a_geometry_or_an_input_error(value):
    text = json.dumps(value)
    try:
        read_geometry(text)
    except InputError as err:
        assert str(err).startswith("--geometry") and "\n" not in str(err)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_any_text_is_a_geometry_or_an_input_error(text):
    with contextlib.suppress(InputError):
        read_geometry(text)


def test_report_dates_are_the_registry_commands_partial_dates(seeded):
    env = cli_env(seeded)
    out = seeded / "rep"
    ok = run_cli(["geojson", str(out / "r.geojson"), "--facility", PLANT, "--from", "2020", "--to", "2021-06"],
                 env=env, cwd=seeded, program="tracker-report")
    assert ok.returncode == 0, ok
    assert run_cli(["export", str(out / "e.geojson"), "--from", "2020"], env=env, cwd=seeded).returncode == 0
    assert date_range("2020", "2021-06") == (date_range("2020-01-01", None)[0], date_range(None, "2021-06-30")[1])
    for args in (["--from", "2020x"], ["--from", "2020-13"], ["--to", "1066"], ["--from", "2021", "--to", "2020"]):
        refused(run_cli(["kml", str(out / "k.kml"), *args], env=env, cwd=seeded, program="tracker-report"),
                args[0])
        refused(run_cli(["export", str(out / "x.geojson"), *args], env=env, cwd=seeded), args[0])
    assert not (out / "k.kml").exists() and not (out / "x.geojson").exists()


@pytest.mark.parametrize("arg", [b"\xff", b"plant-\xc3", b"\xed\xa0\x80"])
def test_an_argument_that_is_not_utf8_is_refused_before_anything_runs(seeded, arg):
    before = store_digest(seeded / "registry.gpkg")
    env = cli_env(seeded)
    for args in (["show", arg], ["add", arg, "--geometry", "POINT (1 1)"], ["add-source", "--id", arg, "--title", "t"],
                 ["--actor", arg, "init"]):
        line = refused(run_cli(args, env=env, cwd=seeded), "UTF-8")
        assert "argument" in line
    refused(run_cli(["pdf", arg], env=env, cwd=seeded, program="tracker-report"), "UTF-8")
    assert store_digest(seeded / "registry.gpkg") == before
    with pytest.raises(InputError):
        check_text_arguments([arg.decode("utf-8", "surrogateescape")])


# -- files that are not files --------------------------------------------------------------------

def _not_files(tmp: Path) -> dict[str, Path]:
    fifo = tmp / "pipe.geojson"
    if not fifo.exists():
        os.mkfifo(fifo)
    folder = tmp / "folder.geojson"
    folder.mkdir(exist_ok=True)
    return {"dev-zero": Path("/dev/zero"), "fifo": fifo, "directory": folder, "proc": Path("/proc/self/status"),
            "dev-urandom": Path("/dev/urandom")}


@pytest.mark.parametrize("kind", ["dev-zero", "fifo", "directory", "proc", "dev-urandom"])
def test_import_validate_ingest_refuse_what_is_not_a_regular_file(seeded, kind):
    path = _not_files(seeded)[kind]
    before = store_digest(seeded / "registry.gpkg")
    env = cli_env(seeded)
    for args in (["import", str(path)], ["validate", str(path)], ["ingest", str(path)]):
        if args[0] == "ingest" and kind == "directory":
            continue  # a folder is read as its article files (none here)
        res = run_cli(args, env=env, cwd=seeded, timeout=60)
        if kind == "proc":  # a regular file whose st_size is 0: read (capped), then refused as not GeoJSON/text
            assert not res.traceback and res.returncode in (0, 1), res
        else:
            refused(res, str(path), "not a regular file")
    assert store_digest(seeded / "registry.gpkg") == before


def test_the_read_cap_holds_when_st_size_lies(tmp_path):
    with pytest.raises(InputError, match="not a regular file"):
        read_import_file("/dev/zero", 1000)
    assert len(read_import_file("/proc/self/status", 1 << 20)) > 0  # st_size 0, content read
    with pytest.raises(InputError, match="larger than the limit"):
        read_import_file("/proc/self/status", 10)  # the cap counts what is read, not what stat says
    with pytest.raises(InputError, match="cannot read"):
        read_import_file(tmp_path / "missing.geojson", 10)


# -- writing where one cannot ------------------------------------------------------------------

def test_export_and_reports_to_a_directory_or_below_a_file_are_one_line(seeded):
    env = cli_env(seeded)
    folder = seeded / "out.geojson"
    folder.mkdir(exist_ok=True)
    blocker = seeded / "blocker"
    blocker.write_text("a file", encoding="utf-8")
    cases = [("facilities", ["export", str(folder)]), ("facilities", ["export", str(blocker / "x.geojson")]),
             ("tracker-report", ["kml", str(folder)]), ("tracker-report", ["geojson", str(folder)]),
             ("tracker-report", ["kml", str(blocker / "x.kmz")]),
             ("tracker-report", ["html", PLANT, "-o", str(blocker)])]
    for program, args in cases:
        refused(run_cli(args, env=env, cwd=seeded, program=program), "cannot write")
    assert folder.is_dir() and not any(folder.iterdir()) and blocker.read_text(encoding="utf-8") == "a file"
    assert not list(seeded.glob("**/*.part"))


def _fsize_limit(limit: int):
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def test_export_past_the_file_size_limit_leaves_nothing_and_says_so(tmp_path):
    from shapely.geometry import Point

    env = cli_env(tmp_path)
    assert run_cli(["init", "-q", "--no-seed"], env=env, cwd=tmp_path).returncode == 0
    big = Point(10, 10).buffer(0.05, quad_segs=2000)  # 8000 vertices: an export of about 180 KB
    (tmp_path / "big.wkt").write_text(big.wkt, encoding="utf-8")
    assert run_cli(["add", "Big", "--geometry", str(tmp_path / "big.wkt")], env=env, cwd=tmp_path).returncode == 0
    full = tmp_path / "full.geojson"
    assert run_cli(["export", str(full)], env=env, cwd=tmp_path).returncode == 0
    limit = full.stat().st_size // 2  # reading the registry writes nothing; only the export meets the limit
    assert limit > 64 * 1024  # room for SQLite's shared-memory file
    out = tmp_path / "cut.geojson"
    res = run_cli(["export", str(out)], env=env, cwd=tmp_path, preexec_fn=_fsize_limit(limit))
    refused(res, "cannot write", "file-size limit")
    res = run_cli(["kml", str(tmp_path / "cut.kml")], env=env, cwd=tmp_path, preexec_fn=_fsize_limit(limit),
                  program="tracker-report")
    assert not res.traceback, res
    assert not out.exists() and not (tmp_path / "cut.kml").exists() and not list(tmp_path.glob(".*.part"))


def test_write_atomically_names_the_file_and_keeps_the_old_one(tmp_path):
    target = tmp_path / "a.geojson"
    target.write_text("old", encoding="utf-8")

    def chunks():
        yield "new"
        raise OSError(28, "No space left on device")

    with pytest.raises(OutputError, match="a.geojson: the disk is full"):
        write_atomically(target, chunks())
    assert target.read_text(encoding="utf-8") == "old" and not list(tmp_path.glob("*.part"))
    with pytest.raises(OutputError, match="is a directory"):
        write_atomically(tmp_path, ["x"])
