"""The registry commands (`facilities ...`): init, list, show, add, add-source, observe, import, export,
validate, ingest, migrate, undo.

Every error a user can act on is printed as one message and the command exits non-zero.
"""

from __future__ import annotations

import json
import sys
import uuid
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from facilities import geojson_io, vector_formats
from facilities.bbox import parse_bbox
from facilities.errors import FacilitiesError, InputError
from facilities.files import read_import_file
from facilities.geometry import ANY_GEOMETRY, check_geometry
from facilities.model import (
    Alias,
    Confidence,
    Facility,
    FacilityStatus,
    ImageRef,
    LocationPrecision,
    Observation,
    ObservationKind,
    Source,
    as_enum,
)
from facilities.store import Filter, OnConflict, Store, open_store
from tracker.imports import import_vector, read_vector_file
from tracker.migrate import copy_registry
from tracker.seeding import ensure_seeded
from tracker.settings import Settings, load_settings
from tracker.wiring import open_registry

from .arguments import date_range, option_date, read_geometry


class ExportFormat(StrEnum):
    """The formats `facilities export --format` writes."""

    GEOJSON = "geojson"
    GPKG = "gpkg"
    FGB = "fgb"
    PARQUET = "parquet"
    SHP = "shp"
    CSV = "csv"


app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Facility registry: facilities, structures, dated observations and their sources.")


@dataclass
class Ctx:
    """What the registry commands share: the settings and the store, opened on first use."""

    settings: Settings
    _store: Store | None = None

    @property
    def store(self) -> Store:
        """The registry store, opened (without seeding) the first time a command needs it."""
        if self._store is None:
            self._store = open_registry(self.settings, seed=False)  # `init` seeds, nothing else does
        return self._store

    @property
    def reading(self) -> Store:
        """The registry store for a command that only reads: a registry that does not exist is an error, not
        created."""
        if self._store is None:
            self._store = open_registry(self.settings, seed=False, create=False)
        return self._store


def _ctx(ctx: typer.Context) -> Ctx:
    return ctx.obj


@app.callback()
def main_options(
    ctx: typer.Context,
    db: Annotated[str | None, typer.Option(
        "--db", help="Registry: a .gpkg path or a postgresql:// URL (default: TRACKER_DATABASE).")] = None,
    actor: Annotated[str | None, typer.Option(help="Your name in the edit history.")] = None,
) -> None:
    """Options common to every command: which registry, and the name to record in its history."""
    ctx.obj = Ctx(load_settings(database=db, actor=actor))


_RECORD_TABLES = {"facilities", "structures", "observations", "sources"}


def _warn_skipped(skipped) -> None:
    """One stderr line per record a read left out (table, id, column and why)."""
    for p in skipped:
        typer.echo(f"warning: {p}", err=True)


def _read_geometry(text: str):
    """A geometry from a GeoJSON/WKT file path or inline GeoJSON/WKT."""
    return read_geometry(text)


@app.command()
def init(ctx: typer.Context, seed: bool = typer.Option(True, help="Load the seed registry if the store is new."),
         quiet: bool = typer.Option(False, "--quiet", "-q")) -> None:
    """Create the registry if needed (and load the seed into a new one)."""
    c = _ctx(ctx)
    store = c.store  # created now, seeded or not (`init -q --no-seed` used to create nothing)
    report = ensure_seeded(store) if seed and c.settings.seed else None
    if not quiet:
        counts = c.store.counts()
        typer.echo(f"registry: {c.store.location}")
        if report:
            typer.echo(f"seed: {report.summary()}")
        typer.echo(", ".join(f"{n} {k}" for k, n in counts.items()))


@app.command("list")
def list_(ctx: typer.Context, country: str | None = None,
          bbox: Annotated[str | None, typer.Option(help="west,south,east,north")] = None,
          as_json: bool = typer.Option(False, "--json")) -> None:
    """List facilities (a record the model refuses, edited outside the app, is left out with a warning)."""
    store = _ctx(ctx).reading
    with store.collect_skipped() as skipped:
        facs = store.list_facilities(Filter(bbox=parse_bbox(bbox, what="--bbox")))
    _warn_skipped(skipped)
    facs = [f for f in facs if country is None or f.country == country.upper()]
    if as_json:
        typer.echo(json.dumps([{"id": f.id, "name": f.name, "country": f.country, "status": f.status.value,
                                "location_precision": f.location_precision.value} for f in facs],
                              ensure_ascii=False, indent=1))
        return
    for f in facs:
        typer.echo(f"{f.id:40} {f.country or '--':3} {f.status.value:19} {f.location_precision.value:12} {f.name}")


