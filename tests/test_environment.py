"""What the suite's child processes run, and the conventions that must not depend on the machine."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_a_child_python_started_elsewhere_imports_this_checkout(tmp_path: Path):
    # `python -m tracker` from a temporary folder, as the CLI tests run it: the checkout's packages, not an
    # installed copy (tests/conftest.py puts the checkout on PYTHONPATH)
    code = "import facilities, imagery, tracker, tracker.cli, ui; print(tracker.__file__, facilities.__file__)"
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=dict(os.environ), capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert all(Path(f).is_relative_to(ROOT) for f in out.stdout.split()), out.stdout
    assert os.environ["PYTHONPATH"].split(os.pathsep)[1] == str(ROOT)
