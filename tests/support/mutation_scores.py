"""Per-module mutation scores from a `mutmut run` (`make mutate` prints them): python -m tests.support.mutation_scores.

Score = killed / (mutants that were run), timeouts counted as killed (the mutant hung the tests), mutants no test
reaches ("no tests") counted as survivors: a line nothing runs is not tested. Modules not run yet are left out.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

from mutmut.stats import status_by_exit_code


def scores(root: Path = Path("mutants")) -> dict[str, Counter[str]]:
    """Status counts per mutated module, from mutmut's .meta files."""
    out: dict[str, Counter[str]] = {}
    for meta in sorted(root.rglob("*.py.meta")):
        module = str(meta.relative_to(root))[: -len(".meta")]
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        counts = Counter(status_by_exit_code[c] for c in codes.values())
        if sum(n for s, n in counts.items() if s != "not checked"):
            out[module] = counts
    return out


def main() -> int:
    """Print one line per module and the surviving mutants' names; exit 1 if a module is under 85 %."""
    below = False
    for module, c in scores().items():
        killed = c["killed"] + c["timeout"] + c["caught by type check"]
        run = sum(n for s, n in c.items() if s not in ("not checked", "skipped"))
        score = killed / run if run else 1.0
        below |= score < 0.85
        print(f"{module:36} {killed:4}/{run:<4} killed  {score:6.1%}   survived {c['survived']}, "
              f"no tests {c['no tests']}, not run {c['not checked']}")
    return 1 if below else 0


if __name__ == "__main__":
    sys.exit(main())
