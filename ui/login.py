"""Who may use the app: Streamlit's OpenID Connect sign-in (`st.login`, `st.user`, `st.logout`) when
.streamlit/secrets.toml has an [auth] section (docs/login.md), and one warning on every page when the app
listens beyond this machine without it.

`gate()` runs before anything else on every page: with a login configured, a visitor who is not signed in
sees the title and a "Sign in" button only; a signed-in analyst sees who they are and "Sign out" in the
sidebar, and every edit is recorded under that identity (`identity()`, read through `ui.state.actor`).
"""

from __future__ import annotations

import logging
from pathlib import Path

import streamlit as st
from streamlit.errors import StreamlitAuthError

from tracker.exposure import reachable_from_network

from .safe import markdown_text

log = logging.getLogger(__name__)

SIGN_IN = "login_sign_in"  # the sign-in page's button
SIGN_OUT = "login_sign_out"  # the sidebar's button
OPEN_WARNING = ("Anyone who can reach this computer over the network can open and edit this registry: the app "
                "listens beyond this computer and no sign-in is set up. Set up a sign-in (docs/login.md) or run "
                "it on this computer only (`make run` without LISTEN).")


def _secrets_files() -> list[Path]:
    return [Path(p).expanduser() for p in st.get_option("secrets.files") or []]


def login_configured() -> bool:
    """Whether the secrets name a sign-in provider (an [auth] section).

    A secrets file that exists but cannot be read stops the page with one line naming it: the app never
    opens without its sign-in because of a typo in that file."""
    if st.secrets.load_if_toml_exists():
        return bool(st.secrets.get("auth"))
    broken = [p for p in _secrets_files() if p.is_file()]
    if broken:
        st.error(f"The tracker cannot start: the secrets file {broken[0]} cannot be read (TOML syntax); "
                 "fix it or remove it.")
        st.stop()
    return False


def identity() -> str | None:
    """The signed-in analyst as recorded in the history (e-mail, else name, else the provider's subject),
    or None when no one is signed in."""
    if not st.user.get("is_logged_in"):
        return None
    for claim in ("email", "name", "preferred_username", "sub"):
        value = st.user.get(claim)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _sign_in_page() -> None:
    st.title("Facility tracker")
    if st.button("Sign in", type="primary", key=SIGN_IN):
        try:
            st.login()
        except StreamlitAuthError as err:  # an incomplete [auth] section, or Authlib missing
            log.warning("sign-in is not configured correctly: %s", err)
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            st.error(f"Sign-in is not set up correctly in .streamlit/secrets.toml [auth]: {first}")


def gate() -> None:
    """Stop the page at the sign-in button when a login is configured and no one is signed in; otherwise show
    who is signed in (with "Sign out") or, when the app is open to the network without a login, the warning."""
    if login_configured():
        who = identity()
        if who is None:
            _sign_in_page()
            st.stop()
        st.sidebar.caption(f"Signed in as {markdown_text(who)}")
        st.sidebar.button("Sign out", key=SIGN_OUT, on_click=st.logout)
        return
    if reachable_from_network(st.get_option("server.address")):
        st.warning(OPEN_WARNING)
