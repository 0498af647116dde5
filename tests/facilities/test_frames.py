"""The registry as GeoDataFrames: dtypes, filters, the default registry from the settings."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

import facilities
from facilities.errors import StoreError, ValidationError
from facilities.frames import read_facilities, read_observations, read_sources, read_structures
from facilities.model import Alias, Facility, Observation, Source, Structure
from facilities.store import GeoPackageStore
from tests.support.registry import square
from tracker.seeding import ensure_seeded


@pytest.fixture
def registry(tmp_path):
    path = tmp_path / "frames.gpkg"
    store = GeoPackageStore(path)
    ensure_seeded(store)
    store.add_source(Source(id="src-x", title="Note", published="2021-03"), actor="t")
    store.add_facility(Facility(id="yard", name="Nampo Yard", geometry=square(125.4, 38.7, 0.02), country="KP",
                                category="shipyard", aliases=(Alias("남포", "ko"), Alias("Nampho")),
                                systems=("Sinpo-C",), source_ids=("src-x",), extra={"k": [1, 2]}), actor="t")
    store.add_structure(Structure(id="yard.hall", facility_id="yard", name="Hall", kind="hall",
                                  geometry=square(125.41, 38.71, 0.002), built="~2019", removed="2023-05"),
                        actor="t")
    store.add_observation(Observation(id="yard-1", facility_id="yard", date="2022-07-04", kind="progress",
                                      summary="Hall roofed", confidence="high"), actor="t")
    store.close()
    return path


def test_facilities_are_a_geodataframe_in_4326_with_proper_dtypes(registry):
    import geopandas as gpd

    df = read_facilities(registry)
    assert isinstance(df, gpd.GeoDataFrame) and df.crs.to_epsg() == 4326
    assert len(df) == 3
    assert isinstance(df["status"].dtype, pd.CategoricalDtype)
    assert "under-construction" in df["status"].cat.categories  # every status, used or not
    assert isinstance(df["category"].dtype, pd.CategoricalDtype)
    assert isinstance(df["location_precision"].dtype, pd.CategoricalDtype)
    assert pd.api.types.is_datetime64_any_dtype(df["created_at"]) and str(df["created_at"].dt.tz) == "UTC"
    row = df.set_index("id").loc["yard"]
    assert row["aliases"] == ["남포", "Nampho"] and row["alias_langs"] == ["ko", None]
    assert row["systems"] == ["Sinpo-C"] and row["source_ids"] == ["src-x"] and row["extra"] == {"k": [1, 2]}
    stored = facilities.frames.opened  # the model's area, as the store computed it
    with stored(registry) as store:
        assert row["area_m2"] == pytest.approx(store.get_facility("yard").area_m2)
    assert row.geometry.geom_type == "MultiPolygon"
    # each row's list is its own: changing one changes no other
    df.loc[0, "source_ids"].append("changed")
    assert all("changed" not in ids for ids in df["source_ids"][1:])


def test_partial_dates_carry_their_precision_and_interval(registry):
    obs = read_observations(registry, facility="february-11-plant")
    assert pd.api.types.is_datetime64_any_dtype(obs["date"])
    assert list(obs["date_start"]) == sorted(obs["date_start"])  # date order
    approx = obs[obs["date_text"] == "~2020-06"].iloc[0]
    assert approx["date_precision"] == "approximate"
    assert approx["date_start"] < pd.Timestamp("2020-06-01", tz="UTC") < approx["date_end"]
    month = obs[obs["date_text"] == "2024-10"].iloc[0]
    assert month["date_precision"] == "month"
    assert (month["date_start"], month["date_end"]) == (pd.Timestamp("2024-10-01", tz="UTC"),
                                                         pd.Timestamp("2024-10-31", tz="UTC"))
    assert isinstance(obs["kind"].dtype, pd.CategoricalDtype)
    assert obs["confidence"].cat.ordered and list(obs["confidence"].cat.categories) == ["low", "medium", "high"]
    structures = read_structures(registry, facility="yard")
    hall = structures.iloc[0]
    assert hall["built_precision"] == "approximate" and hall["removed_precision"] == "month"
    assert hall["removed_end"] == pd.Timestamp("2023-05-31", tz="UTC")
    assert hall["footprint_m2"] > 0 and structures.crs.to_epsg() == 4326
    sources = read_sources(registry)
    assert sources.set_index("id").loc["src-x", "published_precision"] == "month"


def test_filters(registry):
    assert set(read_facilities(registry, country="kp")["id"]) == {"yard", "february-11-plant",
                                                                   "february-8-vinalon-complex"}
    assert list(read_facilities(registry, category="shipyard")["id"]) == ["yard"]
    assert list(read_facilities(registry, bbox=(125.3, 38.6, 125.5, 38.8))["id"]) == ["yard"]
    assert read_facilities(registry, facility=[]).empty
    # structures and observations follow their facility
    assert set(read_structures(registry, category="shipyard")["id"]) == {"yard.hall"}
    assert set(read_observations(registry, bbox=(125.3, 38.6, 125.5, 38.8))["id"]) == {"yard-1"}
    # dates: observations overlapping the window, structures standing in it, facilities observed in it
    since = read_observations(registry, date_from="2020")
    assert (since["date_end"] >= pd.Timestamp("2020-01-01", tz="UTC")).all() and len(since) < 14
    assert set(read_facilities(registry, date_from="2022-07", date_to="2022-07")["id"]) == {"yard", "february-11-plant"}
    assert read_facilities(registry, date_from="2025-06").empty
    assert read_structures(registry, facility="yard", date_from=dt.date(2024, 1, 1)).empty  # removed 2023-05
    assert len(read_structures(registry, facility="yard", date_from="2020", date_to="2021")) == 1
    with pytest.raises(ValidationError):
        read_facilities(registry, bbox=(1, 2, 3))


def test_empty_results_keep_their_columns(registry):
    df = read_observations(registry, facility="nothing-here")
    assert df.empty and "date_precision" in df.columns and df.crs.to_epsg() == 4326


def test_db_none_is_the_settings_registry_and_a_missing_file_is_no_new_registry(registry, monkeypatch, tmp_path):
    monkeypatch.setenv("TRACKER_DATABASE", str(registry))
    assert len(facilities.read_facilities()) == 3
    missing = tmp_path / "nowhere.gpkg"
    with pytest.raises(StoreError, match="no registry"):
        read_facilities(missing)
    assert not missing.exists()


def test_top_level_names():
    for name in ("read_facilities", "read_structures", "read_observations", "read_sources"):
        assert callable(getattr(facilities, name))
