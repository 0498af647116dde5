"""Wall-clock budgets in tests: generous, with a reason, never a benchmark.

A test may bound how long something takes only to catch a behaviour that would make it take far
longer (a deadline not enforced, a bomb inflated, a retry loop without end). The bound is
HEADROOM times what it typically takes here, so a loaded CI machine does not fail it; speed
itself is measured by bench/ (`make bench`), not asserted.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

HEADROOM = 10


@contextmanager
def budget(typical_s: float, why: str) -> Iterator[None]:
    """Fail if the block takes HEADROOM x `typical_s` or more; `why` says what overrunning it would mean."""
    start = time.perf_counter()
    yield
    elapsed = time.perf_counter() - start
    limit = HEADROOM * typical_s
    assert elapsed < limit, f"took {elapsed:.2f} s, over the {limit:g} s budget ({HEADROOM} x {typical_s:g} s): {why}"
