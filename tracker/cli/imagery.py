"""`facilities imagery ...`: a site's whole imagery timeline, and local images imported from the command line.

`change FACILITY --before KEY --after KEY` measures the change between two analysable images against
their own noise (tracker.change; `--json` prints its FIELDS, `--accept` records it as an observation).
`timeline FACILITY` lists every dated image of a facility (id, name or alias) from Wayback, EOX,
Sentinel-2 and local imports on one axis; `--json` prints the contract of imagery.timeline (a
list of objects with exactly its FIELDS). A first scan shows a progress bar on stderr and ends
cleanly on Ctrl-C (exit 130, what was fetched stays cached). `import PATH[=DATE] ...` imports
GeoTIFFs through the Import page's code path (tracker.imports.import_image_upload) with the
page's checks (tracker.image_checks), printing each image's key.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import threading
from pathlib import Path
from typing import Annotated

import typer

from facilities.errors import InputError
from facilities.files import read_import_file
from imagery.errors import Cancelled, ImageryError
from imagery.keys import ImageKey
from imagery.timeline import SOURCES
from tracker.image_checks import IMAGE_LIMIT_HINT, check_capture_date, image_limit_bytes, parse_capture_date
from tracker.imports import import_image_upload
from tracker.timeline import site_timeline
from tracker.wiring import imagery_session

from .registry import Ctx

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="A site's imagery timeline from every source, and local images imported by file.")


def _ctx(ctx: typer.Context) -> Ctx:
    found = ctx.find_object(Ctx)
    assert found is not None  # the registry app's callback made it
    return found


class _Bar:
    """One progress bar per stage on stderr, shown only where stderr is a terminal or when asked."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.stage: str | None = None
        self.done = 0

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        if stage != self.stage:
            if self.stage is not None:
                sys.stderr.write("\n")
            self.stage = stage
        width = 30
        filled = width * done // max(total, 1)
        sys.stderr.write(f"\r{stage}: [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled and self.stage is not None:
            sys.stderr.write("\n")
            sys.stderr.flush()


@app.command()
def timeline(ctx: typer.Context, facility: str,
             date_from: Annotated[str | None, typer.Option("--from", help="YYYY, YYYY-MM or YYYY-MM-DD")] = None,
             date_to: Annotated[str | None, typer.Option("--to", help="YYYY, YYYY-MM or YYYY-MM-DD")] = None,
             source: Annotated[list[str] | None, typer.Option(
                 "--source", help=f"Repeatable: {' | '.join(SOURCES)} (default: all)")] = None,
             as_json: Annotated[bool, typer.Option("--json", help="A JSON list, one object per image.")] = False,
             progress: Annotated[bool | None, typer.Option(
                 "--progress/--no-progress", help="Progress bar on stderr (default: when stderr is a terminal).")
             ] = None) -> None:
    """Every dated image of FACILITY (an id, a name or an alias) from every source, oldest first."""
    from .arguments import date_range

    start, end = date_range(date_from, date_to)
    c = _ctx(ctx)
    store = c.reading
    session = imagery_session(c.settings)
    stop = threading.Event()
    bar = _Bar(sys.stderr.isatty() if progress is None else progress)
    try:
        result = site_timeline(store, session, facility, start=start, end=end, sources=tuple(source or SOURCES),
                               progress=bar, cancelled=stop.is_set)
    except KeyboardInterrupt:
        stop.set()
        bar.close()
        typer.echo("cancelled: what was fetched is cached; run the command again to continue", err=True)
        raise typer.Exit(130) from None
    except Cancelled as err:
        bar.close()
        typer.echo(f"cancelled: {err}", err=True)
        raise typer.Exit(130) from None
    finally:
        session.close()
    bar.close()
    for name, note in result.notes.items():
        typer.echo(f"note: {name}: {note}", err=True)
    if as_json:
        typer.echo(json.dumps([e.as_json() for e in result.entries], ensure_ascii=False, indent=1))
        return
    typer.echo(f"{result.facility.name} ({result.facility.id}): {len(result.entries)} dated images")
    typer.echo(f"Wayback dates: {result.date_rule}")
    for e in result.entries:
        cloud = f"{e.cloud_fraction:.0%} cloud" if e.cloud_fraction is not None else ""
        res = f"{e.resolution_m:g} m" if e.resolution_m is not None else ""
        extra = f"released {e.release_date}" if e.release_date and e.release_date != e.date else ""
        others = f"parts {', '.join(d.isoformat() for d in e.other_dates)}" if e.other_dates else ""
        detail = ", ".join(x for x in (res, cloud, extra, others, "" if e.analysable else "display only") if x)
        typer.echo(f"{e.date}  {e.certainty.value:9}  {str(e.key):40}  {detail}")


@app.command()
def change(ctx: typer.Context, facility: str,
           before: Annotated[str, typer.Option("--before", help="Image key of the earlier image (provider:id)")],
           after: Annotated[str, typer.Option("--after", help="Image key of the later image (provider:id)")],
           built_up_only: Annotated[bool, typer.Option(
               "--built-up-only", help="Leave out regions the greenness index explains (vegetation change).")] = False,
           as_json: Annotated[bool, typer.Option("--json", help="One JSON object (tracker.change.FIELDS).")] = False,
           geojson: Annotated[Path | None, typer.Option(
               "--geojson", help="Also write the changed regions as a GeoJSON FeatureCollection to PATH.")] = None,
           accept: Annotated[bool, typer.Option(
               "--accept", help="Record the change as an observation (regions as its geometry).")] = False,
           kind: Annotated[str, typer.Option(help="Observation kind when accepted")] = "progress",
           confidence: Annotated[str, typer.Option(help="Confidence when accepted: low, medium, high")] = "medium",
           ) -> None:
    """The change at FACILITY between two images (keys from `facilities imagery timeline`), tested against the
    pair's own noise: the changed area with a range, the method, and the regions. Nothing is written unless
    --accept."""
    from tracker.change import accept_change, change_observation, site_change

    c = _ctx(ctx)
    store = c.store if accept else c.reading
    session = imagery_session(c.settings)
    try:
        result = site_change(store, session, facility, before, after, built_up_only=built_up_only)
    finally:
        session.close()
    recorded = None
    if accept:  # checked before any file is written: a refused record leaves nothing behind
        change_observation(result, analyst=c.settings.actor, kind=kind, confidence=confidence)
    if geojson is not None:
        geojson.write_text(json.dumps(result.change.feature_collection(), ensure_ascii=False), encoding="utf-8")
    if accept:
        recorded = accept_change(store, result, actor=c.settings.actor, kind=kind, confidence=confidence)
    if as_json:
        typer.echo(json.dumps(result.as_json(), ensure_ascii=False, indent=1))
    else:
        typer.echo(result.verdict())
        for n, region in enumerate(result.change.regions, 1):
            lon, lat = region.geometry.representative_point().coords[0]
            typer.echo(f"  {n}. {region.area_m2:,.0f} m² at {lat:.5f}, {lon:.5f}: mean difference "
                       f"{region.mean_difference:.2f}, {region.noise_sigmas:.1f} sigma, "
                       f"{'vegetation' if region.vegetation else 'built-up'}")
    if geojson is not None:
        typer.echo(f"wrote {len(result.change.regions)} region(s) to {geojson}", err=True)
    if recorded is not None:
        typer.echo(f"recorded {recorded.id}: {recorded.date} {recorded.kind.value} at {result.facility.id}", err=True)


def _pairs(paths: list[str], captured: str | None) -> list[tuple[Path, dt.date]]:
    out = []
    for text in paths:
        path, sep, day = text.rpartition("=") if "=" in text and not Path(text).exists() else (text, "", "")
        if sep:
            out.append((Path(path), parse_capture_date(day, f"{path}=DATE")))
        elif captured is None:
            raise InputError(f"{text}: give its capture date (--captured YYYY-MM-DD, or {text}=YYYY-MM-DD); an "
                             "image without a date cannot be compared with others")
        else:
            out.append((Path(text), parse_capture_date(captured, "--captured")))
    return out


@app.command("import")
def import_(ctx: typer.Context,
            paths: Annotated[list[str], typer.Argument(help="GeoTIFF/COG files, each PATH or PATH=YYYY-MM-DD")],
            captured: Annotated[str | None, typer.Option(help="Capture date YYYY-MM-DD of every PATH without one")
                                ] = None,
            sensor: Annotated[str, typer.Option(help="Sensor or provider")] = "",
            licence: Annotated[str, typer.Option(help="Licence of the image")] = "",
            attribution: Annotated[str, typer.Option(help="Attribution to show with it")] = "") -> None:
    """Import georeferenced images into the local imagery, with the Import page's checks; prints each image's key.

    Every file is checked before any is imported: one that cannot be (no date, too large, not a
    GeoTIFF, georeferencing that cannot be right) stops the command and names it."""
    settings = _ctx(ctx).settings
    pairs = _pairs(paths, captured)
    limit = image_limit_bytes(settings)
    for path, day in pairs:  # the cheap checks first, for every file, before anything is written
        check_capture_date(day, str(path))
    loaded = [(path, day, read_import_file(path, limit, limit_hint=IMAGE_LIMIT_HINT)) for path, day in pairs]
    done: list[str] = []
    for path, day, raw in loaded:
        before = f" (imported before it: {', '.join(done)})" if done else ""
        try:
            cap = import_image_upload(raw, path.name, settings.data_dir, day, sensor, licence, attribution)
        except ImageryError as err:
            raise InputError(f"{path}: not imported: {err}{before}") from err
        except ValueError as err:
            raise InputError(f"{path}: not imported: its georeferencing cannot be used ({err}){before}") from err
        key = str(ImageKey(cap.provider, cap.capture_id))
        done.append(key)
        typer.echo(f"{key}\t{cap.date}\t{path}")
