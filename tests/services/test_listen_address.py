"""Private by default: the app answers this computer only unless the analyst opens it to the network.

`tracker.exposure.reachable_from_network` says which addresses other machines reach; `make run` and a plain
`streamlit run app.py` (.streamlit/config.toml) bind to 127.0.0.1, and a started server's listening socket is
on loopback only. The socket guard forbids connecting to this machine's other addresses, so the test reads the
kernel's socket table (/proc/net/tcp, tcp6) instead: a socket bound to 127.0.0.1 cannot accept a connection
addressed to any other interface.
"""

from __future__ import annotations

import ipaddress
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.support.browser import ROOT, free_port, wait_healthy
from tracker.exposure import reachable_from_network


@pytest.mark.parametrize("address", ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost", "LOCALHOST",
                                     "ip6-localhost", "::ffff:127.0.0.1"])
def test_loopback_addresses_stay_on_this_computer(address: str):
    assert reachable_from_network(address) is False


@pytest.mark.parametrize("address", [None, "", "  ", "0.0.0.0", "::", "[::]", "192.0.2.2", "10.0.0.5",
                                     "fe80::1%eth0", "my-laptop.example.org", "localhost.example.org"])
def test_wildcards_interfaces_and_names_reach_the_network(address: str | None):
    assert reachable_from_network(address) is True


def test_the_default_address_is_loopback_in_the_makefile_and_the_config_file():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text("utf-8"))
    assert config["server"]["address"] == "127.0.0.1"

    def streamlit_line(*args: str) -> str:
        out = subprocess.run(["make", "-n", "run", *args], cwd=ROOT, capture_output=True, text=True, check=True)
        return next(line for line in out.stdout.splitlines() if "streamlit run" in line)

    assert streamlit_line().endswith("streamlit run app.py --server.address 127.0.0.1")
    assert streamlit_line("LISTEN=0.0.0.0").endswith("--server.address 0.0.0.0")  # the one way to open it


def _listening(port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """Local addresses of the sockets listening on `port`, from the kernel's tables."""
    found: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            host, port_hex = local.split(":")
            if state != "0A" or int(port_hex, 16) != port:  # 0A: LISTEN
                continue
            raw = bytes.fromhex(host)  # host byte order in 32-bit words (little-endian here)
            raw = b"".join(raw[k:k + 4][::-1] for k in range(0, len(raw), 4))
            found.append(ipaddress.ip_address(raw))
    return found


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux's /proc/net/tcp")
def test_a_started_app_listens_on_loopback_only(tmp_path: Path):
    """`streamlit run app.py` from the checkout, as `make run` starts it but without --server.address: the
    config file alone keeps it on 127.0.0.1."""
    port = free_port()
    env = {**os.environ, "TRACKER_DATABASE": str(tmp_path / "registry.gpkg"), "TRACKER_DATA_DIR": str(tmp_path),
           "TRACKER_CONFIG": str(tmp_path / "none.toml"), "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    env.pop("STREAMLIT_SERVER_ADDRESS", None)
    log = tmp_path / "streamlit.log"
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)],
                                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", proc, log)
        addresses = _listening(port)
        assert addresses, "the server's listening socket is in the kernel's table"
        assert all(a.is_loopback for a in addresses), addresses  # 0.0.0.0 or :: would answer every interface
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
