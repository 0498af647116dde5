"""Between the registry's `ImageRef` (what an observation stores) and imagery's `ImageKey` (what a
layer is called): the one place that converts, so the model and imagery never learn of each other.
"""

from __future__ import annotations

import datetime as dt

from facilities.annotations import DrawnOn
from facilities.model import ImageRef
from imagery.errors import ImageryError
from imagery.keys import ImageKey


def image_key(ref: ImageRef | None) -> ImageKey | None:
    """The imagery key of a stored reference; None when it names no image id (or cannot be a key)."""
    if ref is None or not ref.image_id:
        return None
    try:
        return ImageKey(ref.provider, ref.image_id)
    except ImageryError:  # a provider with ':' typed into an import: no layer can match it
        return None


def drawn_on(key: ImageKey, acquired: dt.date | None = None) -> DrawnOn:
    """What an observation drawn on a layer records of its image (the registry's ImageRef is made
    from this), so that its "open image" link finds the same layer again."""
    return DrawnOn(provider=key.provider, image_id=key.image_id, acquired=acquired.isoformat() if acquired else None)


LABEL_ID_CHARS = 12  # a longer image id (a local import's sha256, a scene id) is cut to this and '…' in labels


def image_label(ref: ImageRef | None) -> str:
    """'provider · image id · acquired', or '' when the observation names no image. A long id is shortened
    (12 characters and '…', still a unique key prefix the commands accept): a 64-character hash in a table
    cell says nothing to a reader and breaks the layout; the full key stays in exports and the provenance."""
    if ref is None:
        return ""
    ident = ref.image_id
    if ident and len(ident) > LABEL_ID_CHARS + 4 and not any(c.isspace() for c in ident):  # words stay whole
        ident = ident[:LABEL_ID_CHARS] + "…"
    return " · ".join(str(x) for x in (ref.provider, ident, ref.acquired) if x)
