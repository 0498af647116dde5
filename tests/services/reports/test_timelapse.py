"""The timelapse (tracker.reports.timelapse) against a real registry with five local imports of a generated site
(tests/support/series.py), one date mostly without data and one under cloud: one stamped frame per usable date in
the GIF (Pillow) and the MP4 (PyAV decode), the dates left out with their reasons, the stamp drawn and the
outline on the image's own pixels, Esri Wayback never in a server-made video, and the CLI's output and exits."""

from __future__ import annotations

import datetime as dt

import av
import numpy as np
import pytest
from PIL import Image

from facilities.model import Facility
from facilities.store import GeoPackageStore
from imagery.aoi import AreaOfInterest
from imagery.base import DateCertainty
from imagery.chips import align
from imagery.coverage import outline_mask
from imagery.keys import ImageKey
from imagery.local import import_image
from imagery.timeline import TimelineEntry
from tests.support.cli import cli_in
from tests.support.registry import store_digest
from tests.support.series import Series, building_series, write_series
from tracker.errors import NothingToAnimate
from tracker.reports.frames import (
    BACKGROUND,
    FONT_NOTICE,
    OUTLINE,
    band_height,
    display_rgb,
    nanum_path,
    stamp_band,
    stamp_font,
)
from tracker.reports.timelapse import STAMP_LINES, frame_grid, make_timelapse, plan_frames, stamp_lines
from tracker.settings import load_settings
from tracker.timeline import SiteTimeline
from tracker.wiring import imagery_session

NAME = "2월11일공장 Test Plant"
CLOUDY = 3  # the date whose whole site is under a cloud


def _series() -> Series:
    series = building_series(5, n=5, change=None, clouds=0, holes=1)
    assert CLOUDY not in series.holes and series.holes
    series.images[CLOUDY][:] = 246  # bright, grey and over the whole outline: a cloud deck
    return series


@pytest.fixture
def site(tmp_path, monkeypatch):
    """A registry at tmp_path/r.gpkg with facility 'plant' and the five dates imported; (path, series, keys)."""
    series = _series()
    store = GeoPackageStore(tmp_path / "r.gpkg")
    try:
        store.add_facility(Facility(id="plant", name=NAME, geometry=series.site_lonlat), actor="tester")
    finally:
        store.close()
    keys = [ImageKey("local", import_image(p, tmp_path / "data", d).capture_id)
            for p, d in zip(write_series(series, tmp_path / "src"), series.dates, strict=True)]
    monkeypatch.setenv("TRACKER_DATABASE", str(tmp_path / "r.gpkg"))
    return tmp_path, series, keys


def _make(tmp_path, **kw):
    store, session = GeoPackageStore(tmp_path / "r.gpkg"), imagery_session(load_settings())
    try:
        return make_timelapse(store, session, "plant", tmp_path / "out" / "tl", sources=("local",), **kw)
    finally:
        session.close()
        store.close()


def _gif_frames(path) -> list[np.ndarray]:
    out = []
    with Image.open(path) as gif:
        for n in range(gif.n_frames):
            gif.seek(n)
            out.append(np.asarray(gif.convert("RGB")))
    return out


def test_one_frame_per_usable_date_in_the_gif_and_the_mp4_and_the_others_listed_with_why(site):
    tmp_path, series, keys = site
    before = store_digest(tmp_path / "r.gpkg")
    result = _make(tmp_path)
    hole = next(iter(series.holes))
    usable = [i for i in range(5) if i not in (hole, CLOUDY)]
    assert [f.key for f in result.frames] == [keys[i] for i in usable]
    assert [f.date for f in result.frames] == [series.dates[i] for i in usable]
    assert all(f.certainty is DateCertainty.STATED for f in result.frames)
    reasons = {s.key: s.reason for s in result.left_out}
    assert set(reasons) == {keys[hole], keys[CLOUDY]}
    assert reasons[keys[hole]].startswith("nodata: ") and "of the outline has no pixels" in reasons[keys[hole]]
    assert reasons[keys[CLOUDY]].startswith("cloud: 100% of the outline")
    assert result.gif == tmp_path / "out" / "tl.gif" and result.video == tmp_path / "out" / "tl.mp4"
    with Image.open(result.gif) as gif:
        assert gif.n_frames == len(usable) and gif.size == result.size
    with av.open(str(result.video)) as video:
        decoded = list(video.decode(video=0))
    assert len(decoded) == len(usable)
    assert (decoded[0].width, decoded[0].height) == result.size and result.size[0] % 2 == result.size[1] % 2 == 0
    assert store_digest(tmp_path / "r.gpkg") == before  # the registry is not touched
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["tl.gif", "tl.mp4"]  # no temporary left


