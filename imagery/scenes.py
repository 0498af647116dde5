"""Sentinel-2 scenes of one site over a date range: every page of the search, per date the item(s) covering the
site, the clearest scene per month or season.

A search never stops silently: `SceneSearch` says how many matched items were not listed and why (a limit,
a service that returned fewer than it matched, a page that failed), and `CaptureList` carries that to the
timeline and the CLI. Pure apart from `page_through`, which reads pages from pystac-client.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union

from .base import Capture

COVERED = 0.999  # share of the site an item (or items of one date together) must cover to count as covering it


@dataclass
class SceneSearch:
    """The items of a paged search and what is missing from it."""

    items: list[dict[str, Any]] = field(default_factory=list)  # raw STAC item dicts, in the service's order
    matched: int | None = None  # numberMatched (or context.matched) when the service says
    pages: int = 0  # pages received
    left_out: int | None = 0  # matched items not listed; None when more exist but the service did not count them
    problem: str | None = None  # one line: why items are missing, when some are

    @property
    def complete(self) -> bool:
        """True when every matched item was listed."""
        return self.left_out == 0 and self.problem is None


class CaptureList(list[Capture]):
    """Captures as a list (the ImagerySource interface), with what the search left out."""

    def __init__(self, captures: Iterable[Capture] = (), *, matched: int | None = None, left_out: int | None = 0,
                 problem: str | None = None, items: int = 0) -> None:
        super().__init__(captures)
        self.matched = matched  # items the service matched, when it says
        self.items = items  # items listed (several may make one capture, a date may have several items)
        self.left_out = left_out  # matched items not listed; None = more exist, not counted
        self.problem = problem  # one line naming what is missing, or None
        self.skipped: list[str] = []  # items listed but not usable, each with the reason


def _matched(page: dict[str, Any]) -> int | None:
    for value in (page.get("numberMatched"), (page.get("context") or {}).get("matched")):
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
    return None


def _dates(items: Sequence[dict[str, Any]]) -> str:
    days = sorted(str((i.get("properties") or {}).get("datetime") or "")[:10] for i in items)
    days = [d for d in days if d]
    return f"{days[0]} to {days[-1]}" if days else "none"


def page_through(pages: Iterator[dict[str, Any]], *, limit: int, service: str,
                 errors: tuple[type[BaseException], ...] = ()) -> SceneSearch:
    """Collect items page by page, at most `limit`; a page failing with one of `errors` ends the search with a
    problem naming the page, the items listed before it and how many are missing (when the service counted)."""
    out = SceneSearch()
    while True:
        try:
            page = next(pages)
        except StopIteration:
            break
        except errors as err:
            if out.pages == 0:
                raise  # nothing listed: the search failed, which the caller says (never an empty list)
            out.left_out = None if out.matched is None else max(out.matched - len(out.items), 0)
            missing = "the rest" if out.left_out is None else f"{out.left_out} items"
            out.problem = (f"{service}: page {out.pages + 1} of the search failed ({err}); {len(out.items)} items "
                           f"listed (dates {_dates(out.items)}), {missing} not listed")
            return out
        out.pages += 1
        if out.pages == 1:
            out.matched = _matched(page)
        features = page.get("features") or []
        room = limit - len(out.items)
        out.items.extend(features[:room])
        if len(features) > room or (room == len(features) and _has_next(page)):
            out.left_out = None if out.matched is None else max(out.matched - len(out.items), 0)
            if out.left_out != 0:
                more = "more" if out.left_out is None else str(out.left_out)
                out.problem = (f"{service}: the limit of {limit} scenes applies; {more} matched scenes not listed "
                               f"(narrow the dates or raise TRACKER_STAC_MAX_ITEMS)")
            return out
    if out.matched is not None and out.matched > len(out.items):
        out.left_out = out.matched - len(out.items)
        out.problem = (f"{service} matched {out.matched} scenes but returned {len(out.items)} over {out.pages} "
                       f"pages: {out.left_out} not listed")
    return out


def _has_next(page: dict[str, Any]) -> bool:
    return any(isinstance(link, dict) and link.get("rel") == "next" for link in page.get("links") or [])


# -- per date: the item(s) covering the site -------------------------------------------------------------------

@dataclass(frozen=True)
class SceneItem:
    """What the per-date choice needs of one STAC item."""

    id: str
    when: dt.datetime  # UTC
    footprint: BaseGeometry  # the item's geometry (its data footprint), EPSG:4326
    cloud_cover: float | None  # the whole scene's eo:cloud_cover, percent
    raw: Any = field(default=None, compare=False)  # the item itself, for the caller

    @property
    def day(self) -> dt.date:
        """The UTC date of the scene."""
        return self.when.date()


@dataclass(frozen=True)
class DateScene:
    """The item(s) of one date that together cover the site, the first covering the largest part."""

    day: dt.date
    items: tuple[SceneItem, ...]
    coverage: float  # share of the site inside the items' footprints (1.0 = all of it)

    @property
    def capture_id(self) -> str:
        """The items' ids joined by '+' (one string, e.g. for an ImageKey), in the order they are stitched."""
        return "+".join(i.id for i in self.items)


