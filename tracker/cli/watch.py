"""`facilities watch ...`: the watchlist, the scan of watched sites, the digest, and the review of findings.

`add|remove|list` take the filters of `facilities export` (--facility, --bbox) plus --country and --category;
`scan` looks for imagery that appeared since each site's last review (progress on stderr, resumable: an
interrupted scan is continued by the next one), `--notify-command CMD` runs CMD with the digest's path after
it (no shell; a failing hook is reported, never fatal); `digest` writes the HTML, Markdown and GeoJSON
files; `accept|dismiss FINDING` record the analyst's decision and move the site's review date.
"""

from __future__ import annotations

import datetime as dt
import json
import shlex
import subprocess
import sys
from functools import partial
from pathlib import Path
from typing import Annotated

import typer

from facilities.bbox import parse_bbox
from facilities.errors import InputError
from facilities.store import Filter
from imagery.limits import LocalLimiter
from tracker.watch.digest import DEFAULT_APP_URL, write_digest
from tracker.watch.review import accept_finding, dismiss_finding
from tracker.watch.run import scan_watchlist, watch_tables
from tracker.watch.site import MAX_CLOUD, SOURCES
from tracker.wiring import imagery_session

from .arguments import option_date
from .registry import Ctx

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Watch sites: what imagery appeared since you last looked, and what changed.")

HOOK_TIMEOUT_S = 300


def _ctx(ctx: typer.Context) -> Ctx:
    found = ctx.find_object(Ctx)
    assert found is not None  # the registry app's callback made it
    return found


FacilityOpt = Annotated[list[str] | None, typer.Option("--facility", help="facility id; repeatable")]
CountryOpt = Annotated[str | None, typer.Option(help="ISO country code")]
CategoryOpt = Annotated[str | None, typer.Option(help="facility category")]
BboxOpt = Annotated[str | None, typer.Option(help="west,south,east,north")]


def _selected(c: Ctx, facility: list[str] | None, country: str | None, category: str | None,
              bbox: str | None) -> list[str]:
    """Facility ids chosen by the filters (as `facilities export` builds its Filter); InputError without any."""
    if not (facility or country or category or bbox):
        raise InputError("name the facilities: --facility ID, --country, --category or --bbox (all of them: "
                         "--bbox -180,-90,180,90)")
    for fid in facility or ():
        c.store.get_facility(fid)  # a clear error for a mistyped id
    flt = Filter(facility_ids=tuple(facility) if facility else None, bbox=parse_bbox(bbox, what="--bbox"))
    return [f.id for f in c.store.list_facilities(flt)
            if (country is None or (f.country or "").upper() == country.upper())
            and (category is None or f.category.casefold() == category.casefold())]


@app.command()
def add(ctx: typer.Context, facility: FacilityOpt = None, country: CountryOpt = None, category: CategoryOpt = None,
        bbox: BboxOpt = None) -> None:
    """Watch the facilities the filters choose."""
    c = _ctx(ctx)
    ids = _selected(c, facility, country, category, bbox)
    added = watch_tables(c.store).add(ids, actor=c.settings.actor)
    typer.echo(f"watching {len(added)} more facilities ({len(ids) - len(added)} already watched)")


@app.command()
def remove(ctx: typer.Context, facility: FacilityOpt = None, country: CountryOpt = None,
           category: CategoryOpt = None, bbox: BboxOpt = None) -> None:
    """Stop watching the facilities the filters choose (their unreviewed findings go too)."""
    c = _ctx(ctx)
    ids = _selected(c, facility, country, category, bbox)
    removed = watch_tables(c.store).remove(ids, actor=c.settings.actor)
    typer.echo(f"stopped watching {len(removed)} facilities")


