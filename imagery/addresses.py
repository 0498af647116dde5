"""Which network addresses the imagery client may connect to, checked on the address it connects to.

A host is written many ways: `2130706433`, `0x7f000001`, `0177.0.0.1`, `127.1` and `0` are all
loopback or "this host" to the resolver (inet_aton rules), `localhost.` is `localhost`, and
`::ffff:127.0.0.1` or `64:ff9b::a9fe:a9fe` carry an IPv4 address inside IPv6. So nothing here
compares text: numeric hosts are parsed the way the resolver and libcurl parse them (getaddrinfo
with AI_NUMERICHOST, which is inet_aton for IPv4), names are resolved once, and every address
is checked against the ranges no public service lives in (`refusal`). The connection is then
opened to one of the addresses that were checked (`GuardedHTTPAdapter`), so a name cannot
resolve to a public address for the check and to a private one for the connect.

The allow-list (settings `imagery_allow_hosts`: host or host:port) is the only exception; it is
for a local mirror and for the tests' 127.0.0.1 servers.
"""

from __future__ import annotations

import ipaddress
import socket
import sys
from collections.abc import Iterable
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

from .errors import RefusedURL

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_BENCHMARK = ipaddress.ip_network("198.18.0.0/15")
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")
_LOCAL_SUFFIXES = (".localhost", ".internal", ".local", ".home.arpa")


def refusal(ip: IPAddress) -> str | None:
    """Why the imagery client may not connect to `ip` ("loopback address", "CGNAT (100.64.0.0/10) address"),
    or None for a public unicast address. IPv4 inside IPv6 (mapped, NAT64, 6to4, Teredo) is
    judged by the IPv4 address it carries."""
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_ipv4(ip)
        if inner is not None:
            reason = refusal(inner)
            return f"{reason} ({inner} inside IPv6)" if reason else None
        if ip.is_site_local:
            return "site-local address"
    for test, reason in ((ip.is_unspecified, "unspecified"), (ip.is_loopback, "loopback"),
                         (ip.is_link_local, "link-local"), (ip.is_multicast, "multicast"),
                         (ip in _CGNAT, "CGNAT (100.64.0.0/10)"), (ip in _BENCHMARK, "benchmarking (198.18.0.0/15)"),
                         (ip.is_private, "private"), (ip.is_reserved, "reserved"), (not ip.is_global, "non-public")):
        if test:
            return f"{reason} address"
    return None


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if any(ip in net for net in _NAT64):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if int(ip) >> 32 == 0 and int(ip) > 1:  # deprecated IPv4-compatible ::a.b.c.d
        return ipaddress.IPv4Address(int(ip))
    return None


def numeric_address(host: str) -> IPAddress | None:
    """The address a numeric host means to the resolver (`127.1`, `0x7f000001`, `[::1]`, `0`), or
    None for a name. No DNS query is made."""
    host = host.strip("[]")
    host = host[:-1] if host.endswith(".") else host  # `127.0.0.1.`: judged as the address it spells
    if not host:
        return None
    try:
        infos = socket.getaddrinfo(host.split("%")[0], None, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST)
    except (socket.gaierror, UnicodeError, ValueError):
        return None
    # an IP sockaddr's first item is the address text (only AF_UNIX-style families give other types)
    return ipaddress.ip_address(str(infos[0][4][0]).split("%")[0]) if infos else None


def is_local_name(host: str) -> bool:
    """`localhost`, `localhost.`, `x.localhost`, `metadata.internal`, `printer.local` and the like."""
    name = host.lower().rstrip(".")
    return name in _LOCAL_NAMES or name.endswith(_LOCAL_SUFFIXES)


def host_allowed(host: str, port: int | None, allow_hosts: Iterable[str]) -> bool:
    """Whether `host` (or `host:port`) is on the allow-list; numeric forms compare as the address
    they mean (`127.1` is 127.0.0.1) and a trailing dot is ignored."""
    allowed = {h.lower().rstrip(".") for h in allow_hosts}
    if not allowed:
        return False
    names = {host.lower().rstrip(".").strip("[]")}
    ip = numeric_address(host)
    if ip is not None:
        names.add(str(ip))
    for name in list(names):
        shown = f"[{name}]" if ":" in name else name
        if name in allowed or shown in allowed or (port is not None and f"{shown}:{port}" in allowed):
            return True
    return False


def check_address(host: str, ip: IPAddress) -> None:
    """RefusedURL naming the host and the address when `ip` is not public."""
    reason = refusal(ip)
    if reason is not None:
        shown = host if host.strip("[]") == str(ip) else f"{host} ({ip})"
        raise RefusedURL(f"{shown}: refused {reason}", url=host)


def resolve_checked(host: str, port: int) -> list[tuple[Any, ...]]:
    """getaddrinfo(host, port) once, every address checked (RefusedURL if any is not public):
    the list to connect to. socket.gaierror when the name does not resolve."""
    if is_local_name(host):
        raise RefusedURL(f"{host}: refused local host name", url=host)
    infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
    for info in infos:
        check_address(host, ipaddress.ip_address(str(info[4][0]).split("%")[0]))
    return infos


class _GuardedMixin:
    """A urllib3 connection that connects only to addresses it resolved and checked itself."""

    allow_hosts: frozenset[str] = frozenset()

    def _new_conn(self) -> socket.socket:
        conn: Any = self
        if conn._tunnel_host or getattr(conn, "proxy", None) is not None or \
                host_allowed(conn.host, conn.port, self.allow_hosts):
            return super()._new_conn()  # type: ignore[misc]  # a configured proxy, or the allow-list
        try:
            infos = resolve_checked(conn._dns_host, conn.port)
        except socket.gaierror as err:
            raise NameResolutionError(conn.host, conn, err) from err
        last: OSError | None = None
        for family, kind, proto, _name, address in infos:
            sock = socket.socket(family, kind, proto)
            try:
                for option in conn.socket_options or ():
                    sock.setsockopt(*option)
                if conn.timeout is None or isinstance(conn.timeout, int | float):  # else urllib3's "default"
                    sock.settimeout(conn.timeout)
                if conn.source_address:
                    sock.bind(conn.source_address)
                sock.connect(address)
            except TimeoutError as err:
                sock.close()
                raise ConnectTimeoutError(
                    conn, f"Connection to {conn.host} timed out. (connect timeout={conn.timeout})") from err
            except OSError as err:
                sock.close()
                last = err
                continue
            sys.audit("http.client.connect", conn, conn.host, conn.port)
            return sock
        raise NewConnectionError(conn, f"Failed to establish a new connection: {last}")


class GuardedHTTPAdapter(HTTPAdapter):
    """requests' adapter whose connections resolve once, check every address (`refusal`) and
    connect only to a checked one; hosts on `allow_hosts` connect as usual."""

    def __init__(self, allow_hosts: Iterable[str] = (), **kwargs: Any) -> None:
        self._allow = frozenset(allow_hosts)
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        """The pool manager, with pools whose connections are guarded."""
        super().init_poolmanager(*args, **kwargs)
        attrs = {"allow_hosts": self._allow}
        http_conn = type("GuardedHTTPConnection", (_GuardedMixin, HTTPConnection), attrs)
        https_conn = type("GuardedHTTPSConnection", (_GuardedMixin, HTTPSConnection), attrs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": type("GuardedHTTPConnectionPool", (HTTPConnectionPool,), {"ConnectionCls": http_conn}),
            "https": type("GuardedHTTPSConnectionPool", (HTTPSConnectionPool,), {"ConnectionCls": https_conn}),
        }
