"""One command line behind two entry points.

`facilities` is the registry's commands with the evidence commands under `facilities report`;
`tracker-report` is the evidence commands alone (the name scripts already call). Both print an
error a user can act on as one line and exit 1, never a traceback.
"""

from __future__ import annotations

import contextlib
import os
import sys

import typer

from facilities.errors import FacilitiesError, InputError
from imagery.errors import ImageryError

from ..errors import TrackerError
from ..logs import configure_logging
from ..settings import load_settings
from . import dating as _dating  # noqa: F401  registers `built` on the registry app
from . import spatial as _spatial  # noqa: F401  registers near / inside / nearest on the registry app
from .arguments import check_text_arguments
from .footprints import app as footprint_app
from .imagery import app as imagery_app
from .registry import app as registry_app
from .report import app as report_app
from .watch import app as watch_app

registry_app.add_typer(report_app, name="report")
registry_app.add_typer(imagery_app, name="imagery")
registry_app.add_typer(footprint_app, name="footprint")
registry_app.add_typer(watch_app, name="watch")

__all__ = ["facilities_main", "registry_app", "report_app", "report_main"]


def _run(app: typer.Typer) -> None:
    try:
        check_text_arguments(sys.argv[1:])
    except InputError as err:
        typer.echo(f"error: {err}", err=True)
        sys.exit(2)
    with contextlib.suppress(ValueError):  # a setting pydantic rejects: the command reports it itself
        configure_logging(load_settings())
    try:
        app()  # standalone: click prints usage errors and exits 2 itself
    except (FacilitiesError, ImageryError, TrackerError) as err:
        typer.echo(f"error: {err}", err=True)
        sys.exit(1)
    except BrokenPipeError:  # `facilities export - | head`: the reader went away; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
    except OSError as err:  # backstop: a file a command read or wrote that no layer below named
        where = f"{err.filename}: " if err.filename else ""
        typer.echo(f"error: {where}{err.strerror or err}", err=True)
        sys.exit(1)


def facilities_main() -> None:
    """`facilities ...`"""
    _run(registry_app)


def report_main() -> None:
    """`tracker-report ...`"""
    _run(report_app)
