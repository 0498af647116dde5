"""The evidence commands (`tracker-report ...`, also `facilities report ...`): figures, HTML and PDF
site reports, KML/KMZ and the GeoJSON report from the shell."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from facilities.store import Filter, Store
from imagery.local import LocalSource
from tracker.reports.geojson_report import write_report
from tracker.reports.kml import write_kml
from tracker.reports.output import atomic_write
from tracker.settings import load_settings
from tracker.site import load_site
from tracker.wiring import local_images, open_registry

from .arguments import date_range

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Publishable evidence from the facility registry.")

Db = Annotated[str | None, typer.Option("--db", help="Registry .gpkg path (default: TRACKER_DATABASE).")]
Out = Annotated[Path, typer.Option("--out", "-o", help="Output directory.")]
From = Annotated[str | None, typer.Option("--from", help="Only observations from this date (YYYY[-MM[-DD]]).")]
To = Annotated[str | None, typer.Option("--to", help="Only observations up to this date (YYYY[-MM[-DD]]).")]


def _open(ctx: typer.Context, db: str | None) -> tuple[Store, LocalSource]:
    """The registry and local images: --db here, else `facilities --db X report ...`'s, else the settings'."""
    root = ctx.find_root().obj
    settings = getattr(root, "settings", None) if db is None else None
    settings = settings or load_settings(database=db)
    return open_registry(settings, seed=False), local_images(settings)


def _filter(facility_ids: list[str] | None, date_from: str | None, date_to: str | None) -> Filter:
    first, last = date_range(date_from, date_to)  # the registry commands' partial dates: --from 2020 works
    return Filter(facility_ids=tuple(facility_ids) if facility_ids else None, date_from=first, date_to=last)


@app.command()
def kml(ctx: typer.Context, path: Path,
        facility: Annotated[list[str] | None, typer.Option(help="Facility id (repeatable).")] = None,
        db: Db = None, date_from: From = None, date_to: To = None) -> None:
    """KML (or KMZ when PATH ends in .kmz) for Google Earth, with dates for its time slider."""
    store, _ = _open(ctx, db)
    flt = _filter(facility, date_from, date_to)
    ids = list(flt.facility_ids or [f.id for f in store.list_facilities()])
    write_kml([load_site(store, fid, flt) for fid in ids], path)
    typer.echo(f"wrote {path} ({len(ids)} facilities)")


@app.command()
def geojson(ctx: typer.Context, path: Path,
            facility: Annotated[list[str] | None, typer.Option(help="Facility id.")] = None,
            db: Db = None, date_from: From = None, date_to: To = None,
            title: str = "Facility tracker report") -> None:
    """The GeoJSON report with its `report` member (title, time, filters, version)."""
    store, _ = _open(ctx, db)
    write_report(store, path, _filter(facility, date_from, date_to), title)
    typer.echo(f"wrote {path}")


@app.command()
def figures(ctx: typer.Context, facility: str, out: Out = Path("report"), db: Db = None, dpi: int = 300) -> None:
    """Annotated figures of a facility on every local image date: grid, before/after pair, GIF."""
    from tracker.reports.figures import load_chips, make_figures  # matplotlib: imported by the commands that draw

    store, source = _open(ctx, db)
    site = load_site(store, facility)
    chips, notes = load_chips(site, source)
    figs = make_figures(site, chips, out / "figures", dpi=dpi)
    for line in [*notes, *figs.notes, *(str(p) for p in figs.paths)]:
        typer.echo(line)


def _report(ctx: typer.Context, facility: str, out: Path, db: str | None, date_from: str | None, date_to: str | None,
            pdf: bool) -> None:
    from tracker.reports.site_report import build_report  # matplotlib, as in `figures`
    from tracker.wiring import imagery_session

    store, source = _open(ctx, db)
    root = ctx.find_root().obj
    settings = (getattr(root, "settings", None) if db is None else None) or load_settings(database=db)
    session = imagery_session(settings)  # reads the two images of each accepted change for its before/after figure
    try:
        files = build_report(store, facility, out, source, _filter([facility], date_from, date_to), pdf=pdf,
                             session=session, author=settings.actor)
    finally:
        session.close()
    typer.echo(f"wrote {files.html}" + (f" and {files.pdf}" if files.pdf else ""))


@app.command()
def html(ctx: typer.Context, facility: str, out: Out = Path("report"), db: Db = None, date_from: From = None,
         date_to: To = None) -> None:
    """Self-contained HTML site report (images embedded)."""
    _report(ctx, facility, out, db, date_from, date_to, pdf=False)


@app.command()
def pdf(ctx: typer.Context, facility: str, out: Out = Path("report"), db: Db = None, date_from: From = None,
        date_to: To = None) -> None:
    """HTML site report and the PDF rendered from it."""
    _report(ctx, facility, out, db, date_from, date_to, pdf=True)


@app.command()
def provenance(ctx: typer.Context, facility: str,
               out: Annotated[Path | None, typer.Option("--out", "-o", help="Write here (HTML, or JSON with --json) "
                                                        "instead of printing.")] = None,
               as_json: Annotated[bool, typer.Option("--json", help="The machine-readable form.")] = False,
               db: Db = None) -> None:
    """The provenance appendix: every image the site's records name (key, date and its certainty, retrieval, URL,
    sha256 of the bytes used, file name and credit of local imports) and every observation's history."""
    import json

    from tracker.reports.provenance import (
        build_provenance,
        provenance_text,
        render_provenance_html,
        write_provenance,
    )
    from tracker.timeline import find_facility
    from tracker.wiring import imagery_session

    root = ctx.find_root().obj
    settings = (getattr(root, "settings", None) if db is None else None) or load_settings(database=db)
    store = open_registry(settings, seed=False, create=False)
    session = imagery_session(settings)
    try:
        fac = find_facility(store, facility)
        prov = build_provenance(load_site(store, fac.id), store, session)
    finally:
        session.close()
        store.close()
    if out is not None:
        if as_json:
            write_provenance(out, prov)
        else:
            atomic_write(out, render_provenance_html(prov).encode("utf-8"))
        typer.echo(f"wrote {out} ({len(prov.images)} images, {len(prov.histories)} observations)")
    elif as_json:
        typer.echo(json.dumps(prov.as_json(), ensure_ascii=False, indent=1))
    else:
        typer.echo(provenance_text(prov))


