"""The identity of one image across the imagery package: provider and the provider's own id.

Written as text "provider:image_id" in URLs (the compare view's ?image=...) and split in one
place, here. Providers never contain ':'; ids may (they are split on the first ':').

    >>> ImageKey.parse("esri-wayback:45134")
    ImageKey(provider='esri-wayback', image_id='45134')
    >>> str(ImageKey("eox-s2cloudless", "2020"))
    'eox-s2cloudless:2020'
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ImageryError


class BadImageKey(ImageryError, ValueError):
    """Text that is not "provider:image_id"; the message quotes it."""


@dataclass(frozen=True, order=True)
class ImageKey:
    """Names one image across sources, 'provider:image_id' (e.g. esri-wayback:56102, local:<sha256>), as observations
    store it."""

    provider: str  # "esri-wayback", "eox-s2cloudless", "sentinel-2-l2a", "local", ...
    image_id: str  # release number, year of a composite, STAC item id, file sha256

    def __post_init__(self) -> None:
        if not self.provider or ":" in self.provider or not self.image_id:
            raise BadImageKey(f"not an image key: provider {self.provider!r}, id {self.image_id!r}")

    def __str__(self) -> str:
        return f"{self.provider}:{self.image_id}"

    @classmethod
    def parse(cls, text: str) -> ImageKey:
        """The key written as 'provider:image_id'; BadImageKey if the text is not one."""
        provider, sep, image_id = (text or "").partition(":")
        if not sep:
            raise BadImageKey(f"{text!r} is not an image key (provider:image_id)")
        return cls(provider, image_id)
