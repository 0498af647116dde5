"""Timeline chart data (ui.timeline): events at their dates, built-up footprint area as a step series."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import shapely

from facilities.geometry import ground_area_m2
from facilities.model import ImageRef, Observation, Structure
from facilities.store import Filter
from ui.timeline import AREA_CAPTION, area_frame, timeline_chart, timeline_chart_data

PLANT = Filter(facility_ids=("february-11-plant",))


def _ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text)


def test_seed_events_have_their_interval_and_image(seeded):
    events, area = timeline_chart_data(seeded.list_observations(PLANT), seeded.list_structures(PLANT))
    assert len(events) == 13 and list(events["start"]) == sorted(events["start"])
    row = events.set_index("id").loc["feb11-2024-10-new-assembly-building"]
    assert (row["start"], row["end"], row["date"]) == (_ts("2024-10-01"), _ts("2024-10-31"), "2024-10")
    assert row["seen_on"] == "Planet Labs · 2024-10" and row["kind"] == "progress"
    day = events.set_index("id").loc["feb11-2024-11-25-si-analytics-cover"]
    assert day["start"] == day["end"] == _ts("2024-11-25")
    approx = events.set_index("id").loc["feb11-2020-building-b-start"]
    assert approx["precision"] == "approximate" and approx["end"] > approx["start"]
    assert approx["structure"] == "Building B"
    # the seed's buildings are points: no footprint area yet, but the series says they stand
    assert area["area_m2"].tolist() == [0.0, 0.0, 0.0]
    assert area["points"].tolist() == [1, 2, 2]  # Building B from the start of ~2020-06's interval
    assert area["date"].iloc[0] == _ts("2011-01-01") and area["date"].iloc[-1] == _ts("2024-11-30")


def _box(x: float, d: float = 0.001):
    return shapely.box(127.65 + x, 39.92, 127.65 + x + d, 39.92 + d)


def test_area_is_a_step_series_over_built_and_removed_dates():
    a, b = _box(0), _box(0.01, 0.002)
    structures = [
        Structure(id="s.a", facility_id="f", name="A", geometry=a, built="2020-06", removed="2023"),
        Structure(id="s.b", facility_id="f", name="B", geometry=b),  # built date unknown: from the start
        Structure(id="s.c", facility_id="f", name="C", geometry=shapely.Point(127.66, 39.93), built="~2021"),
    ]
    area_a, area_b = ground_area_m2(a), ground_area_m2(b)
    frame = area_frame(structures, [pd.Timestamp("2019-03-01").date(), pd.Timestamp("2024-12-31").date()])
    got = {str(d.date()): (round(v), f, p) for d, v, f, p in frame.itertuples(index=False)}
    assert got == {
        "2019-03-01": (round(area_b), 1, 0),
        "2020-01-02": (round(area_b), 1, 1),  # ~2021: a year's slack before 2021-01-01
        "2020-06-01": (round(area_a + area_b), 2, 1),
        "2023-01-01": (round(area_b), 1, 1),  # A removed
        "2024-12-31": (round(area_b), 1, 1),
    }
    assert area_a > 5000  # a real footprint, not a rounding artefact


def test_chart_data_with_polygons_and_no_structures():
    obs = [Observation(id="o1", facility_id="f", date="2022-05-03", kind="progress", summary="walls",
                       image=ImageRef("Esri Wayback", "2022-06-01 release", "2022-05-03"))]
    events, area = timeline_chart_data(obs, [])
    assert area.empty and events.loc[0, "seen_on"] == "Esri Wayback · 2022-06-01 release · 2022-05-03"
    s = Structure(id="s.a", facility_id="f", name="A", geometry=_box(0), built="2021")
    events, area = timeline_chart_data(obs, [s])
    assert area["date"].tolist() == [_ts("2021-01-01"), _ts("2022-05-03")]
    assert area["area_m2"].tolist() == pytest.approx([round(ground_area_m2(_box(0)), 1)] * 2)


def test_chart_keeps_user_text_in_data_fields_only():
    hostile = '<img src=x onerror=alert(1)> & "quotes"'
    obs = [Observation(id="o1", facility_id="f", date="2022", kind="activity", summary=hostile,
                       image=ImageRef(hostile, hostile))]
    events, area = timeline_chart_data(obs, [Structure(id="s", facility_id="f", name=hostile, geometry=_box(0))])
    spec = timeline_chart(events, area).to_dict()
    data = json.dumps(spec["datasets"])
    assert "onerror" in data  # the text is carried as data ...
    rest = json.dumps({k: v for k, v in spec.items() if k != "datasets"})
    assert "onerror" not in rest  # ... never in titles, labels or expressions
    titles = {t["title"] for panel in spec["vconcat"] for layer in panel.get("layer", [panel])
              for t in layer["encoding"].get("tooltip", [])}
    assert not titles & {"title", "image"}  # vega-tooltip's special keys (heading, <img src>)
    assert AREA_CAPTION.count("count 0") == 1


def _chart_page() -> None:
    import os

    from facilities.store import open_store
    from tracker.site import load_site
    from ui.timeline import show_timeline_chart

    store = open_store(os.environ["TRACKER_DATABASE"])
    show_timeline_chart(load_site(store, "february-11-plant"))


def test_the_chart_renders_in_a_script(seeded, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("TRACKER_DATABASE", seeded.location)
    at = AppTest.from_function(_chart_page, default_timeout=60).run()
    assert not at.exception
    assert any("count 0" in c.value for c in at.caption)


# -- a timeline that fits (issue 18.3) -------------------------------------------------------------


def test_each_panel_fits_its_container_on_one_shared_time_axis(seeded):
    from ui.timeline import timeline_panels, x_domain

    events, area = timeline_chart_data(seeded.list_observations(PLANT), seeded.list_structures(PLANT))
    panels = [p.to_dict() for p in timeline_panels(events, area)]
    assert len(panels) == 2
    assert all(p["width"] == "container" for p in panels)  # Streamlit stretches a single chart, never a vconcat
    first, last = x_domain(events, area)
    newest = max(events["end"].max(), area["date"].max())
    oldest = min(events["start"].min(), area["date"].min())
    assert oldest > first and newest < last  # the newest and oldest marks sit inside the plot, not on its edge
    layers = [layer for p in panels for layer in p.get("layer", [p])]
    domains = {tuple(layer["encoding"]["x"]["scale"]["domain"]) for layer in layers}
    assert domains == {(first.isoformat(), last.isoformat())}  # one time axis for both panels
    widths = {(layer["encoding"]["y"]["axis"]["minExtent"], layer["encoding"]["y"]["axis"]["maxExtent"])
              for layer in layers}
    assert len(widths) == 1  # the same y-axis width, so the two time axes line up


def _site_chart_page() -> None:
    import os

    from facilities.store import open_store
    from tracker.site import load_site
    from ui.timeline import show_timeline_chart

    store = open_store(os.environ["TRACKER_DATABASE"])
    show_timeline_chart(load_site(store, os.environ["CHART_FACILITY"]))


def _panel_titles(at) -> list[str]:
    return [json.loads(c.proto.spec)["title"] for c in at.get("vega_lite_chart")]


def test_the_built_up_panel_only_when_the_read_model_shows_it(seeded, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from tracker.site import load_site

    monkeypatch.setenv("TRACKER_DATABASE", seeded.location)
    monkeypatch.setenv("CHART_FACILITY", "february-11-plant")
    # the seed's buildings are points: no curve, only the observations and the read model's one sentence why
    site = load_site(seeded, "february-11-plant")
    assert not site.built_up.shown and site.built_up.note
    at = AppTest.from_function(_site_chart_page, default_timeout=60).run()
    assert not at.exception
    assert _panel_titles(at) == ["Observations"]
    assert [c.value for c in at.caption] == [site.built_up.note]

    # a digitised footprint: the read model shows the curve, and so does the page
    seeded.add_structure(Structure(id="february-11-plant.hall", facility_id="february-11-plant", name="Hall",
                                   geometry=shapely.box(127.651, 39.917, 127.652, 39.918), built="2019"),
                         actor="test")
    site = load_site(seeded, "february-11-plant")
    assert site.built_up.shown
    at = AppTest.from_function(_site_chart_page, default_timeout=60).run()
    assert not at.exception
    assert _panel_titles(at) == ["Observations", "Built-up footprint"]
