"""The services layer's exceptions: one root, `TrackerError`, with messages a user can act on.

The app shows them and the CLI prints them and exits 1. Errors that are also about the registry's
data (an undo the history cannot make, text that cannot be read) subclass the matching facilities
error too, so a caller that catches `FacilitiesError` keeps catching them.
"""

from __future__ import annotations

from facilities.errors import FacilitiesError, ValidationError


class TrackerError(Exception):
    """Root of the services layer's errors."""


# -- undo (tracker.undo re-exports these) -----------------------------------------------------------

class UndoError(TrackerError, FacilitiesError):
    """An undo that cannot be done; the message says why and what to do instead."""


class NothingToUndo(UndoError):
    """The actor has no change left to undo."""


class UndoConflict(UndoError):
    """The record changed since the change being undone (someone else edited it, or it is gone)."""


# -- article reading (tracker.articles.reading re-exports this) ------------------------------------

class TextInputError(TrackerError, ValidationError):
    """The input cannot be read as text (binary, too large, empty); the message says which."""


# -- settings (tracker.settings raises this) -------------------------------------------------------

class BadSetting(TrackerError, ValueError):
    """A setting (environment variable, tracker.toml key or command-line option) has a value that cannot be used;
    the message names the setting, the value and what is expected."""


# -- dating (tracker.dating raises this) -----------------------------------------------------------

class NothingToDate(TrackerError):
    """No image of the site that the server may read (only Esri Wayback, or nothing imported), or a proposal
    without a change to record; the message says which and what to do."""


# -- timelapse (tracker.reports.timelapse raises this) ---------------------------------------------

class NothingToAnimate(TrackerError):
    """No frame a server-made timelapse may show (only Esri Wayback, nothing imported, or every image left out);
    the message says which and what to do."""


# -- evidence export (tracker.reports.evidence raises this) ----------------------------------------

class OutputNotEmpty(TrackerError):
    """The output directory already holds files (or is not a directory); the message names it and says that
    --force replaces an earlier export's files there."""
