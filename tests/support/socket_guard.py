"""The suite's network guard: a socket connected to anything but loopback fails the test.

Tests must never reach the outside network (users run them offline, and this machine has none,
where a stray request would only show up as a slow timeout). `install` wraps `socket.connect`,
`connect_ex` and `sendto`: a non-loopback address is refused with ENETUNREACH *and* recorded, so
a test whose code swallows the error still fails at teardown (tests/conftest.py). Child Python
processes (the CLI, the Streamlit server) get the same guard through `sitecustomize_dir/`, which
tests/conftest.py puts on PYTHONPATH; they record into the file named by SOCKET_LOG_ENV.

Name look-ups are guarded the same way: `socket.getaddrinfo`, `gethostbyname`, `gethostbyname_ex`
and `gethostbyaddr` (and so `create_connection`, urllib3 and requests, which resolve through
`socket.getaddrinfo`) answer only for localhost names and numeric addresses; any other name is
refused with socket.gaierror(EAI_NONAME) *and* recorded, as a DNS query would leave the machine
(and on a machine without network, wait for the resolver's timeout). A test that needs a made-up
name to resolve monkeypatches `socket.getaddrinfo` itself (tests/imagery/test_hostile_addresses.py).
Look-ups made inside C libraries (GDAL's curl) cannot be seen from Python; their connections can't
either, so tests must hand GDAL only local files or 127.0.0.1 URLs.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
from collections.abc import Callable
from pathlib import Path

SOCKET_LOG_ENV = "TRACKER_TEST_SOCKET_LOG"
SITE_DIR = Path(__file__).resolve().parent / "sitecustomize_dir"
_LOCAL_NAMES = {"localhost", "localhost.", "ip6-localhost", "ip6-loopback"}


def _host_text(host: object) -> str:
    if isinstance(host, bytes | bytearray):
        host = bytes(host).decode("ascii", "replace")
    return str(host).split("%", 1)[0].strip("[]")


def is_local_name(host: object) -> bool:
    """Whether looking `host` up needs no name server: None (the wildcard), localhost names, a numeric address
    in any spelling getaddrinfo parses without resolving (127.1, 0x7f000001, ::1), or an AF_UNIX path."""
    if host is None or host == "" or host == b"":
        return True
    text = _host_text(host)
    if text.lower() in _LOCAL_NAMES or text.lower().rstrip(".").endswith(".localhost"):
        return True
    try:
        _real_getaddrinfo(text, None, 0, 0, 0, socket.AI_NUMERICHOST)
    except (OSError, UnicodeError, ValueError):
        return False
    return True


def is_local(address: object) -> bool:
    """Whether a socket address is loopback (or not an IP address at all: AF_UNIX paths)."""
    if not isinstance(address, tuple) or not address:
        return True  # AF_UNIX path, abstract socket, netlink...
    host = address[0]
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    host = str(host).split("%", 1)[0]
    if host.lower() in _LOCAL_NAMES:
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False  # a name that is not localhost: Python would resolve it and connect outside
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_loopback


_real_getaddrinfo = socket.getaddrinfo


def install(record: Callable[[str], None]) -> None:
    """Wrap the socket methods that open or send to a peer, and the name look-ups; a second call only changes the
    recorder.

    (A pytest run inside a test's child process is guarded by sitecustomize first, then by its own
    conftest, whose recorder must win.)
    """
    socket.socket._tracker_record = staticmethod(record)  # type: ignore[attr-defined]
    if getattr(socket.socket, "_tracker_guarded", False):
        return

    def refuse(address: object) -> OSError:
        what = f"test socket guard: connection to non-loopback address {address!r} refused"
        socket.socket._tracker_record(what)  # type: ignore[attr-defined]
        return OSError(errno.ENETUNREACH, what)

    connect, connect_ex, sendto = socket.socket.connect, socket.socket.connect_ex, socket.socket.sendto

    def guarded_connect(self: socket.socket, address: object) -> None:
        if not is_local(address):
            raise refuse(address)
        return connect(self, address)

    def guarded_connect_ex(self: socket.socket, address: object) -> int:
        if not is_local(address):
            refuse(address)
            return errno.ENETUNREACH
        return connect_ex(self, address)

    def guarded_sendto(self: socket.socket, data: bytes, *args: object) -> int:
        address = args[-1]
        if not is_local(address):
            raise refuse(address)
        return sendto(self, data, *args)  # type: ignore[arg-type]

    def refuse_name(host: object) -> socket.gaierror:
        what = f"test socket guard: name look-up of {_host_text(host)!r} refused (a DNS query)"
        socket.socket._tracker_record(what)  # type: ignore[attr-defined]
        return socket.gaierror(socket.EAI_NONAME, what)

    getaddrinfo, gethostbyname = socket.getaddrinfo, socket.gethostbyname
    gethostbyname_ex, gethostbyaddr = socket.gethostbyname_ex, socket.gethostbyaddr

    def guarded_getaddrinfo(host: object, port: object, family: int = 0, type: int = 0,  # noqa: A002 (socket's)
                            proto: int = 0, flags: int = 0) -> list:
        if not flags & socket.AI_NUMERICHOST and not is_local_name(host):
            raise refuse_name(host)
        return getaddrinfo(host, port, family, type, proto, flags)  # type: ignore[arg-type]

    def guarded_gethostbyname(host: str) -> str:
        if not is_local_name(host):
            raise refuse_name(host)
        return gethostbyname(host)

    def guarded_gethostbyname_ex(host: str) -> tuple[str, list[str], list[str]]:
        if not is_local_name(host):
            raise refuse_name(host)
        return gethostbyname_ex(host)

    def guarded_gethostbyaddr(host: str) -> tuple[str, list[str], list[str]]:
        # a reverse look-up of anything but loopback asks a name server too
        if not is_local((host, 0)):
            raise refuse_name(host)
        return gethostbyaddr(host)

    socket.getaddrinfo = guarded_getaddrinfo
    socket.gethostbyname = guarded_gethostbyname
    socket.gethostbyname_ex = guarded_gethostbyname_ex
    socket.gethostbyaddr = guarded_gethostbyaddr
    socket.socket.connect = guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = guarded_connect_ex  # type: ignore[method-assign]
    socket.socket.sendto = guarded_sendto  # type: ignore[method-assign, assignment]
    socket.socket._tracker_guarded = True  # type: ignore[attr-defined]


def file_recorder(path: str) -> Callable[[str], None]:
    """A recorder that appends one line per refused connection or look-up to `path` (for child processes)."""
    def record(line: str) -> None:
        with open(path, "a", encoding="utf-8") as f:
            f.write(f"pid {os.getpid()}: {line}\n")
    return record
