"""KML/KMZ export read back with GDAL's KML driver (through pyogrio, in a subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile

from tests.support.reports import HOSTILE, KOREAN, make_store
from tracker.reports.kml import build_kml, write_kml
from tracker.site import load_site

_READ = """
import json, sys, pyogrio
path = sys.argv[1]
out = {}
for name, _kind in pyogrio.list_layers(path):
    df = pyogrio.read_dataframe(path, layer=name)
    cols = [c for c in ("id", "Name", "description", "timestamp", "begin", "end") if c in df.columns]
    out[str(name)] = {"n": len(df), "rows": json.loads(df[cols].astype(str).to_json(orient="records")),
                      "geom": sorted(set(df.geometry.geom_type))}
print(json.dumps(out))
"""


def read_back(path) -> dict:
    done = subprocess.run([sys.executable, "-c", _READ, str(path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_kml_round_trips_names_dates_and_geometry(tmp_path):
    store = make_store(tmp_path / "r.gpkg", name=HOSTILE, observations=4)
    site = load_site(store, "february-11-plant")
    path = write_kml([site], tmp_path / "out" / "plant.kml")
    text = path.read_text("utf-8")
    assert "<img" not in text and "&lt;img src=x" in text  # escaped, never raw markup
    layers = read_back(path)
    assert layers["Facilities"]["n"] == 1 and layers["Structures"]["n"] == 2 and layers["Observations"]["n"] == 4
    assert layers["Facilities"]["rows"][0]["Name"] == HOSTILE
    assert KOREAN in layers["Facilities"]["rows"][0]["description"]
    assert "Polygon" in layers["Facilities"]["geom"][0]
    obs = {r["Name"]: r for r in layers["Observations"]["rows"]}
    assert set(obs) == {"2019-05-01 construction-start", "2020-06 progress", "~2021-03 progress",
                        "2022 construction-start"}
    assert obs["2019-05-01 construction-start"]["timestamp"].startswith("2019-05-01")
    assert obs["2020-06 progress"]["timestamp"].startswith("2020-06-01")
    # A year alone (<when>2022</when>) is valid KML that Google Earth places on its slider;
    # GDAL's LIBKML reader leaves it empty, so test_kml_time_elements_follow_date_precision checks the XML.
    assert obs["~2021-03 progress"]["begin"].startswith("2021-01-15")  # approximate: a span
    assert obs["~2021-03 progress"]["end"].startswith("2021-05-15")


def test_kml_time_elements_follow_date_precision(tmp_path):
    store = make_store(tmp_path / "r.gpkg", observations=4)
    text = build_kml([load_site(store, "february-11-plant")]).decode()
    for when in ("<when>2019-05-01</when>", "<when>2020-06</when>", "<when>2022</when>"):
        assert when in text
    assert "<begin>2021-01-15</begin>" in text and "<end>2021-05-15</end>" in text


def test_kmz_is_a_zip_with_doc_kml_and_korean_names(tmp_path):
    store = make_store(tmp_path / "r.gpkg", name=KOREAN, observations=0)
    path = write_kml([load_site(store, "february-11-plant")], tmp_path / "plant.kmz")
    with zipfile.ZipFile(path) as zf:
        assert zf.namelist() == ["doc.kml"]
    layers = read_back(path)
    assert layers["Facilities"]["rows"][0]["Name"] == KOREAN
    assert layers.get("Observations", {"n": 0})["n"] == 0
    assert not list(tmp_path.glob(".*.part"))  # atomic write left nothing behind
