"""What the pages say when imagery services are off or failing: one sentence for the whole app, and one short
reason per error.

`availability(rows, offline)` reads the imagery session's status rows (ImagerySession.status, probed once per
browser session by the app) and `Availability.sentence` says in one sentence what is down and what still works.
`explain(err, what)` is the one place an error becomes page text: the error (and the library text it carries) is
logged, and the page gets "what: short reason" (imagery.errors.short_reason for imagery errors; the one-line
messages the registry and the services layer word themselves). No Streamlit here.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from facilities.errors import FacilitiesError
from imagery.errors import ImageryError, NetworkError, causes, short_reason

from .errors import TrackerError

log = logging.getLogger(__name__)

# the services the status probe asks (ImagerySession.status rows), as the pages name them
PROBED = ("Esri Wayback", "Sentinel-2 cloudless (EOX)")
# the Compare page's source for each probed service
SOURCE_OF = {"Esri Wayback": "Wayback", "Sentinel-2 cloudless (EOX)": "Sentinel-2 cloudless"}
WHAT_WORKS = "showing cached and local imagery; import a GeoTIFF to compare your own images"
OFFLINE_SENTENCE = f"Offline mode: online imagery is off, so the app is {WHAT_WORKS}."
UNREACHABLE_SENTENCE = f"Imagery services are unreachable: {WHAT_WORKS}."


@dataclass(frozen=True)
class Availability:
    """Which imagery services answer: offline mode, or the probed services that did not answer and why."""

    offline: bool = False  # offline mode is on: nothing online is asked
    down: Mapping[str, str] = field(default_factory=dict)  # service -> short reason
    unknown: bool = False  # the status itself could not be read

    @property
    def all_down(self) -> bool:
        """Nothing online can be shown: offline mode, or every probed service failed."""
        return self.offline or all(name in self.down for name in PROBED)

    @property
    def down_sources(self) -> frozenset[str]:
        """The Compare page's sources (Wayback, Sentinel-2 cloudless) whose layers cannot load now."""
        if self.all_down:
            return frozenset(SOURCE_OF.values()) | {"Sentinel-2 scenes"}
        return frozenset(SOURCE_OF[name] for name in self.down if name in SOURCE_OF)

    @property
    def sentence(self) -> str | None:
        """One sentence for the top of every page, None when every service answers."""
        if self.offline:
            return OFFLINE_SENTENCE
        if self.unknown:
            return "The imagery services' status could not be checked: if a map stays empty, they may be down."
        if self.all_down:
            return UNREACHABLE_SENTENCE
        if not self.down:
            return None
        names = list(self.down)
        reasons = sorted(set(self.down.values()))
        working = [name for name in PROBED if name not in self.down]
        subject = " and ".join(names)
        verb = "does" if len(names) == 1 else "do"
        return (f"{subject} {verb} not answer ({'; '.join(reasons)}): {'its' if len(names) == 1 else 'their'} "
                f"imagery will not load; {', '.join(working)} and local imagery still work.")


def availability(rows: Iterable[Mapping[str, object]], offline: bool) -> Availability:
    """The services' availability from ImagerySession.status rows ("reachable", "unreachable (reason)",
    "off (offline mode)")."""
    if offline:
        return Availability(offline=True)
    down: dict[str, str] = {}
    for row in rows:
        service, status = str(row.get("service", "")), str(row.get("status", ""))
        if service in PROBED and status.startswith("unreachable"):
            reason = status.removeprefix("unreachable").strip()
            down[service] = reason[1:-1] if reason.startswith("(") and reason.endswith(")") else reason or "no answer"
    return Availability(down=down)


def plain_reason(err: BaseException) -> str:
    """An error as a short reason a page can show: never a library's exception text."""
    if isinstance(err, ImageryError) or any(isinstance(c, NetworkError) for c in causes(err)):
        return short_reason(err)  # a services-layer error raised from a failed request says the request's reason
    if isinstance(err, FacilitiesError | TrackerError):
        text = str(err).strip()
        return text.splitlines()[0] if text else type(err).__name__
    if isinstance(err, OSError):
        return f"a file could not be read or written ({err.strerror or type(err).__name__})"
    return "unexpected error (see the log)"


def explain(err: BaseException, what: str) -> str:
    """'what: short reason' for a page, with the error and its library text logged (WARNING, with the traceback
    at DEBUG)."""
    log.warning("%s: %s", what, err, exc_info=log.isEnabledFor(logging.DEBUG))
    return f"{what}: {plain_reason(err)}"
