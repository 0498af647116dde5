"""Settings in, working parts out: the one place that builds a store, local images and an imagery
session from `Settings`. The app, the CLI, the notebook and the benches all start here, so a
setting means the same thing everywhere.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from facilities.store import Store, open_store
from imagery.cache import Cache
from imagery.http import HttpClient, HttpConfig
from imagery.local import LocalSource
from imagery.mosaics import EoxMosaics
from imagery.session import ImagerySession
from imagery.stac import DEFAULT_COLLECTIONS, PLANETARY_COMPUTER, Sentinel2Source, StacConfig, planetary_computer_config
from imagery.wayback import Endpoints, Wayback

from .seeding import ensure_seeded
from .settings import Settings

CONNECT_S = 5.0  # connecting never needs longer, whatever the request timeout


def open_registry(settings: Settings, *, seed: bool | None = None, create: bool = True) -> Store:
    """The registry the settings name; a new one gets the seed unless TRACKER_SEED=0 (or seed=False). With
    `create=False` (a read) a registry that does not exist is a StoreError and nothing is created."""
    store = open_store(settings.database, create=create)
    if settings.seed if seed is None else seed:
        ensure_seeded(store)
    return store


def local_images(settings: Settings) -> LocalSource:
    """The analyst's imported GeoTIFFs (TRACKER_DATA_DIR/imagery)."""
    return LocalSource(settings.data_dir)


def endpoints_for(settings: Settings) -> Endpoints:
    """Wayback's addresses: the public service unless settings point at a mirror (or a test server)."""
    default = Endpoints()
    return Endpoints(
        config_url=settings.wayback_config_url or default.config_url,
        service_root=settings.wayback_service_root or default.service_root,
        tile_url=settings.wayback_tile_url or default.tile_url,
        subdomains=tuple(settings.wayback_subdomains) if settings.wayback_subdomains is not None
        else default.subdomains,
        metadata_root=settings.wayback_metadata_url or None,
    )


def stac_config(settings: Settings) -> StacConfig:
    """The STAC search for Sentinel-2 scenes, with the same timeout as every other request."""
    timeout = settings.request_timeout
    base = planetary_computer_config() if settings.stac_provider == PLANETARY_COMPUTER else StacConfig()
    stac = replace(base, timeout=(min(CONNECT_S, timeout), timeout), max_retries=2, max_items=settings.stac_max_items,
                   collection=settings.stac_collection or DEFAULT_COLLECTIONS[base.provider],
                   token_url=settings.stac_token_url, asset_mirrors=dict(settings.stac_asset_mirrors or {}))
    if settings.stac_url:
        stac = replace(stac, url=settings.stac_url)
    if settings.stac_asset_hosts is not None:
        stac = replace(stac, asset_hosts=tuple(settings.stac_asset_hosts))
    return stac


def imagery_session(settings: Settings) -> ImagerySession:
    """One HTTP client (request_timeout as the whole deadline, retries included) that every source
    uses (the STAC search and the GDAL reads of Sentinel-2 scenes too), one cache under
    data_dir/imagery-cache, the sources, and rendered overlays under data_dir/overlays."""
    timeout = settings.request_timeout
    config = HttpConfig(connect_timeout=min(CONNECT_S, timeout), read_timeout=timeout, deadline=timeout, retries=2,
                        allow_hosts=frozenset(h.lower() for h in settings.imagery_allow_hosts))
    client = HttpClient(config, offline=settings.offline)
    data_dir = Path(settings.data_dir)
    cache = Cache(data_dir / "imagery-cache")
    endpoints = endpoints_for(settings)
    return ImagerySession(client=client, cache=cache, wayback=Wayback(client, cache, endpoints),
                          eox=EoxMosaics(client, cache, url_template=settings.eox_tile_url),
                          local=local_images(settings),
                          sentinel2=Sentinel2Source(stac_config(settings), client=client), endpoints=endpoints,
                          overlay_dir=data_dir / "overlays")
