"""The Compare page's "Make a timelapse" (issue 17), headless (AppTest): five generated local imports of a site
(tests/support/series.py), one date mostly without data and one under a cloud deck; the button shows the GIF with
its caption, the two download buttons and the dates left out with their reasons, and writes both files into the
app's data directory. With Esri Wayback as the only source (a fake Wayback on 127.0.0.1), one plain sentence says
why there is no timelapse and what to do, and nothing is written."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from facilities.model import Facility
from facilities.store import GeoPackageStore
from imagery.keys import ImageKey
from imagery.local import import_image
from tests.support.fake_wayback import DEFAULT_CHANGES, FakeServer, site_scenario
from tests.support.registry import store_digest
from tests.support.series import Series, building_series, write_series

CLOUDY = 3  # the date whose whole site is under a cloud


def _page(facility_id: str) -> None:
    # AppTest runs this function's source as the script: imports live inside it
    import ui.compare_page as page
    from facilities.store import open_store
    from tracker.seeding import ensure_seeded
    from tracker.settings import load_settings

    settings = load_settings()
    store = open_store(settings.database)
    if settings.seed:
        ensure_seeded(store)
    page.compare_page(store, settings, facility_id)


@dataclass(frozen=True)
class Site:
    """The registry, the data directory, the series and its image keys (oldest first)."""

    database: Path
    data_dir: Path
    series: Series
    keys: list[ImageKey]


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    series = building_series(5, n=5, change=None, clouds=0, holes=1)
    assert CLOUDY not in series.holes and series.holes
    series.images[CLOUDY][:] = 246  # bright, grey and over the whole outline: a cloud deck
    database, data = tmp_path / "registry.gpkg", tmp_path / "data"
    store = GeoPackageStore(database)
    try:
        store.add_facility(Facility(id="plant", name="Test Plant", geometry=series.site_lonlat), actor="tester")
    finally:
        store.close()
    keys = [ImageKey("local", import_image(p, data, d).capture_id)
            for p, d in zip(write_series(series, tmp_path / "src"), series.dates, strict=True)]
    monkeypatch.setenv("TRACKER_DATABASE", str(database))
    monkeypatch.setenv("TRACKER_DATA_DIR", str(data))
    monkeypatch.setenv("TRACKER_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("TRACKER_OFFLINE", "true")
    monkeypatch.setenv("TRACKER_SEED", "false")
    yield Site(database, data, series, keys)


def _ok(at: AppTest) -> AppTest:
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


def _local_page() -> AppTest:
    at = AppTest.from_function(_page, kwargs={"facility_id": "plant"}, default_timeout=120)
    at.run()
    _ok(at)
    at.multiselect(key="compare_sources").set_value(["Local images"]).run()
    return _ok(at)


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The bytes st.image hands to the media file manager (what the browser would load); AppTest has no runtime,
    so its image URLs are empty and the bytes are caught on their way."""
    from streamlit.elements.lib import image_utils

    seen: list[bytes] = []
    real = image_utils._ensure_image_size_and_format

    def spy(*args, **kwargs):
        out = real(*args, **kwargs)
        seen.append(out)
        return out

    monkeypatch.setattr(image_utils, "_ensure_image_size_and_format", spy)
    return seen


def _caption_shown(at: AppTest) -> str:
    assert len(at.image) == 1, at.image
    (caption,) = at.image[0].captions
    return caption