@app.command()
def timelapse(ctx: typer.Context, facility: str,
              out: Annotated[str, typer.Option("--out", "-o", help="Path stem (writes PATH.gif and PATH.mp4) or "
                                               "directory (FACILITY-timelapse.gif/.mp4 in it).")] = "report/",
              date_from: Annotated[str | None, typer.Option("--from", help="Images from this date (YYYY[-MM[-DD]]).")
                                   ] = None,
              date_to: Annotated[str | None, typer.Option("--to", help="Images up to this date (YYYY[-MM[-DD]]).")
                                 ] = None,
              source: Annotated[list[str] | None, typer.Option(
                  "--source", help="Repeatable: eox | sentinel-2 | local (default: all three; Esri Wayback is shown "
                                   "in the browser only, never in a server-made video).")] = None,
              as_json: Annotated[bool, typer.Option("--json", help="What was written, as JSON.")] = False,
              db: Db = None) -> None:
    """Animated GIF and MP4 of the site over its analysable images: one frame per usable date, stamped with date,
    date certainty, provider and credit, the outline drawn; the dates left out are listed with why."""
    import json

    from tracker.reports.timelapse import TIMELAPSE_SOURCES, make_timelapse
    from tracker.wiring import imagery_session

    start, end = date_range(date_from, date_to)
    root = ctx.find_root().obj
    settings = (getattr(root, "settings", None) if db is None else None) or load_settings(database=db)
    store = open_registry(settings, seed=False, create=False)
    session = imagery_session(settings)
    try:
        result = make_timelapse(store, session, facility, out, start=start, end=end,
                                sources=tuple(source or TIMELAPSE_SOURCES))
    finally:
        session.close()
        store.close()
    typer.echo(json.dumps(result.as_json(), ensure_ascii=False, indent=1) if as_json else result.text())


@app.command()
def evidence(ctx: typer.Context, facility: str,
             out: Annotated[Path, typer.Option("--out", "-o", help="Directory to write (new or empty).")],
             force: Annotated[bool, typer.Option(
                 "--force", help="Write into a non-empty directory: an earlier export's files there are replaced, "
                 "any other file is left alone.")] = False,
             db: Db = None) -> None:
    """The evidence as data: change polygons and footprints as GeoJSON and as layers of evidence.gpkg, each
    accepted change's difference raster as a Cloud-Optimised GeoTIFF tagged with its two image keys, and
    README.txt + manifest.json with every file's sha256. A non-empty directory is refused unless --force."""
    from tracker.reports.evidence import write_evidence
    from tracker.wiring import imagery_session

    root = ctx.find_root().obj
    settings = (getattr(root, "settings", None) if db is None else None) or load_settings(database=db)
    store = open_registry(settings, seed=False, create=False)
    session = imagery_session(settings)
    try:
        result = write_evidence(store, session, facility, out, force=force)
    finally:
        session.close()
        store.close()
    for line in result.lines():
        typer.echo(line)
