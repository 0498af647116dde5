"""Switching the compared date in a real browser: ours (the dated imagery swapped in place through
st_folium's feature_group_to_add) against a plain st_folium map whose tile layer is part of the map
(every change re-mounts it), measured in the same run.

    .venv/bin/python -m bench.compare_bench [--rounds 3]
    .venv/bin/python -m bench.compare_bench --quick     # one timed round after the warm-up (make bench)

A fake Wayback (tests/support/fake_wayback.py) serves catalogue, tilemaps, metadata and tiles on
127.0.0.1; `streamlit run` serves the app and the baseline; Debian chromium through Playwright.
"Updated view" = a loaded tile of the newly chosen release inside the map's iframe. The first
round warms the browser's tile cache ("when imagery is cached"); the median of later rounds is
reported, with whether the map frame survived (no reload), and saved to bench/out/compare-<date>.json.
Target: under 1 s. Never fails a run.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from bench import harness
from bench.harness import Report
from tests.support.browser import CHROMIUM_ARGS, MAP_FRAME, serve_app
from tests.support.fake_wayback import DEFAULT_CHANGES, FakeServer, site_scenario

TARGET_S = 1.0
PLANT = "february-11-plant"
RELEASES = ["45134", "23448", "64001", "13192"]  # switched to in turn (all changed over the plant)

BASELINE_APP = '''
"""Baseline: the Wayback release is a tile layer of the map itself, so each change re-mounts it."""
import os
import folium
import streamlit as st
from pathlib import Path
from streamlit_folium import st_folium
from ui.assets import localise, serve_assets

st.set_page_config(layout="wide")
release = st.selectbox("After", ["64001", "45134", "23448", "13192"], key="after")
m = folium.Map(location=[39.9202, 127.6571], zoom_start=16, tiles=None)
folium.TileLayer(os.environ["TRACKER_WAYBACK_TILE_URL"].replace("{release}", release), attr="Esri Wayback").add_to(m)
localise(m, serve_assets(Path(os.environ["TRACKER_DATA_DIR"])))
st_folium(m, key="map", height=560, use_container_width=True, returned_objects=[])
'''


def _switch(page, release: str, label_prefix: str | None) -> tuple[float, bool]:
    """Choose `release` as the compared date: seconds until its tile is drawn, and whether the map survived."""
    frame = page.frame_locator(MAP_FRAME).first
    frame.locator("body").evaluate("() => { window.__sameMap = 'yes'; }")
    page.get_by_test_id("stSelectbox").filter(has_text="After").get_by_role("combobox").click()
    option = page.get_by_role("option", name=label_prefix or release).first
    t0 = time.perf_counter()
    option.click()
    frame.locator(f"img.leaflet-tile-loaded[src*='/wayback/tile/{release}/']").first.wait_for(
        state="attached", timeout=60_000)
    elapsed = time.perf_counter() - t0
    try:
        same = frame.locator("body").evaluate("() => window.__sameMap === 'yes'")
    except Exception:  # noqa: BLE001 — the frame was replaced
        same = False
    return elapsed, bool(same)


def _run(url: str, path: str, labels: dict[str, str | None], rounds: int) -> dict:
    """Switch through the releases `rounds` times in one page; every round but the first is timed."""
    from playwright.sync_api import sync_playwright

    times: list[float] = []
    kept: list[bool] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.route("**/*", lambda r: r.continue_() if "127.0.0.1" in r.request.url else r.abort())
        page.goto(url + path, wait_until="domcontentloaded")
        page.frame_locator(MAP_FRAME).first.locator(".leaflet-tile-loaded").first.wait_for(
            state="attached", timeout=120_000)
        for r in range(rounds):
            for release in RELEASES:
                t, same = _switch(page, release, labels[release])
                if r > 0:  # round 0 fills the browser's tile cache
                    times.append(t)
                    kept.append(same)
        browser.close()
    return {"median_s": harness.median(times), "max_s": max(times), "switches": len(times),
            "map_kept": sum(kept), "samples_s": times}


def main(argv: list[str] | None = None) -> int:
    """Serve ours and the baseline against the fake Wayback, time the switches, print and save them."""
    parser = harness.parser(__doc__, "2 rounds: the warm-up round and one timed round")
    parser.add_argument("--rounds", type=int, help="rounds over the releases, the first untimed (default 3)")
    args = parser.parse_args(argv)
    rounds = args.rounds or (2 if args.quick else 3)
    if rounds < 2:
        parser.error("--rounds must be at least 2: the first round only warms the tile cache")
    srv = FakeServer().start()
    scenario = site_scenario()
    scenario.default_changes = list(DEFAULT_CHANGES)
    srv.reset(scenario)
    env = {"TRACKER_WAYBACK_CONFIG_URL": f"{srv.base}/config/waybackconfig.json",
           "TRACKER_WAYBACK_SERVICE_ROOT": f"{srv.base}/wayback/MapServer",
           "TRACKER_WAYBACK_TILE_URL": f"{srv.base}/wayback/tile/{{release}}/{{z}}/{{y}}/{{x}}",
           "TRACKER_WAYBACK_SUBDOMAINS": "[]", "TRACKER_IMAGERY_ALLOW_HOSTS": json.dumps([srv.base.split("//")[1]]),
           "TRACKER_EOX_TILE_URL": f"{srv.base}/xyz/{{z}}/{{x}}/{{y}}.png",  # the status probe reads one
           "TRACKER_REQUEST_TIMEOUT": "5",
           "PYTHONPATH": harness.child_env()["PYTHONPATH"]}  # the checkout, for the baseline's ui.assets
    dates = {n: d for n, d, _ in scenario.releases}
    ours_labels = {r: f"{dates[int(r)]} Wayback release" for r in RELEASES}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            (work / "a").mkdir()
            (work / "b").mkdir()
            with serve_app(work / "a" / "registry.gpkg", work / "a", env) as url:
                ours = _run(url, f"/compare?facility={PLANT}", ours_labels, rounds)
            baseline_script = work / "baseline.py"
            baseline_script.write_text(BASELINE_APP)
            with serve_app(work / "b" / "registry.gpkg", work / "b", env, script=baseline_script) as url:
                base = _run(url, "/", {r: r for r in RELEASES}, rounds)
    finally:
        srv.close()
    ratio = harness.ratio(base["median_s"], ours["median_s"])
    rep = Report("compare")
    rep.data.update(ours=ours, baseline=base, ratio=ratio)
    rep.out(f"switch compared date (cached tiles), median of {ours['switches']}: ours {ours['median_s']:.3f} s "
            f"(max {ours['max_s']:.3f}; map kept {ours['map_kept']}/{ours['switches']}) · baseline re-mount "
            f"{base['median_s']:.3f} s (map kept {base['map_kept']}/{base['switches']}) · baseline/ours {ratio:.2f}x")
    rep.verdict(f"target < {TARGET_S} s", ours["median_s"] < TARGET_S, f"ours {ours['median_s']:.3f} s")
    rep.write(rounds=rounds, quick=args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
