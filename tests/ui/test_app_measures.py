"""The app pages of issue 16, headless (AppTest): the Compare page's Difference view on the new change measure,
footprints proposed from a dropped point and saved, and the Registry page's "Date a structure from the images".

Sites are generated (tests/support/sites.py) and imported as local images; the app runs offline, so nothing
but local images is read. AppTest does not run the map's JavaScript: a drawing is injected as st_folium's value
would carry it (the browser test draws and clicks for real)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from facilities.store import GeoPackageStore
from tests.support.apptest import open_section
from tests.support.registry import store_digest
from tests.support.scenes import iou
from tests.support.sites import SceneSite, SeriesSite, scene_site, series_site

APP = Path(__file__).resolve().parents[2] / "app.py"


def _compare(drawing: dict | None = None) -> None:
    # AppTest runs this function's source as the script: imports live inside it
    import contextlib
    from unittest import mock

    import streamlit_folium

    import ui.compare_page as page
    from facilities.store import open_store
    from tracker.settings import load_settings

    if drawing is not None:
        real = streamlit_folium.st_folium

        def fake(fig, **kwargs):
            out = real(fig, **kwargs)
            if kwargs.get("returned_objects"):
                out = {**out, "last_active_drawing": drawing, "all_drawings": [drawing]}
            return out

    # patched for this run of the script only (a patch left in place leaks into later AppTests of the process)
    drawn = mock.patch.object(page, "st_folium", fake) if drawing is not None else contextlib.nullcontext()
    settings = load_settings()
    with drawn:
        page.compare_page(open_store(settings.database), settings, "plant")


def _env(monkeypatch: pytest.MonkeyPatch, root: Path) -> None:
    monkeypatch.setenv("TRACKER_DATABASE", str(root / "registry.gpkg"))
    monkeypatch.setenv("TRACKER_DATA_DIR", str(root / "data"))
    monkeypatch.setenv("TRACKER_CONFIG", str(root / "none.toml"))
    monkeypatch.setenv("TRACKER_OFFLINE", "true")
    monkeypatch.setenv("TRACKER_SEED", "false")


@pytest.fixture
def series(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SeriesSite]:
    site = series_site(tmp_path)
    _env(monkeypatch, tmp_path)
    yield site


@pytest.fixture
def scene(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SceneSite]:
    site = scene_site(tmp_path)
    _env(monkeypatch, tmp_path)
    yield site


def _ok(at: AppTest) -> AppTest:
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


def _difference(site: SeriesSite, before: int, after: int) -> AppTest:
    at = AppTest.from_function(_compare, kwargs={"drawing": None}, default_timeout=120)
    at.run()
    _ok(at)
    at.multiselect(key="compare_sources").set_value(["Local images"]).run()
    at.selectbox(key="compare_before").set_value(str(site.keys[before]))
    at.selectbox(key="compare_after").set_value(str(site.keys[after]))
    at.radio(key="compare_mode").set_value("Difference").run()
    return _ok(at)


def _headline(at: AppTest) -> str:
    heads = [m.value for m in at.markdown if m.value.startswith("####")]
    assert len(heads) == 1, heads
    return heads[0].replace("\\", "")


def _clean_pair(site: SeriesSite, present: bool) -> tuple[int, int]:
    """Two dates without cloud or nodata: across the change (present=True) or both before it."""
    clean = [i for i in range(len(site.keys)) if i not in site.series.cloudy | site.series.holes]
    first_new = site.series.first_new or 0
    old = [i for i in clean if i < first_new]
    new = [i for i in clean if i >= first_new]
    return (old[-1], new[0]) if present else (old[0], old[-1])


def test_difference_says_how_much_changed_with_a_range_and_accept_records_the_regions(series: SeriesSite,
                                                                                      monkeypatch):
    import ui.state

    calls = []
    real = ui.state.site_change
    monkeypatch.setattr(ui.state, "site_change", lambda *a, **k: calls.append(a[3:5]) or real(*a, **k))
    before, after = _clean_pair(series, present=True)
    at = _difference(series, before, after)
    head = _headline(at)
    assert head.startswith("#### About ") and " m² changed (" in head and "between " in head, head
    assert str(series.series.dates[before]) in head and str(series.series.dates[after]) in head
    assert any("Method: histogram-matched" in c.value.replace("\\", "") for c in at.caption)
    assert at.get("download_button"), "no GeoJSON download"
    # the toggle and a visit to another view measure once per (pair, built-up only)
    at.toggle(key="change_built_up_only").set_value(True).run()
    at.toggle(key="change_built_up_only").set_value(False).run()
    at.radio(key="compare_mode").set_value("Swipe").run()
    at.radio(key="compare_mode").set_value("Difference").run()
    _ok(at)
    assert len(calls) == 2, calls
    at.selectbox(key="change_kind").set_value("construction-start")
    at.button(key="change_accept").click().run()
    _ok(at)
    assert any("Recorded observation obs-" in s.value.replace("\\", "") for s in at.success)
    store = GeoPackageStore(series.database)
    try:
        (obs,) = store.list_observations()
    finally:
        store.close()
    assert obs.kind.value == "construction-start" and obs.geometry is not None
    assert obs.geometry.geom_type in ("Polygon", "MultiPolygon") and not obs.geometry.is_empty  # one region: Polygon
    assert (obs.image.provider, obs.image.image_id) == ("local", series.keys[after].image_id)
    # the new roof is 40 m x 24 m = 960 m² (and its shadow): the regions cover it
    assert obs.geometry.intersection(series.series.footprint_lonlat).area > 0.8 * series.series.footprint_lonlat.area


def test_a_pair_without_change_is_not_significant_and_accept_writes_nothing(series: SeriesSite):
    before, after = _clean_pair(series, present=False)
    at = _difference(series, before, after)
    assert _headline(at).startswith("#### No significant change between "), _headline(at)
    digest = store_digest(series.database)
    at.button(key="change_accept").click().run()
    _ok(at)
    assert any(i.value.startswith("Not recorded: nothing changed") for i in at.info)
    assert store_digest(series.database) == digest


def _point(lon: float, lat: float) -> dict:
    return {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [lon, lat]}}


def test_a_point_dropped_inside_a_building_proposes_its_footprint_and_saves_it(scene: SceneSite):
    at = AppTest.from_function(_compare, kwargs={"drawing": _point(*scene.click_lonlat)}, default_timeout=120)
    at.run()
    _ok(at)
    at.multiselect(key="compare_sources").set_value(["Local images"]).run()
    at.radio(key="record_as").set_value("Footprint of a structure").run()
    _ok(at)
    assert at.selectbox(key="footprint_structure").value == "b1"
    assert "no footprint yet" in at.selectbox(key="footprint_structure").options[0]
    at.button(key="footprint_propose").click().run()
    _ok(at)
    said = " ".join(m.value.replace("\\", "") for m in at.markdown)
    assert "Proposed footprint (cyan on the map): " in said and "confidence " in said, said
    at.button(key="footprint_save_proposal").click().run()
    _ok(at)
    assert any("Saved the footprint of Building B" in s.value.replace("\\", "") for s in at.success)
    store = GeoPackageStore(scene.database)
    try:
        (b1,) = store.list_structures()
    finally:
        store.close()
    assert b1.geometry.geom_type == "Polygon"
    assert iou(b1.geometry, scene.truth_lonlat()) > 0.8
    assert b1.traced_on is not None and (b1.traced_on.provider, b1.traced_on.image_id) == ("local", scene.key.image_id)
    assert str(b1.traced_on.acquired) == "2024-04-02"


def test_a_traced_outline_is_saved_squared_as_the_structures_footprint(scene: SceneSite):
    lon, lat = scene.click_lonlat
    d = 0.0002
    wobbly = {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [[
        [lon - d, lat - d], [lon + d, lat - d * 1.05], [lon + d * 1.02, lat + d], [lon - d, lat + d],
        [lon - d, lat - d]]]}}
    at = AppTest.from_function(_compare, kwargs={"drawing": wobbly}, default_timeout=120)
    at.run()
    at.multiselect(key="compare_sources").set_value(["Local images"]).run()
    at.radio(key="record_as").set_value("Footprint of a structure").run()
    assert at.checkbox(key="footprint_square").value is True
    at.button(key="footprint_save").click().run()
    _ok(at)
    assert any("corners squared" in s.value.replace("\\", "") for s in at.success)
    store = GeoPackageStore(scene.database)
    try:
        (b1,) = store.list_structures()
    finally:
        store.close()
    assert b1.geometry.geom_type == "Polygon" and b1.traced_on is not None
    assert b1.traced_on.image_id == scene.key.image_id


def test_a_point_on_a_coarse_image_is_refused_in_one_sentence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    site = series_site(tmp_path, n=8)  # 1 m images: fine enough to propose; made 4 m here
    _env(monkeypatch, tmp_path)
    import datetime as dt

    import rasterio
    from affine import Affine

    from imagery.local import import_image
    from tests.support.rasters import write_tif

    t = site.series.transform
    coarse = site.series.images[-1][:, ::4, ::4]
    path = write_tif(tmp_path / "coarse.tif", coarse, "EPSG:32652", Affine(4.0, 0, t.c, 0, -4.0, t.f))
    with rasterio.open(path) as src:
        assert src.res == (4.0, 4.0)
    key = import_image(path, site.data_dir, dt.date(2030, 1, 1)).capture_id
    centre = site.series.footprint_lonlat.centroid
    at = AppTest.from_function(_compare, kwargs={"drawing": _point(centre.x, centre.y)}, default_timeout=120)
    at.run()
    at.multiselect(key="compare_sources").set_value(["Local images"]).run()
    at.radio(key="compare_mode").set_value("Time slider").run()
    at.select_slider(key="compare_slider").set_value(f"local:{key}").run()
    at.radio(key="record_as").set_value("Footprint of a structure").run()
    at.button(key="footprint_propose").click().run()
    assert not at.exception
    warned = [w.value.replace("\\", "") for w in at.warning]
    assert any(w.startswith("No footprint proposed: ") and "too coarse" in w for w in warned), warned


# -- the Registry page: "Date a structure from the images" -------------------------------------------------------


def _registry() -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=180)
    at.query_params["facility"] = "plant"
    at.run()
    return open_section(_ok(at), "Dating")


def test_dating_runs_only_when_asked_and_accept_puts_it_in_the_timeline(series: SeriesSite, monkeypatch):
    import ui.state

    calls = []
    real = ui.state.date_structure
    monkeypatch.setattr(ui.state, "date_structure", lambda *a, **k: calls.append(a[3]) or real(*a, **k))
    at = _registry()
    assert at.selectbox(key="dating_structure").value == "b1"
    assert not calls, "dating ran on page load"
    at.button(key="dating_run").click().run()
    _ok(at)
    assert calls == ["b1"]
    heads = [m.value.replace("\\", "") for m in at.markdown if m.value.startswith("#####")]
    assert heads and heads[0].startswith("##### Building B: built between "), heads
    metrics = {m.label: m.value for m in at.metric}
    absent, present = metrics["Last image absent"], metrics["First image present"]
    truth = series.series.dates[series.series.first_new or 0]
    assert absent < str(truth) <= present
    at.run()  # a rerun shows the answer again without reading the images
    assert calls == ["b1"] and any(m.label == "Last image absent" for m in at.metric)
    at.button(key="dating_accept").click().run()
    _ok(at)
    assert any("Recorded observation obs-" in s.value.replace("\\", "") for s in at.success)
    assert not [b for b in at.button if b.key == "dating_accept"]  # recorded: no second Accept
    assert any("Recorded as observation obs-" in c.value.replace("\\", "") for c in at.caption)
    open_section(at, "Timeline")
    timeline = next(d.value for d in at.dataframe if "summary" in d.value.columns and "kind" in d.value.columns)
    assert list(timeline["kind"]) == ["completed"] and timeline["structure"].iloc[0] == "Building B"


def test_a_point_structure_is_sent_to_compare_and_a_site_without_images_says_import(tmp_path, monkeypatch):
    site = series_site(tmp_path, n=8)
    _env(monkeypatch, tmp_path)
    store = GeoPackageStore(site.database)
    try:
        b1 = store.list_structures()[0]
        store.update_structure(b1.evolve(geometry=b1.geometry.centroid), actor="tester")
    finally:
        store.close()
    at = _registry()
    assert at.selectbox(key="dating_structure").options == ["Building B (trace its footprint on Compare first)"]
    assert any("Trace its footprint on Compare first" in i.value.replace("\\", "") for i in at.info)
    assert not [b for b in at.button if b.key == "dating_run"]
    # a footprint again, but no image left: "nothing to date", said plainly
    store = GeoPackageStore(site.database)
    try:
        b1 = store.list_structures()[0]
        store.update_structure(b1.evolve(geometry=site.series.footprint_lonlat), actor="tester")
    finally:
        store.close()
    for f in (site.data_dir / "imagery").iterdir():
        f.unlink()
    at = _registry()
    at.button(key="dating_run").click().run()
    assert not at.exception
    assert any(i.value.startswith("Nothing to date: no image of this site can be measured") and "Import page" in
               i.value for i in at.info), [i.value for i in at.info]
