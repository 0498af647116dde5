"""The timelapse (`tracker-report timelapse`'s service, tracker.reports.timelapse.make_timelapse) of a site with 40
local imports of 1,000 x 1,000 px at 0.5 m (generated COGs: clouds, nodata, shifts, illumination), against reading
the same 40 images alone onto the same frame grid (the I/O floor) in the same run. The difference is the frame
composition (display stretch, outline, stamp) and the GIF and H.264 encoding.

    .venv/bin/python -m bench.timelapse_bench            # 3 repeats of each
    .venv/bin/python -m bench.timelapse_bench --quick    # 2 repeats, 20 images

Timings are information on a shared machine: the exit status never depends on them.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from bench import harness
from bench.harness import Report, timed
from facilities.model import Facility
from facilities.store import GeoPackageStore
from imagery.aoi import AreaOfInterest
from imagery.chips import grid_bbox
from imagery.keys import ImageKey
from imagery.local import import_image
from tests.support.series import building_series, write_series
from tracker.reports.timelapse import frame_grid, make_timelapse
from tracker.settings import load_settings
from tracker.timeline import site_timeline
from tracker.wiring import imagery_session

SIZE, PIXEL = 1000, 0.5


def main() -> None:
    """Run the bench and print the figures."""
    ap = harness.parser(__doc__, "2 repeats and 20 images instead of 3 and 40")
    args = ap.parse_args()
    repeat, images = (2, 20) if args.quick else (3, 40)
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        series = building_series(3, n=images, size=SIZE, pixel=PIXEL, clouds=4, holes=2)
        for path, day in zip(write_series(series, tmp / "src", cog=True), series.dates, strict=True):
            import_image(path, tmp / "data", day)
        store = GeoPackageStore(tmp / "r.gpkg")
        store.add_facility(Facility(id="plant", name="Plant", geometry=series.site_lonlat), actor="bench")
        os.environ.update(TRACKER_DATA_DIR=str(tmp / "data"), TRACKER_DATABASE=str(tmp / "r.gpkg"),
                          TRACKER_CONFIG=str(tmp / "none.toml"))
        session = imagery_session(load_settings())
        try:
            timeline = site_timeline(store, session, "plant", sources=("local",))
            grid = frame_grid(AreaOfInterest.of(series.site_lonlat), timeline.entries)
            captures = session.local.captures(grid_bbox(grid))

            def floor() -> None:
                for cap in captures:
                    session.read_image(ImageKey(cap.provider, cap.capture_id), grid, capture=cap)

            def timelapse() -> object:
                return make_timelapse(store, session, "plant", tmp / "out" / "tl", timeline=timeline)

            result = timelapse()
            rep = Report("timelapse")
            rep.out(f"{images} local COGs of {SIZE} x {SIZE} px at {PIXEL} m; frame grid {grid.width} x {grid.height} "
                    f"px; {repeat} repeats")
            rep.row("frames", f"{len(result.frames)} used, {len(result.left_out)} left out",  # type: ignore[attr-defined]
                    f"gif {result.gif.stat().st_size / 1e6:.1f} MB, "  # type: ignore[attr-defined]
                    f"mp4 {result.video.stat().st_size / 1e6:.2f} MB")  # type: ignore[attr-defined]
            base = rep.timing("floor", f"read the {images} images onto the frame grid (I/O floor)",
                              timed(floor, repeat=repeat))
            ours = rep.timing("timelapse", "read, compose, write GIF + MP4", timed(timelapse, repeat=repeat))
            rep.row("per image (timelapse)", f"{ours / images * 1000:.1f} ms")
            rep.row("per image (floor)", f"{base / images * 1000:.1f} ms")
            rep.data.update(per_image_s=ours / images, floor_per_image_s=base / images, grid=[grid.width, grid.height])
            rep.compare("ratio", "timelapse / I/O floor", ours, base)
            rep.write(quick=args.quick)
        finally:
            session.close()
            store.close()


if __name__ == "__main__":
    main()
