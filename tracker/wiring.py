"""Settings in, working parts out: the one place that builds a store, local images and an imagery
session from `Settings`. The app, the CLI, the notebook and the benches all start here, so a
setting means the same thing everywhere.
"""

from __future__ import annotations

from facilities.store import Store, open_store
from imagery.local import LocalSource

from .seeding import ensure_seeded
from .settings import Settings


def open_registry(settings: Settings, *, seed: bool | None = None) -> Store:
    """The registry the settings name; a new one gets the seed unless TRACKER_SEED=0 (or seed=False)."""
    store = open_store(settings.database)
    if settings.seed if seed is None else seed:
        ensure_seeded(store)
    return store


def local_images(settings: Settings) -> LocalSource:
    """The analyst's imported GeoTIFFs (TRACKER_DATA_DIR/imagery)."""
    return LocalSource(settings.data_dir)
