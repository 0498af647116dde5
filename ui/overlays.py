"""Where the browser finds the PNGs the imagery session renders (overlays, difference heat maps).

The session writes files into its overlay directory; serving them is the UI's business. The
directory is registered as a Streamlit custom component so Streamlit serves its files with their
MIME types at `<baseUrlPath>/component/ui.overlays.imagery_overlays/<file>`.
"""

from __future__ import annotations

from pathlib import Path

from imagery.session import Overlay

COMPONENT = "imagery_overlays"


def overlay_prefix(directory: Path) -> str:
    """The URL prefix of the overlay directory. declare_component registers with the running server
    only inside a script run, so this is called on each run (registering again is a no-op)."""
    from streamlit import config
    from streamlit.components.v1 import declare_component

    directory.mkdir(parents=True, exist_ok=True)
    component = declare_component(COMPONENT, path=str(directory))
    base = (config.get_option("server.baseUrlPath") or "").strip("/")
    return "/" + "/".join(part for part in (base, "component", component.name) if part)


def overlay_url(overlay: Overlay, prefix: str) -> str:
    """The URL the browser loads an overlay image from, under `prefix`."""
    return f"{prefix}/{overlay.path.name}"
