"""The `facilities` command as a user runs it: a real process, real exit codes."""

import json

import pytest

from tests.support.cli import cli_in


@pytest.fixture
def cli(tmp_path):
    return cli_in(tmp_path)


def test_init_is_idempotent_and_loads_the_seed_once(cli):
    first = cli("init")
    assert "seed: added 4 source, 2 facility, 2 structure, 13 observation" in first.stdout
    again = cli("init")
    assert "seed:" not in again.stdout and "2 facilities" in again.stdout


def test_list_and_show_the_plant(cli):
    cli("init", "-q")
    listing = json.loads(cli("list", "--json").stdout)
    assert {f["id"] for f in listing} == {"february-11-plant", "february-8-vinalon-complex"}
    shown = cli("show", "february-11-plant").stdout
    assert "Stabilimento 11 Febbraio (it)" in shown and "approximate" in shown
    assert "observations (13):" in shown and "Rakwon Machine Complex" in shown


def test_add_observe_export_round(cli, tmp_path):
    cli("init", "-q", "--no-seed")
    cli("add-source", "--id", "my-notes", "--title", "Analyst notes <draft>")
    cli("add", "Test <b>site</b>", "--geometry", "POLYGON((10 10, 10.01 10, 10.01 10.01, 10 10.01, 10 10))",
        "--country", "ir", "--alias", "Sito di prova@it", "--source", "my-notes", ok=False)  # country must be KP-like
    cli("add", "Test <b>site</b>", "--geometry", "POLYGON((10 10, 10.01 10, 10.01 10.01, 10 10.01, 10 10))",
        "--country", "IR", "--alias", "Sito di prova@it", "--source", "my-notes")
    out = cli("observe", "test-b-site-b", "--date", "~2024-03", "--kind", "progress", "--summary", "New hall",
              "--image-provider", "Esri Wayback", "--image-id", "56102", "--image-date", "2023-11-30",
              "--source", "my-notes").stdout
    assert "recorded obs-" in out
    report = tmp_path / "out" / "report.geojson"
    cli("export", str(report), "--facility", "test-b-site-b", "--from", "2024")
    data = json.loads(report.read_text())
    obs = [f for f in data["features"] if f["properties"]["feature_type"] == "observation"]
    assert obs[0]["properties"]["image_id"] == "56102" and obs[0]["properties"]["analyst"] == "tester"
    assert obs[0]["properties"]["sources"][0]["title"] == "Analyst notes <draft>"
    assert "valid: 1 facilities" in cli("validate", str(report)).stdout
    assert "ok (" in cli("validate").stdout


@pytest.mark.parametrize("args, message", [
    (("show", "nope"), "no facility with id 'nope'"),
    (("export", "x.geojson", "--facility", "nope"), "no facility with id 'nope'"),
    (("export", "x.geojson", "--bbox", "1,2,3"), "four numbers"),
    (("observe", "february-11-plant", "--date", "2024-02-30", "--kind", "visit", "--summary", "x"),
     "does not exist"),
    (("observe", "february-11-plant", "--date", "2024", "--kind", "visit", "--summary", "x", "--source", "ghost"),
     "unknown source ids"),
    (("import", "missing.geojson"), "cannot read"),
    (("add", "X", "--geometry", "POINT(1 2)"), "Polygon or MultiPolygon, got Point"),
])
def test_errors_are_one_clear_line_and_a_nonzero_exit(cli, args, message):
    cli("init", "-q")
    res = cli(*args, ok=False)
    assert message in res.stderr
    assert "Traceback" not in res.stderr


def test_import_reports_bad_feature_and_changes_nothing(cli, tmp_path):
    cli("init", "-q")
    bad = tmp_path / "bad.geojson"
    bad.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "ok"},
         "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}},
        {"type": "Feature", "properties": {"name": "swapped"},
         "geometry": {"type": "Polygon", "coordinates": [[[39.9, 127.6], [39.91, 127.6], [39.91, 127.61],
                                                          [39.9, 127.6]]]}}]}))
    res = cli("import", str(bad), ok=False)
    assert "feature 1" in res.stderr and "latitude, longitude order" in res.stderr
    assert len(json.loads(cli("list", "--json").stdout)) == 2
    res = cli("import", str(bad), "--skip-invalid")
    assert "added 1 facility" in res.stdout and "skipped feature 1" in res.stderr


def test_a_command_starts_without_the_drawing_and_pixel_libraries():
    """Every command imports the whole CLI; matplotlib, scipy and scikit-image (about a second of a 1.5-2 s start,
    bench/cli_start_bench.py) are imported only by the commands that draw, trace footprints or measure change."""
    import subprocess
    import sys

    code = ("import sys; import tracker.cli; "
            "print(' '.join(m for m in ('matplotlib', 'scipy', 'skimage') if m in sys.modules))")
    # the checkout is on the child's PYTHONPATH (tests/conftest.py)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
