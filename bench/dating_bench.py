"""Dating one structure (`facilities built`'s service, tracker.dating.date_structure) over 40 local imports of
1,000 x 1,000 px at 0.5 m (generated COGs: a building appearing, clouds, nodata, shifts, illumination), against
reading the same 40 windows alone onto the same grid (the I/O floor) in the same run. Target: at most 3x.

    .venv/bin/python -m bench.dating_bench            # 5 repeats of each
    .venv/bin/python -m bench.dating_bench --quick    # 3 repeats (make bench)
    .venv/bin/python -m bench.dating_bench --profile  # and the ten costliest functions of one dating

Timings are information on a shared machine: the exit status never depends on them.
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import tempfile
from pathlib import Path

from bench import harness
from bench.harness import Report, timed
from facilities.model import Facility, Structure
from facilities.store import GeoPackageStore
from imagery.chips import grid_bbox
from imagery.dating import grid_around
from imagery.keys import ImageKey
from imagery.local import import_image
from tests.support.series import building_series, write_series
from tracker.dating import date_structure
from tracker.settings import load_settings
from tracker.wiring import imagery_session

IMAGES, SIZE, PIXEL = 40, 1000, 0.5


def main() -> None:
    """Run the bench and print the figures."""
    ap = harness.parser(__doc__, "3 repeats instead of 5")
    ap.add_argument("--profile", action="store_true", help="profile one dating and print the top functions")
    args = ap.parse_args()
    repeat = 3 if args.quick else 5
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        series = building_series(3, n=IMAGES, size=SIZE, pixel=PIXEL, clouds=4, holes=2)
        paths = write_series(series, tmp / "src", cog=True)
        for path, day in zip(paths, series.dates, strict=True):
            import_image(path, tmp / "data", day)
        store = GeoPackageStore(tmp / "r.gpkg")
        store.add_facility(Facility(id="plant", name="Plant", geometry=series.site_lonlat), actor="bench")
        store.add_structure(Structure(id="b1", facility_id="plant", name="Building B",
                                      geometry=series.footprint_lonlat), actor="bench")
        os.environ.update(TRACKER_DATA_DIR=str(tmp / "data"), TRACKER_DATABASE=str(tmp / "r.gpkg"),
                          TRACKER_CONFIG=str(tmp / "none.toml"))
        session = imagery_session(load_settings())
        try:
            grid = grid_around(series.footprint_lonlat, PIXEL)
            captures = session.local.captures(grid_bbox(grid))

            def floor() -> None:
                for cap in captures:
                    session.read_image(ImageKey(cap.provider, cap.capture_id), grid, capture=cap)

            def dating() -> object:
                return date_structure(store, session, "plant", "b1", sources=("local",))

            result = dating()
            rep = Report("dating")
            rep.out(f"one structure ({series.footprint_utm.area:,.0f} m² footprint) over {IMAGES} local COGs of "
                    f"{SIZE} x {SIZE} px at {PIXEL} m; grid {grid.width} x {grid.height} px; {repeat} repeats")
            rep.row("bracket", f"{result.change}", f"{result.before.date if result.before else '-'} .. "  # type: ignore[attr-defined]
                    f"{result.after.date if result.after else '-'}, true {series.dates[series.first_new or 0]}, "  # type: ignore[attr-defined]
                    f"{result.confidence} ({result.score:.1f}), {len(result.skipped)} skipped")  # type: ignore[attr-defined]
            base = rep.timing("floor", "read the 40 windows (I/O floor)", timed(floor, repeat=repeat))
            ours = rep.timing("dating", "date the structure", timed(dating, repeat=repeat))
            rep.row("seconds per image (dating)", f"{ours / IMAGES * 1000:.1f} ms")
            rep.row("seconds per image (floor)", f"{base / IMAGES * 1000:.1f} ms")
            rep.data.update(per_image_s=ours / IMAGES, floor_per_image_s=base / IMAGES, grid=[grid.width, grid.height])
            rep.compare("ratio", "dating / I/O floor", ours, base, target=3.0)
            if args.profile:
                prof = cProfile.Profile()
                prof.runcall(dating)
                text = io.StringIO()
                pstats.Stats(prof, stream=text).sort_stats("cumulative").print_stats(18)
                rep.section("profile of one dating (cumulative)")
                for line in text.getvalue().splitlines()[6:30]:
                    rep.out(line)
            rep.write(quick=args.quick)
        finally:
            session.close()
            store.close()


if __name__ == "__main__":
    main()
