"""Which observations were measured from the pixels, and on which two images (pure).

`facilities imagery change --accept` (tracker.change.change_observation) and `facilities built --accept`
(tracker.dating.accept_dating) record an observation whose notes name the image before and the
image after; `image` is the one after. The report draws each such pair side by side, so it reads the
two keys back from the notes in this one place: a change to either notes format shows up here.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from facilities.model import Observation
from imagery.keys import ImageKey

# change: "Measured from the pixels: before local:abc… (2021-04-02, stated), after local:def… (2023-10-09, stated); …"
_CHANGE = re.compile(r"^Measured from the pixels: before (?P<before>\S+) \((?P<bday>[^,)]*)[,)].*?"
                     r"after (?P<after>\S+) \((?P<aday>[^,)]*)[,)]")
# dating: "Absent on local:abc… (2021-04-02); present on local:def… (2023-10-09). Method: …"
_DATING = re.compile(r"^(?P<old>Absent|Present) on (?P<before>\S+) \((?P<bday>[^)]*)\); (?:present|absent) on "
                     r"(?P<after>\S+) \((?P<aday>[^)]*)\)")


@dataclass(frozen=True)
class MeasuredPair:
    """An observation measured from two images: `kind` "change" (changed regions) or "dating" (a bracket)."""

    observation: Observation
    kind: str
    before: ImageKey
    after: ImageKey
    before_day: dt.date | None
    after_day: dt.date | None

    @property
    def method(self) -> str:
        """The method as the observation's notes or summary state it ('' when neither says)."""
        text = f"{self.observation.notes or ''} {self.observation.summary}"
        found = re.search(r"Method: ([^.;]+(?:\.[0-9][^.;]*)?)", text)
        return found.group(1).strip() if found else ""


def _day(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        return None


def measured_pair(o: Observation) -> MeasuredPair | None:
    """The two images an accepted change or dating observation was measured on; None for any other observation."""
    notes = o.notes or ""
    for kind, pattern in (("change", _CHANGE), ("dating", _DATING)):
        found = pattern.match(notes)
        if found:
            try:
                before, after = ImageKey.parse(found["before"]), ImageKey.parse(found["after"])
            except ValueError:
                return None
            return MeasuredPair(o, kind, before, after, _day(found["bday"]), _day(found["aday"]))
    return None