def test_each_frame_is_the_images_pixels_with_the_outline_and_a_stamp_band_under_them(site):
    tmp_path, series, keys = site
    result = _make(tmp_path)
    store, session = GeoPackageStore(tmp_path / "r.gpkg"), imagery_session(load_settings())
    try:
        fac = store.get_facility("plant")
        one_metre = TimelineEntry(keys[0], series.dates[0], DateCertainty.STATED, "local", resolution_m=1.0)
        grid = frame_grid(AreaOfInterest.of(fac.geometry), [one_metre])  # the series' 1 m pixels
        first = align(session.read_image(keys[0], grid), grid)
    finally:
        session.close()
        store.close()
    font = stamp_font(max(11, round(grid.width / 48)))
    assert result.size == (grid.width, grid.height + band_height(STAMP_LINES, font))
    frames = _gif_frames(result.gif)
    picture, band = frames[0][:grid.height], frames[0][grid.height:]
    raw = display_rgb(first.data, first.nodata)
    # the picture is the image's own pixels (GIF palette aside) except along the outline
    inside = outline_mask(fac.geometry, grid)
    from scipy import ndimage
    away = ndimage.binary_erosion(inside, iterations=6)
    assert np.abs(picture[away].astype(int) - raw[away]).mean() < 4
    edge = inside & ~ndimage.binary_erosion(inside, iterations=1)
    near_outline = np.abs(picture[edge].astype(int) - OUTLINE).sum(axis=1) < 60
    assert near_outline.mean() > 0.5  # the outline is drawn, in its colour
    # the stamp band holds text: not blank, and each date's band differs (its date is stamped)
    blank = np.array(BACKGROUND)
    assert (np.abs(band.astype(int) - blank).sum(axis=2) > 60).sum() > 200
    bands = [f[grid.height:] for f in frames]
    assert all(not np.array_equal(bands[0], b) for b in bands[1:])


def test_stamping_draws_the_text_it_is_given():
    font = stamp_font(16)
    text = stamp_band(["2020-01-10 (capture date)  ·  Sentinel-2 L2A scene"], 480, font)
    blank = stamp_band([""], 480, font)
    ink = np.abs(np.asarray(text).astype(int) - np.asarray(blank)).sum(axis=2) > 60
    assert ink.sum() > 150 and not ink[:, -8:].any()  # drawn, and kept inside the band's padding
    other = stamp_band(["2021-01-10 (capture date)  ·  Sentinel-2 L2A scene"], 480, font)
    assert not np.array_equal(np.asarray(text), np.asarray(other))
    long = stamp_band(["x" * 400], 200, font)
    assert not (np.abs(np.asarray(long).astype(int) - np.asarray(stamp_band([""], 200, font))).sum(axis=2)
                > 60)[:, -3:].any()  # a line too long is cut, not drawn off the edge


@pytest.mark.skipif(nanum_path() is None, reason="no Nanum font installed")
def test_korean_is_drawn_with_real_glyphs_when_nanum_is_installed():
    font = stamp_font(20)
    assert font.notice is None
    ga, na = (np.asarray(stamp_band([t], 120, font)) for t in ("가", "나"))
    assert not np.array_equal(ga, na)  # two Hangul glyphs, not the same missing-glyph box


def test_without_nanum_the_default_font_is_used_with_a_one_line_notice(tmp_path):
    font = stamp_font(14, (tmp_path,))
    assert font.notice == FONT_NOTICE and "\n" not in FONT_NOTICE
    drawn = np.asarray(stamp_band(["2020-01-10"], 200, font)).astype(int)
    assert (np.abs(drawn - np.asarray(stamp_band([""], 200, font))).sum(axis=2) > 60).sum() > 30


def _entry(provider: str, day: int, *, analysable: bool = True, source: str = "local", cloud: float | None = None,
           certainty: DateCertainty = DateCertainty.CAPTURED, attribution: str = "") -> TimelineEntry:
    return TimelineEntry(ImageKey(provider, f"{provider}{day}"), dt.date(2021, 1, day), certainty, source,
                         resolution_m=10.0, cloud_fraction=cloud, analysable=analysable, attribution=attribution)


