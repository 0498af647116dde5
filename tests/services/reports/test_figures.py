"""Figures from local GeoTIFFs in UTM 52N around the plant: grid, pair, GIF, and the edge cases."""

from __future__ import annotations

import pytest
from PIL import Image

from imagery.local import LocalSource
from tests.support.reports import HOSTILE, KOREAN, make_imagery, make_store
from tracker.reports.figures import PRINT_DPI, blank_fraction, caption, load_chips, make_figures
from tracker.site import load_site

pytestmark = pytest.mark.filterwarnings("ignore:Glyph:UserWarning")  # Hangul without a CJK font installed


def test_grid_pair_and_gif_for_three_dates(tmp_path):
    store = make_store(tmp_path / "r.gpkg", name=KOREAN, observations=5)
    make_imagery(tmp_path, tmp_path / "data", ["2019-06-01", "2022-05-02", "2024-10-05"])
    site = load_site(store, "february-11-plant")
    chips, notes = load_chips(site, LocalSource(tmp_path / "data"))
    assert len(chips) == 3 and not notes
    figs = make_figures(site, chips, tmp_path / "figs")
    assert figs.dates == ["2019-06-01", "2022-05-02", "2024-10-05"]
    for png in (figs.grid, figs.pair):
        with Image.open(png) as im:
            assert im.info["dpi"][0] == pytest.approx(PRINT_DPI, abs=1)
            assert im.width >= 1800
        assert blank_fraction(png) < 0.8
    with Image.open(figs.gif) as gif:
        assert gif.n_frames == 3
    assert set(figs.links) == {o.id for o in site.observations}
    assert all(figs.grid.name in names for names in figs.links.values())


def test_caption_names_provider_scene_date_and_attribution(tmp_path):
    caps = make_imagery(tmp_path, tmp_path / "data", ["2024-10-05"])
    text = caption(caps[0])
    assert text.startswith("local ") and "2024-10-05" in text and "Imagery © Test Imaging Co." in text


def test_one_date_gives_the_grid_only(tmp_path):
    store = make_store(tmp_path / "r.gpkg", name=HOSTILE + " " + "x" * 250, observations=0)
    make_imagery(tmp_path, tmp_path / "data", ["2024-10-05"])
    site = load_site(store, "february-11-plant")
    chips, _ = load_chips(site, LocalSource(tmp_path / "data"))
    figs = make_figures(site, chips, tmp_path / "figs", dpi=100)
    assert figs.grid is not None and figs.pair is None and figs.gif is None
    assert figs.notes and figs.links == {}


def test_no_imagery_gives_no_figures_and_a_note(tmp_path):
    store = make_store(tmp_path / "r.gpkg", observations=2)
    site = load_site(store, "february-11-plant")
    chips, notes = load_chips(site, LocalSource(tmp_path / "empty"))
    figs = make_figures(site, chips, tmp_path / "figs")
    assert chips == [] and figs.paths == [] and "No imagery" in figs.notes[0]
