"""The suite's network guard fails a test that connects outside loopback, in-process and in children."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import socket_guard


@pytest.mark.parametrize("address", [("127.0.0.1", 80), ("::1", 80, 0, 0), ("localhost", 1), ("::ffff:127.0.0.2", 1),
                                     "/tmp/some.sock", b"\x00abstract"])
def test_loopback_and_unix_addresses_are_local(address):
    assert socket_guard.is_local(address)


@pytest.mark.parametrize("address", [("8.8.8.8", 53), ("2001:4860:4860::8888", 53, 0, 0), ("example.org", 443),
                                     ("::ffff:93.184.216.34", 443), ("10.0.0.1", 80), ("0.0.0.0", 80)])
def test_other_addresses_are_not(address):
    assert not socket_guard.is_local(address)


def test_a_test_that_swallows_the_refusal_still_fails(tmp_path: Path):
    test = tmp_path / "test_sneaky.py"
    test.write_text("import socket\n\ndef test_sneaky():\n    try:\n"
                    "        socket.create_connection(('192.0.2.1', 9))\n"
                    "    except OSError:\n        pass\n")
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tests.conftest",
                          "--rootdir", str(tmp_path), str(test)], cwd=root, capture_output=True, text=True, timeout=120)
    assert out.returncode == 1, out.stdout
    assert "opened a socket to the outside network" in out.stdout and "192.0.2.1" in out.stdout


def test_a_child_python_process_is_guarded_and_reports_to_the_log(tmp_path: Path):
    log = tmp_path / "guard.log"
    env = {**os.environ, socket_guard.SOCKET_LOG_ENV: str(log)}
    code = ("import socket\ns = socket.socket()\ntry:\n    s.connect(('192.0.2.1', 9))\nexcept OSError as e:\n"
            "    print('refused' if 'socket guard' in str(e) else e)\n")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "refused", out.stderr
    assert "192.0.2.1" in log.read_text()


def test_loopback_connections_work(tmp_path: Path):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.create_connection(server.getsockname(), timeout=5):
            pass


@pytest.mark.parametrize("host", [None, "localhost", "LOCALHOST.", "ip6-localhost", "tiles.localhost", "127.0.0.1",
                                  "127.1", "0x7f000001", "::1", "[::1]", "8.8.8.8", "fe80::1%lo", b"127.0.0.1"])
def test_local_names_and_numeric_addresses_need_no_name_server(host):
    assert socket_guard.is_local_name(host)


@pytest.mark.parametrize("host", ["example.org", "tiles.maps.eox.at", "localhost.example.org", "wayback.local",
                                  b"example.org", "xn--bcher-kva.example"])
def test_other_names_do(host):
    assert not socket_guard.is_local_name(host)


@pytest.mark.parametrize("lookup", [
    lambda: socket.getaddrinfo("no-such-host.example", 443),
    lambda: socket.getaddrinfo("no-such-host.example", 443, socket.AF_INET, socket.SOCK_STREAM),
    lambda: socket.gethostbyname("no-such-host.example"),
    lambda: socket.gethostbyname_ex("no-such-host.example"),
    lambda: socket.gethostbyaddr("192.0.2.1"),
    lambda: socket.create_connection(("no-such-host.example", 443), timeout=1),
], ids=["getaddrinfo", "getaddrinfo-typed", "gethostbyname", "gethostbyname_ex", "gethostbyaddr", "create_connection"])
def test_name_lookups_are_refused_and_recorded(lookup, monkeypatch):
    seen: list[str] = []
    monkeypatch.setattr(socket.socket, "_tracker_record", staticmethod(seen.append))
    with pytest.raises(socket.gaierror, match="socket guard") as caught:
        lookup()
    assert caught.value.errno == socket.EAI_NONAME
    assert len(seen) == 1 and "name look-up" in seen[0]
    assert "no-such-host.example" in seen[0] or "192.0.2.1" in seen[0]


def test_local_lookups_are_answered(monkeypatch):
    seen: list[str] = []
    monkeypatch.setattr(socket.socket, "_tracker_record", staticmethod(seen.append))
    assert {info[4][0] for info in socket.getaddrinfo("localhost", 80, socket.AF_INET)} == {"127.0.0.1"}
    assert socket.getaddrinfo("127.0.0.1", 80, socket.AF_INET)[0][4] == ("127.0.0.1", 80)
    assert socket.getaddrinfo("93.184.216.34", 80, socket.AF_INET)[0][4] == ("93.184.216.34", 80)  # no DNS: numeric
    with pytest.raises(socket.gaierror) as numeric_only:  # the caller asked for no look-up: the resolver's own error
        socket.getaddrinfo("example.org", 80, flags=socket.AI_NUMERICHOST)
    assert "socket guard" not in str(numeric_only.value)
    assert socket.gethostbyname("localhost") == "127.0.0.1"
    assert seen == []


def test_a_test_that_swallows_a_refused_lookup_still_fails(tmp_path: Path):
    test = tmp_path / "test_sneaky_dns.py"
    test.write_text("import socket\n\ndef test_sneaky():\n    try:\n"
                    "        socket.getaddrinfo('tiles.example.org', 443)\n"
                    "    except OSError:\n        pass\n")
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tests.conftest",
                          "--rootdir", str(tmp_path), str(test)], cwd=root, capture_output=True, text=True, timeout=120)
    assert out.returncode == 1, out.stdout
    assert "opened a socket to the outside network" in out.stdout and "tiles.example.org" in out.stdout


def test_a_child_python_process_records_refused_lookups(tmp_path: Path):
    log = tmp_path / "guard.log"
    env = {**os.environ, socket_guard.SOCKET_LOG_ENV: str(log)}
    code = ("import socket\ntry:\n    socket.gethostbyname('tiles.example.org')\nexcept OSError as e:\n"
            "    print('refused' if 'socket guard' in str(e) else e)\n")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "refused", out.stderr
    assert "tiles.example.org" in log.read_text()