def test_make_a_timelapse_shows_the_gif_its_downloads_and_the_dates_left_out(site: Site, served: list[bytes]):
    at = _local_page()
    assert not at.image  # nothing made until asked
    before = store_digest(site.database)
    at.button(key="compare_timelapse_make").click().run()
    _ok(at)
    hole = next(iter(site.series.holes))
    usable = [i for i in range(5) if i not in (hole, CLOUDY)]
    # both files in the app's data directory, complete (no temporary left)
    out = sorted(p.name for p in (site.data_dir / "timelapses").iterdir())
    assert len(out) == 2 and out[0].endswith(".gif") and out[1].endswith(".mp4") and out[0][:-4] == out[1][:-4], out
    assert out[0].startswith("plant-")
    gif = site.data_dir / "timelapses" / out[0]
    with Image.open(gif) as im:
        assert im.n_frames == len(usable)
    # the GIF is shown, animated, with a caption naming the frames' dates
    caption = _caption_shown(at)
    with Image.open(io.BytesIO(served[-1])) as im:
        assert im.format == "GIF" and im.n_frames == len(usable)  # animated, not a still of the first frame
    assert caption.startswith(f"{len(usable)} frames (")
    for i in usable:
        assert site.series.dates[i].isoformat() in caption
    for i in (hole, CLOUDY):
        assert site.series.dates[i].isoformat() not in caption
    # download buttons for both files, with the files' names
    downloads = at.get("download_button")
    labels = [d.proto.label for d in downloads]
    assert labels == ["Download the GIF", "Download the MP4"], labels
    # the dates left out, each with its reason, in an expander
    (expander,) = [e for e in at.expander if "left out" in e.label]
    assert expander.label == "2 dates left out, and why"
    table = expander.dataframe[0].value
    reasons = dict(zip(table["Image"], table["Reason"], strict=True))
    assert set(reasons) == {str(site.keys[hole]), str(site.keys[CLOUDY])}
    assert reasons[str(site.keys[hole])].startswith("nodata: ")
    assert reasons[str(site.keys[CLOUDY])].startswith("cloud: 100% of the outline")
    assert store_digest(site.database) == before  # the registry is not touched
    # a rerun (another widget) shows the kept timelapse without making it again
    mtime = gif.stat().st_mtime_ns
    at.radio(key="compare_mode").set_value("Side by side").run()
    _ok(at)
    assert _caption_shown(at) == caption and gif.stat().st_mtime_ns == mtime
    # another date listed (a new import): the kept one no longer applies, the button is offered again
    later = dataclasses.replace(site.series, images=[site.series.images[0] // 2 + 1], dates=[dt.date(2030, 1, 1)])
    import_image(write_series(later, site.data_dir.parent / "later")[0], site.data_dir, dt.date(2030, 1, 1))
    at.run()
    assert len(at.selectbox(key="compare_before").options) == 6
    _ok(at)
    assert not at.image and at.button(key="compare_timelapse_make")


# -- only Esri Wayback: the plain sentence -------------------------------------------------------------


@pytest.fixture(scope="module")
def wayback() -> Iterator[FakeServer]:
    srv = FakeServer().start()
    yield srv
    srv.close()


@pytest.fixture
def wayback_only(wayback: FakeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    scenario = site_scenario()
    scenario.default_changes = list(DEFAULT_CHANGES)
    wayback.reset(scenario)
    base = wayback.base
    monkeypatch.setenv("TRACKER_DATABASE", str(tmp_path / "registry.gpkg"))
    monkeypatch.setenv("TRACKER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TRACKER_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("TRACKER_SEED", "true")
    monkeypatch.setenv("TRACKER_WAYBACK_CONFIG_URL", f"{base}/config/waybackconfig.json")
    monkeypatch.setenv("TRACKER_WAYBACK_SERVICE_ROOT", f"{base}/wayback/MapServer")
    monkeypatch.setenv("TRACKER_WAYBACK_TILE_URL", f"{base}/wayback/tile/{{release}}/{{z}}/{{y}}/{{x}}")
    monkeypatch.setenv("TRACKER_WAYBACK_SUBDOMAINS", "[]")
    monkeypatch.setenv("TRACKER_EOX_TILE_URL", f"{base}/xyz/{{z}}/{{x}}/{{y}}.png")
    monkeypatch.setenv("TRACKER_IMAGERY_ALLOW_HOSTS", json.dumps([base.split("//", 1)[1]]))
    monkeypatch.setenv("TRACKER_REQUEST_TIMEOUT", "3")
    monkeypatch.setenv("TRACKER_OFFLINE", "false")
    yield tmp_path
    assert not wayback.unserved, f"the test asked the fake for paths it does not serve: {wayback.unserved}"


def test_with_only_wayback_dates_one_sentence_says_why_and_what_to_do(wayback_only: Path):
    at = AppTest.from_function(_page, kwargs={"facility_id": "february-11-plant"}, default_timeout=120)
    at.run()
    _ok(at)
    at.multiselect(key="compare_sources").set_value(["Wayback"]).run()
    _ok(at)
    assert at.selectbox(key="compare_before").options  # the Wayback dates are listed on the page
    sentences = [i.value for i in at.info if "timelapse" in i.value]
    assert sentences == ["No timelapse can be made from these dates: Esri Wayback imagery is shown by your browser "
                         "only and is never put in a video. Import a GeoTIFF of the site on the Import page, or "
                         "choose the Sentinel-2 sources when online."], sentences
    assert not [b for b in at.button if b.key == "compare_timelapse_make"]  # no button that could only fail
    assert not (wayback_only / "data" / "timelapses").exists()
