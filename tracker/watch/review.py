"""The analyst's decision on a finding: accept it into an observation, or dismiss it. Either moves the site's
review date (facilities/store/watch.py, one transaction with the history).

An accepted change finding becomes what `facilities imagery change --accept` records (tracker.change's
observation: the changed regions as its geometry, the later image as its image, the figures in its summary);
an accepted new-imagery finding becomes a plain "activity" observation on the new image saying new imagery
was reviewed, without geometry or figures (Wayback news was never analysed: its terms).
"""

from __future__ import annotations

import uuid

import shapely
from shapely.geometry import shape

from facilities.dates import PartialDate
from facilities.errors import InputError
from facilities.model import Confidence, ImageRef, Observation, ObservationKind, as_enum
from facilities.store import Store
from facilities.watchlist import Finding, FindingKind
from imagery.keys import ImageKey

from .run import watch_tables

_WHAT = {FindingKind.NEW_WAYBACK_RELEASE: "New Esri Wayback release over the site",
         FindingKind.NEW_SCENE: "New Sentinel-2 scene clear enough over the site",
         FindingKind.NEW_LOCAL_IMAGE: "New local image of the site"}


def finding_observation(finding: Finding, *, analyst: str, kind: str | None = None,
                        confidence: str = Confidence.MEDIUM.value) -> Observation:
    """The observation accepting `finding` records (pure). A change finding: kind progress unless told, the
    regions as one MultiPolygon, the figures and both dates in the summary; InputError when nothing significant
    changed (dismiss it instead). Other findings: kind activity unless told, on the new image, no geometry."""
    if finding.after_date is None:
        raise InputError(f"finding {finding.id}: its image {finding.after_key} has no date; the observation "
                         "cannot be dated")
    key = ImageKey.parse(finding.after_key)
    date = PartialDate.parse(finding.after_date)
    image = ImageRef(key.provider, key.image_id, date)
    if finding.kind is FindingKind.CHANGE:
        if not finding.significant:
            raise InputError(f"finding {finding.id}: no significant change between {finding.before_key} and "
                             f"{finding.after_key}; dismiss it instead")
        low, high = finding.changed_m2_range or (finding.changed_m2, finding.changed_m2)
        parts = [shape(f["geometry"]) for f in finding.polygons.get("features", [])]
        polys = [p for g in parts for p in getattr(g, "geoms", [g])]
        summary = (f"{finding.changed_m2:,.0f} m² changed ({low:,.0f}–{high:,.0f} m²) between the "
                   f"{finding.before_date or 'undated'} and {finding.after_date} images, measured from the pixels "
                   "(watch scan)")
        notes = f"Watch finding {finding.id}: before {finding.before_key}, after {finding.after_key}. {finding.note}"
        return Observation(
            id=f"obs-{uuid.uuid4().hex[:12]}", facility_id=finding.facility_id, date=date,
            kind=as_enum(ObservationKind, kind or ObservationKind.PROGRESS.value, "kind"), summary=summary[:2000],
            geometry=shapely.MultiPolygon(polys) if polys else None, image=image,
            confidence=as_enum(Confidence, confidence, "confidence"), analyst=analyst, notes=notes[:4000])
    summary = f"{_WHAT[finding.kind]}: {finding.after_key} ({finding.after_date}), reviewed"
    return Observation(
        id=f"obs-{uuid.uuid4().hex[:12]}", facility_id=finding.facility_id, date=date,
        kind=as_enum(ObservationKind, kind or ObservationKind.ACTIVITY.value, "kind"), summary=summary,
        image=image, confidence=as_enum(Confidence, confidence, "confidence"), analyst=analyst,
        notes=f"Watch finding {finding.id}. {finding.note}".strip()[:4000])


def accept_finding(store: Store, finding_id: str, *, actor: str, kind: str | None = None,
                   confidence: str = Confidence.MEDIUM.value) -> tuple[Finding, Observation]:
    """Accept the finding: its observation written, the finding marked, the review date moved (one unit)."""
    tables = watch_tables(store)
    finding = tables.finding(finding_id)
    obs = finding_observation(finding, analyst=actor, kind=kind, confidence=confidence)
    return tables.accept(finding_id, obs, actor=actor)


def dismiss_finding(store: Store, finding_id: str, *, actor: str) -> Finding:
    """Dismiss the finding and move the site's review date."""
    return watch_tables(store).dismiss(finding_id, actor=actor)
