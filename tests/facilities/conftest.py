"""Fixtures of the store tests: every backend (GeoPackage, and PostGIS on a temporary server), a small
populated registry on each (the digest of what a user reads back is tests.support.registry.readable_digest)."""

from __future__ import annotations

import pytest
import shapely

from facilities.model import Observation, Structure
from facilities.store import GeoPackageStore, open_store


@pytest.fixture(params=["gpkg", "postgis"])
def any_store(request, tmp_path):
    """An empty store on each backend: GeoPackage, and PostGIS on the suite's temporary server."""
    if request.param == "gpkg":
        s = GeoPackageStore(tmp_path / "registry.gpkg")
    else:
        s = open_store(request.getfixturevalue("pg_url"))
    yield s
    s.close()


@pytest.fixture
def any_populated(any_store, source, make_facility):
    """A facility with a structure, an observation and its source, on every backend."""
    s = any_store
    s.add_source(source, actor="t")
    s.add_facility(make_facility(source_ids=("src-1",)), actor="t")
    s.add_structure(Structure(id="site-1.a", facility_id="site-1", name="A",
                              geometry=shapely.Point(127.655, 39.925)), actor="t")
    s.add_observation(Observation(id="obs-1", facility_id="site-1", date="2024-10", kind="progress",
                                  summary="roof", structure_id="site-1.a", source_ids=("src-1",)), actor="t")
    return s
