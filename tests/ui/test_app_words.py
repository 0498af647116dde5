"""Words for analysts (issue 18.1, 18.4), headless: the Compare page opens on dates that can be shown when the
imagery services are off or down (two local images), guides to Import when nothing can be, says the one services
sentence, and states the image limit in the same words as the Import page; countries by name; approximate
outlines say their area is not a measurement; no setting names in page text."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_bounds
from shapely.geometry import box
from streamlit.testing.v1 import AppTest

from facilities.model import Facility, LocationPrecision
from facilities.store import open_store
from tests.support.fake_wayback import FakeServer
from tracker.seeding import ensure_seeded

APP = Path(__file__).resolve().parents[2] / "app.py"
PLANT = "february-11-plant"
LEAKS = ("Traceback", "HTTPSConnectionPool", "Max retries", "Error(", "NameResolution", "TRACKER_")


def _page(page: str, facility_id: str | None = None) -> None:
    # AppTest runs this function's source as the script: imports live inside it
    from facilities.store import open_store
    from tracker.seeding import ensure_seeded
    from tracker.settings import load_settings
    from ui.compare_page import compare_page
    from ui.import_page import import_page
    from ui.notices import service_notice

    settings = load_settings()
    store = open_store(settings.database)
    ensure_seeded(store)
    if page == "compare":
        compare_page(store, settings, facility_id)
    else:
        import_page(store, settings)
    service_notice(settings)  # what app.py puts at the top of every page


def run(page: str, facility_id: str | None = PLANT) -> AppTest:
    at = AppTest.from_function(_page, kwargs={"page": page, "facility_id": facility_id}, default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    return at


def texts(at: AppTest) -> str:
    parts = [e.value for kind in ("title", "subheader", "markdown", "caption", "info", "warning", "error", "success")
             for e in getattr(at, kind)]
    parts += [b.label for b in at.button]
    return "\n".join(str(p) for p in parts).replace("\\", "")


def _geotiff(path: Path, bright: bool) -> Path:
    w, s, e, n = 127.650, 39.914, 127.664, 39.926  # around the plant
    data = np.random.default_rng(0).integers(60, 90, size=(3, 200, 200), dtype=np.uint8)
    if bright:
        data[:, 80:120, 80:120] = 240
    with rasterio.open(path, "w", driver="GTiff", width=200, height=200, count=3, dtype="uint8", crs="EPSG:4326",
                       transform=from_bounds(w, s, e, n, 200, 200)) as dst:
        dst.write(data)
    return path


def _import_two(env: Path) -> None:
    from imagery.local import import_image

    import_image(_geotiff(env / "a.tif", False), env / "data", dt.date(2020, 5, 1))
    import_image(_geotiff(env / "b.tif", True), env / "data", dt.date(2023, 6, 1))


@pytest.fixture(scope="module")
def down() -> Iterator[FakeServer]:
    srv = FakeServer().start()
    yield srv
    srv.close()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TRACKER_DATABASE", str(tmp_path / "registry.gpkg"))
    monkeypatch.setenv("TRACKER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TRACKER_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("TRACKER_OFFLINE", "true")
    monkeypatch.delenv("TRACKER_SEED", raising=False)
    return tmp_path


@pytest.fixture
def services_down(env: Path, down: FakeServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Online, with Wayback and Sentinel-2 cloudless answering HTTP 503 (a fake on 127.0.0.1)."""
    base = down.base
    monkeypatch.setenv("TRACKER_OFFLINE", "false")
    monkeypatch.setenv("TRACKER_WAYBACK_CONFIG_URL", f"{base}/fault/status-503")
    monkeypatch.setenv("TRACKER_WAYBACK_SERVICE_ROOT", f"{base}/fault/status-503")
    monkeypatch.setenv("TRACKER_EOX_TILE_URL", f"{base}/fault/status-503?{{z}}/{{x}}/{{y}}")
    monkeypatch.setenv("TRACKER_IMAGERY_ALLOW_HOSTS", json.dumps([base.split("//", 1)[1]]))
    monkeypatch.setenv("TRACKER_REQUEST_TIMEOUT", "3")
    return env


