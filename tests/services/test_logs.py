"""Logging is configured once, from TRACKER_LOG_LEVEL, where a program starts."""

from __future__ import annotations

import logging

import pytest

from tracker.logs import PACKAGES, configure_logging
from tracker.settings import load_settings


@pytest.fixture
def bare_root(monkeypatch):
    """Makes the root logger bare (a program that configured nothing) when called inside the test,
    after pytest added its capture handlers; handlers and levels restored after."""
    root = logging.getLogger()
    levels = {name: logging.getLogger(name).level for name in PACKAGES}

    def bare() -> logging.Logger:
        monkeypatch.setattr(root, "handlers", [])
        return root

    yield bare
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def test_the_level_comes_from_the_environment_and_one_handler_is_added(bare_root, monkeypatch, tmp_path):
    monkeypatch.setenv("TRACKER_LOG_LEVEL", "info")
    settings = load_settings(database=str(tmp_path / "r.gpkg"))
    root = bare_root()
    configure_logging(settings)
    configure_logging(settings)  # app.py's main runs on every rerun
    assert settings.log_level == "INFO"
    assert all(logging.getLogger(name).level == logging.INFO for name in PACKAGES)
    assert len(root.handlers) == 1


def test_a_host_programs_handlers_are_left_alone(bare_root, tmp_path):
    theirs = logging.NullHandler()
    root = bare_root()
    root.handlers.append(theirs)
    configure_logging(load_settings(database=str(tmp_path / "r.gpkg")))
    assert root.handlers == [theirs]
    assert logging.getLogger("imagery").level == logging.WARNING


def test_an_unknown_level_is_refused(monkeypatch, tmp_path):
    monkeypatch.setenv("TRACKER_LOG_LEVEL", "chatty")
    with pytest.raises(ValueError):
        load_settings(database=str(tmp_path / "r.gpkg"))