@app.command()
def show(ctx: typer.Context, facility_id: str) -> None:
    """A facility with its structures, dated observations, built-up figures and cited sources.

    Everything after the header comes from `tracker.site.SiteView`, so the figures and the source
    numbers are those of the Registry page and the PDF report."""
    from tracker.site import BUILT_UP_COLUMNS, load_site

    store = _ctx(ctx).reading
    with store.collect_skipped() as skipped:
        site = load_site(store, facility_id)
    _warn_skipped(skipped)
    f = site.facility

    def cites(ids: tuple[str, ...]) -> str:
        known = " ".join(f"[{n}]" for n in site.citations(ids))
        unknown = [i for i in ids if i in site.missing_source_ids]
        return " ".join([known, *(f"[{i}: missing]" for i in unknown)]).strip() or "no source"

    lines = [f"{f.name}  [{f.id}]",
             f"  aliases:   {', '.join(f'{a.name} ({a.lang})' if a.lang else a.name for a in f.aliases) or '-'}",
             f"  country:   {f.country or '-'}   status: {f.status.value}   category: {f.category or '-'}",
             f"  location:  {f.location_precision.value}, {f.area_m2 / 1e6:.3f} km², centroid "
             f"{f.geometry.centroid.y:.5f} N {f.geometry.centroid.x:.5f} E",
             f"  systems:   {', '.join(f.systems) or '-'}",
             f"  sources:   {cites(f.source_ids)}"]
    lines += [f"  parent:    {p.name} (per {cites(p.source_ids)})" for p in f.parents]
    if f.notes:
        lines.append(f"  notes:     {f.notes}")
    lines.append(f"structures ({len(site.structures)}):")
    for s in site.structures:
        area = f"{s.footprint_m2:,.0f} m²" if s.footprint_m2 > 0 else s.geometry.geom_type
        life = f"built {s.built or '?'}" + (f", removed {s.removed}" if s.removed else "")
        lines.append(f"  {s.id:40} {s.name} ({s.kind}, {area}, {life}, {s.location_precision.value}) "
                     f"{cites(s.source_ids)}")
    lines.append(f"observations ({len(site.observations)}):")
    for o in site.observations:
        img = f" [image: {site.image_label(o)}]" if o.image else ""
        lines.append(f"  {str(o.date):11} {o.kind.value:18} {o.confidence.value:6} {o.summary}{img} "
                     f"{cites(o.source_ids)}")
    curve = site.built_up
    if curve.shown:
        lines.append(f"built-up footprint ({len(curve.steps)} steps, the last until {curve.until}):")
        lines.append("  {:<12} {:>14} {:>11} {:>7}".format(*BUILT_UP_COLUMNS))
        lines += ["  {:<12} {:>14} {:>11} {:>7}".format(*row) for row in curve.rows()]
    else:
        lines += ["built-up footprint:", f"  {curve.note}"]
    lines.append(f"sources ({len(site.sources)}):")
    lines += [f"  [{n}] {s.id:32} {str(s.published or ''):11} {s.title} {s.url or ''}".rstrip()
              for n, s in enumerate(site.sources, 1)]
    if site.missing_source_ids:
        lines.append(f"cited but not in the registry: {', '.join(site.missing_source_ids)}")
    typer.echo("\n".join(lines))


@app.command()
def add(ctx: typer.Context, name: str, geometry: Annotated[str, typer.Option(help="GeoJSON or WKT, inline or a file")],
        id: Annotated[str | None, typer.Option("--id", help="Stable id (default: from the name)")] = None,
        precision: str = "digitised", country: str | None = None, category: str = "", status: str = "unknown",
        alias: Annotated[list[str] | None, typer.Option(help="NAME or NAME@lang; repeatable")] = None,
        source: Annotated[list[str] | None, typer.Option(help="Source id; repeatable")] = None,
        notes: str = "") -> None:
    """Add a facility."""
    from facilities.model import slugify

    c = _ctx(ctx)
    aliases = tuple(Alias(*a.rsplit("@", 1)) if "@" in a else Alias(a) for a in alias or ())
    f = Facility(id=id or slugify(name), name=name, geometry=_read_geometry(geometry),
                 location_precision=as_enum(LocationPrecision, precision, "location_precision"),
                 country=country, category=category, status=as_enum(FacilityStatus, status, "status"), aliases=aliases,
                 source_ids=tuple(source or ()), notes=notes)
    f = c.store.add_facility(f, actor=c.settings.actor)
    typer.echo(f"added facility {f.id} ({f.area_m2 / 1e6:.3f} km²)")


