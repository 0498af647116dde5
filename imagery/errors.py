"""One exception family for imagery: every error a user can act on is an ImageryError."""

from __future__ import annotations


class ImageryError(Exception):
    """Root of every error raised by the imagery package."""


class UnknownProvider(ImageryError, KeyError):
    """A basemap or imagery provider name that is not in the catalogue."""

    def __str__(self) -> str:  # KeyError quotes its message; we want it plain
        return str(self.args[0]) if self.args else "unknown provider"
