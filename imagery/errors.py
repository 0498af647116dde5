"""One exception family for imagery: every error a user can act on is an ImageryError."""

from __future__ import annotations


class ImageryError(Exception):
    """Root of every error raised by the imagery package."""


class UnknownProvider(ImageryError, KeyError):
    """A basemap or imagery provider name that is not in the catalogue."""

    def __str__(self) -> str:  # KeyError quotes its message; we want it plain
        return str(self.args[0]) if self.args else "unknown provider"


class RasterError(ImageryError):
    """A raster that cannot be used as given: wrong format, corrupt, unreadable."""


class UnsupportedFormat(RasterError):
    """The bytes are not a format we accept (only TIFF/BigTIFF and JPEG2000; never VRT)."""


class CorruptRaster(RasterError):
    """The header opened but the pixels (or the header itself) cannot be decoded."""


class TooLarge(RasterError):
    """The raster or the requested grid declares more pixels than the budget allows."""


class NotGeoreferenced(RasterError):
    """No CRS or no geotransform: the image cannot be placed on the map."""


class NoCoverage(RasterError):
    """The image does not cover the requested area."""


class AntimeridianCrossing(ImageryError, ValueError):
    """An area whose west edge is east of its east edge; it has to be split at 180 degrees."""


class DisplayOnly(ImageryError):
    """Pixels the provider's terms let the browser show but not the server read (Esri Wayback):
    compare such dates by swipe, or pick local, Sentinel-2 or Sentinel-2 cloudless dates."""


class GridMismatch(ImageryError, ValueError):
    """Two chips that are not on the same grid cannot be compared pixel for pixel."""


class StacError(ImageryError):
    """A STAC catalogue search or asset failed, or an asset points to a host not allowed."""


# Network errors: every message names the host and the reason, so the UI can say which service failed.


class NetworkError(ImageryError):
    """A remote imagery service could not give a usable answer."""

    def __init__(self, message: str, *, url: str = "", status: int | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.status = status


class ServiceUnavailable(NetworkError):
    """Connection refused or reset, or HTTP 5xx after the allowed retries: the service is down."""


class ServiceTimeout(NetworkError):
    """No complete answer within the deadline (a hang, or a slow drip that beats per-read timeouts)."""


class BadResponse(NetworkError):
    """An answer we cannot use: truncated, oversized, wrong content type, not an image, malformed JSON."""


class NotFoundError(NetworkError):
    """HTTP 404/410: no imagery (or no document) at this address. Not a fault of the service."""


class RateLimited(NetworkError):
    """HTTP 429 after the allowed retries."""


class RefusedURL(NetworkError):
    """A URL or redirect we will not follow: not https, or a private, loopback or link-local host."""


class OfflineError(NetworkError):
    """Offline mode: the network is not used and the cache does not hold this answer."""


class NotCacheable(ImageryError):
    """The provider's terms forbid storing this response on disk (e.g. Esri imagery tiles)."""


class AreaTooLarge(ImageryError, ValueError):
    """More tiles than the caller's budget: zoom out or draw a smaller area."""


class Cancelled(ImageryError):
    """The caller asked a long scan to stop (Ctrl-C in the CLI, the cancel button on the page)."""