@app.command("list")
def list_(ctx: typer.Context, facility: FacilityOpt = None, country: CountryOpt = None,
          category: CategoryOpt = None, bbox: BboxOpt = None,
          findings: Annotated[bool, typer.Option("--findings", help="List unreviewed findings instead.")] = False,
          as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """The watched facilities (those the filters choose, or all) with their last review, or the findings."""
    c = _ctx(ctx)
    c.reading  # noqa: B018 - a registry that does not exist is an error, not created
    wanted = _selected(c, facility, country, category, bbox) if (facility or country or category or bbox) else None
    tables = watch_tables(c.store)
    if findings:
        found = [f for f in tables.findings() if wanted is None or f.facility_id in wanted]
        if as_json:
            typer.echo(json.dumps([{"id": f.id, "facility": f.facility_id, "kind": f.kind.value,
                                    "after": f.after_key, "after_date": f.after_date and f.after_date.isoformat(),
                                    "before": f.before_key, "significant": f.significant,
                                    "changed_m2": f.changed_m2} for f in found], ensure_ascii=False))
            return
        for f in found:
            figure = f" {f.changed_m2:,.0f} m²" if f.changed_m2 else ""
            typer.echo(f"{f.id}\t{f.facility_id}\t{f.kind.value}\t{f.after_key}\t{f.after_date or '-'}{figure}")
        return
    entries = tables.watched(wanted)
    if as_json:
        typer.echo(json.dumps([{"facility": e.facility_id, "added_at": e.added_at.isoformat(),
                                "reviewed_at": e.reviewed_at and e.reviewed_at.isoformat(),
                                "reviewed_by": e.reviewed_by, "reviewed_keys": list(e.reviewed_keys)}
                               for e in entries], ensure_ascii=False))
        return
    for e in entries:
        when = f"reviewed {e.reviewed_at:%Y-%m-%d} by {e.reviewed_by}" if e.reviewed_at else "never reviewed"
        typer.echo(f"{e.facility_id}\t{when}")


def _notify(command: str, digest: Path) -> None:
    """Run the hook with the digest's path; any failure is one stderr line, never fatal."""
    try:
        argv = [*shlex.split(command), str(digest)]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=HOOK_TIMEOUT_S, check=False)  # noqa: S603
    except (OSError, ValueError, subprocess.TimeoutExpired) as err:
        typer.echo(f"warning: --notify-command failed: {err}", err=True)
        return
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or [""])[-1]
        typer.echo(f"warning: --notify-command exited with {done.returncode}{': ' + last if last else ''}", err=True)


