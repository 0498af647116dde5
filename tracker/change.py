"""The change between two dated images of a facility, measured against their own noise, and recorded on request.

`site_change` reads both images through the imagery session (only images the server may read: an Esri
Wayback key is refused with DisplayOnly naming it) onto one UTM grid over the facility's padded area, at
the coarser of the two images' resolutions (never finer detail than either has), and measures the change
with imagery.change. Nothing is written. `accept_change` records the result as one observation (the
changed regions as its MultiPolygon geometry, the later image as its image, the figures in its summary)
when the analyst accepts it. `as_json` is the contract of `facilities imagery change --json`: exactly the
keys in FIELDS.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from dataclasses import dataclass
from typing import Any

from facilities.dates import PartialDate
from facilities.errors import InputError
from facilities.model import Confidence, Facility, ImageRef, Observation, ObservationKind, as_enum
from facilities.store import Store
from imagery.aoi import AreaOfInterest
from imagery.base import Capture, DateCertainty
from imagery.change import DEFAULT_MMU_M2, Change, analysis_pixel_m, measure_change
from imagery.chips import align, grid_for_bbox
from imagery.keys import ImageKey
from imagery.session import ImagerySession
from tracker.timeline import find_facility

FIELDS = ("facility", "before", "after", "before_date", "after_date", "significant", "changed_m2",
          "changed_m2_range", "method", "index", "pixel_size_m", "valid_fraction", "built_up_only", "polygons")


@dataclass(frozen=True)
class ChangeImage:
    """One of the two images compared."""

    key: ImageKey
    date: dt.date | None  # acquisition date (None: a composite or an image without one)
    certainty: DateCertainty  # what the date means (captured, stated, composite, released)
    resolution_m: float | None  # the source's stated ground resolution


@dataclass(frozen=True)
class SiteChange:
    """The change at one facility between two images: the figures, the regions and what they were made from."""

    facility: Facility
    before: ChangeImage
    after: ChangeImage
    change: Change  # figures, regions, method, index, grid (imagery.change.Change)

    @property
    def pixel_size_m(self) -> float:
        """Side in metres of the grid's pixels (the coarser of the two images' resolutions, or coarser)."""
        return self.change.pixel_size_m

    def as_json(self) -> dict[str, Any]:
        """The `--json` contract: exactly the keys in FIELDS; polygons as a GeoJSON FeatureCollection."""
        c = self.change
        low, high = c.changed_m2_range
        return {
            "facility": self.facility.id, "before": str(self.before.key), "after": str(self.after.key),
            "before_date": _iso(self.before.date), "after_date": _iso(self.after.date),
            "significant": c.significant, "changed_m2": round(c.changed_m2, 1),
            "changed_m2_range": [round(low, 1), round(high, 1)], "method": c.method, "index": c.index.value,
            "pixel_size_m": round(self.pixel_size_m, 3), "valid_fraction": round(c.valid_fraction, 4),
            "built_up_only": c.built_up_only, "polygons": c.feature_collection(),
        }

    def verdict(self) -> str:
        """One paragraph for people: the changed area with its range, or that there is no significant change."""
        c = self.change
        pair = f"{_name(self.before)} and {_name(self.after)}"
        what = "built-up change" if c.built_up_only else "change"
        cover = "" if c.valid_fraction >= 0.999 else f" ({c.valid_fraction:.0%} of the area has data on both)"
        if not c.significant:
            left = (f"; {len(c.vegetation_regions)} vegetation region(s) left out"
                    if c.vegetation_regions else "")
            return (f"No significant {what} between {pair} at {self.facility.name}: nothing beats the pair's own "
                    f"noise{cover}{left}. Index: {c.index.value}. Method: {c.method}.")
        low, high = c.changed_m2_range
        left = f", {len(c.vegetation_regions)} vegetation region(s) left out" if c.vegetation_regions else ""
        return (f"{c.changed_m2:,.0f} m² changed ({low:,.0f}–{high:,.0f} m²) between {pair} at "
                f"{self.facility.name}, in {len(c.regions)} region(s){left}{cover}; {self.pixel_size_m:g} m pixels. "
                f"Index: {c.index.value}. Method: {c.method}.")


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


def _name(image: ChangeImage) -> str:
    return f"{image.key} ({image.date.isoformat() if image.date else 'undated'})"


def _image(key: ImageKey, capture: Capture) -> ChangeImage:
    day = capture.date
    year = capture.extra.get("year")
    if day is None and isinstance(year, int):  # a yearly composite: mid-year, as the timeline places it
        day = dt.date(year, 7, 1)
    return ChangeImage(key, day, capture.certainty, capture.resolution_m)


def site_change(store: Store, session: ImagerySession, facility: str, before_key: str, after_key: str, *,
                built_up_only: bool = False, mmu_m2: float = DEFAULT_MMU_M2) -> SiteChange:
    """The change at `facility` (id, name or alias) between two images named by their keys
    ("provider:image_id", as `facilities imagery timeline` lists them), over the facility's padded area.

    InputError for the same key twice; BadImageKey for text that is not a key; DisplayOnly naming the key for
    Esri Wayback or a provider the server has no reader for; ImageryError naming the key when its source no
    longer lists it over the site. Writes nothing."""
    return facility_change(find_facility(store, facility), session, before_key, after_key,
                           built_up_only=built_up_only, mmu_m2=mmu_m2)


def facility_change(fac: Facility, session: ImagerySession, before_key: str, after_key: str, *,
                    built_up_only: bool = False, mmu_m2: float = DEFAULT_MMU_M2) -> SiteChange:
    """`site_change` for a facility already read (a watch scan's worker has no registry): the same checks,
    reads and measure. Writes nothing."""
    keys = {"--before": before_key, "--after": after_key}
    parsed = {opt: ImageKey.parse(text) for opt, text in keys.items()}
    if parsed["--before"] == parsed["--after"]:
        raise InputError(f"--before and --after both name {parsed['--before']}: pick two different images")
    aoi = AreaOfInterest.of(fac.geometry)
    captures = {opt: session.capture_for(key, aoi.bbox) for opt, key in parsed.items()}
    parsed = {opt: ImageKey(c.provider, c.capture_id) for opt, c in captures.items()}  # shortened ids in full
    if parsed["--before"] == parsed["--after"]:
        raise InputError(f"--before and --after both name {parsed['--before']}: pick two different images")
    before = _image(parsed["--before"], captures["--before"])
    after = _image(parsed["--after"], captures["--after"])
    probe = grid_for_bbox(aoi.bbox, size=aoi.grid_size)
    w, s, e, n = probe.bounds
    pixel = analysis_pixel_m([before.resolution_m, after.resolution_m], max(e - w, n - s))
    pixel = math.ceil(pixel * 1000) / 1000  # a round figure: the grid's edges snap to multiples of it
    grid = grid_for_bbox(aoi.bbox, pixel_size=pixel)
    chips = {opt: align(session.read_image(parsed[opt], grid, capture=captures[opt]), grid) for opt in keys}
    red_nir = {opt: session.read_red_nir(parsed[opt], grid, capture=captures[opt]) for opt in keys}
    change = measure_change(chips["--before"], chips["--after"], before_red_nir=red_nir["--before"],
                            after_red_nir=red_nir["--after"], built_up_only=built_up_only, mmu_m2=mmu_m2,
                            before_key=str(before.key), after_key=str(after.key))
    return SiteChange(fac, before, after, change)


def change_observation(result: SiteChange, *, analyst: str, kind: str = ObservationKind.PROGRESS.value,
                       confidence: str = Confidence.MEDIUM.value) -> Observation:
    """The observation `accept_change` writes (pure): kind `kind` (progress unless told), dated by the later
    image, on the later image, its geometry the changed regions as one MultiPolygon, the summary the changed
    area with its range and method, the notes naming the earlier image. InputError when nothing significant
    changed (there is nothing to record)."""
    c = result.change
    if not c.significant:
        raise InputError(f"no significant change between {result.before.key} and {result.after.key}: "
                         "nothing to record")
    after = result.after
    if after.date is None:
        raise InputError(f"{after.key} has no date: the observation cannot be dated")
    date = (PartialDate.parse(str(after.date.year)) if after.certainty is DateCertainty.COMPOSITE
            else PartialDate.parse(after.date))
    low, high = c.changed_m2_range
    before = result.before
    regions = f"{len(c.regions)} region" + ("s" if len(c.regions) != 1 else "")
    # The summary is what tables and timelines show: the figure and the dates. Keys and the method are in the
    # notes (tracker.reports.measured reads the two keys back from them).
    summary = (f"{c.changed_m2:,.0f} m² changed ({low:,.0f}–{high:,.0f} m²) in {regions} between the "
               f"{_iso(before.date) or 'undated'} and {_iso(after.date)} images, measured from the pixels"
               + (" (built-up only)" if c.built_up_only else ""))
    notes = (f"Measured from the pixels: before {before.key} ({_iso(before.date) or 'undated'}, "
             f"{before.certainty.value}), after {after.key} ({_iso(after.date)}, {after.certainty.value}); "
             f"{c.valid_fraction:.0%} of the area with data on both. Index: {c.index.value}, "
             f"{result.pixel_size_m:g} m pixels. Method: {c.method}")
    return Observation(
        id=f"obs-{uuid.uuid4().hex[:12]}", facility_id=result.facility.id, date=date,
        kind=as_enum(ObservationKind, kind, "kind"), summary=summary[:2000], geometry=c.multipolygon(),
        image=ImageRef(after.key.provider, after.key.image_id, date),
        confidence=as_enum(Confidence, confidence, "confidence"), analyst=analyst, notes=notes)


def accept_change(store: Store, result: SiteChange, *, actor: str, kind: str = ObservationKind.PROGRESS.value,
                  confidence: str = Confidence.MEDIUM.value) -> Observation:
    """Record the measured change as one observation (change_observation) and return it as stored."""
    return store.add_observation(change_observation(result, analyst=actor, kind=kind, confidence=confidence),
                                 actor=actor)
