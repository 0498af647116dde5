"""Between the registry's `ImageRef` (what an observation stores) and imagery's `ImageKey` (what a
layer is called): the one place that converts, so the model and imagery never learn of each other.
"""

from __future__ import annotations

import datetime as dt

from facilities.dates import PartialDate
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


def image_ref(key: ImageKey, acquired: dt.date | None = None) -> ImageRef:
    """What an observation records of the image it was made on."""
    return ImageRef(provider=key.provider, image_id=key.image_id,
                    acquired=PartialDate.parse(acquired.isoformat()) if acquired else None)


def image_label(ref: ImageRef | None) -> str:
    """'provider · image id · acquired', or '' when the observation names no image."""
    if ref is None:
        return ""
    return " · ".join(str(x) for x in (ref.provider, ref.image_id, ref.acquired) if x)
