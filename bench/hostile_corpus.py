"""The hostile corpus run (issue 14): every class of hostile input through the CLI, counted.

    .venv/bin/python -m bench.hostile_corpus [--class geojson --class kml ...]

Prints tried / clear error / accepted / failure per class and every failure, and writes the
outcomes to bench/out/hostile-corpus-<time>.json. The same cases are the test
tests/services/test_hostile_corpus.py.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from bench.harness import Report
from tests.support import hostile_corpus as hc


def main() -> None:
    """Build the corpus in a temporary folder, run it, print and write the counts."""
    ap = argparse.ArgumentParser(description=__doc__.strip().split("\n\n")[0])
    ap.add_argument("--class", dest="classes", action="append", choices=list(hc.BUILDERS),
                    help="only this class (repeatable)")
    args = ap.parse_args()
    rep = Report("hostile-corpus")
    with tempfile.TemporaryDirectory(prefix="hostile-corpus-") as tmp:
        corpus = hc.build(Path(tmp), args.classes)
        seed = hc.seeded_registry(Path(tmp))
        outcomes = []
        for cls in args.classes or list(hc.BUILDERS):
            got = hc.run_class(corpus, cls, seed)
            outcomes += got
            rep.out(next(iter(hc.iter_report(got))))
    rep.section("all classes")
    for line in hc.iter_report(outcomes):
        rep.out(line)
    rep.data = {"counts": hc.counts(outcomes), "outcomes": [o.as_dict() for o in outcomes]}
    rep.verdict("no traceback, hang or unclear refusal", not any(o.verdict == "failure" for o in outcomes),
                f"{hc.counts(outcomes)['failure']} failures")
    rep.write()


if __name__ == "__main__":
    main()