@app.command("add-source")
def add_source(ctx: typer.Context, id: Annotated[str, typer.Option("--id")], title: Annotated[str, typer.Option()],
               url: str | None = None,
               publisher: str = "", published: str | None = None, language: str | None = None,
               excerpt: str = "") -> None:
    """Add a source (article, report, post) that observations can cite."""
    c = _ctx(ctx)
    from facilities.dates import utcnow

    s = Source(id=id, title=title, url=url, publisher=publisher, language=language,
               published=option_date(published, "--published"),
               excerpt=excerpt, retrieved_at=utcnow())
    c.store.add_source(s, actor=c.settings.actor)
    typer.echo(f"added source {s.id}")


@app.command()
def observe(ctx: typer.Context, facility_id: str,
            date: Annotated[str, typer.Option(help="YYYY, YYYY-MM, YYYY-MM-DD; prefix ~ if approximate")],
            kind: Annotated[str, typer.Option(help="construction-start, progress, completed, reroofed, ...")],
            summary: Annotated[str, typer.Option()],
            structure: str | None = None, confidence: str = "medium",
            image_provider: str | None = None, image_id: str | None = None,
            image_date: Annotated[str | None, typer.Option(help="acquisition date of the image")] = None,
            source: Annotated[list[str] | None, typer.Option(help="Source id; repeatable")] = None,
            geometry: Annotated[str | None, typer.Option(help="what was drawn: GeoJSON or WKT")] = None,
            notes: str = "") -> None:
    """Record a dated observation of a facility."""
    c = _ctx(ctx)
    geom = None
    if geometry:
        geom = check_geometry(_read_geometry(geometry), allowed=ANY_GEOMETRY).geometry
    image = None
    if image_provider:
        acquired = option_date(image_date, "--image-date")
        image = ImageRef(image_provider, image_id, acquired)
    observed = option_date(date, "--date")
    if observed is None:  # typer makes --date required; this keeps direct callers to the same rule
        raise InputError("--date is required: YYYY, YYYY-MM or YYYY-MM-DD")
    o = Observation(id=f"obs-{uuid.uuid4().hex[:12]}", facility_id=facility_id, date=observed,
                    kind=as_enum(ObservationKind, kind, "kind"), summary=summary, structure_id=structure,
                    confidence=as_enum(Confidence, confidence, "confidence"), image=image,
                    source_ids=tuple(source or ()), geometry=geom, notes=notes, analyst=c.settings.actor)
    o = c.store.add_observation(o, actor=c.settings.actor)
    typer.echo(f"recorded {o.id}: {o.date} {o.kind.value} at {facility_id}")


@app.command("import")
def import_(ctx: typer.Context, path: Path,
            on_conflict: Annotated[OnConflict, typer.Option(help="what to do with ids already stored")] =
            OnConflict.ERROR,
            repair: bool = typer.Option(False, help="repair invalid polygons with make_valid (reported)"),
            skip_invalid: bool = typer.Option(False, help="import the valid features, report the others"),
            precision: str = typer.Option("digitised", help="location precision for outlines without one")) -> None:
    """Import a GeoJSON (ours, QGIS's or geojson.io's), KML/KMZ, GeoPackage, FlatGeobuf, GeoParquet,
    Shapefile or CSV (WKT) file: all of it, or nothing."""
    c = _ctx(ctx)
    vector = read_vector_file(path, max_bytes=c.settings.max_import_mb * 2**20, repair=repair,
                              skip_invalid=skip_invalid, default_precision=precision)
    for n in vector.notes:
        typer.echo(f"note: {n}", err=True)
    for p in vector.problems:
        typer.echo(f"skipped {p}", err=True)
    report = import_vector(c.store, vector, actor=c.settings.actor, on_conflict=on_conflict)
    typer.echo(f"{path}: {report.summary()}")


