"""Test support shared by the test suite and bench/: registries, fake services, servers, fixtures.

Importable as `tests.support` from the checkout's root (pytest puts it on sys.path; benches run as
`python -m bench.<name>` from the root), so nothing needs to edit sys.path.
"""
