"""The report's words and map labels without a PDF: the summary sentences from a SiteView (dating bracket, measured
change, built-up curve), dates and times in words, short ids, source titles cut to their first words, conflicting
claims, the two image keys read back from accepted observations' notes, map labels that never overlap, and Korean
names drawn in a figure without a missing-glyph warning."""

from __future__ import annotations

import datetime as dt
import warnings

import matplotlib.pyplot as plt
import pytest
import shapely

from facilities.dates import PartialDate
from facilities.model import Facility, ImageRef, Observation, ParentClaim, Structure
from facilities.store import Filter
from tracker.reports.maps import nearest_towns, place_labels, site_map
from tracker.reports.measured import measured_pair
from tracker.reports.narrative import (
    conflicts,
    display_title,
    generated_words,
    partial_words,
    period_words,
    short_ids,
    structure_labels,
    summary_sentences,
)
from tracker.reports.site_report import timeline_figure
from tracker.site import site_view

X, Y = 127.6568, 39.9209
BOX = shapely.box(X - 0.003, Y - 0.003, X + 0.003, Y + 0.003)
DATING_NOTES = ("Absent on local:aaaaaaaaaaaa (2021-04-02); present on local:bbbbbbbbbbbb (2023-10-09). Method: "
                "temporal cluster matching. Score 9.1 (the step over the spread within segments)")
CHANGE_NOTES = ("Measured from the pixels: before local:cccccccccccc (2021-04-02, stated), after local:dddddddddddd "
                "(2024-10-05, stated); 98% of the area with data on both.")


def _site(**kw):
    fac = Facility(id="plant", name="February 11 Plant", geometry=BOX, country="KP", category="missile production",
                   parents=kw.pop("parents", ()))
    b = Structure(id="plant.b", facility_id="plant", name="Building B",
                  geometry=shapely.box(X, Y, X + 0.001, Y + 0.0005))
    a = Structure(id="plant.a", facility_id="plant", name="Assembly hall (조립 공장)",
                  geometry=shapely.Point(X - 0.001, Y))
    obs = [Observation(id="o0", facility_id="plant", date="2020", kind="visit", summary="A visit"),
           Observation(id="o1", facility_id="plant", date="2023-10", kind="completed", structure_id="plant.b",
                       summary="Building B appeared", notes=DATING_NOTES, confidence="medium", analyst="kim"),
           Observation(id="o2", facility_id="plant", date="2024-10-05", kind="progress",
                       summary="7,200 m² changed (7,020–7,380 m²) in 1 region(s) since local:cccccccccccc; brightness",
                       notes=CHANGE_NOTES, geometry=shapely.box(X, Y, X + 0.0005, Y + 0.0005), analyst="lee",
                       image=ImageRef("local", "dddddddddddd", "2024-10-05")),
           *kw.pop("more", ())]
    return site_view(fac, [a, b], obs)


def test_the_summary_says_what_changed_when_and_how_sure():
    site = _site()
    labels = structure_labels(site.structures)
    assert labels == {"plant.a": "A", "plant.b": "B"}  # in the SiteView's order: by name, then id
    lines = summary_sentences(site, labels)
    assert lines[0].startswith("February 11 Plant (North Korea, missile production) has 2 recorded structures and 3 "
                               "observations")
    assert ("Measured on the images, Building B (B) appears between 2 April 2021 and 9 October 2023: the last image "
            "without it and the first with it (medium confidence).") in lines
    assert any(line.startswith("The images show 7,200 m² changed (7,020–7,380 m²) in 1 region(s) between 2 April 2021 "
                               "and 5 October 2024 (medium confidence; measured from the pixels and accepted by lee)")
               for line in lines)
    assert any(line.startswith("Built-up footprint: 0 m² on 1 January 2020") and "from 1 October 2023" in line
               for line in lines), lines


def test_dates_times_and_periods_in_words():
    assert generated_words(dt.datetime(2026, 12, 1, 21, 15, tzinfo=dt.timezone(dt.timedelta(hours=1)))) == \
        "Generated 1 December 2026, 20:15 UTC"
    assert [partial_words(PartialDate.parse(t)) for t in ("2024", "2024-10", "2024-10-05", "~2020-06")] == \
        ["2024", "October 2024", "5 October 2024", "about June 2020"]
    site = _site()
    assert period_words(site) == "All observations (2020 to 2024)"
    assert period_words(site, Filter(date_from=dt.date(2019, 1, 1), date_to=dt.date(2024, 12, 31))) == \
        "Observations from 1 January 2019 to 31 December 2024"
    assert short_ids(28)[-3:] == ["Z", "AA", "AB"]


