"""The store's filters against a reference (issue 22), on GeoPackage: the date window keeps exactly the observations
whose interval (of any precision, approximate ones widened) overlaps [from, to], ends included; the bounding box
keeps exactly what really meets it (odd outlines whose envelope meets the box but not the outline, boxes across
the antimeridian, observations without geometry); facility ids select facilities and what belongs to them; and
listings keep their order."""

from __future__ import annotations

import datetime as dt

import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from facilities.bbox import split_antimeridian as split_bbox
from facilities.dates import PartialDate
from facilities.model import Facility, Observation, Registry, Source, Structure
from facilities.store import Filter, GeoPackageStore
from facilities.store.sql import date_window

DATES = ["2019", "2020-06", "2020-06-15", "~2018", "~2020-02", "~2020-06-30", "2020-12-31", "2021-01-01", "2020"]
L_SHAPE = shapely.Polygon([(0, 0), (10, 0), (10, 1), (1, 1), (1, 10), (0, 10)])  # its envelope is 10 x 10
FAR_EAST = shapely.box(179.5, 10, 179.9, 10.4)
FAR_WEST = shapely.box(-179.9, 10, -179.5, 10.4)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    facilities = [
        Facility(id="ell", name="L-shaped yard", geometry=L_SHAPE, source_ids=("s",)),
        Facility(id="east", name="East of the line", geometry=FAR_EAST, source_ids=("s",)),
        Facility(id="west", name="West of the line", geometry=FAR_WEST, source_ids=("s",)),
        Facility(id="far", name="Far away", geometry=shapely.MultiPolygon([shapely.box(50, 50, 51, 51),
                                                                            shapely.box(60, 50, 61, 51)]),
                 source_ids=("s",)),
    ]
    structures = [
        Structure(id="ell.corner", facility_id="ell", name="Corner", geometry=shapely.Point(0.5, 0.5)),
        Structure(id="ell.tip", facility_id="ell", name="Tip", geometry=shapely.Point(9.5, 0.5)),
        Structure(id="far.a", facility_id="far", name="A", geometry=shapely.Point(60.5, 50.5)),
    ]
    observations = []
    for i, d in enumerate(DATES):
        fid = ["ell", "east", "west", "far"][i % 4]
        geom = None if i % 3 == 0 else shapely.Point(0.5, 9.5) if fid == "ell" else None
        observations.append(Observation(id=f"{fid}.o{i}", facility_id=fid, date=d, kind="progress",
                                        summary=f"seen {d}", geometry=geom, source_ids=("s",)))
    s = GeoPackageStore(tmp_path_factory.mktemp("sql") / "r.gpkg")
    s.import_registry(Registry(tuple(facilities), tuple(structures), tuple(observations),
                               (Source(id="s", title="t"),)), actor="t")
    yield s
    s.close()


def test_the_date_window_clauses():
    assert date_window(None, None) == ([], [])
    assert date_window(dt.date(2020, 1, 2), None) == (["date_end >= ?"], ["2020-01-02"])
    assert date_window(None, dt.date(2020, 1, 2)) == (["date_start <= ?"], ["2020-01-02"])
    assert date_window(dt.date(2020, 1, 2), dt.date(2021, 3, 4)) == (
        ["date_end >= ?", "date_start <= ?"], ["2020-01-02", "2021-03-04"])


DAY = st.dates(dt.date(2017, 1, 1), dt.date(2022, 12, 31))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(date_from=st.none() | DAY, date_to=st.none() | DAY)
def test_the_date_window_keeps_exactly_the_overlapping_observations(store, date_from, date_to):
    got = [o.id for o in store.list_observations(Filter(date_from=date_from, date_to=date_to))]
    everything = store.list_observations()
    expected = [o.id for o in everything
                if (date_from is None or o.date.end >= date_from) and (date_to is None or o.date.start <= date_to)]
    assert got == expected


def test_window_ends_are_included_to_the_day():
    d = PartialDate.parse("2020-06")
    assert (d.start, d.end) == (dt.date(2020, 6, 1), dt.date(2020, 6, 30))


@pytest.mark.parametrize("date_from, date_to, inside", [
    (dt.date(2020, 6, 30), None, True), (dt.date(2020, 7, 1), None, False),
    (None, dt.date(2020, 6, 1), True), (None, dt.date(2020, 5, 31), False),
])
def test_a_month_is_kept_from_its_first_to_its_last_day(store, date_from, date_to, inside):
    ids = {o.id for o in store.list_observations(Filter(date_from=date_from, date_to=date_to))}
    assert ("east.o1" in ids) is inside  # dated 2020-06


def test_observations_are_listed_by_start_date_then_id(store):
    obs = store.list_observations()
    assert [(o.date.start, o.id) for o in obs] == sorted((o.date.start, o.id) for o in obs)
    assert len(obs) == len(DATES)


BOXES = st.tuples(st.floats(-180, 179), st.floats(-80, 79), st.floats(0.01, 60), st.floats(0.01, 30)).map(
    lambda t: (t[0], t[1], t[0] + t[2] if t[0] + t[2] <= 180 else t[0] + t[2] - 360, min(t[1] + t[3], 85)))


