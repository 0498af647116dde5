"""`facilities imagery timeline|import` as a user runs them (a real process, the fake Wayback on 127.0.0.1):
the timeline's JSON contract, the plant by id or alias, local images listed with the rest, the whole timeline
offline once scanned, and every refusal one clear line (exit 1 or 2, no traceback, nothing imported)."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from rasterio.transform import from_bounds

from imagery.timeline import FIELDS
from tests.support.cli import cli_env, run_cli
from tests.support.rasters import scene, write_cog

PLANT = "february-11-plant"


@pytest.fixture
def env(tmp_path, server) -> dict[str, str]:
    host = urlsplit(server.base).netloc
    e = cli_env(tmp_path, TRACKER_WAYBACK_CONFIG_URL=f"{server.base}/config/waybackconfig.json",
                TRACKER_WAYBACK_SERVICE_ROOT=f"{server.base}/wayback/MapServer",
                TRACKER_WAYBACK_TILE_URL=f"{server.base}/wayback/tile/{{release}}/{{z}}/{{y}}/{{x}}",
                TRACKER_WAYBACK_SUBDOMAINS="[]", TRACKER_IMAGERY_ALLOW_HOSTS=json.dumps([host]),
                TRACKER_EOX_TILE_URL=f"{server.base}/xyz/{{z}}/{{x}}/{{y}}.png", TRACKER_REQUEST_TIMEOUT="5")
    res = run_cli(["init", "-q"], env=e, cwd=tmp_path)
    assert res.returncode == 0, res
    return e


def plant_image(path: Path) -> Path:
    data = scene(64, 64)
    return write_cog(path, data, "EPSG:4326", from_bounds(127.652, 39.918, 127.661, 39.924, 64, 64))


def test_timeline_json_contract_with_wayback_eox_and_an_imported_image_then_offline(tmp_path, env, server):
    imported = run_cli(["imagery", "import", f"{plant_image(tmp_path / 'plant.tif')}=2021-05-03",
                        "--sensor", "Pléiades", "--licence", "analyst's own"], env=env, cwd=tmp_path)
    assert imported.returncode == 0, imported
    key = imported.stdout.split("\t")[0]
    assert key.startswith("local:") and len(key) == len("local:") + 64

    res = run_cli(["imagery", "timeline", "Feb 11", "--json", "--no-progress"], env=env, cwd=tmp_path)  # an alias
    assert res.returncode == 0, res
    entries = json.loads(res.stdout)
    assert all(tuple(e) == FIELDS for e in entries)  # exactly the contract's keys
    assert [e["date"] for e in entries] == sorted(e["date"] for e in entries)
    by_provider: dict[str, list[dict]] = {}
    for e in entries:
        by_provider.setdefault(e["provider"], []).append(e)
        assert e["key"] == f"{e['provider']}:{e['image_id']}"
    wayback = by_provider["esri-wayback"]
    assert {e["image_id"] for e in wayback} == {"64001", "13192", "45134", "23448", "10"}
    assert all(not e["analysable"] and e["release_date"] for e in wayback)
    mixed = next(e for e in wayback if e["image_id"] == "45134")
    assert mixed["date_certainty"] == "captured" and len(mixed["other_dates"]) == 1  # parts on another day
    assert {mixed["date"], *mixed["other_dates"]} == {"2022-11-04", "2022-05-01"}
    assert next(e for e in wayback if e["image_id"] == "10")["date_certainty"] == "released"
    assert {e["date_certainty"] for e in by_provider["eox-s2cloudless"]} == {"composite"}
    local = by_provider["local"]
    assert [(e["key"], e["date"], e["date_certainty"], e["analysable"]) for e in local] == [
        (key, "2021-05-03", "stated", True)]
    assert server.counts["tile"] == 0  # the tilemap's sizes decided: no Esri tile was downloaded

    server.counts.clear()
    offline = run_cli(["imagery", "timeline", PLANT, "--json", "--source", "wayback", "--source", "local"],
                      env={**env, "TRACKER_OFFLINE": "1"}, cwd=tmp_path)
    assert offline.returncode == 0, offline
    assert server.counts["total"] == 0
    again = json.loads(offline.stdout)
    assert [e["key"] for e in again] == [e["key"] for e in entries if e["provider"] in ("esri-wayback", "local")]

    text = run_cli(["imagery", "timeline", PLANT, "--from", "2022", "--to", "2023", "--source", "wayback"], env=env,
                   cwd=tmp_path)
    assert text.returncode == 0 and "UTC" in text.stdout and "esri-wayback:45134" in text.stdout, text


REFUSALS = [
    (["imagery", "timeline", "no-such-site"], "no facility"),
    (["imagery", "timeline", PLANT, "--source", "landsat"], "landsat"),
    (["imagery", "timeline", PLANT, "--from", "2024", "--to", "2020"], "--from"),
    (["imagery", "timeline", PLANT, "--from", "May"], "--from"),
    (["imagery", "import", "{tif}"], "capture date"),
    (["imagery", "import", "{tif}", "--captured", "2021-13-01"], "--captured"),
    (["imagery", "import", "{tif}", "--captured", "1959-12-31"], "outside"),
    (["imagery", "import", "{tif}", "--captured", "2999-01-01"], "outside"),
    (["imagery", "import", "{tif}=yesterday"], "not a capture date"),
    (["imagery", "import", "{dir}", "--captured", "2021-01-01"], "directory"),
    (["imagery", "import", "{missing}", "--captured", "2021-01-01"], "cannot read"),
    (["imagery", "import", "{text}", "--captured", "2021-01-01"], "not imported"),
    (["imagery", "import", "{tif}=2021-01-01", "{text}=2021-01-02"], "not imported"),
    (["imagery", "import", "/dev/zero", "--captured", "2021-01-01"], "device"),
]


def test_every_refusal_is_one_clear_line_and_imports_nothing(tmp_path, env):
    files = {"tif": str(plant_image(tmp_path / "ok.tif")), "dir": str(tmp_path), "missing": str(tmp_path / "nope.tif"),
             "text": str(tmp_path / "notes.tif")}
    Path(files["text"]).write_text("not an image")
    counts = {"tried": 0, "clear": 0}
    for args, words in REFUSALS:
        args = [a.format(**files) for a in args]
        res = run_cli(args, env=env, cwd=tmp_path)
        counts["tried"] += 1
        assert res.clear_error, res
        assert words in res.stderr, res
        counts["clear"] += 1
    imported = Path(env["TRACKER_DATA_DIR"]) / "imagery"
    # the last multi-file case imported its good first file before refusing the second: say which
    assert len(list(imported.glob("*.json"))) <= 1 if imported.exists() else True
    assert counts == {"tried": len(REFUSALS), "clear": len(REFUSALS)}
