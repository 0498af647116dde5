"""How `make test` shares the suite between its pytest-xdist workers (decision 0028): a file's tests run together on
one worker (its module fixtures, such as a Streamlit server, a PostGIS cluster or a Dask cluster, are built once),
and every browser test (tests/browser/) runs on one worker, so at most one Chromium and one app server compete for
the two cores at a time.

This is xdist's `loadfile` with one wider scope. It is a scheduler, chosen through xdist's
`pytest_xdist_make_scheduler` hook (tests/conftest.py), rather than `xdist_group` marks: with pytest 9.2 the marks'
groups are silently dropped (`--dist loadgroup` writes them into a node-id field pytest no longer reads,
pytest-dev/pytest-xdist#1386), so every test was scheduled on its own and module fixtures were built twice.
"""

from __future__ import annotations

from xdist.scheduler import LoadFileScheduling

BROWSER_TESTS = "tests/browser/"


def scope_of(nodeid: str) -> str:
    """The work unit a test belongs to: "browser" for every browser test, else its file."""
    return "browser" if nodeid.startswith(BROWSER_TESTS) else nodeid.split("::", 1)[0]


class FilesAndBrowserScheduling(LoadFileScheduling):
    """`--dist loadfile`, with all of tests/browser/ as one work unit."""

    def _split_scope(self, nodeid: str) -> str:
        return scope_of(nodeid)
