"""What every page says about the imagery services and about errors, in plain words.

The services are probed once per browser session (state.SERVICES; the probe itself is the imagery session's
status, at most a few seconds per service and shared by sessions for a minute) by the first page that uses them
(Compare), and `service_notice` puts the one sentence tracker.availability words at the top of every page from
then on: the Registry, Import and Read articles pages never wait on the network for it (decision 0026). Offline
mode needs no probe and is said on every page at once. `error`/`warning` are how a page shows an exception:
tracker.availability.explain logs it and gives "what: short reason", never a library's text.
"""

from __future__ import annotations

import streamlit as st

from imagery.errors import ImageryError
from tracker.availability import Availability, availability, explain
from tracker.settings import Settings

from . import state
from .safe import markdown_text


def service_rows(settings: Settings) -> tuple[list[dict[str, object]], str | None]:
    """The services' status rows and, when they could not be read, why: probed once per browser session."""
    key = settings.model_dump_json()
    kept = state.get(state.SERVICES)
    if kept is None or kept[0] != key:
        try:
            rows, problem = state.imagery_status(settings), None
        except (ImageryError, OSError) as err:
            rows, problem = [], explain(err, "The imagery services' status could not be checked")
        kept = (key, rows, problem)
        state.put(state.SERVICES, kept)
    rows, problem = kept[1], kept[2]
    if rows:  # the probe once per session; what is cached changes as the page fetches, so it is read fresh
        try:
            fresh = {r["service"]: r for r in state.imagery_kept(settings)}
        except (ImageryError, OSError):
            fresh = {}
        rows = [{**r, **{k: v for k, v in fresh.get(r["service"], {}).items() if k != "status"}} for r in rows]
    return rows, problem


def services(settings: Settings, *, probe: bool = True) -> Availability | None:
    """Which imagery services answer, from this session's probe (offline mode: nothing is asked). With
    `probe=False`, None when this session has not probed yet."""
    if settings.offline:
        return Availability(offline=True)
    kept = state.get(state.SERVICES)
    if not probe and (kept is None or kept[0] != settings.model_dump_json()):
        return None
    rows, problem = service_rows(settings)
    return Availability(unknown=True) if problem else availability(rows, offline=False)


def check_again() -> None:
    """A button's callback: probe the services again on the next run (the shared answer may be a minute old)."""
    state.drop(state.SERVICES)
    st.toast("Asking the imagery services again (an answer less than a minute old is reused).")


def service_notice(settings: Settings, slot=None) -> None:
    """The one sentence about offline or failing imagery services, in `slot` (an st.empty at the top of the page)
    or here; nothing when every service answers."""
    found = services(settings, probe=False)
    sentence = found.sentence if found is not None else None
    if found is None or sentence is None:
        return
    where = slot if slot is not None else st
    if found.offline:
        where.info(sentence, icon=":material/cloud_off:")
    else:
        where.warning(sentence, icon=":material/wifi_off:")


def error(what: str, err: BaseException) -> None:
    """Show an exception as one line, 'what: short reason' (logged with its full text)."""
    st.error(markdown_text(explain(err, what)))


def warning(what: str, err: BaseException) -> None:
    """Like `error`, as a warning (something was skipped, nothing failed for good)."""
    st.warning(markdown_text(explain(err, what)))
