"""The spatial questions on the command line: `facilities near`, `facilities inside`,
`facilities nearest`. Each prints a table (or JSON with --json); distances are geodesic.
tracker.spatial (pandas, geopandas) is imported when a question is asked, not at CLI start."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from facilities.errors import InputError

from .registry import _ctx, _read_geometry, app


def _echo(answer, as_json: bool) -> None:
    table = answer.table()
    if as_json:
        typer.echo(json.dumps({"question": answer.question, "rows": json.loads(table.to_json(orient="records"))},
                              ensure_ascii=False, indent=1))
        return
    typer.echo(f"{answer.question}: {len(table)}")
    if len(table):
        typer.echo(table.to_string(index=False))


def _point(text: str) -> tuple[float, float]:
    try:
        lon, lat = (float(v) for v in text.split(","))
    except ValueError:
        raise InputError(f"--point {text!r} must be two numbers: longitude,latitude") from None
    return lon, lat


@app.command()
def near(ctx: typer.Context,
         km: Annotated[float, typer.Option("--km", min=0, help="distance in kilometres (geodesic)")],
         point: Annotated[str | None, typer.Option(help="longitude,latitude")] = None,
         site: Annotated[str | None, typer.Option(help="a facility id: sites near its outline")] = None,
         as_json: bool = typer.Option(False, "--json")) -> None:
    """Sites within a distance of a point or of another site, nearest first."""
    from tracker import spatial

    c = _ctx(ctx)
    if (point is None) == (site is None):
        raise InputError("give either --point LON,LAT or --site ID")
    if site is not None:
        answer = spatial.near_site(c.store, site, km)
    else:
        lon, lat = _point(point or "")
        answer = spatial.near_point(c.store, lon, lat, km)
    _echo(answer, as_json)


@app.command()
def inside(ctx: typer.Context,
           area: Annotated[str, typer.Argument(help="a layer file (GeoJSON, GeoPackage, Shapefile, ...) or a "
                                                    "polygon as GeoJSON or WKT")],
           within: bool = typer.Option(False, "--within", help="wholly inside, not merely meeting"),
           as_json: bool = typer.Option(False, "--json")) -> None:
    """Sites inside a polygon or any polygon of a layer."""
    from tracker import spatial

    c = _ctx(ctx)
    path = Path(area)
    if len(area) < 4096 and path.suffix.lower() in spatial.LAYER_SUFFIXES and path.is_file():
        layer = spatial.read_layer_file(path, max_bytes=c.settings.max_import_mb * 2**20)
        answer = spatial.inside(c.store, layer, within=within, label=path.name)
    else:
        answer = spatial.inside(c.store, _read_geometry(area), within=within, label="the polygon")
    _echo(answer, as_json)


@app.command()
def nearest(ctx: typer.Context,
            layer: Annotated[Path, typer.Argument(help="a layer file: GeoJSON, GeoPackage, Shapefile, ...")],
            as_json: bool = typer.Option(False, "--json")) -> None:
    """The registry site nearest each feature of a layer, and how far (sjoin_nearest, geodesic distance)."""
    from tracker import spatial

    c = _ctx(ctx)
    frame = spatial.read_layer_file(layer, max_bytes=c.settings.max_import_mb * 2**20)
    _echo(spatial.nearest(c.store, frame, label=layer.name), as_json)
