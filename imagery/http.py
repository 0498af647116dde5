"""The one HTTP client imagery/ uses: deadlines, bounded retries, bounded concurrency, typed errors.

`requests` has no default timeout, and its read timeout applies per socket read, so a server that
drips one byte a second never times out. Here every call has a total deadline (retries included)
and the body is read in small pieces, checking the clock between them. Redirects are followed by
hand so each hop is checked: no plain http, no private, loopback, link-local, CGNAT or other
non-public addresses (cloud metadata at 169.254.169.254) in any spelling, checked on the address
actually connected to (imagery.addresses), except hosts the caller allow-lists (the tests' 127.0.0.1).
"""

from __future__ import annotations

import email.utils
import http.client
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
import urllib3
from requests.structures import CaseInsensitiveDict

from .addresses import GuardedHTTPAdapter, check_address, host_allowed, is_local_name, numeric_address, resolve_checked
from .errors import (
    BadResponse,
    ImageryError,
    NetworkError,
    NotFoundError,
    OfflineError,
    RateLimited,
    RefusedURL,
    ServiceTimeout,
    ServiceUnavailable,
)
from .json_safe import parse_json
from .limits import LocalLimiter, RequestLimiter

log = logging.getLogger(__name__)

PROJECT_URL = "https://github.com/facility-tracker/facility-tracker"  # also [project.urls] in pyproject.toml
SLOW_S = 5.0  # a call that took longer than this (retries included) is logged as slow
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"RIFF", b"II*\x00", b"MM\x00*")


def _version() -> str:
    try:
        return metadata.version("facility-tracker")
    except metadata.PackageNotFoundError:  # running from a checkout that is not installed
        return "0.1.0"


USER_AGENT = f"facility-tracker/{_version()} (+{PROJECT_URL})"


@dataclass(frozen=True)
class HttpConfig:
    """Timeouts, retries, size limits and host rules of the imagery HTTP client."""

    connect_timeout: float = 5.0
    read_timeout: float = 15.0  # per socket read
    deadline: float = 30.0  # total per call, retries and backoff included
    retries: int = 3  # extra attempts after the first
    backoff: float = 0.5  # first backoff; doubles per attempt, with jitter
    backoff_max: float = 8.0
    retry_after_max: float = 10.0  # a server asking for longer is not waited on beyond this
    max_bytes: int = 32 * 1024 * 1024
    concurrency: int = 8
    rate_per_host: float | None = None  # requests per second to one host (None: no limit); imagery.limits
    max_redirects: int = 5
    allow_hosts: frozenset[str] = frozenset()  # exempt from the https and public-address rules
    user_agent: str = USER_AGENT


@dataclass(frozen=True)
class Response:
    """A completed HTTP response, its body read in full (within the size limit)."""

    url: str  # final URL, after redirects
    status: int
    headers: Mapping[str, str]
    body: bytes
    elapsed: float

    def json(self) -> Any:
        """The body parsed as JSON; BadResponse if it is not JSON or nests too deeply (imagery.json_safe)."""
        return parse_json(self.body, _host(self.url), url=self.url, status=self.status)


@dataclass
class Stats:
    """Request and retry counts of a client, per host too, for benchmarks and logs."""

    requests: int = 0  # attempts that reached the network
    retries: int = 0
    by_host: dict[str, int] = field(default_factory=dict)


def _host(url: str) -> str:
    return urlsplit(url).netloc or url


