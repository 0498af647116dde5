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


def test_make_tests_split_keeps_a_file_and_the_browser_tests_on_one_worker():
    # what `make test` runs (two workers, its --dist, tests/support/xdist_schedule.py) on two small files: each
    # file's tests on one worker (with pytest 9.2, `--dist loadgroup` and xdist_group marks had silently split them)
    import re

    dist = re.search(r"pytest -n \$\(TEST_WORKERS\) --dist (\w+)", (ROOT / "Makefile").read_text()).group(1)
    files = ["tests/facilities/test_sql_rules.py", "tests/facilities/test_bbox.py"]
    out = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "2", "--dist", dist,
                          "-v", *files], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:]
    workers: dict[str, set[str]] = {}
    for worker, path in re.findall(r"^\[(gw\d)\] .*? (tests/\S+?\.py)::", out.stdout, re.M):
        workers.setdefault(path, set()).add(worker)
    assert set(workers) == set(files) and all(len(w) == 1 for w in workers.values()), workers

    from tests.support.xdist_schedule import scope_of

    assert scope_of("tests/browser/test_browser_flow.py::test_find[1400]") == "browser"
    assert scope_of("tests/browser/test_browser_map.py::test_large") == "browser"
    assert scope_of("tests/ui/test_app_compare.py::test_x[a::b]") == "tests/ui/test_app_compare.py"
