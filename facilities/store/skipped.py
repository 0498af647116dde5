"""Records a read skips because the model refuses a stored value (edited outside the app: QGIS, GDAL,
SQL), and where the reader finds out which.

A listing, an iteration or an export never fails as a whole on one bad row: the row is left out and
a `SkippedRecord` naming its table, id and column is handed to whoever collects them
(`SqlStore.collect_skipped()`), and logged. The collector is per thread, so one session's skips
never reach another's screen.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SkippedRecord:
    """One record a read left out: its table, id, the column the model refused, and why."""

    table: str
    id: str
    column: str
    detail: str

    def __str__(self) -> str:
        return f"{self.table} {self.id!r} {self.column}: {self.detail}; skipped"


class Collectors:
    """The skip lists open on each thread (nested `collect` blocks each get every skip)."""

    def __init__(self) -> None:
        self._local = threading.local()

    @contextmanager
    def collect(self) -> Iterator[list[SkippedRecord]]:
        """A list that receives, in order and once each, the records skipped by reads inside the block."""
        stack = self._stack()
        found: list[SkippedRecord] = []
        stack.append(found)
        try:
            yield found
        finally:  # by identity: two empty lists are equal
            del stack[next(i for i, f in enumerate(stack) if f is found)]

    def report(self, problems: list[SkippedRecord]) -> None:
        """Hand skipped records to this thread's open collectors (and the log)."""
        for p in problems:
            log.info("%s", p)  # the caller shows them (CLI: one line each on stderr)
        for found in self._stack():
            found += [p for p in dict.fromkeys(problems) if p not in found]

    def _stack(self) -> list[list[SkippedRecord]]:
        stack = getattr(self._local, "stack", None)
        if stack is None:
            stack = self._local.stack = []
        return stack


def parse_problem(table: str, ident: str, line: str) -> SkippedRecord:
    """A `row_checks` line ("<table> '<id>' <column>: <detail>") as a SkippedRecord."""
    head = f"{table} {ident!r} "
    rest = line[len(head):] if line.startswith(head) else line
    column, _, detail = rest.partition(": ")
    return SkippedRecord(table, ident, column, detail or rest)
