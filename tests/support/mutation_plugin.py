"""A pytest plugin loaded by mutation runs only ([tool.mutmut] pytest_add_cli_args: `-p tests.support.mutation_plugin`).

mutmut runs each mutant's tests in a process forked from one that has already run tests. GDAL's warp thread pool
(rasterio's `reproject(num_threads=os.cpu_count())` in imagery/chips.py) does not survive a fork: in the child a
warp waits for pool threads that are not there, and the mutant is reported as a timeout, which counts as killed.
With one thread a warp, the pool is never made. (The app and `make test` never fork after a warp.)
"""

from __future__ import annotations

import os

os.cpu_count = lambda: 1  # type: ignore[assignment]  # imagery.chips reads it for each warp's thread count
