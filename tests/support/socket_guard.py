"""The suite's network guard: a socket connected to anything but loopback fails the test.

Tests must never reach the outside network (users run them offline, and this machine has none,
where a stray request would only show up as a slow timeout). `install` wraps `socket.connect`,
`connect_ex` and `sendto`: a non-loopback address is refused with ENETUNREACH *and* recorded, so
a test whose code swallows the error still fails at teardown (tests/conftest.py). Child Python
processes (the CLI, the Streamlit server) get the same guard through `sitecustomize_dir/`, which
tests/conftest.py puts on PYTHONPATH; they record into the file named by SOCKET_LOG_ENV.

Name resolution inside libc (getaddrinfo) cannot be seen from Python; names are checked when a
socket connects to what they resolved to.
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
_LOCAL_NAMES = {"localhost", "localhost.", "ip6-localhost"}


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


def install(record: Callable[[str], None]) -> None:
    """Wrap the socket methods that open or send to a peer; a second call only changes the recorder.

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

    socket.socket.connect = guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = guarded_connect_ex  # type: ignore[method-assign]
    socket.socket.sendto = guarded_sendto  # type: ignore[method-assign, assignment]
    socket.socket._tracker_guarded = True  # type: ignore[attr-defined]


def file_recorder(path: str) -> Callable[[str], None]:
    """A recorder that appends one line per refused connection to `path` (for child processes)."""
    def record(line: str) -> None:
        with open(path, "a", encoding="utf-8") as f:
            f.write(f"pid {os.getpid()}: {line}\n")
    return record
