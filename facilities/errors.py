"""One exception family for the registry: every error a user can act on is a FacilitiesError."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class FacilitiesError(Exception):
    """Root of every error raised by the facilities package."""


class ValidationError(FacilitiesError, ValueError):
    """A value (a field, a geometry, a date) is not acceptable; the message names it and why."""


@dataclass(frozen=True)
class FeatureProblem:
    """One rejected feature in an input file: its position, its id if it had one, and the reason."""

    index: int
    feature_id: str | None
    reason: str

    def __str__(self) -> str:
        who = f"feature {self.index}" + (f" (id {self.feature_id!r})" if self.feature_id else "")
        return f"{who}: {self.reason}"


class InputError(ValidationError):
    """An input document (GeoJSON file, form) is malformed; `problems` lists each bad feature."""

    def __init__(self, message: str, problems: Sequence[FeatureProblem] | None = None, source: str | None = None):
        self.problems = list(problems or [])
        self.source = source
        head = f"{source}: {message}" if source else message
        if self.problems:
            shown = "\n".join(f"  - {p}" for p in self.problems[:20])
            more = f"\n  ... and {len(self.problems) - 20} more" if len(self.problems) > 20 else ""
            head = f"{head}\n{shown}{more}"
        super().__init__(head)


class StoreError(FacilitiesError):
    """The store cannot do what was asked (unreadable file, newer schema, disk full...)."""


class OutputError(FacilitiesError, OSError):
    """A file cannot be written (a directory in the way, no permission, disk full, file-size limit); the message
    names the file. Nothing is left at its path: files are written whole or not at all. Also an OSError."""


class NotFound(StoreError, KeyError):
    """No record with the id asked for; also a KeyError, so mapping-style callers can catch it as one."""

    def __str__(self) -> str:  # KeyError quotes its message; we want it plain
        return str(self.args[0]) if self.args else "not found"


class DuplicateId(StoreError):
    """An id that must be new is already stored."""


class ConflictError(StoreError):
    """Someone else changed the record since it was read (optimistic locking)."""

    def __init__(self, message: str, *, stored: object = None, attempted: object = None):
        super().__init__(message)
        self.stored = stored
        self.attempted = attempted
