"""The services layer's exceptions: one root, `TrackerError`, with messages a user can act on.

The app shows them and the CLI prints them and exits 1. Errors that are also about the registry's
data (an undo the history cannot make, text that cannot be read) subclass the matching facilities
error too, so a caller that catches `FacilitiesError` keeps catching them.
"""

from __future__ import annotations


class TrackerError(Exception):
    """Root of the services layer's errors."""
