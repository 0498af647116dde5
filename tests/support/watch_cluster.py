"""Picklable imagery-session recipes for the watch scan on a Dask cluster (tests and the watch bench): a worker
process builds its own session on the fake services from plain values, as the CLI's workers build theirs from
the driver's settings.

`ExplodingLocal` makes one site's scan fail on the worker in a way scan_site does not catch: "raise" raises
a RuntimeError (the task fails), "exit" ends the worker process (the worker is lost).
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterable
from functools import partial
from pathlib import Path
from typing import Any

from imagery.cache import Cache
from imagery.http import HttpClient
from imagery.local import LocalSource
from imagery.mosaics import EoxMosaics
from imagery.session import ImagerySession
from imagery.stac import Sentinel2Source, StacConfig
from imagery.wayback import Endpoints, Wayback
from tests.support.fake_wayback import small_config


class ExplodingLocal(LocalSource):
    """Local imports whose listing over `bbox` fails as `mode` says."""

    def __init__(self, data_dir: Path, bbox: tuple[float, ...], mode: str) -> None:
        super().__init__(data_dir)
        self.explode_bbox = tuple(round(v, 9) for v in bbox)
        self.mode = mode

    def captures(self, bbox, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN201 - LocalSource's signature
        if tuple(round(v, 9) for v in bbox) == self.explode_bbox:
            if self.mode == "exit":
                os._exit(13)
            raise RuntimeError("the test made this site's scan blow up")
        return super().captures(bbox, *args, **kwargs)


def fake_session(tmp: str, data_dir: str, endpoints: Endpoints, *, cache_dir: str = "cache",
                 explode: tuple[Iterable[float], str] | None = None, stac_url: str = "http://127.0.0.1:9/stac",
                 **http: object) -> ImagerySession:
    """A session on the fakes, as tests.support.watch.WatchWorld.session builds it (`http` overrides
    small_config); `explode=(bbox, mode)` makes that site's local listing fail."""
    client = HttpClient(small_config(**http), rng=random.Random(0))
    cache = Cache(Path(tmp) / cache_dir)
    local = (ExplodingLocal(Path(data_dir), tuple(explode[0]), explode[1]) if explode
             else LocalSource(Path(data_dir)))
    return ImagerySession(client=client, cache=cache, wayback=Wayback(client, cache, endpoints),
                          eox=EoxMosaics(client, cache), local=local,
                          sentinel2=Sentinel2Source(StacConfig(url=stac_url), client=client),
                          endpoints=endpoints, overlay_dir=Path(tmp) / "overlays")


def recipe(tmp: Path, data_dir: Path, endpoints: Endpoints, **kwargs: Any) -> partial[ImagerySession]:
    """fake_session with these values, picklable."""
    return partial(fake_session, str(tmp), str(data_dir), endpoints, **kwargs)
