"""The images an observation's notes name, as image keys.

An accepted change (tracker.change) stores the later image as the observation's image and names the
earlier one in its notes ("before local:<sha256> (2023-04-01, stated)"); an accepted dating
(tracker.dating) names both bounding images there ("Absent on local:<sha256> (…); present on …").
Both write the key as `str(ImageKey)`, "provider:image_id", so the keys are read back here by that
form, for the known providers only (a word such as "note:" is not a key). The model has one image per
observation; this is how the provenance appendix finds the others without a schema change.
"""

from __future__ import annotations

import re

from imagery.keys import ImageKey
from imagery.local import PROVIDER as LOCAL
from imagery.mosaics import KEY as EOX
from imagery.stac import PROVIDER as SENTINEL2
from imagery.wayback import PROVIDER as WAYBACK

PROVIDERS = (LOCAL, SENTINEL2, EOX, WAYBACK)
# provider:image_id; ids are release numbers, years, STAC item ids (two joined by '+'), sha256 hex
_KEY = re.compile(r"(?<![\w:-])(" + "|".join(re.escape(p) for p in PROVIDERS) + r"):([A-Za-z0-9_+\-.]+)")


def keys_named(text: str) -> list[ImageKey]:
    """The image keys written in `text`, in order of first mention, each once (a sentence's final full stop is not
    part of an id)."""
    seen: dict[ImageKey, None] = {}
    for m in _KEY.finditer(text or ""):
        ident = m.group(2).rstrip(".")
        if ident:
            seen.setdefault(ImageKey(m.group(1), ident), None)
    return list(seen)
