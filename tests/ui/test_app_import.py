"""The Import page: uploads are previewed, written only on the button, all or nothing; images are
imported with a capture date; every error is shown in the page and leaves the registry as it was.

streamlit.testing.v1 (1.67) drives st.file_uploader, so these go through the real widgets."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from facilities.store import GeoPackageStore
from tests.support.registry import store_digest

XSS = "<img src=x onerror=alert(1)>"


def _page(database: str) -> None:
    # AppTest runs this function's source as the script: imports live inside it
    from facilities.store import open_store
    from tracker.settings import load_settings
    from ui.import_page import import_page

    import_page(open_store(database), load_settings())


def _app(tmp_path) -> AppTest:
    at = AppTest.from_function(_page, kwargs={"database": str(tmp_path / "r.gpkg")}, default_timeout=60)
    at.run()
    assert not at.exception
    return at


def _feature(name: str, x: float, y: float = 39.9, d: float = 0.01, **props) -> dict:
    ring = [[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]
    return {"type": "Feature", "properties": {"name": name, **props},
            "geometry": {"type": "Polygon", "coordinates": [ring]}}


def _geojson(*features: dict) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": list(features)}).encode()


def _count(tmp_path) -> int:
    store = GeoPackageStore(tmp_path / "r.gpkg")
    try:
        return store.counts()["facilities"]
    finally:
        store.close()


def _texts(at: AppTest, kind: str) -> str:
    return "\n".join(str(e.value) for e in getattr(at, kind)).replace("\\", "")


def test_page_states_the_limits_and_points_to_articles(tmp_path):
    at = _app(tmp_path)
    caption = at.caption[0].value
    assert "zipped Shapefile, up to 200 MB a file." in caption
    assert "4 GiB of pixels" in caption and "TRACKER_" not in caption  # words for analysts, not setting names
    assert "Read articles" in _texts(at, "markdown")


def test_geojson_upload_previews_then_imports(tmp_path):
    at = _app(tmp_path)
    before = _count(tmp_path)
    raw = _geojson(_feature(XSS, 127.6, source="KCNA"), _feature("Annex", 127.7))
    at.file_uploader(key="import_file").upload("sites.geojson", raw, "application/geo+json").run()
    assert not at.exception and not at.error
    preview = at.dataframe[0].value
    assert list(preview.columns) == ["id", "name", "kind", "area ha", "precision", "in registry"]
    assert list(preview["name"]) == [XSS, "Annex"]  # verbatim, drawn as text by the dataframe
    assert set(preview["precision"]) == {"digitised"} and (preview["area ha"] > 90).all()
    assert _count(tmp_path) == before  # nothing written by the preview
    assert all("<img" not in str(m.value) for m in at.markdown)
    at.button(key="import_go").click().run()
    assert not at.exception and not at.error
    assert "added 2 facility" in at.success[0].value
    assert _count(tmp_path) == before + 2

    # an imported upload is released (the widget comes back empty, under a new key); the same
    # file again with on-conflict "error": refused whole, registry unchanged
    at.run()  # the analyst's next action
    assert at.file_uploader(key="import_file.1").value is None
    digest = store_digest(tmp_path / "r.gpkg")
    at.file_uploader(key="import_file.1").upload("sites.geojson", raw, "application/geo+json").run()
    at.button(key="import_go").click().run()
    assert not at.exception
    assert "Nothing was imported" in _texts(at, "error")
    assert set(at.dataframe[0].value["in registry"]) == {"already stored"}
    assert store_digest(tmp_path / "r.gpkg") == digest
    at.radio(key="import_on_conflict").set_value("skip").run()
    at.button(key="import_go").click().run()
    assert "skipped 2 facility" in at.success[0].value


def test_malformed_geojson_shows_the_error_and_changes_nothing(tmp_path):
    at = _app(tmp_path)
    digest = store_digest(tmp_path / "r.gpkg")
    at.file_uploader(key="import_file").upload("broken.geojson", b'{"type": "FeatureCollection", "features": [',
                                               "application/geo+json").run()
    assert not at.exception
    assert "broken.geojson: invalid JSON at line 1" in _texts(at, "error")
    assert "Nothing was written" in _texts(at, "info")
    assert not [b for b in at.button if b.key == "import_go"]
    assert store_digest(tmp_path / "r.gpkg") == digest


def test_bad_features_are_listed_and_left_out_only_when_asked(tmp_path):
    at = _app(tmp_path)
    bad = _feature("Swapped", 39.9, 127.6)
    at.file_uploader(key="import_file").upload("bad.geojson", _geojson(bad)).run()
    assert "Nothing in this file can be imported" in _texts(at, "info")
    assert not [b for b in at.button if b.key == "import_go"]
    # nothing importable: the upload is released and the widget starts again under a new key
    at.run()
    at.file_uploader(key="import_file.1").upload("mixed.geojson", _geojson(_feature("Good", 127.6), bad)).run()
    assert not at.exception
    assert "1 feature cannot be imported; each one and why" in _texts(at, "warning")
    problems = at.dataframe[1].value
    assert list(problems["feature"]) == [1] and "latitude" in problems["problem"][0]
    assert at.button(key="import_go").disabled
    at.checkbox(key="import_leave_out").check().run()
    at.button(key="import_go").click().run()
    assert not at.exception and "added 1 facility" in at.success[0].value
    store = GeoPackageStore(tmp_path / "r.gpkg")
    assert [f.name for f in store.list_facilities()] == ["Good"]
    store.close()


def test_kmz_upload_imports_outline_and_building(tmp_path):
    kml = ('<kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
           "<Placemark><name>Site</name><Polygon><outerBoundaryIs><LinearRing><coordinates>"
           "127.6,39.9 127.61,39.9 127.61,39.91 127.6,39.91 127.6,39.9</coordinates></LinearRing>"
           "</outerBoundaryIs></Polygon></Placemark>"
           "<Placemark><name>Hall</name><Point><coordinates>127.605,39.905</coordinates></Point></Placemark>"
           "</Document></kml>")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("doc.kml", kml)
    at = _app(tmp_path)
    at.file_uploader(key="import_file").upload("sites.kmz", buf.getvalue()).run()
    assert not at.exception and not at.error
    assert list(at.dataframe[0].value["id"]) == ["site", "site.hall"]
    at.button(key="import_go").click().run()
    assert "added 1 facility, 1 structure" in at.success[0].value


def test_billion_laughs_kml_upload_is_refused(tmp_path):
    at = _app(tmp_path)
    digest = store_digest(tmp_path / "r.gpkg")
    bomb = (b'<?xml version="1.0"?><!DOCTYPE kml [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
            b"<kml><Document><Placemark><name>&b;</name></Placemark></Document></kml>")
    at.file_uploader(key="import_file").upload("bomb.kml", bomb).run()
    assert not at.exception
    assert "declares a DOCTYPE" in _texts(at, "error")
    assert store_digest(tmp_path / "r.gpkg") == digest


def _geotiff() -> bytes:
    import rasterio
    from affine import Affine

    data = (np.arange(64 * 64, dtype=np.uint16) % 251).astype(np.uint8).reshape(1, 64, 64)
    buf = io.BytesIO()
    with rasterio.MemoryFile() as mem:
        with mem.open(driver="GTiff", width=64, height=64, count=1, dtype="uint8", crs="EPSG:32652",
                      transform=Affine(2.0, 0, 640_000, 0, -2.0, 4_420_000)) as dst:
            dst.write(data)
        buf.write(mem.read())
    return buf.getvalue()


def test_geotiff_upload_needs_a_date_then_is_imported(tmp_path):
    at = _app(tmp_path)
    at.file_uploader(key="import_file").upload("scene 1.tif", _geotiff(), "image/tiff").run()
    assert not at.exception
    at.button(key="import_image").click().run()
    assert "Give the capture date" in _texts(at, "error")
    imagery = tmp_path / "data" / "imagery"
    assert not list(imagery.glob("*.tif"))
    assert at.date_input(key="import_captured").min == dt.date(1960, 1, 1)  # archives older than 10 years
    at.date_input(key="import_captured").set_value(dt.date(2024, 5, 1))
    at.text_input(key="import_sensor").set_value("WV-3")
    at.button(key="import_image").click().run()
    assert not at.exception and not at.error
    assert "as an image of 2024-05-01" in at.success[0].value
    info = dict(at.dataframe[0].value.itertuples(index=False, name=None))
    assert info["resolution"] == "2.00 m" and info["stored at"].startswith(str(imagery))
    (sidecar,) = imagery.glob("*.json")
    meta = json.loads(sidecar.read_text())
    assert (meta["original_name"], meta["captured"], meta["sensor"]) == ("scene_1.tif", "2024-05-01", "WV-3")


@pytest.mark.parametrize("content", [b"<VRTDataset rasterXSize='1'></VRTDataset>", b"\x89PNG\r\n\x1a\n" + b"0" * 64],
                         ids=["vrt", "png"])
def test_a_tif_that_is_not_a_tiff_is_refused_clearly(tmp_path, content):
    at = _app(tmp_path)
    at.file_uploader(key="import_file").upload("scene.tif", content, "image/tiff").run()
    at.date_input(key="import_captured").set_value(dt.date(2024, 5, 1))
    at.button(key="import_image").click().run()
    assert not at.exception
    assert "scene.tif was not imported: scene.tif is not a TIFF or JPEG2000 file" in _texts(at, "error")
    assert not list((tmp_path / "data" / "imagery").glob("*.tif"))


@pytest.mark.parametrize("suffix", ["fgb", "csv", "gpkg"])
def test_table_formats_the_front_door_reads_are_taken_by_the_page(tmp_path, suffix):
    """The Import page takes every vector format `facilities import` reads (the uploader listed only GeoJSON and
    KML): a file of the registry's own export previews and imports through the same checks."""
    import shapely

    from facilities.model import Facility
    from facilities.store import open_store
    from facilities.vector_formats import write_table

    src = open_store(tmp_path / "src.gpkg")
    src.add_facility(Facility(id="annex", name="Annex", geometry=shapely.box(127.60, 39.90, 127.61, 39.91)), actor="t")
    out = tmp_path / f"sites.{suffix}"
    write_table(src, out, suffix)
    src.close()
    at = _app(tmp_path)
    before = _count(tmp_path)
    at.file_uploader(key="import_file").upload(out.name, out.read_bytes(), "application/octet-stream").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert list(at.dataframe[0].value["name"]) == ["Annex"]
    at.button(key="import_go").click().run()
    assert not at.exception and _count(tmp_path) == before + 1


def test_the_preview_says_which_areas_are_not_measurements(tmp_path):
    at = _app(tmp_path)
    raw = _geojson(_feature("Traced", 127.6), _feature("Around the town", 127.7, location_precision="city",
                                                                   feature_type="facility", id="town"))
    at.file_uploader(key="import_file").upload("sites.geojson", raw, "application/geo+json").run()
    assert not at.exception and not at.error
    assert set(at.dataframe[0].value["precision"]) == {"digitised", "city"}
    notes = [c.value for c in at.caption if "not measurements" in c.value]
    assert notes == ["Areas are the outlines' ground areas. Those of city outlines are not measurements: such an "
                     "outline is drawn around a place, not traced."]
    at.file_uploader(key="import_file").upload("traced.geojson", _geojson(_feature("Traced", 127.6)),
                                               "application/geo+json").run()
    assert not [c.value for c in at.caption if "not measurements" in c.value]  # every outline traced: no note
