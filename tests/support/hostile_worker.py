"""Runs many CLI invocations in one process, as the entry points run them: `python -m tests.support.hostile_worker`
reads a JSON list of cases on stdin and writes a JSON list of outcomes on stdout.

Each case gets the entry point's own wrapper (`tracker.cli.facilities_main` / `report_main`) with its
argv and environment, stdout as strict UTF-8 and stderr as Python's (backslashreplace) over bytes, so
an exception that escapes the wrapper is exactly what a user would see as a traceback. One process
per class instead of one per case: a CLI start costs seconds on a shared machine, and the corpus has
hundreds of cases.
"""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import sys
import traceback
from pathlib import Path

from tests.support.registry import store_digest


class _Timeout(BaseException):
    pass


def _alarm(signum: int, frame: object) -> None:
    raise _Timeout()


def _point_log_handlers(stream: object) -> None:
    """Log handlers writing to a terminal stream write to `stream` (each case's stderr), as in a fresh process."""
    loggers = [logging.getLogger(), *(lg for lg in logging.Logger.manager.loggerDict.values()
                                      if isinstance(lg, logging.Logger))]
    for logger in loggers:
        for handler in logger.handlers:
            if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):
                handler.setStream(stream)  # type: ignore[arg-type]


def run_one(case: dict) -> dict:
    """One case: {"args", "program", "env", "cwd", "db", "timeout"} -> {"returncode", "stdout", "stderr",
    "escaped", "changed"}."""
    from tracker.cli import facilities_main, report_main

    main = facilities_main if case["program"] == "facilities" else report_main
    saved_env, saved_argv, saved_cwd = dict(os.environ), sys.argv, os.getcwd()
    saved_out, saved_err = sys.stdout, sys.stderr
    out, err = io.BytesIO(), io.BytesIO()
    db = Path(case["db"])
    before = store_digest(db) if db.is_file() else None
    code, escaped = 0, ""
    try:
        os.environ.clear()
        os.environ.update(case["env"])
        os.chdir(case["cwd"])
        sys.argv = [case["program"], *case["args"]]
        sys.stdout = io.TextIOWrapper(out, encoding="utf-8", errors="strict", write_through=True)
        sys.stderr = io.TextIOWrapper(err, encoding="utf-8", errors="backslashreplace", write_through=True)
        _point_log_handlers(sys.stderr)
        signal.alarm(int(case.get("timeout", 120)))
        try:
            main()
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        except _Timeout:
            code, escaped = -1, f"no answer within {case.get('timeout', 120)} s"
        except BaseException:  # noqa: BLE001 - what escapes the entry point is the finding
            code, escaped = 1, traceback.format_exc()
        finally:
            signal.alarm(0)
    finally:
        _point_log_handlers(saved_err)  # before the case's stderr is detached (setStream flushes the old one)
        for wrapper in (sys.stdout, sys.stderr):
            if wrapper not in (saved_out, saved_err):
                try:
                    wrapper.flush()
                    wrapper.detach()  # keep the bytes buffer open once the wrapper is dropped
                except (ValueError, OSError, UnicodeError):
                    pass
        sys.stdout, sys.stderr = saved_out, saved_err
        sys.argv = saved_argv
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
    changed = before is not None and db.is_file() and store_digest(db) != before
    return {"returncode": code, "stdout": out.getvalue().decode("utf-8", "replace"),
            "stderr": err.getvalue().decode("utf-8", "replace") + escaped, "changed": changed}


def main() -> None:
    """Read cases from stdin, write outcomes to stdout."""
    signal.signal(signal.SIGALRM, _alarm)
    cases = json.loads(sys.stdin.read())
    results = [run_one(case) for case in cases]
    sys.stdout.write(json.dumps(results))


if __name__ == "__main__":
    main()
