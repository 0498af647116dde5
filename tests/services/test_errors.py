"""One exception family per package, defined in its errors module and still importable where it
was; the services' errors also belong to the facilities family their callers already catch."""

from __future__ import annotations

import pytest

from facilities.errors import FacilitiesError, ValidationError
from imagery.errors import ImageryError
from tracker.errors import TrackerError


@pytest.mark.parametrize(("old_home", "name", "families"), [
    ("tracker.undo", "UndoError", (TrackerError, FacilitiesError)),
    ("tracker.undo", "NothingToUndo", (TrackerError, FacilitiesError)),
    ("tracker.undo", "UndoConflict", (TrackerError, FacilitiesError)),
    ("tracker.articles.reading", "TextInputError", (TrackerError, ValidationError)),
    ("imagery.tiles", "AreaTooLarge", (ImageryError, ValueError)),
])
def test_errors_live_in_their_packages_errors_module(old_home, name, families):
    import importlib

    cls = getattr(importlib.import_module(old_home), name)
    package = old_home.split(".")[0]
    assert cls is getattr(importlib.import_module(f"{package}.errors"), name)
    assert issubclass(cls, families)


def test_the_cli_prints_a_services_error_as_one_line(monkeypatch, capsys):
    from tracker import cli

    def fail() -> None:
        raise TrackerError("the seed data is missing")

    with pytest.raises(SystemExit) as exit_:
        cli._run(fail)  # type: ignore[arg-type]
    assert exit_.value.code == 1
    assert capsys.readouterr().err.strip() == "error: the seed data is missing"
