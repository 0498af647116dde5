"""How long a `facilities` command takes to start, and what the heavy libraries it no longer imports cost.

    .venv/bin/python -m bench.cli_start_bench            # 9 runs of each
    .venv/bin/python -m bench.cli_start_bench --quick    # 5 runs of each

Every command imports the whole CLI (typer builds all subcommands to parse any of them). Drawing (matplotlib),
footprints (scikit-image) and the change measure (scipy) are imported by the commands that use them only. Figures,
each a fresh process, same run:
- `facilities --help` as it is;
- the baseline: the same process also importing what the CLI imported at start before (matplotlib.pyplot,
  scipy.ndimage, skimage.morphology), i.e. the old start;
- `python -c pass`, the floor no command can go under.
"""

from __future__ import annotations

import subprocess
import sys

from bench import harness
from bench.harness import Report, timed

OLD_IMPORTS = "import matplotlib.pyplot, scipy.ndimage, skimage.morphology"


def run(*args: str) -> None:
    subprocess.run([sys.executable, *args], env=harness.child_env(), cwd=harness.ROOT, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main() -> None:
    args = harness.parser(__doc__, "5 runs of each").parse_args()
    repeat = 5 if args.quick else 9
    report = Report("cli_start")
    report.section("Starting a command (each a fresh Python process)")
    help_code = "import sys; sys.argv = ['facilities', '--help']; from tracker.cli import facilities_main; " \
                "facilities_main()"
    # the baseline runs the same entry point as `python -m tracker`, after the imports the CLI used to make
    ours = report.timing("help", "facilities --help", timed(lambda: run("-m", "tracker", "--help"), repeat))
    old = report.timing("help_old_imports", "facilities --help with the old imports (baseline)",
                        timed(lambda: run("-c", f"{OLD_IMPORTS}; {help_code}"), repeat))
    floor = report.timing("python", "python -c pass (the floor)", timed(lambda: run("-c", "pass"), repeat))
    report.compare("help_ratio", "start now / start before", ours, old)
    report.compare("above_floor_ratio", "time above the floor, now / before", ours - floor, old - floor)
    report.write(repeat=repeat)


if __name__ == "__main__":
    main()