def test_offline_with_two_local_images_the_page_opens_on_them(env: Path):
    _import_two(env)
    at = run("compare")
    assert at.multiselect(key="compare_sources").value == ["Local images"]
    before, after = at.selectbox(key="compare_before"), at.selectbox(key="compare_after")
    assert before.value.startswith("local:") and after.value.startswith("local:") and before.value != after.value
    said = texts(at)
    assert "Offline mode: online imagery is off" in said
    assert not [leak for leak in LEAKS if leak in said], said


def test_with_the_services_down_the_page_opens_on_local_images_and_says_why_in_one_sentence(services_down: Path):
    _import_two(services_down)
    at = run("compare")
    assert at.multiselect(key="compare_sources").value == ["Local images"]  # the failing services left out
    assert at.selectbox(key="compare_before").value.startswith("local:")
    assert at.selectbox(key="compare_after").value.startswith("local:")
    said = texts(at)
    assert "Imagery services are unreachable: showing cached and local imagery" in said
    panel = next(d.value for d in at.dataframe if "service" in d.value.columns).set_index("service")
    assert panel.loc["Esri Wayback", "status"] == "unreachable (service error, HTTP 503)"
    assert not [leak for leak in LEAKS if leak in said], said


def test_offline_with_nothing_to_show_the_page_guides_to_import_and_to_sites_with_imagery(env: Path):
    at = run("compare")
    said = texts(at)
    assert "Nothing to compare here yet" in said and "import a GeoTIFF of this site on the Import page" in said
    assert "No other site has imported imagery on this machine yet." in said
    assert not at.selectbox and not at.select_slider  # no dates offered that will not load

    # an image of the plant imported: from another site the guide offers it, and its button opens it
    _import_two(env)
    store = open_store(str(env / "registry.gpkg"))
    ensure_seeded(store)
    other = next(f.id for f in store.list_facilities() if f.id != PLANT
                 and not f.geometry.intersects(box(127.650, 39.914, 127.664, 39.926)))
    at = run("compare", other)
    button = next(b for b in at.button if b.label.startswith("February 11 Plant (2 images)"))
    button.click().run()
    assert at.session_state["facility"] == PLANT


def test_the_image_limit_reads_the_same_on_import_and_compare(env: Path, monkeypatch: pytest.MonkeyPatch):
    from tracker.settings import load_settings
    from tracker.upload_limits import upload_limits

    monkeypatch.setenv("TRACKER_MAX_IMAGE_MB", "75")
    sentence = upload_limits(load_settings(), 200).images
    assert "up to 75 MB a file" in sentence
    compare, importing = run("compare"), run("import")
    assert sentence in [c.value for c in compare.caption]  # the guide's caption, word for word
    assert sentence in importing.caption[0].value
    assert not [leak for leak in LEAKS if leak in texts(importing)]


def test_countries_by_name_and_approximate_areas_are_not_measurements(env: Path):
    store = open_store(str(env / "registry.gpkg"))
    ensure_seeded(store)
    store.add_facility(Facility(id="approx-site", name="Approximate site", country="KP", category="missile",
                                geometry=box(127.60, 39.90, 127.62, 39.92),
                                location_precision=LocationPrecision.APPROXIMATE), actor="test")
    digitised = "drawn-site"
    store.add_facility(Facility(id=digitised, name="Drawn site", country="KP", category="missile",
                                geometry=box(127.70, 39.90, 127.71, 39.91),
                                location_precision=LocationPrecision.DIGITISED), actor="test")
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.query_params["facility"] = "approx-site"
    at.run()
    at.segmented_control(key="section").set_value("Details & sources").run()
    assert not at.exception, at.exception
    details = next(d.value for d in at.dataframe if "Field" in d.value.columns).set_index("Field")["Value"]
    assert details["Country"] == "North Korea"
    assert details["Area"].endswith(" ha (approximate outline: not a measurement)"), details["Area"]
    assert "Offline mode: online imagery is off" in "\n".join(i.value for i in at.info)  # every page, no probe
    at.query_params["facility"] = digitised
    at.session_state["facility"] = digitised
    at.run()
    details = next(d.value for d in at.dataframe if "Field" in d.value.columns).set_index("Field")["Value"]
    assert details["Area"].endswith(" ha") and "not a measurement" not in details["Area"]  # digitised outline
    assert not [leak for leak in LEAKS if leak in texts(at)]
