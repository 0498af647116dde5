"""`facilities built FACILITY STRUCTURE`: when a structure appeared (or disappeared), from the site's own images.

Prints the proposal of tracker.dating (text for people, `--json` for the app and scripts: the keys of
`Dating.as_json`); writes nothing unless `--accept`, which records it as one observation and prints its id.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from imagery.timeline import SOURCES

from .registry import _ctx, app


@app.command()
def built(ctx: typer.Context, facility: Annotated[str, typer.Argument(help="facility id, name or alias")],
          structure: Annotated[str, typer.Argument(help="structure id (it needs a footprint polygon)")],
          as_json: Annotated[bool, typer.Option("--json", help="The proposal as JSON.")] = False,
          date_from: Annotated[str | None, typer.Option("--from", help="YYYY, YYYY-MM or YYYY-MM-DD")] = None,
          date_to: Annotated[str | None, typer.Option("--to", help="YYYY, YYYY-MM or YYYY-MM-DD")] = None,
          source: Annotated[list[str] | None, typer.Option(
              "--source", help=f"Repeatable: {' | '.join(SOURCES)} (default: eox, sentinel-2, local)")] = None,
          accept: Annotated[bool, typer.Option(
              "--accept", help="Record the bracket as an observation (completed or demolished).")] = False) -> None:
    """Built between X and Y: the last image where STRUCTURE is absent and the first where it is present."""
    from tracker.dating import DATING_SOURCES, accept_dating, date_structure
    from tracker.wiring import imagery_session

    from .arguments import date_range

    start, end = date_range(date_from, date_to)
    c = _ctx(ctx)
    store = c.store if accept else c.reading
    session = imagery_session(c.settings)
    try:
        dating = date_structure(store, session, facility, structure, start=start, end=end,
                                sources=tuple(source or DATING_SOURCES))
    finally:
        session.close()
    observation = accept_dating(store, dating, actor=c.settings.actor) if accept else None
    if as_json:
        doc = dating.as_json()
        if observation is not None:
            doc["observation"] = {"id": observation.id, "date": str(observation.date),
                                  "kind": observation.kind.value}
        typer.echo(json.dumps(doc, ensure_ascii=False, indent=1))
    else:
        typer.echo(dating.text())
    if observation is not None and not as_json:
        typer.echo(f"recorded {observation.id}: {observation.date} {observation.kind.value} "
                   f"({observation.confidence.value}) at {dating.facility_id}")