def meets(geom, bbox) -> bool:
    return geom is not None and any(geom.intersects(shapely.box(*b)) for b in split_bbox(bbox))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bbox=BOXES | st.sampled_from([(2, 2, 9, 9), (179, 9, -179, 11), (178, 0, -170, 20), (9.2, 0.2, 9.8, 0.8),
                                     (55, 49, 59, 52), (0.2, 9.2, 0.8, 9.8)]))
def test_the_bounding_box_keeps_exactly_what_meets_it(store, bbox):
    flt = Filter(bbox=bbox)
    for listed, everything in ((store.list_facilities(flt), store.list_facilities()),
                               (store.list_structures(flt), store.list_structures()),
                               (store.list_observations(flt), store.list_observations())):
        assert [o.id for o in listed] == [o.id for o in everything if meets(o.geometry, bbox)]
    geometries = {f.id: f.geometry for f in store.list_facilities()}
    assert [f.id for f in store.facilities_in_bbox(bbox)] == [  # in storage order
        i for i in ("ell", "east", "west", "far") if meets(geometries[i], bbox)]


def test_an_odd_outline_whose_envelope_meets_the_box_is_left_out(store):
    assert [f.id for f in store.list_facilities(Filter(bbox=(2, 2, 9, 9)))] == []
    assert [f.id for f in store.list_facilities(Filter(bbox=(9.2, 0.2, 9.8, 0.8)))] == ["ell"]
    assert [s.id for s in store.list_structures(Filter(bbox=(9.2, 0.2, 9.8, 0.8)))] == ["ell.tip"]
    assert [f.id for f in store.list_facilities(Filter(bbox=(179, 9, -179, 11)))] == ["east", "west"]
    assert [f.id for f in store.list_facilities(Filter(bbox=(55, 49, 59, 52)))] == []  # between the two parts
    assert store.facilities_in_bbox((2, 2, 9, 9)) == []


def test_facility_ids_select_the_facilities_and_what_belongs_to_them(store):
    flt = Filter(facility_ids=("ell", "far"))
    assert [f.id for f in store.list_facilities(flt)] == ["far", "ell"]  # by name: Far away, L-shaped yard
    assert {s.facility_id for s in store.list_structures(flt)} == {"ell", "far"}
    assert {o.facility_id for o in store.list_observations(flt)} == {"ell", "far"}
    assert store.list_structures(Filter(facility_ids=("east",))) == []
    both = Filter(facility_ids=("ell",), bbox=(9.2, 0.2, 9.8, 0.8), date_from=dt.date(2030, 1, 1))
    assert [f.id for f in store.list_facilities(both)] == ["ell"] and store.list_observations(both) == []
    assert [s.id for s in store.list_structures(both)] == ["ell.tip"]


def test_facilities_are_listed_by_name(store):
    assert [f.name for f in store.list_facilities()] == ["East of the line", "Far away", "L-shaped yard",
                                                        "West of the line"]
    assert [(s.facility_id, s.name) for s in store.list_structures()] == [("ell", "Corner"), ("ell", "Tip"),
                                                                          ("far", "A")]


SOURCE_IDS = ("b", "a", "z_1", "z-1", "m", "z.1", "a9", "a-b")


@pytest.fixture
def sourced(tmp_path):
    s = GeoPackageStore(tmp_path / "sources.gpkg")
    s.import_registry(Registry((), (), (), tuple(Source(id=i, title=f"T {i}") for i in SOURCE_IDS)), actor="t")
    yield s
    s.close()


BY_BYTES = sorted(SOURCE_IDS, key=str.encode)


@pytest.mark.parametrize("chunk", [900, 2, 1])
def test_sources_by_id_come_in_id_order_in_chunks_or_not(sourced, monkeypatch, chunk):
    monkeypatch.setattr(sourced.dialect, "max_params", chunk)  # long id lists are queried a chunk at a time
    assert [s.id for s in sourced.list_sources()] == BY_BYTES
    assert [s.id for s in sourced.list_sources(("m", "z_1", "nowhere", "z-1", "a"))] == ["a", "m", "z-1", "z_1"]
    assert [s.id for s in sourced.list_sources(SOURCE_IDS)] == BY_BYTES
    assert [s.title for s in sourced.list_sources(("z_1",))] == ["T z_1"]
    assert sourced.list_sources(()) == [] and sourced.list_sources(("x", "y", "w")) == []


def _fids(batches) -> list[list[str]]:
    return [[x.id for x in batch] for batch in batches]


@pytest.mark.parametrize("batch_size", [1, 2, 3, 5000])
def test_batches_hold_exactly_what_the_listing_holds(store, batch_size):
    for flt in (Filter(), Filter(facility_ids=("ell", "far")), Filter(bbox=(9.2, 0.2, 9.8, 0.8)),
                Filter(bbox=(2, 2, 9, 9)), Filter(bbox=(179, 9, -179, 11)), Filter(date_from=dt.date(2020, 6, 30)),
                Filter(facility_ids=("ell", "west"), date_to=dt.date(2020, 12, 31), bbox=(-1, -1, 11, 11))):
        for batches, listed in ((store.iter_facilities(flt, batch_size), store.list_facilities(flt)),
                                (store.iter_observations(flt, batch_size), store.list_observations(flt))):
            got = _fids(batches)
            assert all(0 < len(b) <= batch_size for b in got), got  # never an empty batch, never over the size
            flat = [i for b in got for i in b]
            assert len(flat) == len(set(flat)) and set(flat) == {x.id for x in listed}, (flt, got)
