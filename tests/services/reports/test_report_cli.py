"""`tracker-report` commands against a temporary registry and local imagery."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from tests.support.cli import cli_env, run_cli
from tests.support.reports import make_imagery, make_store
from tracker.cli.report import app

pytestmark = pytest.mark.filterwarnings("ignore:Glyph:UserWarning")


def test_cli_writes_kml_geojson_figures_and_html(tmp_path, monkeypatch):
    make_store(tmp_path / "r.gpkg", observations=3).close()
    make_imagery(tmp_path, tmp_path / "data", ["2020-06-01", "2024-10-05"])
    monkeypatch.setenv("TRACKER_DATA_DIR", str(tmp_path / "data"))
    db = ["--db", str(tmp_path / "r.gpkg")]
    runner = CliRunner()
    done = runner.invoke(app, ["kml", str(tmp_path / "x.kmz"), *db])
    assert done.exit_code == 0, done.output
    assert (tmp_path / "x.kmz").stat().st_size > 500
    done = runner.invoke(app, ["geojson", str(tmp_path / "x.geojson"), "--from", "2020-01-01", *db])
    assert done.exit_code == 0, done.output
    assert json.loads((tmp_path / "x.geojson").read_text())["report"]["filters"]["date_from"] == "2020-01-01"
    done = runner.invoke(app, ["figures", "february-11-plant", "-o", str(tmp_path / "out"), "--dpi", "80", *db])
    assert done.exit_code == 0, done.output
    assert (tmp_path / "out" / "figures" / "february-11-plant-pair.png").exists()
    done = runner.invoke(app, ["html", "february-11-plant", "-o", str(tmp_path / "out"), *db])
    assert done.exit_code == 0, done.output
    assert (tmp_path / "out" / "february-11-plant.html").exists()


def test_cli_unknown_facility_is_an_error_not_a_traceback(tmp_path):
    make_store(tmp_path / "r.gpkg", observations=0).close()
    # the real entry point (CliRunner on the typer app exits 1 on a traceback too)
    done = run_cli(["html", "no-such-site", "--db", str(tmp_path / "r.gpkg")], env=cli_env(tmp_path), cwd=tmp_path,
                   program="tracker-report")
    assert done.clear_error and done.returncode == 1 and "no-such-site" in done.stderr, done


def test_one_cli_two_entry_points(tmp_path, monkeypatch):
    """`facilities --db X report html F` is `tracker-report html F --db X`: the registry named on the
    parent command is the one reported on (not TRACKER_DATABASE's)."""
    import tracker.cli as cli

    make_store(tmp_path / "r.gpkg", observations=1).close()
    monkeypatch.setenv("TRACKER_DATABASE", str(tmp_path / "elsewhere.gpkg"))
    runner = CliRunner()
    nested = runner.invoke(cli.registry_app, ["--db", str(tmp_path / "r.gpkg"), "report", "html",
                                              "february-11-plant", "-o", str(tmp_path / "a")])
    assert nested.exit_code == 0, nested.output
    alone = runner.invoke(cli.report_app, ["html", "february-11-plant", "--db", str(tmp_path / "r.gpkg"),
                                           "-o", str(tmp_path / "b")])
    assert alone.exit_code == 0, alone.output
    assert (tmp_path / "a" / "february-11-plant.html").exists() and (tmp_path / "b" / "february-11-plant.html").exists()
    assert not (tmp_path / "elsewhere.gpkg").exists()
    assert {c.name for c in cli.registry_app.registered_groups} == {"report", "imagery", "footprint", "watch"}
