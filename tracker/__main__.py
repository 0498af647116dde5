"""`python -m tracker ...` is the `facilities` command (the Makefile uses it before the venv's scripts exist)."""

from tracker.cli import facilities_main

facilities_main()
