"""SSRF: the imagery client connects to no non-public address, however the host is spelled.

Numeric hosts in every inet_aton form (decimal, octal, hex, short forms), IPv4 inside IPv6,
local names, names that resolve to private addresses, and redirects to any of them are refused
before a connection is made; the allow-list is the only exception. Real servers on 127.0.0.1
only; names are answered by a fake resolver (monkeypatched getaddrinfo), never by DNS.
"""

from __future__ import annotations

import ipaddress
import socket
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imagery.addresses import host_allowed, numeric_address, refusal
from imagery.errors import RefusedURL
from imagery.http import HttpClient, HttpConfig, check_resolved, check_url
from tests.support.rasters import RangeServer

REFUSED = ["https://2130706433/", "https://0/", "https://127.1/", "https://0x7f000001/", "https://0177.0.0.1/",
           "https://0x7f.1/", "https://localhost./", "https://LOCALHOST/", "https://a.localhost/",
           "https://metadata.google.internal/", "https://100.64.0.1/", "https://100.127.255.254/",
           "https://169.254.169.254/latest/meta-data/", "https://10.0.0.1/", "https://192.168.1.1/",
           "https://172.16.0.1/", "https://224.0.0.1/", "https://255.255.255.255/", "https://240.0.0.1/",
           "https://198.18.0.1/", "https://[::1]/", "https://[::]/", "https://[fe80::1]/", "https://[fc00::1]/",
           "https://[fec0::1]/", "https://[ff02::1]/", "https://[::ffff:127.0.0.1]/", "https://[::ffff:a9fe:a9fe]/",
           "https://[64:ff9b::127.0.0.1]/", "https://[64:ff9b::a9fe:a9fe]/", "https://[64:ff9b:1::a00:1]/",
           "https://[2002:7f00:1::]/", "https://[::127.0.0.1]/", "https://127.0.0.1./", "http://example.org/"]
ACCEPTED = ["https://example.org/", "https://8.8.8.8/", "https://134744072/", "https://[2606:4700::1111]/",
            "https://[64:ff9b::808:808]/", "https://sentinel-cogs.s3.us-west-2.amazonaws.com/x.tif"]


@pytest.mark.parametrize("url", REFUSED)
def test_non_public_hosts_in_any_spelling_are_refused(url):
    with pytest.raises(RefusedURL):
        check_url(url)


@pytest.mark.parametrize("url", ACCEPTED)
def test_public_hosts_pass(url):
    check_url(url)


def test_allow_list_is_the_one_exception():
    check_url("http://127.0.0.1:8080/x", {"127.0.0.1"})
    check_url("http://127.0.0.1:8080/x", {"127.0.0.1:8080"})
    check_url("http://127.1:8080/x", {"127.0.0.1:8080"})  # the same address, spelled short
    with pytest.raises(RefusedURL):
        check_url("http://127.0.0.1:9090/x", {"127.0.0.1:8080"})
    with pytest.raises(RefusedURL):
        check_url("https://10.0.0.1/", {"127.0.0.1"})
    assert host_allowed("mirror.lan.", 443, {"mirror.lan"}) and host_allowed("::1", 80, {"[::1]:80"})


# -- every inet_aton spelling of every IPv4 address ------------------------------------------------

def _part(value: int, style: str) -> str:
    return {"dec": str(value), "oct": "0" + oct(value)[2:] if value else "0", "hex": hex(value)}[style]


@st.composite
def ipv4_spellings(draw) -> tuple[ipaddress.IPv4Address, str]:
    """An IPv4 address (often a forbidden one) and one of the ways inet_aton reads it."""
    nets = ["127.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "169.254.0.0/16", "0.0.0.0/8", "192.168.0.0/16",
            "172.16.0.0/12", "224.0.0.0/4", "240.0.0.0/4", "0.0.0.0/0"]
    net = ipaddress.ip_network(draw(st.sampled_from(nets)))
    ip = ipaddress.IPv4Address(int(net.network_address) + draw(st.integers(0, net.num_addresses - 1)))
    n = int(ip)
    shape = draw(st.sampled_from([4, 3, 2, 1]))
    style = st.sampled_from(["dec", "oct", "hex"])
    if shape == 4:
        parts = [(n >> s) & 0xFF for s in (24, 16, 8, 0)]
    elif shape == 3:
        parts = [n >> 24, (n >> 16) & 0xFF, n & 0xFFFF]
    elif shape == 2:
        parts = [n >> 24, n & 0xFFFFFF]
    else:
        parts = [n]
    return ip, ".".join(_part(p, draw(style)) for p in parts)


