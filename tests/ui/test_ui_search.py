"""ui.search: finding facilities by name or alias in any language, and the sidebar filters."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from shapely.geometry import box
from streamlit.testing.v1 import AppTest

from facilities.model import Alias, Facility
from tracker.seeding import read_seed
from ui.search import filter_facilities, matches, normalise

APP = Path(__file__).resolve().parents[2] / "app.py"


def facility(id: str, name: str, *aliases: Alias, country: str | None = "KP", category: str = "",
             status: str = "unknown") -> Facility:
    return Facility(id=id, name=name, geometry=box(127.5, 39.8, 127.51, 39.81), aliases=aliases,
                    country=country, category=category, status=status)


@pytest.fixture(scope="module")
def seed() -> list[Facility]:
    return list(read_seed().facilities)


@pytest.fixture
def hamhung() -> Facility:
    return facility("hamhung-works", "Hamhung Machine Works", Alias("Hamhŭng Works", "ko-Latn"),
                    Alias("함흥 기계공장", "ko"), country="KP", category="machinery", status="active")


def test_normalise():
    assert normalise("  Hamhŭng\t  WORKS ") == "hamhung works"
    assert normalise("Straße") == "strasse"
    assert normalise("함흥") == "함흥"  # Hangul is recomposed, not left as jamo
    assert normalise("") == ""


def test_italian_alias_finds_the_seed_plant(seed: list[Facility]):
    assert [f.id for f in filter_facilities(seed, "11 Febbraio")] == ["february-11-plant"]
    assert [f.id for f in filter_facilities(seed, "  stabilimento   FEBBRAIO ")] == ["february-11-plant"]
    assert [f.id for f in filter_facilities(seed, "vinalon")] == ["february-8-vinalon-complex"]
    assert [f.id for f in filter_facilities(seed, "february")] == ["february-11-plant",
                                                                   "february-8-vinalon-complex"]
    assert filter_facilities(seed, "11 vinalon") == []  # every word must match


def test_diacritics_and_korean(hamhung: Facility):
    plain = facility("other", "Other Plant", Alias("Hamhŭng Works"))
    assert matches(plain, "hamhung")
    assert matches(plain, "Hamhŭng works")
    assert matches(hamhung, "함흥")
    assert matches(hamhung, "함흥 기계")
    assert not matches(hamhung, "평양")
    assert matches(hamhung, "hamhung-works")  # the id
    assert matches(hamhung, "")


def test_filters(seed: list[Facility], hamhung: Facility):
    other = facility("iran-site", "Isfahan Site", country="IR", category="enrichment", status="inactive")
    everything = [*seed, hamhung, other]
    assert [f.id for f in filter_facilities(everything)] == ["february-11-plant", "february-8-vinalon-complex",
                                                             "hamhung-works", "iran-site"]
    assert [f.id for f in filter_facilities(everything, countries=["IR"])] == ["iran-site"]
    assert [f.id for f in filter_facilities(everything, categories=["machinery", "enrichment"])] == [
        "hamhung-works", "iran-site"]
    assert [f.id for f in filter_facilities(everything, statuses=["active"])] == ["hamhung-works"]
    assert [f.id for f in filter_facilities(everything, query="works", countries=["IR"])] == []
    last = {"february-11-plant": dt.date(2024, 11, 25), "hamhung-works": dt.date(2019, 1, 31)}
    since = dt.date(2020, 1, 1)
    assert [f.id for f in filter_facilities(everything, last_observed_from=since, last_observations=last)] == [
        "february-11-plant"]
    assert [f.id for f in filter_facilities(everything, last_observed_from=dt.date(2019, 1, 31),
                                            last_observations=last)] == ["february-11-plant", "hamhung-works"]
    assert filter_facilities(everything, last_observed_from=since) == []  # never observed: left out


def test_app_search_narrows_the_picker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TRACKER_DATABASE", str(tmp_path / "r.gpkg"))
    monkeypatch.setenv("TRACKER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TRACKER_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.delenv("TRACKER_SEED", raising=False)
    at = AppTest.from_file(str(APP), default_timeout=120).run()
    assert not at.exception, at.exception
    assert len(at.selectbox(key="facility").options) == 2
    at.text_input(key="search").input("11 Febbraio").run()
    assert not at.exception, at.exception
    picker = at.selectbox(key="facility")
    assert picker.options == ["February 11 Plant"]  # options are shown by label
    assert picker.value == "february-11-plant"
    at.text_input(key="search").input("no such place").run()
    assert not at.exception, at.exception
    assert any("No facility matches" in i.value for i in at.sidebar.info)
    assert not at.subheader  # no facility page