@app.command()
def export(ctx: typer.Context, out: Annotated[str, typer.Argument(help="output .geojson path, or - for stdout")],
           facility: Annotated[list[str] | None, typer.Option(help="facility id; repeatable")] = None,
           bbox: Annotated[str | None, typer.Option(help="west,south,east,north")] = None,
           date_from: Annotated[str | None, typer.Option("--from", help="observations from (YYYY[-MM[-DD]])")] = None,
           date_to: Annotated[str | None, typer.Option("--to", help="observations until (YYYY[-MM[-DD]])")] = None,
           precision: int = typer.Option(7, min=1, max=15, help="decimal places of coordinates"),
           fmt: Annotated[ExportFormat | None, typer.Option(
               "--format", help="geojson, gpkg (a standalone registry), fgb, parquet (GeoParquet), shp or csv (WKT); "
                                "default: from the extension, else geojson")] = None) -> None:
    """Export a GeoJSON report (RFC 7946) of facilities, structures and observations with sources,
    or the same records as GeoPackage, FlatGeobuf, GeoParquet, Shapefile or CSV (what a format
    cannot hold is printed as a note)."""
    c = _ctx(ctx)
    kind = "geojson" if out == "-" and fmt is None else vector_formats.format_of(out, fmt.value if fmt else None)
    c.reading  # noqa: B018 - a registry that does not exist is an error, not created
    for fid in facility or ():
        c.store.get_facility(fid)  # a clear error for a mistyped id rather than an empty report
    flt = Filter(facility_ids=tuple(facility) if facility else None, bbox=parse_bbox(bbox, what="--bbox"),
                 date_from=date_range(date_from, date_to)[0], date_to=date_range(date_from, date_to)[1])
    with c.store.collect_skipped() as skipped:
        _export(c.store, out, kind, flt, precision)
    if skipped:  # the good records were written; a script must still notice the file is not the whole registry
        _warn_skipped(skipped)
        typer.echo(f"error: {len(skipped)} problem(s) in records edited outside the app: those records were left "
                   "out of the export (`facilities validate` lists them)", err=True)
        raise typer.Exit(1)


def _export(store: Store, out: str, kind: str, flt: Filter, precision: int) -> None:
    if kind != "geojson":
        if out == "-":
            raise InputError(f"a {kind} export needs a file name; only GeoJSON goes to stdout")
        written = vector_formats.write_table(store, out, kind, flt)
        for note in written.warnings:
            typer.echo(f"note: {note}", err=True)
        size = sum(f.stat().st_size for f in written.files)
        typer.echo(f"wrote {out} ({kind}, {written.rows} records, {size / 1024:,.1f} KiB"
                   + (f", {len(written.files)} files" if len(written.files) > 1 else "") + ")")
        return
    if out == "-":
        for chunk in geojson_io.iter_export(store, flt, precision):
            sys.stdout.write(chunk)
        return
    size = geojson_io.write_export(store, out, flt, precision)
    typer.echo(f"wrote {out} ({size / 1024:,.1f} KiB)")


@app.command()
def validate(ctx: typer.Context, path: Annotated[Path | None, typer.Argument(
             help="GeoJSON, KML or KMZ file; none = the registry")]
             = None, repair: bool = False) -> None:
    """Check a GeoJSON, KML or KMZ file without importing it, or check the registry itself."""
    c = _ctx(ctx)
    if path is not None:
        vector = read_vector_file(path, max_bytes=c.settings.max_import_mb * 2**20, repair=repair)
        registry = vector.registry
        for n in vector.notes:
            typer.echo(f"note: {n}")
        typer.echo(f"{path}: valid: {len(registry.facilities)} facilities, {len(registry.structures)} structures, "
                   f"{len(registry.observations)} observations, {len(registry.sources)} sources")
        return
    problems = c.reading.check()
    rows_readable = all(p.split(" ", 1)[0] in _RECORD_TABLES for p in problems)  # no damage to the file itself
    for edit in c.store.outside_edits() if rows_readable else ():  # the history does not say who changed them
        typer.echo(f"note: {edit} (not in the history yet)", err=True)
    if problems:
        raise FacilitiesError("registry check failed:\n" + "\n".join(problems))
    typer.echo(f"{c.store.location}: ok ({', '.join(f'{n} {k}' for k, n in c.store.counts().items())})")


