"""`facilities watch` as a user runs it (local images only, offline): add by filter, scan with --json and a notify
hook, the digest files, accept and dismiss, and every refusal one clear line with exit 1."""

from __future__ import annotations

import datetime as dt
import json
import sys

import numpy as np
from affine import Affine
from pyproj import Transformer
from shapely.geometry import box

from imagery.local import import_image
from tests.support.cli import cli_in
from tests.support.rasters import UTM52_ORIGIN, write_tif

X0, Y0 = UTM52_ORIGIN[0] + 20_000, UTM52_ORIGIN[1]


def _image(tmp_path, seed: int, day: str) -> None:
    rng = np.random.default_rng(seed)
    data = rng.integers(60, 200, (3, 400, 400), dtype=np.uint8)
    path = write_tif(tmp_path / f"img{seed}.tif", data, "EPSG:32652", Affine(0.5, 0, X0, 0, -0.5, Y0))
    import_image(path, tmp_path / "data", dt.date.fromisoformat(day))


def test_watch_commands_end_to_end(tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TRACKER_OFFLINE", "1")
    run = cli_in(tmp_path)
    run("init", "-q", "--no-seed")
    to_ll = Transformer.from_crs("EPSG:32652", "EPSG:4326", always_xy=True)
    (w, s), (e, n) = to_ll.transform(X0 + 50, Y0 - 150), to_ll.transform(X0 + 150, Y0 - 50)
    run("add", "Depot", "--id", "depot", "--country", "KP", "--category", "missile", "--geometry",
        box(w, s, e, n).wkt)
    run("add", "Elsewhere", "--id", "elsewhere", "--country", "IR", "--geometry", box(50, 30, 50.01, 30.01).wkt)

    refused = run("watch", "add", ok=False)
    assert refused.returncode == 1 and refused.stderr.strip().count("\n") == 0 and "--facility" in refused.stderr
    assert "watching 1 more" in run("watch", "add", "--country", "kp", "--category", "Missile").stdout
    assert run("watch", "list").stdout.startswith("depot\tnever reviewed")

    _image(tmp_path, 1, "2030-05-01")
    hook = tmp_path / "hook.py"
    hook.write_text("import sys, pathlib; pathlib.Path(sys.argv[1] + '.seen').write_text('ok')\n")
    out = run("watch", "scan", "--source", "local", "--json", "--no-progress",
              "--notify-command", f"{sys.executable} {hook}", "-o", str(tmp_path / "d" / "digest"))
    doc = json.loads(out.stdout)
    assert doc["sites"] == 1 and doc["sites_with_news"] == ["depot"] and doc["failures"] == {}
    assert (tmp_path / "d" / "digest.html.seen").read_text() == "ok"  # the hook got the digest's path
    assert (tmp_path / "d" / "digest.md").exists() and (tmp_path / "d" / "digest.geojson").exists()

    failing = run("watch", "scan", "--source", "local", "--no-progress", "--notify-command", "false", "-o",
                  str(tmp_path / "d" / "again"))
    assert "warning: --notify-command exited with 1" in failing.stderr  # reported, not fatal (exit 0)

    findings = json.loads(run("watch", "list", "--findings", "--json").stdout)
    assert [f["kind"] for f in findings] == ["new-local-image"]
    accepted = run("watch", "accept", findings[0]["id"]).stdout
    assert "accepted as observation obs-" in accepted
    listed = json.loads(run("watch", "list", "--json").stdout)[0]
    assert listed["reviewed_by"] == "tester" and listed["reviewed_keys"] == [findings[0]["after"]]
    again = run("watch", "dismiss", findings[0]["id"], ok=False)
    assert again.returncode == 1 and "already accepted" in again.stderr and "Traceback" not in again.stderr
    missing = run("watch", "accept", "find-nope", ok=False)
    assert missing.returncode == 1 and "no finding with id 'find-nope'" in missing.stderr
    bad = run("watch", "scan", "--since", "last week", ok=False)
    assert bad.returncode == 1 and "--since" in bad.stderr and "Traceback" not in bad.stderr
