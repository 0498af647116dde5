"""The imagery source interface: list the captures over an area and time, read one into a chip.

imagery/ takes a bbox or geometry and dates; it never sees a Facility. A `Capture` is one dated
image of an area from one provider; `Chip` is pixels for a bbox on a known grid. Everything that
can be listed (Wayback releases, STAC scenes, yearly mosaics, local files) answers with Captures.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

import numpy as np

BBox = tuple[float, float, float, float]  # west, south, east, north in EPSG:4326 degrees


class DateCertainty(StrEnum):
    """What an imagery date means: when the pixels were captured, only when a mosaic was released, a blend of many
    dates, or what the analyst stated."""

    CAPTURED = "captured"  # the acquisition date of the pixels (metadata, scene time)
    RELEASED = "released"  # only the publication date of a mosaic is known: the pixels are older
    COMPOSITE = "composite"  # many dates blended (yearly mosaics): cannot date an event
    STATED = "stated"  # given by the analyst who imported the file


@dataclass(frozen=True)
class Capture:
    """One dated image of an area, as a source lists it."""

    provider: str  # provider key, e.g. "esri-wayback", "sentinel-2-l2a", "local"
    capture_id: str  # release number, STAC item id, file hash...
    date: dt.date | None  # acquisition date where known
    certainty: DateCertainty
    resolution_m: float | None = None
    licence: str = ""
    attribution: str = ""
    sensor: str | None = None
    # parts of the area captured on other dates (Wayback metadata per tile), ISO dates
    other_dates: tuple[dt.date, ...] = ()
    extra: dict = field(default_factory=dict, compare=False)
    # share of the area that is cloud or cloud shadow (0..1), None when unknown (extra["cloud_reason"] says why)
    cloud_fraction: float | None = field(default=None, compare=False)

    @property
    def mixed_dates(self) -> bool:
        """True when parts of the area were imaged on different dates."""
        return bool(self.other_dates)


@dataclass(frozen=True)
class Chip:
    """Pixels of one capture cut to a bbox: bands x rows x cols, with its grid."""

    capture: Capture
    data: np.ndarray  # (bands, height, width); masked pixels hold `nodata`
    crs: str  # e.g. "EPSG:32652"
    transform: tuple[float, float, float, float, float, float]  # affine a, b, c, d, e, f
    nodata: float | None = None


class ImagerySource(Protocol):
    """A provider of dated imagery: lists the captures over an area and reads one as a chip."""

    key: str

    def captures(self, bbox: BBox, start: dt.date | None = None, end: dt.date | None = None,
                 ) -> Sequence[Capture]:
        """The captures covering `bbox` (west, south, east, north in degrees), optionally between two dates."""

    def read(self, capture: Capture, bbox: BBox, size: tuple[int, int]) -> Chip:
        """Read a capture over `bbox` into a chip of `size` (width, height) pixels."""
