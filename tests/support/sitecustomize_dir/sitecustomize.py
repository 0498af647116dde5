"""Loaded by every Python process the test suite starts (PYTHONPATH set in tests/conftest.py).

Installs the suite's network guard (tests/support/socket_guard.py) when the suite asked for it.
"""

import os

if os.environ.get("TRACKER_TEST_SOCKET_LOG"):
    import importlib.util

    _spec = importlib.util.spec_from_file_location(
        "_tracker_socket_guard", os.path.join(os.path.dirname(os.path.dirname(__file__)), "socket_guard.py"))
    _guard = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(_guard)
    _guard.install(_guard.file_recorder(os.environ["TRACKER_TEST_SOCKET_LOG"]))
