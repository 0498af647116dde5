"""`facilities built` and tracker.dating against a real registry with local imports of a generated series
(tests/support/series.py): the JSON contract, the bracket holding the true date, nothing written without
--accept and exactly one observation with it, a demolition, a point structure and a site without analysable
images refused with one clear line, and which timeline images are left out before any pixel is read."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from shapely.geometry import Point

from facilities.dates import covering
from facilities.model import Facility, Structure
from facilities.store import GeoPackageStore
from imagery.base import DateCertainty
from imagery.keys import ImageKey
from imagery.local import import_image
from imagery.timeline import TimelineEntry
from tests.support.cli import cli_in
from tests.support.registry import store_digest
from tests.support.series import Series, building_series, write_series
from tracker.dating import accept_dating, choose_images, date_structure
from tracker.errors import NothingToDate
from tracker.settings import load_settings
from tracker.wiring import imagery_session

CONTRACT = {"structure", "absent_until", "present_from", "confidence", "score", "method", "skipped", "scores"}


def _site(tmp_path, series: Series | None, *, point: bool = False) -> list[ImageKey]:
    """A registry at tmp_path/r.gpkg with facility 'plant' and structure 'b1', and the series imported."""
    store = GeoPackageStore(tmp_path / "r.gpkg")
    try:
        outline = series.site_lonlat if series else building_series(0, n=8).site_lonlat
        store.add_facility(Facility(id="plant", name="Test Plant", geometry=outline), actor="tester")
        geom = series.footprint_lonlat if series and not point else Point(outline.centroid.x, outline.centroid.y)
        store.add_structure(Structure(id="b1", facility_id="plant", name="Building B", geometry=geom), actor="tester")
    finally:
        store.close()
    if series is None:
        return []
    paths = write_series(series, tmp_path / "src")
    return [ImageKey("local", import_image(p, tmp_path / "data", d).capture_id)
            for p, d in zip(paths, series.dates, strict=True)]


@pytest.fixture
def appearing(tmp_path):
    series = building_series(11, n=14)
    keys = _site(tmp_path, series)
    return tmp_path, series, keys


def test_json_names_the_bracket_holding_the_true_date_and_nothing_is_written(appearing):
    tmp_path, series, keys = appearing
    before = store_digest(tmp_path / "r.gpkg")
    run = cli_in(tmp_path)
    doc = json.loads(run("built", "plant", "b1", "--json", "--source", "local").stdout)
    assert set(doc) >= CONTRACT and doc["structure"] == "b1" and doc["change"] == "appeared"
    absent, present = doc["absent_until"], doc["present_from"]
    assert set(absent) == {"date", "key"} and set(present) == {"date", "key"}
    assert dt.date.fromisoformat(absent["date"]) < series.dates[series.first_new] <= \
        dt.date.fromisoformat(present["date"])
    assert present["key"] == str(keys[keys.index(ImageKey.parse(present["key"]))])
    assert doc["confidence"] in ("medium", "high") and doc["score"] > 3 and "cluster matching" in doc["method"]
    skipped = {s["key"]: s["reason"] for s in doc["skipped"]}
    assert skipped.keys() == {str(keys[i]) for i in series.cloudy | series.holes}
    assert all(s["reason"].startswith(("cloud:", "nodata:")) for s in doc["skipped"])
    assert len(doc["scores"]) == len(keys) - len(skipped)
    assert {"key", "date", "score"} == set(doc["scores"][0])
    assert store_digest(tmp_path / "r.gpkg") == before  # a proposal writes nothing


def test_text_output_says_built_between_with_both_images_and_the_skipped_ones(appearing):
    tmp_path, series, keys = appearing
    out = cli_in(tmp_path)("built", "Test Plant", "b1", "--source", "local").stdout
    assert out.startswith("Building B: built between ")
    assert "(absent on local:" in out and "(present on local:" in out and "confidence " in out
    assert f"{len(series.cloudy | series.holes)} images skipped:" in out and "cloud:" in out


def test_accept_records_exactly_one_observation_with_the_brackets_date_and_precision(appearing):
    tmp_path, series, keys = appearing
    run = cli_in(tmp_path)
    doc = json.loads(run("built", "plant", "b1", "--json", "--source", "local", "--accept").stdout)
    store = GeoPackageStore(tmp_path / "r.gpkg")
    try:
        observations = store.list_observations()
    finally:
        store.close()
    assert len(observations) == 1
    obs = observations[0]
    assert doc["observation"]["id"] == obs.id and obs.structure_id == "b1" and obs.kind.value == "completed"
    first = dt.date.fromisoformat(doc["absent_until"]["date"]) + dt.timedelta(days=1)
    last = dt.date.fromisoformat(doc["present_from"]["date"])
    assert obs.date == covering(first, last) and obs.date.start <= first and last <= obs.date.end
    assert f"{obs.image.provider}:{obs.image.image_id}" == doc["present_from"]["key"]
    assert doc["absent_until"]["key"] in obs.notes and doc["present_from"]["key"] in obs.notes
    assert "cluster matching" in obs.notes and obs.confidence.value == doc["confidence"]
    text = run("built", "plant", "b1", "--source", "local", "--accept").stdout
    assert "recorded obs-" in text


def test_a_point_structure_is_refused_with_one_clear_line(tmp_path):
    _site(tmp_path, None, point=True)
    res = cli_in(tmp_path)("built", "plant", "b1", "--source", "local", ok=False)
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert res.stderr.strip().startswith("error: structure b1 is located by a Point")
    assert "trace its footprint first" in res.stderr and len(res.stderr.strip().splitlines()) == 1


def test_a_site_without_analysable_images_is_refused_and_an_unknown_structure_named(tmp_path):
    _site(tmp_path, None)
    store = GeoPackageStore(tmp_path / "r.gpkg")
    try:
        store.update_structure(store.list_structures()[0].evolve(geometry=building_series(0, n=8).footprint_lonlat),
                               actor="tester")
    finally:
        store.close()
    run = cli_in(tmp_path)
    res = run("built", "plant", "b1", "--source", "local", ok=False)
    assert "error: the site has no dated image in the period" in res.stderr and "facilities imagery import" in \
        res.stderr
    res = run("built", "plant", "b9", "--source", "local", ok=False)
    assert "no structure 'b9'" in res.stderr and "b1" in res.stderr


def _entry(provider: str, day: int, *, analysable: bool = True, res: float | None = 0.5,
           certainty: DateCertainty = DateCertainty.STATED, cloud: float | None = None) -> TimelineEntry:
    return TimelineEntry(ImageKey(provider, f"{provider}{day}"), dt.date(2021, 1, day), certainty, "local",
                         resolution_m=res, cloud_fraction=cloud, analysable=analysable)


def test_a_wayback_only_site_has_nothing_to_date_and_says_why():
    with pytest.raises(NothingToDate, match="none of the site's 3 dated images may be analysed .Esri Wayback"):
        choose_images([_entry("esri-wayback", d, analysable=False, certainty=DateCertainty.CAPTURED)
                       for d in (1, 2, 3)], 960.0)


def test_images_left_out_before_reading_each_have_their_reason():
    entries = [_entry("esri-wayback", 1, analysable=False), _entry("eox-s2cloudless", 2, res=10,
                                                                   certainty=DateCertainty.COMPOSITE),
               _entry("sentinel-2-l2a", 3, res=10, certainty=DateCertainty.CAPTURED, cloud=0.6),
               _entry("sentinel-2-l2a", 4, res=10, certainty=DateCertainty.CAPTURED, cloud=0.0),
               *(_entry("local", d) for d in (5, 6, 7, 8)), _entry("local", 9, res=3.0)]
    chosen, skipped, pixel = choose_images(entries, footprint_m2=3_000.0)
    reasons = {s.key.image_id: s.reason for s in skipped}
    assert [e.key.image_id for e in chosen] == ["local5", "local6", "local7", "local8"] and pixel == 0.5
    assert reasons["esri-wayback1"].startswith("display only")
    assert reasons["eox-s2cloudless2"].startswith("yearly composite")
    assert reasons["sentinel-2-l2a3"].startswith("cloud: 60%")
    assert "coarser than the 0.5 m images" in reasons["sentinel-2-l2a4"] and "3 m" in reasons["local9"]
    # a small footprint: 10 m pixels put too few of themselves on it, whatever else there is
    _, skipped, _ = choose_images([_entry("sentinel-2-l2a", d, res=10, certainty=DateCertainty.CAPTURED)
                                   for d in (1, 2)], footprint_m2=900.0)
    assert all("too few to measure" in s.reason for s in skipped)


def test_a_demolition_is_proposed_and_accepted_as_demolished(tmp_path, monkeypatch):
    series = building_series(2, n=12, change="disappeared", clouds=1, holes=0)
    keys = _site(tmp_path, series)
    monkeypatch.setenv("TRACKER_DATABASE", str(tmp_path / "r.gpkg"))
    settings = load_settings()
    store, session = GeoPackageStore(tmp_path / "r.gpkg"), imagery_session(settings)
    try:
        dating = date_structure(store, session, "plant", "b1", sources=("local",))
        assert dating.change == "disappeared" and dating.absent_until is None and dating.present_until is not None
        assert dating.before.date < series.dates[series.first_new] <= dating.after.date  # type: ignore[union-attr]
        assert dating.after.key in keys  # type: ignore[union-attr]
        obs = accept_dating(store, dating, actor="tester")
        assert obs.kind.value == "demolished" and store.list_observations() == [obs]
    finally:
        session.close()
        store.close()


def test_a_building_standing_throughout_has_no_bracket_and_nothing_to_accept(tmp_path, monkeypatch):
    series = building_series(6, n=8, change=None, clouds=0, holes=0)
    _site(tmp_path, series)
    store, session = GeoPackageStore(tmp_path / "r.gpkg"), imagery_session(load_settings())
    try:
        dating = date_structure(store, session, "plant", "b1", sources=("local",))
        assert dating.change == "present-throughout" and dating.before is None and dating.confidence == "low"
        assert "present on every image measured (8" in dating.text()
        with pytest.raises(NothingToDate, match="no bracket"):
            accept_dating(store, dating, actor="tester")
        assert store.list_observations() == []
    finally:
        session.close()
        store.close()


def test_skipped_composites_are_one_line_and_the_reasons_that_matter_stay_visible():
    from tracker.dating import Skipped, skipped_lines

    eox = [Skipped(ImageKey("eox-s2cloudless", str(y)), dt.date(y, 7, 1), "yearly composite: cannot date an event")
           for y in range(2016, 2024)]
    cloud = Skipped(ImageKey("local", "a" * 64), dt.date(2020, 2, 29), "cloud: 35% of the ring is bright and grey")
    lines = skipped_lines([eox[0], cloud, *eox[1:]])
    assert lines == ["  8 images eox-s2cloudless (2016-07-01 to 2023-07-01): yearly composite: cannot date an event",
                     "  2020-02-29 local:aaaaaaaaaaaaaa…: cloud: 35% of the ring is bright and grey"]
    assert len(skipped_lines(eox[:2])) == 2  # a pair is not worth a summary
