"""The GeoJSON report with a `report` foreign member (RFC 7946 §6.1): what, when, how and by what.

The features come unchanged from facilities.geojson_io.iter_export (streamed, so a large registry
never sits in memory); only the opening of the FeatureCollection is replaced, to put the member
first where a reader sees it before the features.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from facilities.files import write_atomically
from facilities.geojson_io import iter_export
from facilities.store import Filter, Store

from .output import software_version, utc_now

_OPENING = '{"type":"FeatureCollection",'


def filter_dict(flt: Filter) -> dict:
    """The filter as JSON-ready data, recorded in a report."""
    return {
        "facility_ids": list(flt.facility_ids) if flt.facility_ids is not None else None,
        "bbox": list(flt.bbox) if flt.bbox is not None else None,
        "date_from": flt.date_from.isoformat() if flt.date_from else None,
        "date_to": flt.date_to.isoformat() if flt.date_to else None,
    }


def report_member(flt: Filter = Filter(), title: str = "Facility tracker report",
                  figures: Mapping[str, Sequence[str]] | None = None) -> dict:
    """Title, generation time (UTC), filters, software version and observation id -> figure files."""
    return {
        "title": title,
        "generated_at": utc_now(),
        "filters": filter_dict(flt),
        "software": {"name": "facility-tracker", "version": software_version()},
        "figures": {oid: list(paths) for oid, paths in sorted((figures or {}).items())},
    }


def iter_report(store: Store, flt: Filter = Filter(), title: str = "Facility tracker report",
                figures: Mapping[str, Sequence[str]] | None = None) -> Iterator[str]:
    """The GeoJSON export of `flt` with a "report" member (title, generation time, filters, software version, figures
    per observation) at the top, streamed in chunks."""
    chunks = iter_export(store, flt)
    head = next(chunks)
    if not head.startswith(_OPENING):  # the exporter changed its opening: fail loudly, not corrupt
        raise RuntimeError(f"unexpected export opening {head[:40]!r}")
    member = json.dumps(report_member(flt, title, figures), ensure_ascii=False, separators=(",", ":"))
    yield f'{_OPENING}"report":{member},{head[len(_OPENING):]}'
    yield from chunks


def write_report(store: Store, path: str | os.PathLike[str], flt: Filter = Filter(),
                 title: str = "Facility tracker report", figures: Mapping[str, Sequence[str]] | None = None) -> Path:
    """Write the report atomically (temporary file, then rename)."""
    write_atomically(path, iter_report(store, flt, title, figures))
    return Path(path)
