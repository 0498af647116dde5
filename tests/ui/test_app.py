"""The Streamlit app, headless (AppTest runs the script; the map's JavaScript is not executed here)."""

from __future__ import annotations

from pathlib import Path

import pytest
from shapely.geometry import box
from streamlit.testing.v1 import AppTest

from facilities.model import Facility, Observation
from facilities.store import open_store
from tests.support.apptest import open_filters, open_section
from tracker.seeding import ensure_seeded
from ui.safe import markdown_text

APP = Path(__file__).resolve().parents[2] / "app.py"
HOSTILE = "<img src=x onerror=alert(1)>"
HOSTILE_NOTES = "[click](javascript:alert(1)) **bold** $x$ :red[red] <script>alert(2)</script>"


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "registry.gpkg"
    monkeypatch.setenv("TRACKER_DATABASE", str(path))
    monkeypatch.setenv("TRACKER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TRACKER_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.delenv("TRACKER_OFFLINE", raising=False)
    monkeypatch.delenv("TRACKER_SEED", raising=False)
    return path


def run(at: AppTest | None = None, **query: str) -> AppTest:
    if at is None:
        at = AppTest.from_file(str(APP), default_timeout=60)
        at.query_params.update(query)
    at.run()
    assert not at.exception, at.exception
    return at


def frame_with(at: AppTest, column: str):
    # the edit panel's editors (with a "delete" column) are not the page's read-only tables
    frames = [d.value for d in at.dataframe if column in d.value.columns and "delete" not in d.value.columns]
    assert len(frames) == 1, [list(d.value.columns) for d in at.dataframe]
    return frames[0]


def test_seeded_app_shows_the_february_11_plant(database: Path):
    at = run()
    assert not at.error
    picker = at.selectbox(key="facility")
    assert "February 11 Plant" in picker.options
    picker.select("february-11-plant")
    at = run(at)
    assert at.subheader[0].value == markdown_text("February 11 Plant")
    open_section(at, "Timeline")
    timeline = frame_with(at, "summary")
    assert len(timeline) == 13
    assert list(timeline.columns) == ["date", "kind", "summary", "structure", "image", "confidence", "sources",
                                      "compare"]
    assert timeline["date"].iloc[-1] == "2011"  # newest first: the oldest is the last row
    assert "Building A" in set(timeline["structure"])
    open_section(at, "Details & sources")
    details = frame_with(at, "Field").set_index("Field")["Value"]
    assert "Stabilimento 11 Febbraio" in details["Also known as"]
    assert "approximate outline" in details["Location precision"]
    parents = frame_with(at, "Claimed parent complex")
    assert set(parents["Claimed parent complex"]) == {"Ryongsong Machine Complex", "Rakwon Machine Complex"}
    sources = frame_with(at, "link")
    assert len(sources) == 4 and any(str(u).startswith("https://") for u in sources["link"])
    open_section(at, "Report")
    assert [b.label for b in at.get("download_button")] == ["Download GeoJSON report"]
    assert at.get("component_instance"), "the map component is on the page"


def test_picking_the_vinalon_complex(database: Path):
    at = run()
    at.selectbox(key="facility").select("february-8-vinalon-complex")
    at = run(at)
    assert not at.error
    assert at.subheader[0].value == markdown_text("February 8 Vinalon Complex")
    open_section(at, "Details & sources")
    details = frame_with(at, "Field").set_index("Field")["Value"]
    assert "only the city is known" in details["Location precision"]
    open_section(at, "Timeline")
    assert any("No observations" in i.value for i in at.info)
    assert at.query_params["facility"] == "february-8-vinalon-complex"


def test_query_parameter_selects_the_facility(database: Path):
    at = run(facility="february-8-vinalon-complex")
    assert at.selectbox(key="facility").value == "february-8-vinalon-complex"


def test_html_in_user_text_is_shown_as_text(database: Path):
    store = open_store(database)
    ensure_seeded(store)
    store.add_facility(Facility(id="hostile", name=HOSTILE, geometry=box(127.5, 39.8, 127.51, 39.81),
                                notes=HOSTILE_NOTES, aliases=({"name": "${alert(3)}"},)), actor="test")
    store.add_observation(Observation(id="hostile-1", facility_id="hostile", date="2024-01", kind="other",
                                      summary=HOSTILE), actor="test")
    store.close()
    at = run(facility="hostile")
    assert at.selectbox(key="facility").value == "hostile"
    assert HOSTILE in at.selectbox(key="facility").options  # the picker shows plain text
    assert at.subheader[0].value == r"\<img src\=x onerror\=alert\(1\)\>"
    open_section(at, "Details & sources")
    notes = [m.value for m in at.markdown if "javascript" in m.value]
    assert notes == [markdown_text(HOSTILE_NOTES)]
    assert not any(m.allow_html for m in at.markdown)
    open_section(at, "Timeline")
    assert frame_with(at, "summary")["summary"].tolist() == [HOSTILE]


def test_offline_setting_is_shown(database: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TRACKER_OFFLINE", "1")
    at = run()
    assert any("Offline mode" in c.value for c in at.caption)


def test_unreadable_registry_is_an_error_message_not_a_traceback(tmp_path: Path, database: Path,
                                                                 monkeypatch: pytest.MonkeyPatch):
    database.write_bytes(b"this is not a GeoPackage, just text" * 100)
    at = run()
    assert at.error and "registry" in at.error[0].value
    monkeypatch.setenv("TRACKER_DATABASE", str(tmp_path / "registry.sqlite"))
    at = run()
    assert at.error and ".gpkg" in at.error[0].value


def test_empty_registry_without_seed(database: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TRACKER_SEED", "0")
    at = run()
    assert not at.error
    assert any("empty" in i.value for i in at.info)


def test_site_report_button_offers_html_and_pdf(tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKER_DATABASE", str(tmp_path / "r.gpkg"))
    at = AppTest.from_file(str(APP), default_timeout=120).run()
    open_section(at, "Report")
    at.button(key="make_site_report").click().run()
    assert not at.exception
    labels = [b.label for b in at.get("download_button")]
    assert "Download HTML report" in labels and "Download PDF report" in labels


@pytest.fixture
def downloads(monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    """Bytes behind download buttons by media file id: AppTest's media store is gone after a run."""
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

    kept: dict[str, bytes] = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def keep(self, path_or_data, mimetype, kind, filename=None):
        file_id = original(self, path_or_data, mimetype, kind, filename)
        kept[file_id] = self._files_by_id[file_id].content
        return file_id

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", keep)
    return kept


def _download(at: AppTest, downloads: dict[str, bytes], label: str) -> bytes:
    button = next(b for b in at.get("download_button") if b.label == label)
    return downloads[button.proto.url.rsplit("/", 1)[-1].split(".")[0]]


def test_export_of_the_facility_and_of_the_filtered_selection(database: Path, downloads):
    import json

    at = run(facility="february-11-plant")
    open_section(at, "Report")
    assert [b.label for b in at.get("download_button")] == ["Download GeoJSON report"]
    one = json.loads(_download(at, downloads, "Download GeoJSON report"))
    ids = {f["properties"].get("facility_id") or f["properties"]["id"] for f in one["features"]}
    assert ids == {"february-11-plant"}
    assert sum(f["properties"]["feature_type"] == "observation" for f in one["features"]) == 13
    open_filters(at)
    at.multiselect(key="filter_country").set_value(["KP"])
    at = run(at)
    label = "Download GeoJSON of the 2 facilities shown"
    assert label in [b.label for b in at.get("download_button")]
    both = json.loads(_download(at, downloads, label))
    assert {f["properties"]["id"] for f in both["features"] if f["properties"]["feature_type"] == "facility"} == {
        "february-11-plant", "february-8-vinalon-complex"}


def test_the_picker_lists_at_most_a_thousand_and_keeps_a_linked_site(database: Path):

    from facilities.model import Registry
    from tests.support import generate
    data = generate.generate(1200)
    store = open_store(database)
    store.import_registry(Registry(facilities=data.facilities, sources=data.sources), actor="test")
    store.close()
    last = max(data.facilities, key=lambda f: (f.name, f.id))  # beyond the first thousand in name order
    at = run(facility=last.id)
    picker = at.selectbox(key="facility")
    assert len(picker.options) == 1001 and picker.value == last.id
    assert any("1,001 of 1,200 matches" in c.value for c in at.sidebar.caption), [c.value for c in at.sidebar.caption]
    at.sidebar.text_input(key="search").set_value(last.name)
    at = run(at)
    assert at.selectbox(key="facility").value == last.id
