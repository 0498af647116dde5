"""Facility tracker: `streamlit run app.py` (TRACKER_DATABASE picks the registry file).

Thin on purpose: settings, one store per process (ui.state), the shared site picker, then the page in ui/.
"""

from __future__ import annotations

import streamlit as st

from facilities.errors import FacilitiesError
from tracker.errors import BadSetting
from tracker.logs import configure_logging
from tracker.settings import Settings, load_settings
from ui import state
from ui.compare_page import compare_page
from ui.import_page import import_page
from ui.ingest_page import ingest_page
from ui.login import gate
from ui.notices import service_notice
from ui.pages import choose_site, registry_page
from ui.watch_page import watch_page

st.set_page_config(page_title="Facility tracker", page_icon="🛰️", layout="wide")


def main() -> None:
    gate()  # the sign-in page when a login is configured; the warning when open to the network without one
    try:
        settings: Settings = load_settings()
    except BadSetting as err:  # one line naming the setting (variable, tracker.toml key) and what is expected
        st.error(f"The tracker cannot start: {err}")
        st.stop()
    try:
        configure_logging(settings)
        store = state.registry(settings)
    except (FacilitiesError, OSError, ValueError) as err:  # ValueError: pydantic rejects a setting
        st.error(f"The registry cannot be opened: {err}")
        st.stop()
    state.keep_picker()

    def registry() -> None:
        registry_page(store, settings, choose_site(store, settings.database))

    def compare() -> None:
        choice = choose_site(store, settings.database)
        compare_page(store, settings, choice.selected_id if choice else None)

    def import_files() -> None:
        import_page(store, settings)

    def read_articles() -> None:
        ingest_page(store, settings)

    def watched_sites() -> None:
        watch_page(store, settings)

    notice = st.empty()  # filled after the page is drawn, so the services' probe never delays it
    st.navigation([st.Page(registry, title="Registry", url_path="registry", default=True),
                   st.Page(compare, title="Compare imagery", url_path="compare"),
                   st.Page(import_files, title="Import", url_path="import"),
                   st.Page(read_articles, title="Read articles", url_path="read"),
                   st.Page(watched_sites, title="Watched sites", url_path="watch")]).run()
    service_notice(settings, notice)  # the one sentence when imagery services are offline or failing


main()
