"""The `report` foreign member of the GeoJSON report."""

from __future__ import annotations

import datetime as dt
import json

from facilities.geojson_io import read_registry
from facilities.store import Filter
from tests.support.reports import KOREAN, make_store
from tracker.reports.geojson_report import write_report
from tracker.reports.output import software_version


def test_report_member_has_title_time_filters_version_and_figure_links(tmp_path):
    store = make_store(tmp_path / "r.gpkg", name=KOREAN, observations=4)
    flt = Filter(facility_ids=("february-11-plant",), date_from=dt.date(2020, 1, 1))
    figures = {"obs-02": ["figures/february-11-plant-pair.png"]}
    path = write_report(store, tmp_path / "report.geojson", flt, title="함흥 report", figures=figures)
    data = json.loads(path.read_text("utf-8"))
    member = data["report"]
    assert member["title"] == "함흥 report"
    generated = dt.datetime.fromisoformat(member["generated_at"].replace("Z", "+00:00"))
    assert abs((dt.datetime.now(dt.UTC) - generated).total_seconds()) < 60
    assert member["filters"] == {"facility_ids": ["february-11-plant"], "bbox": None,
                                 "date_from": "2020-01-01", "date_to": None}
    assert member["software"]["version"] == software_version() != "unknown"
    assert member["figures"] == figures
    kinds = [f["properties"]["feature_type"] for f in data["features"]]
    assert kinds.count("facility") == 1 and kinds.count("observation") == 3  # 2019 one filtered out
    assert data["features"][0]["properties"]["name"] == KOREAN


def test_report_still_imports_as_a_registry(tmp_path):
    store = make_store(tmp_path / "r.gpkg", observations=2)
    path = write_report(store, tmp_path / "report.geojson")
    registry, problems, _notes = read_registry(path)
    assert not problems and len(registry.observations) == 2
    assert not list(tmp_path.glob(".*.part"))
