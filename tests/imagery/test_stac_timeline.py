"""Eight years of Sentinel-2 at the February 11 Plant from generated Earth Search answers in the real shape:
every page, two tiles per date stitched, cloudiness inside the outline from SCL, the clearest per month or
season, and what a short answer, a failed page or a missing SCL asset leaves out, said."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import box

from imagery.base import Capture, DateCertainty
from imagery.keys import ImageKey
from imagery.scenes import clearest, period_of
from imagery.stac import PROVIDER, Sentinel2Source, StacConfig
from tests.support.stac_replay import C1_BLOB, PLANT, StacReplay, plant_timeline

START, END = dt.date(2017, 1, 3), dt.date(2024, 12, 31)


@pytest.fixture(scope="module")
def years(tmp_path_factory):
    items, files = plant_timeline(tmp_path_factory.mktemp("scl"), START, END, every_days=30)
    return items, files


@pytest.fixture
def replay(years):
    server = StacReplay()
    server.server.files.update(years[1])
    yield server
    server.close()


def _source(replay: StacReplay, url: str, **kw) -> Sentinel2Source:
    config = StacConfig(url=url, asset_mirrors={C1_BLOB: replay.url}, timeout=(2, 5), max_retries=0, **kw)
    return Sentinel2Source(config, max_cloud=None)


def test_eight_years_every_page_every_date_stitched(replay, years):
    items, _ = years
    url = replay.generated(items, page_size=100)
    caps = _source(replay, url).captures(PLANT, START, END)
    dates = sorted({dt.date.fromisoformat(i["properties"]["datetime"][:10]) for i in items})
    assert [c.date for c in caps] == dates and len(dates) == len(items) // 2  # two tiles a date, one capture
    assert caps.left_out == 0 and caps.problem is None and caps.matched == len(items) and caps.items == len(items)
    assert len(replay.searches) == -(-len(items) // 100)  # one request per page
    first = caps[0]
    assert first.capture_id == "+".join(first.extra["items"]) and len(first.extra["items"]) == 2
    assert {p["id"][5:10] for p in first.extra["parts"]} == {"52SDG", "52SEG"}
    key = ImageKey(PROVIDER, first.capture_id)
    assert ImageKey.parse(str(key)) == key  # one string naming both items
    assert first.extra["coverage"] == pytest.approx(1.0)
    assert all(c.certainty is DateCertainty.CAPTURED and c.resolution_m == 10 for c in caps)
    # cloud over none, 40 % or all of the plant's west, in turn: inside the outline, each stitched part once
    assert [c.cloud_fraction for c in caps[:3]] == [pytest.approx(0.0), pytest.approx(0.4, abs=0.06),
                                                    pytest.approx(1.0)] or \
        sorted(round(c.cloud_fraction, 1) for c in caps[:3]) == [0.0, 0.4, 1.0]


def test_cloudiness_is_read_inside_the_outline_only(replay, years):
    """The west 40 % cloudy: the eastern half of the plant as the outline sees no cloud, the western half 80 %."""
    items, _ = years
    url = replay.generated(items[:2], page_size=100)  # the newest date only
    source = _source(replay, url)
    west, south, east, north = PLANT
    middle = (west + east) / 2
    whole = source.captures(PLANT)[0]
    east_half = source.captures(PLANT, outline=box(middle + 0.0005, south, east, north))[0]
    west_half = source.captures(PLANT, outline=box(west, south, middle - 0.0005, north))[0]
    fractions = {round(whole.cloud_fraction, 1), round(east_half.cloud_fraction, 1)}
    if whole.cloud_fraction > 0.9:  # the all-cloudy variant
        assert east_half.cloud_fraction == pytest.approx(1.0)
    elif whole.cloud_fraction < 0.05:
        assert fractions == {0.0}
    else:
        assert east_half.cloud_fraction == 0.0 and west_half.cloud_fraction == pytest.approx(0.8, abs=0.1)
    scl_gets = [h for h in replay.server.hits if h.path.endswith("SCL.tif") and h.method == "GET"]
    # windows by range requests; a file smaller than GDAL's first read (32 KB) may be read whole
    assert scl_gets and all(h.range or len(replay.server.files[h.path]) < 32768 for h in scl_gets)


def test_clearest_per_month_and_season(replay, years):
    items, _ = years
    url = replay.generated(items, page_size=100)
    caps = _source(replay, url).captures(PLANT, START, END)
    monthly = clearest(caps, "month")
    assert len({period_of(c.date, "month") for c in monthly}) == len(monthly)
    seasons = clearest(caps, "season")
    assert len(seasons) == len({period_of(c.date, "season") for c in caps})
    for chosen in seasons:
        same = [c for c in caps if period_of(c.date, "season") == period_of(chosen.date, "season")]
        assert chosen.cloud_fraction == min(c.cloud_fraction for c in same)


def _cap(day: dt.date, cloud: float | None, scene: float | None = None, name: str = "x") -> Capture:
    return Capture(PROVIDER, f"{name}{day}", day, DateCertainty.CAPTURED, extra={"scene_cloud_cover": scene},
                   cloud_fraction=cloud)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.dates(dt.date(2016, 1, 1), dt.date(2025, 12, 31)),
                          st.one_of(st.none(), st.floats(0, 1))), max_size=40))
def test_clearest_keeps_one_per_period_the_least_cloudy(rows):
    caps = [_cap(d, c, name=str(n)) for n, (d, c) in enumerate(rows)]
    for per in ("month", "season"):
        chosen = clearest(caps, per)
        assert len(chosen) == len({period_of(c.date, per) for c in caps})
        for c in chosen:
            rivals = [r.cloud_fraction for r in caps if period_of(r.date, per) == period_of(c.date, per)]
            known = [r for r in rivals if r is not None]
            assert c.cloud_fraction == (min(known) if known else None)


def test_december_counts_to_the_next_winter():
    assert period_of(dt.date(2020, 12, 15), "season") == "2021-DJF"
    assert period_of(dt.date(2021, 2, 28), "season") == "2021-DJF"
    assert period_of(dt.date(2021, 3, 1), "season") == "2021-MAM"
    with pytest.raises(ValueError, match="month' or 'season"):
        period_of(dt.date(2021, 3, 1), "week")  # type: ignore[arg-type]


def test_fewer_items_than_matched_is_said(replay, years):
    items, _ = years
    url = replay.generated(items[:150], page_size=100, matched_extra=37)
    caps = _source(replay, url).captures(PLANT, START, END)
    assert caps.left_out == 37 and caps.matched == 187
    assert caps.problem == (f"earth-search sentinel-2-c1-l2a ({url}) matched 187 scenes but returned 150 over "
                            "2 pages: 37 not listed")
    assert len(caps) == 75


def test_a_page_failing_mid_way_says_which_part_is_missing(replay, years):
    items, _ = years
    url = replay.generated(items, page_size=50, fail_page=3)
    caps = _source(replay, url).captures(PLANT, START, END)
    assert len(caps) == 50 and caps.left_out == len(items) - 100
    newest, oldest = items[0]["properties"]["datetime"][:10], items[99]["properties"]["datetime"][:10]
    assert "page 3 of the search failed" in caps.problem and "HTTP 502" in caps.problem
    assert f"100 items listed (dates {oldest} to {newest})" in caps.problem
    assert f"{len(items) - 100} items not listed" in caps.problem


def test_a_first_page_failing_is_an_error_not_an_empty_list(replay, years):
    from imagery.errors import StacError

    url = replay.generated(years[0], page_size=50, fail_page=1)
    with pytest.raises(StacError, match="search on .* failed.*502"):
        _source(replay, url).captures(PLANT, START, END)


def test_an_item_without_scl_has_no_cloudiness_and_says_why(replay, years, tmp_path):
    items, _ = plant_timeline(tmp_path, dt.date(2024, 6, 1), dt.date(2024, 6, 1), stitched=False)
    for item in items:
        del item["assets"]["scl"]
    url = replay.generated(items)
    caps = _source(replay, url).captures(PLANT)
    assert len(caps) == 1 and caps[0].cloud_fraction is None
    assert caps[0].extra["cloud_reason"] == f"{items[0]['id']} has no SCL asset ('scl')"


def test_a_failing_scl_read_leaves_the_scene_with_the_reason(replay, years, tmp_path):
    items, _ = plant_timeline(tmp_path, dt.date(2024, 6, 1), dt.date(2024, 6, 1), stitched=False)
    url = replay.generated(items)  # its SCL path is not served: 404
    caps = _source(replay, url).captures(PLANT)
    assert len(caps) == 1 and caps[0].cloud_fraction is None
    assert caps[0].extra["cloud_reason"].startswith("SCL read failed") and "404" in caps[0].extra["cloud_reason"]