def item_footprint(item: dict[str, Any]) -> BaseGeometry | None:
    """The item's geometry as a shapely geometry, None when it has none or it is not a polygon."""
    geometry = item.get("geometry")
    if not isinstance(geometry, dict):
        return None
    try:
        geom = shape(geometry)
    except (ValueError, TypeError, AttributeError, KeyError):
        return None
    return geom if geom.geom_type in ("Polygon", "MultiPolygon") and not geom.is_empty else None


def scenes_per_date(items: Iterable[SceneItem], site: BaseGeometry) -> list[DateScene]:
    """Per UTC date, the fewest items that cover `site`: one item when one covers it (the least cloudy scene of
    those), else items added largest overlap first until the site is covered (a site on a tile edge is
    stitched from two tiles). A date whose items cover only part of the site is kept with its coverage."""
    by_day: dict[dt.date, list[SceneItem]] = {}
    for item in items:
        if item.footprint.intersects(site):
            by_day.setdefault(item.day, []).append(item)
    area = site.area or 1.0
    out = []
    for day in sorted(by_day):
        candidates = sorted(by_day[day], key=lambda i: (i.cloud_cover is None, i.cloud_cover or 0.0, i.id))
        whole = [i for i in candidates if i.footprint.intersection(site).area / area >= COVERED]
        if whole:
            out.append(DateScene(day, (whole[0],), 1.0))
            continue
        chosen: list[SceneItem] = []
        covered: BaseGeometry | None = None
        remaining = list(candidates)
        while remaining:
            def gain(i: SceneItem, covered: BaseGeometry | None = covered) -> float:
                part = i.footprint.intersection(site)
                return (part.difference(covered) if covered is not None else part).area

            best = max(remaining, key=gain)
            if gain(best) <= 0:
                break
            chosen.append(best)
            remaining.remove(best)
            covered = best.footprint if covered is None else unary_union([covered, best.footprint])
            if covered.intersection(site).area / area >= COVERED:
                break
        coverage = covered.intersection(site).area / area if covered is not None else 0.0
        out.append(DateScene(day, tuple(chosen), min(1.0, coverage)))
    return out


# -- the clearest scene per month or season ----------------------------------------------------------------------

Period = Literal["month", "season"]
SEASONS = {12: "DJF", 1: "DJF", 2: "DJF", 3: "MAM", 4: "MAM", 5: "MAM", 6: "JJA", 7: "JJA", 8: "JJA",
           9: "SON", 10: "SON", 11: "SON"}


def period_of(day: dt.date, per: Period) -> str:
    """'2021-03' for a month; '2021-DJF' etc. for a meteorological season (December counts to the next year's
    winter: 2020-12 is in 2021-DJF)."""
    if per == "month":
        return f"{day.year:04d}-{day.month:02d}"
    if per == "season":
        return f"{day.year + (1 if day.month == 12 else 0):04d}-{SEASONS[day.month]}"
    raise ValueError(f"period must be 'month' or 'season', not {per!r}")


def clearest(captures: Iterable[Capture], per: Period = "month") -> list[Capture]:
    """The clearest capture of each month or season, oldest first: least cloud inside the outline; captures whose
    cloudiness is unknown come after every known one (then the scene's own cloud cover decides)."""
    best: dict[str, Capture] = {}

    def rank(c: Capture) -> tuple[bool, float, float, dt.date]:
        scene = c.extra.get("scene_cloud_cover")
        return (c.cloud_fraction is None, c.cloud_fraction if c.cloud_fraction is not None else 1.0,
                float(scene) if isinstance(scene, int | float) else 100.0, c.date or dt.date.max)

    for cap in captures:
        if cap.date is None:
            continue
        key = period_of(cap.date, per)
        if key not in best or rank(cap) < rank(best[key]):
            best[key] = cap
    return sorted(best.values(), key=lambda c: (c.date or dt.date.min, c.capture_id))