def _url_host(url: str) -> tuple[str, int | None, str]:
    """(host, port or None, scheme) of a URL; RefusedURL when it has no host or a bad port."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if not host:
        raise RefusedURL(f"{url!r}: no host", url=url)
    try:
        port = parts.port
    except ValueError as err:
        raise RefusedURL(f"{host}: bad port in {url!r}", url=url) from err
    return host, port, parts.scheme


def check_url(url: str, allow_hosts: Iterable[str] = ()) -> None:
    """Raise RefusedURL unless the URL is https to a public host, or its host is allow-listed.

    Numeric hosts are judged as the address the resolver makes of them (`127.1`, `2130706433`,
    `0x7f000001`, `::ffff:127.0.0.1` are loopback; imagery.addresses); local names are refused.
    A name's addresses are checked when it is connected to (`GuardedHTTPAdapter`), every one of
    them, and the connection goes to a checked address.
    """
    host, port, scheme = _url_host(url)
    if host_allowed(host, port, allow_hosts):
        return
    if scheme != "https":
        raise RefusedURL(f"{host}: refused {scheme or 'schemeless'} URL (https only)", url=url)
    if is_local_name(host):
        raise RefusedURL(f"{host}: refused local host name", url=url)
    ip = numeric_address(host)
    if ip is not None:
        try:
            check_address(host, ip)
        except RefusedURL as err:
            raise RefusedURL(str(err), url=url) from None


def check_resolved(url: str, allow_hosts: Iterable[str] = ()) -> None:
    """check_url, then the host's name resolved and every address checked: for a URL handed to a
    reader that connects by itself (GDAL), right before it does. ServiceUnavailable when the
    name does not resolve."""
    check_url(url, allow_hosts)
    host, port, scheme = _url_host(url)
    if host_allowed(host, port, allow_hosts):
        return
    try:
        resolve_checked(host, port or (443 if scheme == "https" else 80))
    except RefusedURL as err:
        raise RefusedURL(str(err), url=url) from None
    except (OSError, UnicodeError) as err:
        raise ServiceUnavailable(f"{host}: cannot resolve ({_reason(err)})", url=url) from err


def looks_like_image(body: bytes) -> bool:
    """Magic bytes and, for PNG/JPEG, the end marker: catches HTML pages and truncated tiles."""
    if not body.startswith(IMAGE_MAGIC):
        return False
    if body.startswith(b"\x89PNG"):
        return body.endswith(b"IEND\xaeB`\x82")
    if body.startswith(b"\xff\xd8"):
        return body.rstrip(b"\x00").endswith(b"\xff\xd9")
    return True


def _retry_after(value: str | None, cap: float) -> float | None:
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - time.time()
    return max(0.0, min(cap, seconds))


class HttpClient:
    """requests.Session wrapper; thread-safe for `get` (used from `get_many`'s worker threads)."""

    def __init__(self, config: HttpConfig | None = None, *, offline: bool = False,
                 rng: random.Random | None = None, limiter: RequestLimiter | None = None) -> None:
        self.config = config or HttpConfig()
        # the request budget; a cluster swaps in one shared by every worker (imagery.limits)
        self.limiter: RequestLimiter = limiter or LocalLimiter(self.config.concurrency, self.config.rate_per_host)
        self.offline = offline
        self.stats = Stats()
        self._rng = rng or random.Random()
        self._lock = threading.Lock()
        self._session = requests.Session()
        self._session.headers["User-Agent"] = self.config.user_agent
        adapter = GuardedHTTPAdapter(self.config.allow_hosts, pool_connections=4,
                                     pool_maxsize=max(10, self.config.concurrency), max_retries=0)
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)

    def close(self) -> None:
        """Close the underlying HTTP session."""
        self._session.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- one call ---------------------------------------------------------------------------

    def get(self, url: str, *, params: Mapping[str, str] | None = None, expect: str | None = None,
            deadline: float | None = None) -> Response:
        """GET with retries inside one total deadline. expect: None, "json" or "image".

        Connection failures, 429 and 5xx are retried; timeouts are not (a hung service would only
        use up the deadline again), and neither are answers that arrived but are unusable.
        """
        return self.request("GET", url, params=params, expect=expect, deadline=deadline)

    def request(self, method: str, url: str, *, params: Mapping[str, str] | None = None,
                json_body: Any = None, headers: Mapping[str, str] | None = None, expect: str | None = None,
                deadline: float | None = None) -> Response:
        """Any method (STAC searches POST a JSON body) with `get`'s deadline, retries and checks."""
        return self._call(method.upper(), url, params=params, json_body=json_body, headers=headers,
                          expect=expect, deadline=deadline)

    def resolve(self, url: str, *, check: Callable[[str], None] | None = None,
                deadline: float | None = None) -> str:
        """The URL a GET of `url` ends at, redirects followed by hand and each hop checked (and, with
        `check`, refused by the caller's own rule) before it is requested.

        For readers that follow redirects themselves (GDAL): they are handed the final URL, so a
        redirect to a host that is not allowed is refused here instead of followed there. Asks for
        one byte (`Range: bytes=0-0`) and never reads the body.
        """
        if check is not None:
            check(url)
        resp = self._call("GET", url, headers={"Range": "bytes=0-0"}, deadline=deadline, read_body=False,
                          check_hop=check)
        # GDAL resolves the name again: check what it resolves to now, as late as we can (docs/decisions/0015)
        check_resolved(resp.url, self.config.allow_hosts)
        return resp.url

    def _call(self, method: str, url: str, *, params: Mapping[str, str] | None = None, json_body: Any = None,
              headers: Mapping[str, str] | None = None, expect: str | None = None, deadline: float | None = None,
              read_body: bool = True, check_hop: Callable[[str], None] | None = None) -> Response:
        if self.offline:
            raise OfflineError(f"{_host(url)}: offline mode, not fetched", url=url)
        if params:
            url = requests.Request(method, url, params=dict(params)).prepare().url or url
        check_url(url, self.config.allow_hosts)
        started = time.monotonic()
        try:
            resp = self._with_retries(method, url, json_body, headers, expect, deadline, read_body, check_hop)
        except ImageryError as err:
            log.warning("%s %s failed after %.1f s: %s", method, _host(url), time.monotonic() - started, err)
            raise
        elapsed = time.monotonic() - started
        if elapsed > SLOW_S:
            log.warning("slow request: %s %s took %.1f s", method, _host(url), elapsed)
        return resp

    def _with_retries(self, method: str, url: str, json_body: Any, headers: Mapping[str, str] | None,
                      expect: str | None, deadline: float | None, read_body: bool,
                      check_hop: Callable[[str], None] | None) -> Response:
        limit = time.monotonic() + (deadline if deadline is not None else self.config.deadline)
        attempt = 0
        while True:
            try:
                resp = self._attempt(method, url, limit, json_body, headers, read_body, check_hop)
            except ServiceUnavailable as err:  # connection refused/reset: worth another try
                wait = self._backoff(attempt)
                if attempt >= self.config.retries or time.monotonic() + wait >= limit:
                    raise
                log.info("%s: retrying in %.1f s (%s)", _host(url), wait, err)
            else:
                if resp.status not in RETRY_STATUSES:
                    return self._check(resp, expect)
                failure = self._status_error(resp)
                retry_after = _retry_after(resp.headers.get("Retry-After"), self.config.retry_after_max)
                wait = self._backoff(attempt) if retry_after is None else retry_after
                if attempt >= self.config.retries or time.monotonic() + wait >= limit:
                    raise failure  # waiting would overrun the deadline: fail now, not later
                log.info("%s: HTTP %s, retrying in %.1f s", _host(url), resp.status, wait)
            with self._lock:
                self.stats.retries += 1
            time.sleep(wait)
            attempt += 1

    def _backoff(self, attempt: int) -> float:
        base = min(self.config.backoff_max, self.config.backoff * 2**attempt)
        return base * (0.5 + self._rng.random() / 2)  # jitter: clients that failed together spread out

    def _attempt(self, method: str, url: str, limit: float, json_body: Any = None,
                 headers: Mapping[str, str] | None = None, read_body: bool = True,
                 check_hop: Callable[[str], None] | None = None) -> Response:
        start = time.monotonic()
        for _hop in range(self.config.max_redirects + 1):
            resp = self._send(method, url, limit, json_body, headers, read_body)
            if resp.status in REDIRECT_STATUSES and resp.headers.get("Location"):
                url = urljoin(url, resp.headers["Location"])
                if check_hop is not None:  # the caller's rule first: its message names its own list
                    check_hop(url)
                check_url(url, self.config.allow_hosts)
                if resp.status in (301, 302, 303) and method == "POST":  # as browsers and requests do
                    method, json_body = "GET", None
                continue
            return Response(resp.url, resp.status, resp.headers, resp.body, time.monotonic() - start)
        raise BadResponse(f"{_host(url)}: more than {self.config.max_redirects} redirects", url=url)

    def _send(self, method: str, url: str, limit: float, json_body: Any = None,
              headers: Mapping[str, str] | None = None, read_body: bool = True) -> Response:
        host = _host(url)
        remaining = limit - time.monotonic()
        if remaining <= 0:
            raise ServiceTimeout(f"{host}: deadline passed before the request", url=url)
        with self.limiter.slot(host):
            with self._lock:
                self.stats.requests += 1
                self.stats.by_host[host] = self.stats.by_host.get(host, 0) + 1
            try:
                r = self._session.request(
                    method, url, json=json_body, headers=dict(headers) if headers else None,
                    stream=True, allow_redirects=False,
                    timeout=(min(self.config.connect_timeout, remaining), min(self.config.read_timeout, remaining)),
                )
            except requests.Timeout as err:
                raise ServiceTimeout(f"{host}: no answer in time ({err.__class__.__name__})", url=url) from err
            except requests.ConnectionError as err:
                raise ServiceUnavailable(f"{host}: cannot connect ({_reason(err)})", url=url) from err
            except requests.RequestException as err:
                raise BadResponse(f"{host}: request failed ({_reason(err)})", url=url) from err
            try:
                body = self._read_body(r, url, limit) if read_body else b""
            finally:
                r.close()
        return Response(url, r.status_code, CaseInsensitiveDict(r.headers), body, 0.0)

    def _read_body(self, r: requests.Response, url: str, limit: float) -> bytes:
        host = _host(url)
        declared = r.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > self.config.max_bytes:
            raise BadResponse(f"{host}: response of {declared} bytes is over the limit", url=url, status=r.status_code)
        chunks: list[bytes] = []
        size = 0
        try:
            while True:
                if time.monotonic() > limit:
                    raise ServiceTimeout(f"{host}: body not complete by the deadline ({size} bytes so far)",
                                         url=url, status=r.status_code)
                # read1 returns what one socket read gives, so the clock is checked between drips
                # decode_content: requests hands over raw (maybe gzipped) bytes; JSON and size checks need them decoded
                piece = r.raw.read1(16384, decode_content=True)
                if not piece:
                    break
                size += len(piece)
                if size > self.config.max_bytes:
                    raise BadResponse(f"{host}: response over {self.config.max_bytes} bytes", url=url)
                chunks.append(piece)
        except (urllib3.exceptions.ReadTimeoutError, TimeoutError) as err:
            raise ServiceTimeout(f"{host}: read timed out", url=url) from err
        except (urllib3.exceptions.HTTPError, http.client.HTTPException, OSError) as err:
            # urllib3 raises several classes for a cut connection; all mean the body is truncated
            if "timed out" in str(err).lower():
                raise ServiceTimeout(f"{host}: read timed out", url=url) from err
            raise BadResponse(f"{host}: body cut short ({_reason(err)})", url=url, status=r.status_code) from err
        body = b"".join(chunks)
        encoded = r.headers.get("Content-Encoding", "identity") not in ("", "identity")
        if declared and declared.isdigit() and not encoded and len(body) != int(declared):
            raise BadResponse(f"{host}: truncated body ({len(body)} of {declared} bytes)", url=url,
                              status=r.status_code)
        return body

    def _status_error(self, resp: Response) -> NetworkError:
        host, s = _host(resp.url), resp.status
        if s == 429:
            return RateLimited(f"{host}: rate limited (HTTP 429)", url=resp.url, status=s)
        return ServiceUnavailable(f"{host}: service error (HTTP {s})", url=resp.url, status=s)

    def _check(self, resp: Response, expect: str | None) -> Response:
        host, s = _host(resp.url), resp.status
        if s in (404, 410):
            raise NotFoundError(f"{host}: nothing at this address (HTTP {s})", url=resp.url, status=s)
        if s >= 500:
            raise ServiceUnavailable(f"{host}: service error (HTTP {s})", url=resp.url, status=s)
        if not 200 <= s < 300:
            raise BadResponse(f"{host}: unexpected HTTP {s}", url=resp.url, status=s)
        ctype = resp.headers.get("Content-Type", "").lower()
        if expect == "image" and (not ctype.startswith("image/") or not looks_like_image(resp.body)):
            raise BadResponse(f"{host}: not an image ({ctype or 'no content type'}, {len(resp.body)} bytes)",
                              url=resp.url, status=s)
        if expect == "json":
            resp.json()  # raises BadResponse on malformed JSON
        return resp

    # -- many calls ---------------------------------------------------------------------------

    def get_many(self, urls: Iterable[str], *, expect: str | None = None,
                 fetch: Callable[[str], Response] | None = None) -> list[Response | ImageryError]:
        """Fetch in parallel with at most `concurrency` in flight; errors are returned, not raised."""
        one = fetch or (lambda u: self.get(u, expect=expect))

        def run(u: str) -> Response | ImageryError:
            try:
                return one(u)
            except ImageryError as err:
                return err

        url_list = list(urls)
        if not url_list:
            return []
        with ThreadPoolExecutor(max_workers=min(self.config.concurrency, len(url_list))) as pool:
            return list(pool.map(run, url_list))


def _reason(err: BaseException) -> str:
    text = str(err) or err.__class__.__name__
    return text if len(text) < 200 else text[:197] + "..."
