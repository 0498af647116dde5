"""tracker.site: the one read model of a site (order, cited sources, built-up curve, image labels)."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

import pandas as pd
import shapely

from facilities.geometry import ground_area_m2
from facilities.model import Facility, ImageRef, Observation, ParentClaim, Source, Structure
from facilities.store import Filter
from imagery.keys import ImageKey
from tracker.images import image_label
from tracker.reports.kml import KML_NS, build_kml
from tracker.site import BUILT_UP_RULE, BuiltUpStep, built_up_curve, load_site, site_view, standing
from ui.timeline import area_frame

D = dt.date


def _box(x: float, d: float = 0.001):
    return shapely.box(127.65 + x, 39.92, 127.65 + x + d, 39.92 + d)


def _facility(**kw) -> Facility:
    return Facility(id="f", name="Plant", geometry=_box(0, 0.01), **kw)


def _obs(id: str, date: str, **kw) -> Observation:
    return Observation(id=id, facility_id="f", date=date, summary=id, **{"kind": "progress", **kw})


def _source(id: str) -> Source:
    return Source(id=id, title=f"Title {id}")


SHED = Structure(id="f.shed", facility_id="f", name="Shed", geometry=_box(0), built="2018", removed="2020")


def test_a_structure_removed_in_2020_stops_counting_on_2020_01_01():
    assert standing(SHED) == (D(2018, 1, 1), D(2020, 1, 1))
    curve = built_up_curve([SHED], [D(2015, 6, 1), D(2024, 3, 1)])
    area = round(ground_area_m2(SHED.geometry), 1)
    assert curve.shown and curve.note == BUILT_UP_RULE and curve.until == D(2024, 3, 1)
    assert curve.steps == (BuiltUpStep(D(2015, 6, 1), 0.0, 0, 0), BuiltUpStep(D(2018, 1, 1), area, 1, 0),
                           BuiltUpStep(D(2020, 1, 1), 0.0, 0, 0))
    assert curve.rows()[1] == ("2018-01-01", f"{area:,.0f}", 1, 0)
    # the page's chart data: the same steps, and a last row that carries the line to the chart's end
    frame = area_frame([SHED], [D(2015, 6, 1), D(2024, 3, 1)])
    assert [str(d.date()) for d in frame["date"]] == ["2015-06-01", "2018-01-01", "2020-01-01", "2024-03-01"]
    assert frame["area_m2"].tolist() == [0.0, area, 0.0, 0.0]
    # KML: Google Earth's time slider shows it over the same span
    site = site_view(_facility(), [SHED])
    span = ET.fromstring(build_kml([site])).find(f".//{{{KML_NS}}}Placemark[@id='f.shed']/{{{KML_NS}}}TimeSpan")
    assert [e.text for e in span] == ["2018-01-01", "2020-01-01"]


def test_an_accepted_construction_bracket_dates_a_structure_that_carries_no_date():
    """A footprint dated from the images (an accepted "built between" observation) counts from the
    bracket's first day in the curve, the page's chart and the KML; a date the structure carries wins."""
    hall = Structure(id="f.hall", facility_id="f", name="Hall", geometry=_box(0.002))
    built = _obs("o.built", "~2021-03", structure_id="f.hall", kind="completed")
    razed = _obs("o.razed", "2023-07-04", structure_id="f.hall", kind="demolished")
    other = _obs("o.other", "2019-05-01", structure_id="f.shed", kind="completed")  # another structure's
    noise = _obs("o.prog", "2010-01-01", structure_id="f.hall")  # progress does not date the start
    obs = [noise, other, built, razed]
    assert standing(hall, obs) == (built.date.start, D(2023, 7, 4))
    assert standing(hall) == (None, None)
    assert standing(SHED, obs) == (D(2018, 1, 1), D(2020, 1, 1))  # its own dates win over an observation
    area = round(ground_area_m2(hall.geometry), 1)
    site = site_view(_facility(), [hall], obs)
    steps = {(st.day, st.area_m2) for st in site.built_up.steps}
    assert (built.date.start, area) in steps and (D(2023, 7, 4), 0.0) in steps
    assert site.built_up.steps[0].area_m2 == 0.0  # before the bracket: not yet standing
    span = ET.fromstring(build_kml([site])).find(f".//{{{KML_NS}}}Placemark[@id='f.hall']/{{{KML_NS}}}TimeSpan")
    assert [e.text for e in span] == [built.date.start.isoformat(), "2023-07-04"]
    frame = area_frame([hall], [D(2009, 1, 1)], obs)
    assert frame["area_m2"].max() == area


def test_curve_is_shown_only_with_a_footprint():
    point = Structure(id="f.a", facility_id="f", name="A", geometry=shapely.Point(127.66, 39.93))
    line = Structure(id="f.b", facility_id="f", name="B", geometry=shapely.LineString([(127.66, 39.93),
                                                                                       (127.661, 39.93)]),
                     built="~2020-06")
    only_points = built_up_curve([point, line], [D(2011, 1, 1), D(2024, 11, 30)])
    assert not only_points.shown and "points only" in only_points.note and "count 0" in only_points.note
    assert [(s.day, s.area_m2, s.points) for s in only_points.steps] == [(D(2011, 1, 1), 0.0, 1),
                                                                          (D(2020, 4, 17), 0.0, 2)]
    nothing = built_up_curve([], [D(2020, 1, 1)])
    assert not nothing.shown and nothing.steps == () and "No structures" in nothing.note
    undated = built_up_curve([Structure(id="f.c", facility_id="f", name="C", geometry=_box(0))])
    assert not undated.shown and undated.steps == ()
    with_one = built_up_curve([point, SHED], [D(2019, 1, 1)])
    assert with_one.shown and [(s.day, s.footprints, s.points) for s in with_one.steps] == [
        (D(2018, 1, 1), 1, 1), (D(2020, 1, 1), 0, 1)]


def test_unchanged_figures_make_no_step():
    # one footprint goes as another of the same size comes: the figures do not change on that day
    a = Structure(id="f.a", facility_id="f", name="A", geometry=_box(0), built="2010", removed="2015")
    b = Structure(id="f.b", facility_id="f", name="B", geometry=_box(0), built="2015")
    curve = built_up_curve([a, b], [D(2009, 1, 1)])
    assert [s.day for s in curve.steps] == [D(2009, 1, 1), D(2010, 1, 1)]


def test_cited_sources_facility_parents_structures_observations_in_order_of_first_citation():
    f = _facility(source_ids=("s-fac",), parents=(ParentClaim("Complex", source_ids=("s-parent", "s-fac")),))
    structures = [Structure(id="f.b", facility_id="f", name="B", geometry=_box(0), source_ids=("s-struct",)),
                  Structure(id="f.a", facility_id="f", name="A", geometry=_box(0.002), source_ids=("s-a",)),
                  Structure(id="g.x", facility_id="g", name="Elsewhere", geometry=_box(0), source_ids=("s-g",))]
    obs = [_obs("o2", "2022", source_ids=("s-late", "gone")), _obs("o1", "2019", source_ids=("s-obs", "s-parent"))]
    known = [_source(i) for i in ("s-late", "s-obs", "s-struct", "s-a", "s-parent", "s-fac", "s-g", "unused")]
    site = site_view(f, structures, obs, known)
    assert [s.name for s in site.structures] == ["A", "B"]  # the facility's own, by name
    assert site.cited_source_ids == ("s-fac", "s-parent", "s-a", "s-struct", "s-obs", "s-late", "gone")
    assert [s.id for s in site.sources] == ["s-fac", "s-parent", "s-a", "s-struct", "s-obs", "s-late"]
    assert site.missing_source_ids == ("gone",)
    assert site.citations(f.parents[0].source_ids) == (2, 1)
    assert site.citations(obs[0].source_ids) == (6,)  # a missing source has no number


def test_observation_order_start_then_end_then_id():
    obs = [_obs("c", "2020"), _obs("b", "2020-01"), _obs("a", "2020"), _obs("d", "~2020"), _obs("e", "2019-12-31")]
    site = site_view(_facility(), observations=obs)
    # ~2020 may mean from 2019-01-01; 2020-01 ends before 2020; equal dates by id
    assert [o.id for o in site.observations] == ["d", "e", "b", "a", "c"]


def test_image_label_and_compare_key():
    eox = _obs("o1", "2021", image=ImageRef("eox-s2cloudless", "2020", "2020"))
    bare = _obs("o2", "2021", image=ImageRef("Planet Labs", None, "2024-10"))
    site = site_view(_facility(), observations=[eox, bare, _obs("o3", "2022")])
    assert site.image_label(eox) == "eox-s2cloudless · 2020 · 2020" and site.image_key(eox) == ImageKey(
        "eox-s2cloudless", "2020")
    assert site.image_label(bare) == "Planet Labs · 2024-10" and site.image_key(bare) is None
    sha = "0eec9e8523e21019e5b4f337c77d1cb10318" + "9" * 28
    assert image_label(ImageRef("local", sha, "2024-10-05")) == "local · 0eec9e8523e2… · 2024-10-05"
    assert image_label(ImageRef("local", "S2A_52SCG_2024", None)) == "local · S2A_52SCG_2024"  # short ids whole
    assert site.image_label(site.observations[-1]) == "" and site.image_key(site.observations[-1]) is None


def test_structure_name_of_an_observation():
    o = _obs("o1", "2021", structure_id="f.shed")
    ghost = _obs("o2", "2021", structure_id="f.gone")
    site = site_view(_facility(), [SHED], [o, ghost, _obs("o3", "2021")])
    assert [site.structure_name(x) for x in site.observations] == ["Shed", "f.gone", ""]


def test_load_site_reads_the_store_and_the_filter_selects_observations(seeded):
    site = load_site(seeded, "february-11-plant")
    assert len(site.observations) == 13 and site.observations[0].date.start == D(2011, 1, 1)
    assert {s.id for s in site.sources} == set(site.cited_source_ids) and not site.missing_source_ids
    parents = {i for p in site.facility.parents for i in p.source_ids}
    assert parents <= {s.id for s in site.sources}
    later = load_site(seeded, "february-11-plant", Filter(date_from=D(2024, 11, 1)))
    assert [str(o.date) for o in later.observations] == ["2024-11", "2024-11-25"]
    assert later.built_up.until == D(2024, 11, 30)
    assert pd.Timestamp(later.built_up.steps[0].day) == pd.Timestamp("2020-04-17")  # Building B's own date