def test_a_pasted_sentence_as_title_is_cut_to_its_first_words():
    long = "North Korea expands missile production at a plant in Hamhung that makes the KN-23, sources say"
    assert display_title(long) == "North Korea expands missile production at a plant in Hamhung that makes …"
    assert display_title("CNS report") == "CNS report"


def test_conflicting_claims_side_by_side():
    parents = (ParentClaim("Ryongsong Machine Complex", source_ids=()), ParentClaim("Rakwon Machine Complex"))
    late = Observation(id="o3", facility_id="plant", date="2019", kind="completed", structure_id="plant.b",
                       summary="Building B finished", confidence="low")
    site = _site(parents=parents, more=[late])
    found = conflicts(site, structure_labels(site.structures))
    assert [c.topic for c in found] == ["Part of which complex", "When Building B (B) was completed"]
    assert [cl.text for cl in found[1].claims] == ["2019 (low confidence)", "October 2023 (medium confidence)"]
    assert conflicts(_site(), structure_labels(_site().structures)) == []


def test_the_two_images_are_read_back_from_accepted_notes():
    site = _site()
    nothing, dating, change = (measured_pair(o) for o in site.observations)
    assert nothing is None
    assert (dating.kind, str(dating.before), str(dating.after), dating.after_day) == (
        "dating", "local:aaaaaaaaaaaa", "local:bbbbbbbbbbbb", dt.date(2023, 10, 9))
    assert (change.kind, str(change.before), str(change.after), change.before_day) == (
        "change", "local:cccccccccccc", "local:dddddddddddd", dt.date(2021, 4, 2))
    typed = Observation(id="o9", facility_id="plant", date="2020", kind="visit", summary="x", notes="typed by hand")
    assert measured_pair(typed) is None


def test_map_labels_never_overlap_even_when_anchored_on_one_point():
    fig, ax = plt.subplots(figsize=(3, 3))
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 10)
    boxes = place_labels(ax, [(5, 5, str(n), "#ffb000") for n in range(12)])
    plt.close(fig)
    assert len(boxes) == 12
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])


def test_site_map_with_korean_names_draws_without_glyph_warnings_and_names_towns():
    site = _site()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        m = site_map(site, structure_labels(site.structures), {"o0": 1, "o1": 2, "o2": 3})
        m.figure.savefig(__import__("io").BytesIO(), format="png", dpi=80)
        plt.close(m.figure)
    assert not [w for w in caught if "Glyph" in str(w.message)]
    assert m.country == "North Korea"
    assert [t.name for t in m.towns][:2] == ["Hŭngnam", "Hamhŭng"]
    assert nearest_towns(0.0, -30.0) == []  # mid-ocean: no town within reach


def _number_boxes(site) -> dict[str, object]:
    """The timeline's observation numbers as drawn: text -> its box in display space."""
    fig = timeline_figure(site)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = {t.get_text(): t.get_window_extent(renderer) for t in fig.axes[0].texts}
    plt.close(fig)
    return boxes


@pytest.mark.parametrize("same", [2, 5])
def test_timeline_numbers_of_one_date_and_kind_never_overlap(same: int):
    """Observations of one kind on one date share a mark: their numbers sit side by side, each readable."""
    twins = [Observation(id=f"t{n}", facility_id="plant", date="2023", kind="reroofed", summary=f"Roof {n}")
             for n in range(same)]
    near = [Observation(id="n1", facility_id="plant", date="2024-11", kind="statement", summary="Said"),
            Observation(id="n2", facility_id="plant", date="2024-11-25", kind="statement", summary="Said again")]
    site = _site(more=(*twins, *near))
    boxes = _number_boxes(site)
    assert sorted(boxes, key=int) == [str(n) for n in range(1, len(site.observations) + 1)]  # each number once
    pairs = [(a, b) for i, a in enumerate(boxes) for b in list(boxes)[i + 1:] if boxes[a].overlaps(boxes[b])]
    assert not pairs, pairs


def test_the_seed_plants_timeline_numbers_never_overlap(tmp_path):
    """The February 11 Plant's two 2023 reroofings (8, 9) and two November 2024 statements (12, 13)."""
    from facilities.store import GeoPackageStore
    from tracker.seeding import ensure_seeded
    from tracker.site import load_site

    store = GeoPackageStore(tmp_path / "r.gpkg")
    try:
        ensure_seeded(store)
        site = load_site(store, "february-11-plant")
    finally:
        store.close()
    boxes = _number_boxes(site)
    assert len(boxes) == len(site.observations) >= 13
    assert not [(a, b) for i, a in enumerate(boxes) for b in list(boxes)[i + 1:] if boxes[a].overlaps(boxes[b])]
