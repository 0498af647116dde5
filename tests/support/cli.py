"""The CLI as a user runs it, for hostile-input tests: a real process, bytes in and out, and the
one rule every refusal must keep (exit 1 or 2, a short message, never a traceback)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

TRACEBACK = "Traceback (most recent call last)"
ENTRY = {"facilities": "tracker.cli:facilities_main", "tracker-report": "tracker.cli:report_main"}


@dataclass(frozen=True)
class Run:
    """One command's outcome."""

    args: tuple[str | bytes, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def traceback(self) -> bool:
        """A Python traceback reached the user."""
        return TRACEBACK in self.stderr or TRACEBACK in self.stdout

    @property
    def clear_error(self) -> bool:
        """Refused the way a user should see it: exit 1 or 2 and a short message with no traceback."""
        lines = [ln for ln in self.stderr.splitlines() if ln.strip()]
        return self.returncode in (1, 2) and not self.traceback and 0 < len(lines) <= 30

    def __str__(self) -> str:
        return f"{self.args!r}: rc={self.returncode}\n{self.stdout[-2000:]}\n{self.stderr[-3000:]}"


def run_cli(args: Sequence[str | bytes], *, env: Mapping[str, str], cwd: str | os.PathLike[str],
            program: str = "facilities", timeout: float = 180,
            preexec_fn: Callable[[], None] | None = None, stdin: bytes = b"") -> Run:
    """`facilities ARGS` (or `tracker-report ARGS`) in a subprocess; arguments may be bytes (not UTF-8)."""
    module, func = ENTRY[program].split(":")
    code = f"import sys; sys.argv[0] = {program!r}; from {module} import {func}; {func}()"
    argv: list[str | bytes] = [sys.executable, "-c", code, *args]
    res = subprocess.run(argv, capture_output=True, env=dict(env), cwd=cwd, timeout=timeout, input=stdin,
                         preexec_fn=preexec_fn)
    return Run(tuple(args), res.returncode, res.stdout.decode("utf-8", "replace"),
               res.stderr.decode("utf-8", "replace"))


def cli_env(tmp: Path, **extra: str) -> dict[str, str]:
    """An environment with its own registry, data folder and (absent) settings file under `tmp`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    env.update(TRACKER_DATABASE=str(tmp / "registry.gpkg"), TRACKER_DATA_DIR=str(tmp / "data"),
               TRACKER_CONFIG=str(tmp / "none.toml"), TRACKER_ACTOR="tester", MPLBACKEND="Agg")
    env.update(extra)
    return env


def cli_in(tmp_path: Path, *, init: bool = False) -> Callable[..., subprocess.CompletedProcess]:
    """`facilities` in a real process on tmp_path/r.gpkg (actor "tester"): run(*args, ok=True, stdin="") asserts
    the exit status it expects and returns the finished process; `init` creates the registry first."""
    env = {**os.environ, "TRACKER_DATABASE": str(tmp_path / "r.gpkg"), "TRACKER_ACTOR": "tester"}

    def run(*args: str, ok: bool = True, stdin: str = "") -> subprocess.CompletedProcess:
        res = subprocess.run([sys.executable, "-m", "tracker", *args], capture_output=True, text=True, env=env,
                             timeout=120, cwd=tmp_path, input=stdin)
        assert (res.returncode == 0) == ok, f"{args}: rc={res.returncode}\n{res.stdout}\n{res.stderr}"
        return res

    if init:
        run("init", "-q")
    return run
