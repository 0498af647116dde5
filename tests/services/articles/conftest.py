"""The `cli` fixture of the article tests: `facilities` in a real process on a temporary registry."""

from __future__ import annotations

import pytest

from tests.support.cli import cli_in


@pytest.fixture
def cli(tmp_path):
    return cli_in(tmp_path, init=True)
