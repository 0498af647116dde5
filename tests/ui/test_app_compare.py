"""The compare page, headless: dated layers from a fake Wayback on 127.0.0.1 and a local GeoTIFF,
swipe/side-by-side/time-slider/difference views, and a drawn shape recorded as an observation.

AppTest does not run the map's JavaScript: st_folium returns its default value, so a drawing is
injected as the component's value would carry it (the browser test draws for real)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_bounds
from streamlit.testing.v1 import AppTest

from facilities.store import Filter, open_store
from tests.support.fake_wayback import DEFAULT_CHANGES, FakeServer, site_scenario  # noqa: E402

PLANT = "february-11-plant"


def _page(facility_id: str, drawing: dict | None = None) -> None:
    # AppTest runs this function's source as the script: imports live inside it
    import contextlib
    from unittest import mock

    import streamlit_folium

    import ui.compare_page as page
    from facilities.store import open_store
    from tracker.seeding import ensure_seeded
    from tracker.settings import load_settings

    if drawing is not None:  # what the browser's draw tool would send back
        real = streamlit_folium.st_folium

        def fake(fig, **kwargs):
            out = real(fig, **kwargs)
            if kwargs.get("returned_objects"):
                out = {**out, "last_active_drawing": drawing, "all_drawings": [drawing]}
            return out

    # patched for this run of the script only: a patch left in place would draw this shape in every later AppTest
    # of the same process (another file's, on the same pytest-xdist worker)
    drawn = mock.patch.object(page, "st_folium", fake) if drawing is not None else contextlib.nullcontext()
    settings = load_settings()
    store = open_store(settings.database)
    ensure_seeded(store)
    with drawn:
        page.compare_page(store, settings, facility_id)


@pytest.fixture(scope="module")
def wayback() -> FakeServer:
    srv = FakeServer().start()
    yield srv
    srv.close()


@pytest.fixture
def env(wayback: FakeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    scenario = site_scenario()
    scenario.default_changes = list(DEFAULT_CHANGES)  # every tile over the plant has imagery
    wayback.reset(scenario)
    base = wayback.base
    monkeypatch.setenv("TRACKER_DATABASE", str(tmp_path / "registry.gpkg"))
    monkeypatch.setenv("TRACKER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TRACKER_WAYBACK_CONFIG_URL", f"{base}/config/waybackconfig.json")
    monkeypatch.setenv("TRACKER_WAYBACK_SERVICE_ROOT", f"{base}/wayback/MapServer")
    monkeypatch.setenv("TRACKER_WAYBACK_TILE_URL", f"{base}/wayback/tile/{{release}}/{{z}}/{{y}}/{{x}}")
    monkeypatch.setenv("TRACKER_WAYBACK_SUBDOMAINS", "[]")
    monkeypatch.setenv("TRACKER_EOX_TILE_URL", f"{base}/xyz/{{z}}/{{x}}/{{y}}.png")  # the status probe reads one
    monkeypatch.setenv("TRACKER_IMAGERY_ALLOW_HOSTS", json.dumps([base.split("//", 1)[1]]))
    monkeypatch.setenv("TRACKER_REQUEST_TIMEOUT", "3")
    monkeypatch.setenv("TRACKER_OFFLINE", "false")
    yield tmp_path
    assert not wayback.unserved, f"the test asked the fake for paths it does not serve: {wayback.unserved}"


def run(facility_id: str = PLANT, drawing: dict | None = None) -> AppTest:
    at = AppTest.from_function(_page, kwargs={"facility_id": facility_id, "drawing": drawing}, default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    return at


def test_only_releases_that_changed_here_are_offered_by_default(env: Path):
    at = run()
    before, after = at.selectbox(key="compare_before"), at.selectbox(key="compare_after")
    releases = [o for o in before.options if "Wayback release" in o]  # options are the labels shown
    # DEFAULT_CHANGES: 10 (2014), 23448 (2018), 45134 (2022), 39767 repeats 45134's bytes (dropped),
    # 13192 (2025); one tile also changed in 64001 (2026-02)
    assert [o[:10] for o in releases] == ["2014-02-20", "2018-12-14", "2022-12-14", "2025-12-18", "2026-02-26"]
    assert before.value == "esri-wayback:10" and after.value == "esri-wayback:64001"
    assert "captured 2026-01-17" in releases[-1]  # dated by the metadata, not the release
    assert "parts 2022-11-04" in releases[2]  # a mixed-date release says so
    assert any("5 of 16 releases changed" in c.value for c in at.caption)
    at.toggle(key="compare_all_releases").set_value(True).run()
    assert not at.exception
    every = [o for o in at.selectbox(key="compare_before").options if "Wayback release" in o]
    assert len(every) == 16 and sum("(no change here)" in o for o in every) == 11


def test_every_view_renders_and_captions_name_dates_and_attribution(env: Path):
    at = run()
    for mode in ("Swipe", "Side by side", "Time slider"):
        at.radio(key="compare_mode").set_value(mode).run()
        assert not at.exception, mode
        assert not at.error, [e.value for e in at.error]
        captions = " ".join(c.value for c in at.caption)
        assert "Powered by Esri" in captions, mode
    # The difference of two Wayback dates is refused with the reason (display-only licence).
    at.radio(key="compare_mode").set_value("Difference").run()
    assert any("display only" in i.value for i in at.info)


def _geotiff(path: Path, seed: int, bright_square: bool) -> Path:
    """The same textured ground on both dates; the later one has a new bright roof."""
    w, s, e, n = 127.650, 39.914, 127.664, 39.926  # around the plant
    rng = np.random.default_rng(0)
    data = rng.integers(60, 90, size=(3, 400, 400), dtype=np.uint8)
    if bright_square:
        data[:, 150:250, 150:250] = 240
    with rasterio.open(path, "w", driver="GTiff", width=400, height=400, count=3, dtype="uint8", crs="EPSG:4326",
                       transform=from_bounds(w, s, e, n, 400, 400)) as dst:
        dst.write(data)
    return path


def test_difference_of_two_local_images_measures_change_inside_the_outline(env: Path):
    from imagery.local import import_image

    data = env / "data"
    import_image(_geotiff(env / "a.tif", 1, False), data, dt.date(2020, 5, 1))
    import_image(_geotiff(env / "b.tif", 2, True), data, dt.date(2023, 6, 1))
    at = run()
    at.multiselect(key="compare_sources").set_value(["Local images"]).run()
    at.radio(key="compare_mode").set_value("Difference").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    head = next(m.value.replace("\\", "") for m in at.markdown if m.value.startswith("####"))
    assert head.startswith("#### About ") and "between 2020-05-01 and 2023-06-01" in head, head
    area = float(head.split()[2].replace(",", ""))  # "#### About 99,000 m² changed (low–high m²) ..."
    # the new roof is 100 x 100 px of a 400 px image spanning 1.19 km x 1.33 km: about 99,000 m²
    assert 90_000 < area < 110_000, head
    at.radio(key="compare_mode").set_value("Swipe").run()
    assert not at.exception and not at.error


def test_a_drawn_polygon_is_saved_as_an_observation_on_the_image_it_was_drawn_on(env: Path):
    square = {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [[
        [127.655, 39.918], [127.657, 39.918], [127.657, 39.920], [127.655, 39.920], [127.655, 39.918]]]}}
    at = run(drawing=square)
    assert any("Drawn: Polygon" in c.value for c in at.caption)
    at.text_input(key="record_summary").set_value("New hall <script>alert(1)</script> `${alert(2)}`")
    at.selectbox(key="record_kind").set_value("construction-start")
    at.text_input(key="record_source_title").set_value("Analyst's own reading of the imagery")
    at.button(key="FormSubmitter:record_drawing-Save observation").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.success, "no confirmation shown"
    store = open_store(env / "registry.gpkg")
    try:
        new = [o for o in store.list_observations(Filter(facility_ids=(PLANT,))) if o.geometry is not None
               and o.summary.startswith("New hall")]
        assert len(new) == 1
        obs = new[0]
        assert obs.summary == "New hall <script>alert(1)</script> `${alert(2)}`"  # stored verbatim
        assert obs.image is not None and obs.image.provider == "esri-wayback" and obs.image.image_id == "64001"
        assert obs.image.acquired is not None  # the capture date from the metadata, not the release date
        assert str(obs.date) == obs.image.acquired.value.isoformat()
        assert obs.kind.value == "construction-start" and obs.analyst
        assert obs.source_ids and store.get_source(obs.source_ids[0]).title == "Analyst's own reading of the imagery"
        assert obs.geometry.geom_type == "Polygon"
        assert store.history(obs.id)[0].action == "create"
    finally:
        store.close()


def test_an_invalid_drawing_is_refused_with_the_reason_and_nothing_is_written(env: Path):
    bowtie = {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [[
        [127.655, 39.918], [127.657, 39.920], [127.657, 39.918], [127.655, 39.920], [127.655, 39.918]]]}}
    at = run(drawing=bowtie)
    assert any("cannot be recorded" in e.value for e in at.error)
    assert not [b for b in at.button if b.key.startswith("FormSubmitter:")]  # no form to save


def test_the_services_panel_says_what_is_unreachable(env: Path, monkeypatch: pytest.MonkeyPatch, wayback):
    monkeypatch.setenv("TRACKER_WAYBACK_CONFIG_URL", f"{wayback.base}/fault/status-503")
    at = run()
    assert at.multiselect(key="compare_sources").value == ["Sentinel-2 cloudless", "Local images"]  # shown dates
    assert any("Left out while its service does not answer: Wayback" in c.value for c in at.caption)
    panel = next(d.value for d in at.dataframe if "service" in d.value.columns)
    row = panel.set_index("service").loc["Esri Wayback", "status"]
    assert row.startswith("unreachable") and "503" in row, row  # the fault served, not a 404 for an unknown path
    eox = panel.set_index("service").loc["Sentinel-2 cloudless (EOX)", "status"]
    assert eox == "reachable", eox  # probed on the fake (TRACKER_EOX_TILE_URL), not on EOX's own host



def test_the_timelines_image_link_opens_that_image(env: Path):
    from facilities.model import ImageRef, Observation
    from ui.pages import image_link

    obs = Observation(id="o1", facility_id=PLANT, date="2022-05-01", kind="progress", summary="s",
                      image=ImageRef(provider="esri-wayback", image_id="45134"))
    assert image_link(obs) == "compare?facility=february-11-plant&image=esri-wayback%3A45134"
    assert image_link(Observation(id="o2", facility_id=PLANT, date="2022", kind="progress", summary="s")) is None
    at = AppTest.from_function(_page, kwargs={"facility_id": PLANT, "drawing": None}, default_timeout=120)
    at.query_params["image"] = "esri-wayback:45134"
    at.run()
    assert not at.exception
    assert at.selectbox(key="compare_after").value == "esri-wayback:45134"
    assert at.selectbox(key="compare_before").value == "esri-wayback:10"
    at.radio(key="compare_mode").set_value("Time slider").run()
    assert at.select_slider(key="compare_slider").value == "esri-wayback:45134"


def test_each_action_reaches_the_imagery_session_once(env: Path, monkeypatch: pytest.MonkeyPatch):
    """Calls into the imagery session, counted: one per kind of work per user action, none on a rerun
    without change; the change is measured once per (before, after, built-up only): each image read once."""
    from collections import Counter

    from imagery.local import import_image
    from imagery.session import ImagerySession

    calls: Counter[str] = Counter()
    for name in ("catalogue", "overlay", "read_image", "status"):
        def spy(self, *args, _real=getattr(ImagerySession, name), _name=name, **kwargs):
            if _name != "status" or kwargs.get("probe", True):  # the probe's requests; reading the cache is free
                calls[_name] += 1
            return _real(self, *args, **kwargs)

        monkeypatch.setattr(ImagerySession, name, spy)
    data = env / "data"
    import_image(_geotiff(env / "a.tif", 1, False), data, dt.date(2020, 5, 1))
    import_image(_geotiff(env / "b.tif", 2, True), data, dt.date(2023, 6, 1))
    at = run()
    assert calls == {"catalogue": 1, "status": 1}  # Wayback dates first: the browser fetches their tiles
    at.run()
    assert calls == {"catalogue": 1, "status": 1}, "a rerun without change called the session"
    at.multiselect(key="compare_sources").set_value(["Local images"]).run()
    assert calls == {"catalogue": 2, "status": 1, "overlay": 2}  # two local dates, rendered for the swipe
    at.run()
    assert calls == {"catalogue": 2, "status": 1, "overlay": 2}
    at.radio(key="compare_mode").set_value("Difference").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("m² changed" in m.value for m in at.markdown)
    assert calls == {"catalogue": 2, "status": 1, "overlay": 2, "read_image": 2}  # the change read both images once
    at.run()
    at.radio(key="compare_mode").set_value("Swipe").run()
    at.radio(key="compare_mode").set_value("Difference").run()
    assert calls == {"catalogue": 2, "status": 1, "overlay": 2, "read_image": 2}, "the change was measured again"
    assert any("m² changed" in m.value for m in at.markdown)


def test_an_observation_drawn_on_an_eox_mosaic_links_to_that_mosaic(env: Path):
    """An EOX yearly composite's key is eox-s2cloudless:<year>: the observation stores provider and year,
    and its "open image" link opens that very layer (it used to match none)."""
    from ui.pages import image_link

    square = {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [[
        [127.655, 39.918], [127.657, 39.918], [127.657, 39.920], [127.655, 39.920], [127.655, 39.918]]]}}
    at = AppTest.from_function(_page, kwargs={"facility_id": PLANT, "drawing": square}, default_timeout=120)
    at.query_params["image"] = "eox-s2cloudless:2020"  # the 2020 mosaic on the right of the swipe
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.selectbox(key="compare_after").value == "eox-s2cloudless:2020"
    assert at.selectbox(key="record_image").value == "eox-s2cloudless:2020"  # drawn on the 'after' image
    at.text_input(key="record_summary").set_value("Ground cleared east of the plant")
    at.text_input(key="record_source_title").set_value("Analyst's own reading of the imagery")
    at.button(key="FormSubmitter:record_drawing-Save observation").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    store = open_store(env / "registry.gpkg")
    try:
        obs = next(o for o in store.list_observations(Filter(facility_ids=(PLANT,)))
                   if o.summary == "Ground cleared east of the plant")
    finally:
        store.close()
    assert obs.image is not None and (obs.image.provider, obs.image.image_id) == ("eox-s2cloudless", "2020")
    assert obs.image.acquired is None and str(obs.date) == "2020"  # a composite dates to the year only
    link = image_link(obs)
    assert link == "compare?facility=february-11-plant&image=eox-s2cloudless%3A2020"
    opened = AppTest.from_function(_page, kwargs={"facility_id": PLANT, "drawing": None}, default_timeout=120)
    opened.query_params["image"] = "eox-s2cloudless:2020"
    opened.run()
    assert not opened.exception
    assert opened.selectbox(key="compare_after").value == "eox-s2cloudless:2020"
    opened.radio(key="compare_mode").set_value("Time slider").run()
    assert opened.select_slider(key="compare_slider").value == "eox-s2cloudless:2020"


def test_offline_the_page_uses_what_is_cached_and_local(env: Path, monkeypatch: pytest.MonkeyPatch, wayback):
    """Offline, the page opens on local images (Wayback's tiles would not load); added back, the site's releases
    viewed once online come back from the cache (no request); the services panel says the online services are
    off."""
    from imagery.local import import_image

    import_image(_geotiff(env / "a.tif", 1, False), env / "data", dt.date(2020, 5, 1))
    online = run()
    online_options = online.selectbox(key="compare_before").options
    monkeypatch.setenv("TRACKER_OFFLINE", "true")
    before = wayback.counts["total"]
    offline = run()
    assert offline.multiselect(key="compare_sources").value == ["Local images"]
    offline.multiselect(key="compare_sources").set_value(["Wayback", "Local images"]).run()
    offline.radio(key="compare_mode").set_value("Swipe").run()  # one local date opened the slider alone
    assert not offline.exception, offline.exception
    assert wayback.counts["total"] == before, "offline mode made a request"
    options = offline.selectbox(key="compare_before").options
    assert [o for o in options if "Wayback" in o] == [o for o in online_options if "Wayback" in o]
    assert any("Local image" in o for o in options)
    assert not any("cloudless" in o for o in options)  # online-only composites are not offered offline
    panel = next(d.value for d in offline.dataframe if "service" in d.value.columns).set_index("service")
    assert panel.loc["Esri Wayback", "status"] == "off (offline mode)"
    assert panel.loc["Local images", "on this machine"] == "1 imported images"


def test_offline_with_nothing_cached_says_so_and_still_offers_local_images(env: Path,
                                                                           monkeypatch: pytest.MonkeyPatch):
    from imagery.local import import_image

    import_image(_geotiff(env / "a.tif", 1, False), env / "data", dt.date(2020, 5, 1))
    monkeypatch.setenv("TRACKER_OFFLINE", "true")
    at = run()
    assert at.radio(key="compare_mode").options == ["Time slider"]  # one date: nothing to compare yet
    assert "Local image" in at.select_slider(key="compare_slider").options[0]
    at.multiselect(key="compare_sources").set_value(["Wayback", "Local images"]).run()  # added back by hand
    warnings = [w.value.replace("\\", "") for w in at.warning]  # markdown escapes
    assert any("offline mode: nothing cached" in w for w in warnings), warnings


def test_a_footprint_traced_on_wayback_is_saved_but_none_is_proposed_from_it(env: Path):
    """Tracing is by eye, so a Wayback image takes a traced footprint (recorded as traced on it); a point dropped
    on it gets the display-only refusal in one sentence instead of a proposal, and nothing is written."""
    from tests.support.registry import store_digest

    point = {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [127.656, 39.919]}}
    at = run(drawing=point)
    at.radio(key="record_as").set_value("Footprint of a structure").run()
    assert not at.exception and not at.error
    digest = store_digest(env / "registry.gpkg")
    assert not [b for b in at.button if b.key == "footprint_propose"]
    refusal = [i.value.replace("\\", "") for i in at.info]
    assert any("is display only" in i and "Trace the outline with the polygon tool instead" in i for i in refusal)
    assert store_digest(env / "registry.gpkg") == digest

    square = {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [[
        [127.655, 39.918], [127.657, 39.918], [127.657, 39.920], [127.655, 39.920], [127.655, 39.918]]]}}
    at = run(drawing=square)
    at.radio(key="record_as").set_value("Footprint of a structure").run()
    at.selectbox(key="footprint_structure").set_value("february-11-plant.building-b")
    at.checkbox(key="footprint_square").uncheck()
    at.button(key="footprint_save").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("Saved the footprint of Building B" in s.value.replace("\\", "") for s in at.success)
    store = open_store(env / "registry.gpkg")
    try:
        b = next(s for s in store.list_structures(Filter(facility_ids=(PLANT,))) if s.name == "Building B")
    finally:
        store.close()
    assert b.geometry.geom_type == "Polygon" and b.traced_on is not None
    assert (b.traced_on.provider, b.traced_on.image_id) == ("esri-wayback", "64001")
