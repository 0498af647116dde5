"""Who can reach the app: whether the address the server listens on is this machine's alone.

`make run` and .streamlit/config.toml bind the app to 127.0.0.1; `make run LISTEN=0.0.0.0` opens it to the
network, where anyone who reaches the port could edit the registry unless a login is configured.
"""

from __future__ import annotations

import ipaddress

LOOPBACK_NAMES = frozenset({"localhost", "localhost.", "ip6-localhost", "ip6-loopback"})


def reachable_from_network(address: str | None) -> bool:
    """Whether a server listening on `address` answers other machines too.

    No address (Streamlit's default) and the wildcards 0.0.0.0 and :: listen on every interface; a loopback
    address (127.0.0.0/8, ::1) or a localhost name does not. Any other name or address is an interface other
    machines can reach, so True (a name is not resolved: the answer never waits for a name server)."""
    text = (address or "").strip().strip("[]").split("%", 1)[0]
    if not text:
        return True
    if text.lower() in LOOPBACK_NAMES:
        return False
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return True
    mapped = getattr(ip, "ipv4_mapped", None)  # ::ffff:127.0.0.1 (Python < 3.13 does not call it loopback)
    return not (mapped or ip).is_loopback
