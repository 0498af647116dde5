"""One exception family for imagery: every error a user can act on is an ImageryError."""

from __future__ import annotations

import socket


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


NO_ADDRESS = "its address could not be looked up: no network, or no name server"


def causes(err: BaseException) -> list[BaseException]:
    """The error and what it was raised from (its __cause__ or __context__, and theirs), outermost first."""
    seen: list[BaseException] = []
    cur: BaseException | None = err
    while cur is not None and all(cur is not s for s in seen):
        seen.append(cur)
        cur = cur.__cause__ or cur.__context__
    return seen


def _connect_reason(err: BaseException) -> str:
    """Why a connection failed, from the library errors it was raised from (their text is never shown)."""
    for cause in causes(err):
        name = type(cause).__name__
        if isinstance(cause, socket.gaierror) or "NameResolution" in name:
            return NO_ADDRESS
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, ConnectionResetError):
            return "connection reset"
        if "SSL" in name:
            return "secure connection failed"
        if "RemoteDisconnected" in name or isinstance(cause, ConnectionAbortedError):
            return "connection closed without an answer"
    text = str(err)
    if "cannot resolve" in text:
        return NO_ADDRESS
    return "could not connect"


def short_reason(err: BaseException) -> str:
    """Why an imagery request failed, in a few plain words a page can show ("timed out", "service error, HTTP 503",
    "connection refused"): the one mapping of error kinds to reasons. Never a library's exception text (that goes
    to the log); errors this package words itself (a raster that is too large, display-only imagery) keep their
    own one-line message."""
    # a wrapper (a STAC search failure) says what its network cause says
    err = next((c for c in causes(err) if isinstance(c, NetworkError)), err)
    if isinstance(err, OfflineError):
        return "offline mode: not kept on this machine"
    if isinstance(err, ServiceTimeout):
        return "timed out"
    if isinstance(err, RateLimited):
        return "too many requests; try again in a few minutes"
    if isinstance(err, NotFoundError):
        return f"nothing at this address, HTTP {err.status}" if err.status else "nothing at this address"
    if isinstance(err, ServiceUnavailable):
        return f"service error, HTTP {err.status}" if err.status else _connect_reason(err)
    if isinstance(err, RefusedURL):
        return "address refused: only public https addresses are fetched"
    if isinstance(err, BadResponse):
        return f"an answer that cannot be used, HTTP {err.status}" if err.status else "an answer that cannot be used"
    if isinstance(err, NetworkError):
        return "the service gave no usable answer"
    if isinstance(err, StacError) and len(causes(err)) > 1:  # raised from a library's error: its text is not ours
        return "the catalogue gave no usable answer"
    if isinstance(err, ImageryError):
        line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        return line if len(line) <= 300 else line[:297] + "..."
    return "unexpected error (see the log)"