def test_wayback_only_is_refused_in_one_line_and_the_others_are_left_out_with_their_reason():
    wayback = [_entry("esri-wayback", d, analysable=False, source="wayback") for d in (1, 2, 3)]
    with pytest.raises(NothingToAnimate) as err:
        plan_frames(wayback)
    assert "none of the site's 3 dated images may go into a server-made video" in str(err.value)
    assert "shown in the browser only" in str(err.value) and "\n" not in str(err.value)
    chosen, left = plan_frames([*wayback, _entry("sentinel-2-l2a", 4, source="sentinel-2", cloud=0.6),
                                _entry("sentinel-2-l2a", 5, source="sentinel-2", cloud=0.1),
                                _entry("eox-s2cloudless-2020", 6, source="eox", certainty=DateCertainty.COMPOSITE)])
    assert [e.key.image_id for e in chosen] == ["sentinel-2-l2a5", "eox-s2cloudless-20206"]
    reasons = {s.key.image_id: s.reason for s in left}
    assert all(reasons[f"esri-wayback{d}"].startswith("licence: Esri Wayback is shown in the browser only")
               for d in (1, 2, 3))
    assert reasons["sentinel-2-l2a4"].startswith("cloud: 60% of the site")


def test_past_the_frame_limit_evenly_spaced_dates_are_kept_and_the_rest_listed():
    chosen, left = plan_frames([_entry("local", d) for d in range(1, 11)], max_frames=4)
    assert [e.date.day for e in chosen] == [1, 4, 7, 10]
    assert len(left) == 6 and all(s.reason.startswith("frame limit: at most 4 frames") for s in left)


def test_the_stamp_says_what_the_date_means_and_whose_credit():
    s2 = stamp_lines(_entry("sentinel-2-l2a", 5, source="sentinel-2",
                            attribution="Contains modified Copernicus Sentinel data 2021"), NAME)
    assert s2[0] == "2021-01-05 (capture date)  ·  Sentinel-2 L2A scene"
    assert s2[1] == "Credit: Contains modified Copernicus Sentinel data 2021" and s2[2].startswith(NAME)
    eox = stamp_lines(_entry("eox-s2cloudless-2021", 1, source="eox", certainty=DateCertainty.COMPOSITE), NAME)
    assert eox[0].startswith("2021 yearly composite (many dates blended)")
    own = stamp_lines(_entry("local", 7, certainty=DateCertainty.STATED, attribution="© A. Analyst"), NAME)
    assert own[0].startswith("2021-01-07 (date stated by the analyst)") and own[1] == "Credit: © A. Analyst"
    assert "no credit given at import" in stamp_lines(_entry("local", 7), NAME)[1]


def test_a_wayback_only_site_writes_nothing(site):
    tmp_path, series, _ = site
    store, session = GeoPackageStore(tmp_path / "r.gpkg"), imagery_session(load_settings())
    try:
        fac = store.get_facility("plant")
        timeline = SiteTimeline(fac, [_entry("esri-wayback", d, analysable=False, source="wayback") for d in (1, 2)])
        with pytest.raises(NothingToAnimate, match="shown in the browser only"):
            make_timelapse(store, session, "plant", tmp_path / "out" / "tl", timeline=timeline)
    finally:
        session.close()
        store.close()
    assert not (tmp_path / "out").exists()


def test_cli_prints_what_it_wrote_the_frames_and_the_dates_left_out(site):
    tmp_path, series, keys = site
    run = cli_in(tmp_path)
    out = run("report", "timelapse", NAME, "-o", "movies/", "--source",
              "local").stdout
    assert out.startswith("wrote movies/plant-timelapse.gif\nwrote movies/plant-timelapse.mp4\n")
    assert "3 frames (" in out and "2 dates left out:" in out and ": nodata: " in out and ": cloud: 100%" in out
    later = run("report", "timelapse", "plant", "-o", "late", "--source", "local", "--from",
                series.dates[2].isoformat()).stdout
    assert later.startswith("wrote late.gif\nwrote late.mp4\n")
    with Image.open(tmp_path / "late.gif") as gif:
        assert gif.n_frames == sum(1 for i in range(2, 5) if i not in series.holes and i != CLOUDY)


def test_cli_refusals_are_one_line_and_exit_1(site):
    tmp_path, series, _ = site
    run = cli_in(tmp_path)
    res = run("report", "timelapse", "plant", "--source", "local", "--to", "2019", ok=False)
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert res.stderr.strip() == ("error: the site has no dated image in the period; import your own images "
                                  "(facilities imagery import) or use Sentinel-2 scenes")
    res = run("report", "timelapse", "nowhere", "--source", "local", ok=False)
    assert res.returncode == 1 and res.stderr.strip() == "error: no facility with id, name or alias 'nowhere'"
    assert not (tmp_path / "report").exists()
