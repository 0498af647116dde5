"""A non-editable install carries its seeds: the wheel is built from this checkout, installed into a
fresh virtual environment, and seeds a registry and loads the reader's lexicon from a directory that
is not the checkout (so nothing can be read from ../seeds by accident)."""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def _run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{args}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_a_wheel_installed_elsewhere_seeds_a_registry_and_reads_its_lexicon(tmp_path):
    # built from a copy: an in-tree build would leave build/ in the checkout, whose stale modules
    # a later build would pack again
    src = tmp_path / "src"
    top_level = {"build", "tests", "bench", "notebooks", "test-output", "data"}

    def skip(folder: str, names: list[str]) -> set[str]:
        junk = {n for n in names if n.startswith(".") or n == "__pycache__" or n.endswith(".egg-info")}
        return junk | (top_level & set(names) if Path(folder) == ROOT else set())

    shutil.copytree(ROOT, src, ignore=skip)
    wheels = tmp_path / "wheels"
    # no build isolation: the test venv's setuptools builds it, nothing is downloaded
    _run(sys.executable, "-m", "pip", "wheel", src, "--no-deps", "--no-build-isolation", "-q", "-w", wheels,
         cwd=tmp_path)
    wheel = next(wheels.glob("facility_tracker-*.whl"))

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    # The dependencies come from this test's environment, appended after the new venv's own
    # site-packages; as a plain path, so its .pth files (the editable install's finder) are not run.
    new_site = Path(_run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])",
                         cwd=tmp_path).strip())
    (new_site / "_test_dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n", encoding="utf-8")
    # --ignore-installed: the editable install of the checkout is visible through that .pth, and pip would
    # otherwise take it for this very version already installed and install nothing
    _run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", "--ignore-installed",
         "-q", wheel, cwd=tmp_path)

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACKER_", "PYTHON"))}
    env["HOME"] = str(tmp_path / "home")  # no default registry or config of the user's
    where = _run(python, "-c", "import tracker, tracker.package_data as p; print(tracker.__file__); "
                 "print(p.seeds_dir())", cwd=elsewhere, env=env).split()
    assert all(Path(w).is_relative_to(env_dir) for w in where), where  # the installed copy, its own seeds

    db = tmp_path / "registry.gpkg"
    out = _run(python, "-m", "tracker", "--db", db, "init", cwd=elsewhere, env=env)
    assert "seed:" in out
    listed = json.loads(_run(python, "-m", "tracker", "--db", db, "list", "--json", cwd=elsewhere, env=env))
    assert "february-11-plant" in {f["id"] for f in listed}
    systems = _run(python, "-c", "from tracker.articles.resources import load_resources; "
                   "print(sorted(s.designation for s in load_resources().systems))", cwd=elsewhere, env=env)
    assert "KN-23" in systems
