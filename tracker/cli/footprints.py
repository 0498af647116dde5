"""`facilities footprint ...`: a structure's footprint proposed from a click on an analysable image, or saved from
an outline traced by hand on any image (tracker.footprints).

`propose FACILITY --image KEY --at LON,LAT` prints the proposed outline's area, confidence and notes (`--json`:
one GeoJSON Feature, see ProposedFootprint.as_json; `-o PATH.geojson` writes it). Nothing is stored: save
it (or your edit of it) with `save FACILITY STRUCTURE --geometry ... --image KEY [--regularise]`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from facilities.errors import InputError
from tracker.reports.output import atomic_write
from tracker.timeline import find_facility
from tracker.wiring import imagery_session

from .arguments import option_date, read_geometry
from .registry import Ctx

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Structure footprints: proposed from a click on an analysable image, or saved from a tracing.")


def _ctx(ctx: typer.Context) -> Ctx:
    found = ctx.find_object(Ctx)
    assert found is not None  # the registry app's callback made it
    return found


def _lonlat(text: str) -> tuple[float, float]:
    parts = text.replace(" ", "").split(",")
    try:
        lon, lat = (float(p) for p in parts)
    except ValueError:
        raise InputError(f"--at {text!r}: expected LON,LAT in degrees, e.g. 127.6605,39.9312") from None
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise InputError(f"--at {text!r}: longitude must be within ±180 and latitude within ±90 (LON,LAT order)")
    return lon, lat


@app.command("propose")
def propose_cmd(ctx: typer.Context, facility: Annotated[str, typer.Argument(help="Facility id, name or alias")],
                image: Annotated[str, typer.Option("--image", help="Image key provider:image_id (an analysable "
                                                   "image of 0.3-2 m, e.g. a local import)")],
                at: Annotated[str, typer.Option("--at", help="LON,LAT of a point inside the building")],
                as_json: Annotated[bool, typer.Option("--json", help="Print one GeoJSON Feature.")] = False,
                output: Annotated[Path | None, typer.Option("-o", "--output", help="Write the Feature to a "
                                                            ".geojson file")] = None) -> None:
    """Propose the footprint of the building at --at on --image (nothing is stored)."""
    from tracker.footprints import propose  # scipy and scikit-image: imported by the footprint commands only

    lon, lat = _lonlat(at)
    c = _ctx(ctx)
    session = imagery_session(c.settings)
    try:
        found = propose(c.reading, session, facility, image, lon, lat)
    finally:
        session.close()
    feature = found.as_json()
    if output is not None:
        atomic_write(output, (json.dumps({"type": "FeatureCollection", "features": [feature]}, ensure_ascii=False,
                                         indent=1) + "\n").encode())
    if as_json:
        typer.echo(json.dumps(feature, ensure_ascii=False, indent=1))
        return
    p = found.proposal
    typer.echo(f"{found.facility.name} ({found.facility.id}): footprint proposed on {found.image} "
               f"({found.pixel_m:g} m pixels)")
    typer.echo(f"area {p.area_m2:,.0f} m², confidence {p.confidence} (score {p.score:.2f}), {p.regularisation}")
    for note in p.notes:
        typer.echo(f"note: {note}")
    if output is not None:
        typer.echo(f"wrote {output}")
    typer.echo(f"save it with: facilities footprint save {found.facility.id} STRUCTURE --image {found.image} "
               f"--geometry {output or 'PATH.geojson'}")


@app.command("save")
def save_cmd(ctx: typer.Context, facility: Annotated[str, typer.Argument(help="Facility id, name or alias")],
             structure: Annotated[str, typer.Argument(help="Structure id")],
             geometry: Annotated[str, typer.Option("--geometry", help="Polygon as GeoJSON, WKT, or a file of either")],
             image: Annotated[str, typer.Option("--image", help="Key provider:image_id of the image it was traced "
                                                "on (any image, Esri Wayback included)")],
             acquired: Annotated[str | None, typer.Option("--acquired", help="The image's capture date, "
                                                          "YYYY[-MM[-DD]]")] = None,
             regularise: Annotated[bool, typer.Option("--regularise", help="Square the outline into right "
                                                      "angles first")] = False) -> None:
    """Save an outline as STRUCTURE's footprint, with the image it was traced on (one edit, in the history)."""
    from tracker.footprints import save_footprint  # as in `propose`

    geom = read_geometry(geometry)
    day = option_date(acquired, "--acquired")
    c = _ctx(ctx)
    fac = find_facility(c.store, facility)
    saved = save_footprint(c.store, structure, geom, image, regularise=regularise, actor=c.settings.actor,
                           acquired=str(day) if day else None, facility_id=fac.id)
    s = saved.structure
    how = f", {saved.regularisation} ({saved.area_change:+.1%} area)" if saved.regularisation else ""
    typer.echo(f"saved footprint of {s.id} ({s.name}): {saved.area_m2:,.0f} m², traced on {image}{how}; "
               f"version {s.version}")
    for note in saved.notes:
        typer.echo(f"note: {note}", err=True)
