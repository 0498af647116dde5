"""The `cli` fixture of the article tests: `facilities` in a real process on a temporary registry."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


@pytest.fixture
def cli(tmp_path):
    env = {**os.environ, "TRACKER_DATABASE": str(tmp_path / "r.gpkg"), "TRACKER_ACTOR": "tester"}

    def run(*args: str, ok: bool = True, stdin: str = "") -> subprocess.CompletedProcess:
        res = subprocess.run([sys.executable, "-m", "tracker", *args], capture_output=True, text=True, env=env,
                             timeout=120, cwd=tmp_path, input=stdin)
        assert (res.returncode == 0) == ok, f"{args}: rc={res.returncode}\n{res.stdout}\n{res.stderr}"
        return res

    run("init", "-q")
    return run
