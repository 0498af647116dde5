"""Planetary Computer's signed asset URLs: SAS tokens from its token endpoint, fetched through the project's client.

Planetary Computer's blob storage refuses unsigned reads. The `planetary-computer` package (a declared extra)
defines the token answer (`SASToken`: `token`, `msft:expiry`) and how a blob URL names its account and
container; the token itself is fetched here through `imagery.http.HttpClient` (deadline, retries, allowed
hosts, user agent) from a configurable endpoint, not by the package's own requests session, so a test or a
mirror serves it from 127.0.0.1 like every other answer.

Hrefs are signed when they are read, never when they are listed: a token lasts about an hour and a timeline
lives longer. A token is reused until less than `REFRESH_S` of it is left; a blob server that answers 403 to
a signed URL gets one fresh token (`sign(..., fresh=True)`), then the reader says so.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .errors import ImageryError, StacError
from .http import HttpClient

DEFAULT_TOKEN_URL = "https://planetarycomputer.microsoft.com/api/sas/v1/token"
BLOB_DOMAIN = ".blob.core.windows.net"
REFRESH_S = 60.0  # a token with less than this left is replaced before use (the package's own margin)


def planetary_computer_module() -> ModuleType:
    """The `planetary-computer` package; StacError naming the extra to install when it is missing."""
    try:
        import planetary_computer
    except ImportError as err:
        raise StacError("Planetary Computer needs the 'planetary-computer' package to sign asset URLs; "
                        "install it (pip install 'facility-tracker[planetary-computer]') or use Earth Search") from err
    return planetary_computer


def blob_container(href: str) -> tuple[str, str] | None:
    """(account, container) of an Azure blob URL, None for any other URL (left unsigned)."""
    parts = urlsplit(href)
    host = (parts.hostname or "").lower()
    if not host.endswith(BLOB_DOMAIN):
        return None
    segments = [s for s in parts.path.split("/") if s]
    if len(segments) < 2:
        raise StacError(f"blob URL {href!r} names no container")
    return host.split(".")[0], segments[0]


class BlobSigner:
    """Signs Planetary Computer blob URLs with SAS tokens from `token_url`, one token per container, renewed
    before it expires; thread-safe (SCL windows are read in parallel)."""

    def __init__(self, client: HttpClient, token_url: str | None = None,
                 now: Callable[[], dt.datetime] | None = None) -> None:
        self.client = client
        self.token_url = (token_url or DEFAULT_TOKEN_URL).rstrip("/")
        self._now = now or (lambda: dt.datetime.now(dt.UTC))
        self._tokens: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()
        self.fetched = 0  # tokens fetched (tests, benches)

    def sign(self, href: str, *, fresh: bool = False) -> str:
        """`href` with a SAS token as its query (replacing any it had); URLs outside blob storage unchanged.

        `fresh`: fetch a new token even if the cached one has not expired (after a 403)."""
        container = blob_container(href)
        if container is None:
            return href
        token = self._token(container, fresh)
        parts = urlsplit(href)
        bare = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
        return str(token.sign(bare).href)

    def _token(self, container: tuple[str, str], fresh: bool) -> Any:
        with self._lock:
            token = self._tokens.get(container)
            if token is not None and not fresh and self._seconds_left(token) >= REFRESH_S:
                return token
            token = self._fetch(*container)
            self._tokens[container] = token
            return token

    def _seconds_left(self, token: Any) -> float:
        expiry = token.expiry if token.expiry.tzinfo else token.expiry.replace(tzinfo=dt.UTC)
        return float((expiry - self._now()).total_seconds())

    def _fetch(self, account: str, container: str) -> Any:
        sas = planetary_computer_module().sas
        url = f"{self.token_url}/{account}/{container}"
        try:
            answer = self.client.get(url, expect="json").json()
        except ImageryError as err:
            raise StacError(f"Planetary Computer token endpoint {url} failed: {err}") from err
        try:
            token = sas.SASToken(**answer) if isinstance(answer, dict) else None
        except (TypeError, ValueError) as err:  # pydantic's ValidationError is a ValueError
            raise StacError(f"Planetary Computer token endpoint {url} answered without a usable token "
                            "('token' and 'msft:expiry' expected)") from err
        if token is None or not token.token:
            raise StacError(f"Planetary Computer token endpoint {url} answered without a token")
        self.fetched += 1
        if self._seconds_left(token) <= 0:
            raise StacError(f"Planetary Computer token endpoint {url} gave a token that expired at "
                            f"{token.expiry.isoformat()}")
        return token