@settings(max_examples=400, deadline=None)
@given(ipv4_spellings())
def test_every_numeric_spelling_is_judged_as_the_address_it_means(case):
    ip, spelling = case
    assert numeric_address(spelling) == ip  # what the resolver (and libcurl) would connect to
    for host in (spelling, f"[::ffff:{ip}]", f"[64:ff9b::{ip}]"):
        if refusal(ip) is None:
            check_url(f"https://{host}/")
        else:
            with pytest.raises(RefusedURL):
                check_url(f"https://{host}/")


# -- connections and redirects: refused before connecting --------------------------------------------

class Listener:
    """A TCP port on 127.0.0.1 that counts the connections it accepts (it should get none)."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def listener():
    target = Listener()
    yield target
    target.close()


@pytest.fixture
def fake_dns(monkeypatch):
    """Names the test makes up resolve here; anything else is not resolved (no DNS query leaves)."""
    table: dict[str, list[str]] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):  # noqa: A002 (socket's names)
        if isinstance(host, str) and host.rstrip(".") in table:
            return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "",
                     (a, port or 0) if ":" not in a else (a, port or 0, 0, 0)) for a in table[host.rstrip(".")]]
        if flags & socket.AI_NUMERICHOST or numeric_address(str(host)) is not None or host in ("127.0.0.1",):
            return real(host, port, family, type, proto, flags)
        raise socket.gaierror(socket.EAI_NONAME, "not in the test's resolver")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return table


def _client(server: RangeServer) -> HttpClient:
    port = server.url.rsplit(":", 1)[1]
    return HttpClient(HttpConfig(connect_timeout=1, read_timeout=1, deadline=3, retries=0,
                                 allow_hosts=frozenset({f"127.0.0.1:{port}"})))


def test_redirects_to_forbidden_addresses_are_refused_before_connecting(listener, fake_dns):
    fake_dns["rebind.example"] = ["127.0.0.1"]
    fake_dns["mixed.example"] = ["93.184.216.34", "127.0.0.1"]
    fake_dns["cgnat.example"] = ["100.64.0.7"]
    p = listener.port
    targets = [f"https://127.1:{p}/", f"https://2130706433:{p}/", f"https://0x7f000001:{p}/",
               f"https://0177.0.0.1:{p}/", f"https://localhost.:{p}/", f"https://[::ffff:127.0.0.1]:{p}/",
               f"http://127.0.0.1:{p}/", f"https://rebind.example:{p}/", f"https://mixed.example:{p}/",
               f"https://cgnat.example:{p}/", "https://169.254.169.254/latest/meta-data/"]
    server = RangeServer(redirects={f"/r{i}": t for i, t in enumerate(targets)})
    refused = 0
    try:
        with _client(server) as client:
            for i, target in enumerate(targets):
                with pytest.raises(RefusedURL) as err:
                    client.get(f"{server.url}/r{i}")
                assert "refused" in str(err.value), target
                refused += 1
                with pytest.raises(RefusedURL):  # the GDAL path: redirects resolved by hand, each hop checked
                    client.resolve(f"{server.url}/r{i}")
    finally:
        server.close()
    assert refused == len(targets)
    assert listener.accepted == 0  # not one connection reached the forbidden port


def test_a_name_is_connected_to_only_at_an_address_that_was_checked(listener, fake_dns):
    """The guard resolves once and connects to what it checked: a name answering a public and a
    private address is refused as a whole, and nothing is connected."""
    fake_dns["both.example"] = ["8.8.8.8", "127.0.0.1"]
    with HttpClient(HttpConfig(connect_timeout=1, deadline=2, retries=0)) as client, \
            pytest.raises(RefusedURL, match=r"both.example \(127.0.0.1\): refused loopback"):
        client.get(f"https://both.example:{listener.port}/")
    assert listener.accepted == 0


def test_check_resolved_is_the_last_check_before_gdal(fake_dns):
    fake_dns["cog.example"] = ["10.1.2.3"]
    with pytest.raises(RefusedURL, match="private"):
        check_resolved("https://cog.example/a.tif")
    fake_dns["cog.example"] = ["52.218.1.1"]
    check_resolved("https://cog.example/a.tif")


def test_allowed_test_server_still_works():
    server = RangeServer(files={"/a": b"hello"})
    try:
        with _client(server) as client:
            assert client.get(f"{server.url}/a").body == b"hello"
    finally:
        server.close()
