"""Where the data that ships with the package is: the seed registry and the reader's lexicon.

The seeds live in the checkout's top-level `seeds/` (the layout the user asked for); a wheel or
`pip install .` carries them as `tracker/seeds` (setup.py's build step). They are found through the
package, so an installed copy never looks for a checkout it does not have, and an editable install
(where `tracker/seeds` does not exist) reads the checkout's folder.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from .errors import TrackerError

CHECKOUT_SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def seeds_dir() -> Path:
    """The seeds folder: inside the installed package, else the checkout's (editable install)."""
    packaged = resources.files("tracker") / "seeds"
    if isinstance(packaged, Path) and packaged.is_dir():  # a zipped install would need as_file(); wheels unpack
        return packaged
    if CHECKOUT_SEEDS.is_dir():
        return CHECKOUT_SEEDS
    raise TrackerError(f"the seed data is missing: neither {packaged} nor {CHECKOUT_SEEDS} exists; "
                       "reinstall facility-tracker")


NATURAL_EARTH_LAND = Path(__file__).resolve().parent / "data" / "naturalearth_lowres.geojson"
"""Natural Earth 1:110m country outlines (public domain; tracker/data/README.md): the app's offline basemap and the
report's locator maps read this one file."""