@app.command()
def scan(ctx: typer.Context,
         since: Annotated[str | None, typer.Option(help="News from this day on for every site (YYYY[-MM[-DD]]); "
                                                        "default: each site's last review")] = None,
         source: Annotated[list[str] | None, typer.Option(
             "--source", help=f"Repeatable: {' | '.join(SOURCES)} (default: all)")] = None,
         max_cloud: Annotated[float, typer.Option(min=0.0, max=1.0, help="Largest cloud share inside the outline "
                                                                           "of a new scene")] = MAX_CLOUD,
         workers: Annotated[int, typer.Option(min=1, max=64, help="Sites scanned at once")] = 4,
         as_json: Annotated[bool, typer.Option("--json", help="One JSON object: run, findings, failures.")] = False,
         digest: Annotated[Path | None, typer.Option("-o", "--digest", help="Write the digest here after the scan "
                                                                            "(default with --notify-command: "
                                                                            "DATA_DIR/watch/digest)")] = None,
         notify_command: Annotated[str | None, typer.Option(help="Run CMD DIGEST_PATH after the scan (no shell)")]
         = None,
         app_url: Annotated[str, typer.Option(help="The app's address, for Compare links")] = DEFAULT_APP_URL,
         progress: Annotated[bool | None, typer.Option(
             "--progress/--no-progress", help="Progress on stderr (default: when stderr is a terminal).")] = None,
         dask: Annotated[str | None, typer.Option(
             "--dask", metavar="SCHEDULER_ADDRESS", help="Scan on this Dask cluster (the optional dask extra); "
                                                         "its workers must see the data dir")] = None,
         rate_per_host: Annotated[float | None, typer.Option(
             min=0.1, help="Requests per second to one host, for the whole scan (all Dask workers together)")] = None,
         ) -> None:
    """Look for imagery that appeared at every watched site since its last review; store what is new as findings.
    An interrupted scan is resumed by the next one (sites done are skipped)."""
    c = _ctx(ctx)
    given = option_date(since, "--since")
    day = given.start - dt.timedelta(days=1) if given else None  # imagery from that day on is news
    sources = tuple(source) if source else SOURCES
    unknown = [s for s in sources if s not in SOURCES]
    if unknown:
        raise InputError(f"--source {unknown[0]!r} is not one of {', '.join(SOURCES)}")
    show = sys.stderr.isatty() if progress is None else progress

    def report(done: int, total: int, fid: str) -> None:
        if show:
            sys.stderr.write(f"\rscanned {done}/{total}: {fid[:40]:40}")
            sys.stderr.flush()

    session = imagery_session(c.settings)
    runner = None
    try:
        if dask:
            from tracker.watch.cluster import DaskSites  # dask is an optional extra: imported only when asked for

            runner = DaskSites.connect(dask, partial(imagery_session, c.settings),
                                       concurrency=session.client.config.concurrency, rate_per_host=rate_per_host)
        elif rate_per_host:
            session.client.limiter = LocalLimiter(session.client.config.concurrency, rate_per_host)
        result = scan_watchlist(c.store, session, actor=c.settings.actor, since=day, max_cloud=max_cloud,
                                sources=sources, workers=workers, progress=report, executor=runner)
        if show:
            sys.stderr.write("\n")
        out = digest or (Path(c.settings.data_dir) / "watch" / "digest" if notify_command else None)
        files = write_digest(c.store, session, out, app_url=app_url) if out else None
    finally:
        if runner is not None:
            runner.close()
        session.close()
    if as_json:
        typer.echo(json.dumps(result.as_json() | {"digest": str(files.html) if files else None}, ensure_ascii=False))
    else:
        typer.echo(f"{result.run_id}: {result.scanned} sites scanned"
                   + (f" ({result.skipped} done before the interruption)" if result.skipped else "")
                   + f", {len(result.findings)} new findings at {len({f.facility_id for f in result.findings})} "
                     f"sites, {len(result.failures)} failed")
        for fid, err in result.failures.items():
            typer.echo(f"failed: {fid}: {err}")
        if files:
            typer.echo(f"digest: {files.html}")
    if notify_command and files:
        _notify(notify_command, files.html)


@app.command("digest")
def digest_(ctx: typer.Context,
            out: Annotated[Path | None, typer.Option("-o", "--output", help="Path without suffix (or .html); "
                                                                            "default DATA_DIR/watch/digest")] = None,
            app_url: Annotated[str, typer.Option(help="The app's address, for Compare links")] = DEFAULT_APP_URL,
            thumbnails: Annotated[bool, typer.Option(help="Before/after thumbnails (reads the images)")] = True,
            ) -> None:
    """Write "what changed since you last looked": OUT.html, OUT.md, OUT.geojson and thumbnails beside them."""
    c = _ctx(ctx)
    c.reading  # noqa: B018 - a registry that does not exist is an error, not created
    target = out or Path(c.settings.data_dir) / "watch" / "digest"
    session = imagery_session(c.settings) if thumbnails else None
    try:
        files = write_digest(c.store, session, target, app_url=app_url)
    finally:
        if session is not None:
            session.close()
    typer.echo(f"{files.html}\n{files.markdown}\n{files.geojson}\n"
               f"{files.sites} sites, {files.findings} findings, {files.failures} failed sites")


@app.command()
def accept(ctx: typer.Context, finding: str,
           kind: Annotated[str | None, typer.Option(help="observation kind (default: progress for a change, "
                                                         "activity for new imagery)")] = None,
           confidence: Annotated[str, typer.Option(help="low | medium | high")] = "medium") -> None:
    """Record the finding as an observation (with its images) and move the site's review date."""
    c = _ctx(ctx)
    decided, obs = accept_finding(c.store, finding, actor=c.settings.actor, kind=kind, confidence=confidence)
    typer.echo(f"{decided.id}: accepted as observation {obs.id} of {decided.facility_id}")


@app.command()
def dismiss(ctx: typer.Context, finding: str) -> None:
    """Dismiss the finding and move the site's review date."""
    c = _ctx(ctx)
    decided = dismiss_finding(c.store, finding, actor=c.settings.actor)
    typer.echo(f"{decided.id}: dismissed ({decided.facility_id} reviewed)")
