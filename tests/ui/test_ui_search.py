"""ui.search: finding facilities by name or alias in any language, and the sidebar filters."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from shapely.geometry import box
from streamlit.testing.v1 import AppTest

from facilities.model import Alias, Facility
from tests.support.apptest import open_filters
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


# -- a search that forgives (issue 18.5) -------------------------------------------------------------


@pytest.fixture(scope="module")
def seed_places(seed: list[Facility]) -> dict[str, tuple[str, ...]]:
    from tracker.places import nearby_towns
    towns = nearby_towns([f.geometry.representative_point().coords[0] for f in seed])
    return {f.id: t for f, t in zip(seed, towns, strict=True)}


@pytest.mark.parametrize("query", ["Febraio", "Febbriao", "Stabilimnto 11", "Febuary 11", "february 11 plnat",
                                   "Hamhugn", "hamhung", "HAMHŬNG"])
def test_a_typo_or_the_town_still_finds_the_plant(seed: list[Facility], seed_places, query: str):
    found = [f.id for f in filter_facilities(seed, query, places=seed_places)]
    assert found and found[0] == "february-11-plant", found


def test_fewer_typos_rank_first():
    works = facility("works", "Hamhung Works")
    plant = facility("plant", "Hamhun Plant")  # 'hamhung' is one letter away from 'hamhun'
    assert [f.id for f in filter_facilities([works, plant], "hamhung")] == ["works", "plant"]
    assert [f.id for f in filter_facilities([plant, works], "hamhun")] == ["plant", "works"]  # exact before typo
    assert [f.id for f in filter_facilities([works, plant], "hamhun works")] == ["works"]  # every word must match


def test_short_words_must_be_exact_and_long_ones_take_two_typos():
    f = facility("f", "Feb 11 Stabilimento", Alias("Vinalon"))
    assert not matches(f, "fab")  # three letters: exact only
    assert matches(f, "Vinalom") and not matches(f, "Vinlaom")  # seven letters: one typo, not two
    assert matches(f, "Stabilimnto") and matches(f, "Stablimnto")  # twelve letters: two typos
    assert not matches(f, "Stblmnto")


def test_a_word_that_is_no_name_finds_nothing(seed: list[Facility], seed_places):
    """Precision on the seed registry: real words and 2,000 random letter strings find no facility."""
    import random
    import string
    words = ["banana", "harbour", "Pyongyang", "uranium", "airfield", "Tehran", "window", "missile", "reactor",
             "Sinpo", "Yongbyon", "shipyard", "Kusong", "launch", "plants1", "vinyl"]
    rng = random.Random(18)
    words += ["".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(4, 12))) for _ in range(2000)]
    flooded = {w: [f.id for f in found] for w in words if (found := filter_facilities(seed, w, places=seed_places))}
    assert not flooded


def test_town_names_come_from_the_gazetteer():
    from tracker.places import nearby_towns
    hamhung, open_sea = (127.5364, 39.9183), (150.0, 30.0)
    near, nothing = nearby_towns([hamhung, open_sea])
    assert near[0] == "Hamhŭng"
    assert nothing == ()
    assert nearby_towns([]) == []


def _page(at: AppTest, name: str) -> None:
    """Switch to a page of st.navigation by its title (callable pages have no file for at.switch_page)."""
    at._page_hash = next(h for h, info in at._registered_pages.items() if info.get("page_name") == name)


def test_search_and_filters_survive_a_page_change(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TRACKER_DATABASE", str(tmp_path / "r.gpkg"))
    monkeypatch.setenv("TRACKER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TRACKER_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("TRACKER_OFFLINE", "1")
    monkeypatch.delenv("TRACKER_SEED", raising=False)
    at = AppTest.from_file(str(APP), default_timeout=120).run()
    open_filters(at)  # the sidebar's filters are drawn only while open (issue 18.6); they stay open across pages
    at.text_input(key="search").input("Febraio").run()
    at.multiselect(key="filter_status").set_value(["expanding"]).run()
    assert not at.exception, at.exception
    assert at.selectbox(key="facility").options == ["February 11 Plant"]
    for page in ("Compare imagery", "Import", "Registry"):
        _page(at, page)
        at.run()
        assert not at.exception, (page, at.exception)
        if page != "Import":  # the Import page has no sidebar search
            assert at.selectbox(key="facility").options == ["February 11 Plant"], page  # applied while closed
            open_filters(at)  # a page change closes the expander; opening it shows the kept values
            assert at.text_input(key="search").value == "Febraio", page
            assert at.multiselect(key="filter_status").value == ["expanding"], page
            assert at.selectbox(key="facility").options == ["February 11 Plant"], page
    assert at.subheader[0].value == "February 11 Plant"
    # a cleared search stays cleared too
    at.text_input(key="search").input("").run()
    _page(at, "Compare imagery")
    at.run()
    _page(at, "Registry")
    at.run()
    assert at.text_input(key="search").value == ""
    open_filters(at)
    assert at.multiselect(key="filter_status").value == ["expanding"]
