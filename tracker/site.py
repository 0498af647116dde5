"""One site as every output shows it: the Registry page, `facilities show` and the reports.

The same figures used to be computed in five places that disagreed (a structure removed in "2020"
stood a year longer in the PDF than on the page; three rules for the sources a site cites). Here
they are computed once, as pure functions of the records, and every output formats what
`SiteView` says:

- observations in one order: the first day each date may mean, then the last, then the id;
- cited sources in order of first citation across the facility, its parent claims, its
  structures and its observations; ids that name no stored source are kept apart as missing;
- the built-up footprint curve, and whether it is worth drawing (`BuiltUp.shown`);
- each observation's image label and the image key its compare link opens.

Only `load_site` reads the store.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property

from facilities.model import Facility, Observation, ObservationKind, Source, Structure
from facilities.store import Filter, Store
from imagery.keys import ImageKey

from .images import image_key, image_label

BUILT_UP_RULE = (
    "Built-up footprint: the summed ground area of the facility's structures between their built and removed "
    "dates. A structure counts from the first day its built date may mean (from the start of the chart when "
    "that date is unknown) and stops counting on the first day its removed date may mean. Where a structure has "
    "no built (removed) date, its earliest construction-start or completed (demolished) observation gives it, "
    "e.g. a construction bracket dated from the images and accepted by an analyst. Structures located only by "
    "a point count 0 until someone digitises their footprint.")
BUILT_UP_COLUMNS = ("from", "built-up m²", "footprints", "points")


def observation_order(o: Observation) -> tuple[dt.date, dt.date, str]:
    """The one order of observations: earliest day the date may mean, then its last day, then id."""
    return (o.date.start, o.date.end, o.id)


BUILT_KINDS = (ObservationKind.CONSTRUCTION_START, ObservationKind.COMPLETED)  # date a structure's start
REMOVED_KINDS = (ObservationKind.DEMOLISHED,)  # date its end


def _earliest(observations: Iterable[Observation], structure_id: str,
              kinds: tuple[ObservationKind, ...]) -> dt.date | None:
    days = [o.date.start for o in observations if o.structure_id == structure_id and o.kind in kinds]
    return min(days) if days else None


def standing(s: Structure, observations: Iterable[Observation] = ()) -> tuple[dt.date | None, dt.date | None]:
    """(first day counted, first day no longer counted); None where the date is unknown.

    Both ends take the first day a partial date may mean: "built 2018" counts from 2018-01-01 and
    "removed 2020" stops counting on 2020-01-01, so the curve never shows what may be gone. A date
    the structure does not carry comes from its earliest observation of a kind that dates it
    (BUILT_KINDS, REMOVED_KINDS): an accepted "built between X and Y" bracket counts from its first day.
    """
    obs = tuple(observations)
    begin = s.built.start if s.built else _earliest(obs, s.id, BUILT_KINDS)
    end = s.removed.start if s.removed else _earliest(obs, s.id, REMOVED_KINDS)
    return begin, end


@dataclass(frozen=True)
class BuiltUpStep:
    """The figures from `day` until the next step."""

    day: dt.date
    area_m2: float  # rounded to 0.1 m²
    footprints: int  # standing structures with an area
    points: int  # standing structures located by a point or a line only (0 m²)


@dataclass(frozen=True)
class BuiltUp:
    """The built-up footprint as a step series over the chart (`steps` then flat to `until`).

    `shown` is the rule for drawing it: only when at least one structure has a footprint and there
    is a date to draw from; otherwise a flat 0 line would read as "nothing was built", so outputs
    print `note` (which says why) instead. When shown, `note` is the rule the curve follows.
    """

    steps: tuple[BuiltUpStep, ...] = ()
    until: dt.date | None = None
    shown: bool = False
    note: str = ""

    def rows(self) -> list[tuple[str, str, int, int]]:
        """The steps as every output prints them (columns: BUILT_UP_COLUMNS)."""
        return [(s.day.isoformat(), f"{s.area_m2:,.0f}", s.footprints, s.points) for s in self.steps]


def built_up_curve(structures: Sequence[Structure], span: Iterable[dt.date] = (),
                   observations: Iterable[Observation] = ()) -> BuiltUp:
    """The step series of `structures` over `span` (e.g. the observations' dates) and their own dates.

    A step starts on the chart's first day and wherever the figures change; `until` is the chart's
    last day. A structure's dates are `standing`'s (its own, else its dating observations among
    `observations`); one still without a built date counts from the chart's first day.
    """
    if not structures:
        return BuiltUp(note="No structures are recorded, so there is no built-up curve.")
    obs = tuple(observations)
    lives = [(*standing(s, obs), s.footprint_m2) for s in structures]
    changes = {d for b, r, _a in lives for d in (b, r) if d is not None}
    dates = changes | set(span)
    if not dates:
        return BuiltUp(note="No built-up curve: no observation and no structure is dated.")
    first, last = min(dates), max(dates)
    steps: list[BuiltUpStep] = []
    for day in sorted(changes | {first}):
        up = [a for b, r, a in lives if (b is None or b <= day) and (r is None or day < r)]
        step = BuiltUpStep(day, round(float(sum(up)), 1), sum(1 for a in up if a > 0), sum(1 for a in up if a <= 0))
        if not steps or (step.area_m2, step.footprints, step.points) != (
                steps[-1].area_m2, steps[-1].footprints, steps[-1].points):
            steps.append(step)
    if not any(a > 0 for _b, _r, a in lives):
        n = len(structures)
        note = (f"No built-up curve: the {n} structure{'s are' if n > 1 else ' is'} located by points only, "
                "which count 0 m² until someone digitises a footprint.")
        return BuiltUp(tuple(steps), last, shown=False, note=note)
    return BuiltUp(tuple(steps), last, shown=True, note=BUILT_UP_RULE)


def observation_span(observations: Iterable[Observation]) -> tuple[dt.date, ...]:
    """(first day, last day) the observations may mean, or () without observations."""
    days = [d for o in observations for d in (o.date.start, o.date.end)]
    return (min(days), max(days)) if days else ()


def cited_source_ids(facility: Facility, structures: Iterable[Structure] = (),
                     observations: Iterable[Observation] = ()) -> tuple[str, ...]:
    """Source ids in order of first citation: facility, its parent claims, structures, observations."""
    seen: dict[str, None] = {}
    for ids in (facility.source_ids, *(p.source_ids for p in facility.parents),
                *(s.source_ids for s in structures), *(o.source_ids for o in observations)):
        for sid in ids:
            seen.setdefault(sid, None)
    return tuple(seen)


@dataclass(frozen=True)
class SiteView:
    """A facility with its structures, observations and cited sources, as every output shows them.

    Build it with `site_view` (or `load_site`), which puts records in the one order and splits the
    cited ids into found sources and missing ids.
    """

    facility: Facility
    structures: tuple[Structure, ...] = ()  # by name, then id
    observations: tuple[Observation, ...] = ()  # observation_order
    sources: tuple[Source, ...] = ()  # cited and stored, in order of first citation: [1], [2], ...
    missing_source_ids: tuple[str, ...] = ()  # cited but not in the registry
    skipped: tuple[str, ...] = ()  # records left out: a value the model refuses (edited outside the app)
    _by_id: dict[str, Structure] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {s.id: s for s in self.structures})

    @property
    def cited_source_ids(self) -> tuple[str, ...]:
        """Ids of the sources the facility, its parent claims, structures and observations cite, in order of first
        citation."""
        return cited_source_ids(self.facility, self.structures, self.observations)

    @cached_property
    def source_numbers(self) -> dict[str, int]:
        """Source id -> its number in the list of sources (1-based)."""
        return {s.id: n for n, s in enumerate(self.sources, 1)}

    def citations(self, ids: Iterable[str]) -> tuple[int, ...]:
        """The numbers of the stored sources among `ids` (missing ids have none)."""
        return tuple(self.source_numbers[i] for i in ids if i in self.source_numbers)

    def structure(self, structure_id: str | None) -> Structure | None:
        """The site's structure with this id, or None (also for no id)."""
        return self._by_id.get(structure_id) if structure_id else None

    def structure_name(self, o: Observation) -> str:
        """The name of the structure an observation concerns; its id if not stored; '' for none."""
        s = self.structure(o.structure_id)
        return s.name if s else (o.structure_id or "")

    @staticmethod
    def image_label(o: Observation) -> str:
        """'provider · image id · acquired', or '' when the observation names no image."""
        return image_label(o.image)

    @staticmethod
    def image_key(o: Observation) -> ImageKey | None:
        """The layer the observation's compare link opens; None when no layer can match."""
        return image_key(o.image)

    def lifetime(self, s: Structure) -> tuple[dt.date | None, dt.date | None]:
        """When the structure counts in the built-up curve (`standing`, with this site's observations)."""
        return standing(s, self.observations)

    @cached_property
    def built_up(self) -> BuiltUp:
        """The built-up curve over the observations' span and the structures' own dates."""
        return built_up_curve(self.structures, observation_span(self.observations), self.observations)


def site_view(facility: Facility, structures: Iterable[Structure] = (), observations: Iterable[Observation] = (),
              known_sources: Iterable[Source] = ()) -> SiteView:
    """The view of a facility from its records; `known_sources` may hold more than it cites."""
    own = tuple(sorted((s for s in structures if s.facility_id == facility.id), key=lambda s: (s.name, s.id)))
    obs = tuple(sorted((o for o in observations if o.facility_id == facility.id), key=observation_order))
    ids = cited_source_ids(facility, own, obs)
    by_id = {s.id: s for s in known_sources}
    return SiteView(facility, own, obs, tuple(by_id[i] for i in ids if i in by_id),
                    tuple(i for i in ids if i not in by_id))


def load_site(store: Store, facility_id: str, flt: Filter = Filter()) -> SiteView:
    """Everything the outputs show about one facility; the filter's dates select observations."""
    with store.collect_skipped() as skipped:
        facility = store.get_facility(facility_id)
        mine = Filter(facility_ids=(facility_id,))
        structures = store.list_structures(mine)
        observations = store.list_observations(Filter(facility_ids=(facility_id,), date_from=flt.date_from,
                                                      date_to=flt.date_to))
        ids = cited_source_ids(facility, structures, observations)
        view = site_view(facility, structures, observations, store.list_sources(ids) if ids else ())
    return replace(view, skipped=tuple(str(p) for p in skipped)) if skipped else view