@app.command()
def ingest(ctx: typer.Context, files: Annotated[list[Path], typer.Argument(help="text, Markdown or HTML files, "
                                                                         "RSS/Atom feed exports (.xml, .rss, .atom: "
                                                                         "an article per item), or folders of them")],
           review: bool = typer.Option(False, "--review", help="accept or reject each proposal; write accepted ones"),
           accept_all: bool = typer.Option(False, "--accept-all", help="with --review: accept every proposal"),
           as_json: bool = typer.Option(False, "--json", help="print everything found as JSON"),
           date: Annotated[str | None, typer.Option("--date", help="articles' date (YYYY[-MM[-DD]]) for "
                                                    "'early October', 'this year'")] = None) -> None:
    """Read articles: the facilities, places, systems, dates and claims they name, and proposed observations."""
    from tracker.articles import Reader, load_resources
    from tracker.articles.ingest import ARTICLE_SUFFIXES, format_result, max_file_bytes, review_proposals

    c = _ctx(ctx)
    reader = Reader(load_resources(), c.store.list_facilities())
    report: list[dict] = []
    results = []
    failed = False
    # a folder is read whole: its text, Markdown, HTML and feed files, in name order
    files = [f for p in files for f in (sorted(x for x in p.rglob("*") if x.is_file() and x.suffix.lower() in
                                               ARTICLE_SUFFIXES) if p.is_dir() else [p])]
    for n, path in enumerate(files, 1):
        if len(files) > 1:
            typer.echo(f"[{n}/{len(files)}] {path}", err=True)  # progress
        try:
            data = read_import_file(path, max_file_bytes(), limit_hint="articles are read up to this size per file")
            found = reader.read_bytes(data, name=str(path), published=date)
        except (OSError, FacilitiesError) as err:
            failed = True
            msg = str(err) if isinstance(err, FacilitiesError) else f"{path}: cannot read: {err.strerror or err}"
            report.append({"file": str(path), "error": msg})
            if not as_json:
                typer.echo(f"error: {msg}", err=True)
            continue
        results += found
        report.append({"file": str(path), "articles": [r.as_dict() for r in found]})
        if not as_json:
            for r in found:
                typer.echo(format_result(str(path), r))
    accepted: list[dict] = []
    if review:
        proposals = [p for r in results for p in r.proposals]
        interactive = sys.stdin.isatty()
        if not interactive and not accept_all:
            typer.echo("stdin is not a terminal: nothing accepted (add --accept-all to accept every proposal)",
                       err=True)
        else:
            accepted = review_proposals(c.store, proposals, actor=c.settings.actor, accept_all=accept_all,
                                        confirm=typer.confirm, echo=lambda t: typer.echo(t, err=as_json))
    if as_json:
        typer.echo(json.dumps({"files": report, "accepted": accepted}, ensure_ascii=False, indent=1))
    elif review:
        typer.echo(f"accepted {len(accepted)} observation(s)")
    if failed:
        raise typer.Exit(1)


@app.command()
def migrate(ctx: typer.Context,
            source: Annotated[str, typer.Option("--from", help="registry to copy: gpkg:PATH or postgresql://...")],
            target: Annotated[str, typer.Option("--to", help="registry to fill: gpkg:PATH or postgresql://...")],
            on_conflict: Annotated[OnConflict | None, typer.Option(
                help="merge into a non-empty target (default: refuse one)")] = None,
            verify: bool = typer.Option(True, help="compare every record after copying into an empty target")
            ) -> None:
    """Copy a whole registry between backends (GeoPackage <-> PostGIS): all of it or nothing, counts checked."""
    c = _ctx(ctx)
    src, dst = open_store(source), open_store(target)
    try:
        report = copy_registry(src, dst, actor=c.settings.actor, on_conflict=on_conflict, verify=verify)
        typer.echo(f"{src.location} -> {dst.location}: {report.summary()}")
        typer.echo("counts: " + ", ".join(f"{n} {k}" for k, n in dst.counts().items()))
    finally:
        src.close()
        dst.close()


@app.command()
def undo(ctx: typer.Context,
         actor: Annotated[str | None, typer.Option(help="Whose last change to undo (default: you).")] = None,
         yes: Annotated[bool, typer.Option("--yes", "-y", help="Undo without asking.")] = False) -> None:
    """Undo your last change (recorded as a new history entry; undo again for the one before)."""
    from tracker.undo import describe, plan_last, undo_last

    c = _ctx(ctx)
    who = actor or c.settings.actor
    try:
        plan = plan_last(c.store, who)
        if not yes:
            typer.echo(describe(plan))  # a whole unit of work when the change was one
            if not sys.stdin.isatty():
                typer.echo("error: stdin is not a terminal: nothing undone (add --yes to undo)", err=True)
                raise typer.Exit(1)
            if not typer.confirm("Undo this change?"):
                typer.echo("nothing undone")
                return
        result = undo_last(c.store, who, expected=plan.entry)
    except FacilitiesError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(1) from None
    typer.echo(result.message)
