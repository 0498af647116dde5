"""The registry map's work on every rerun of the page: what `st_folium` does with the base map, as the page calls
it (`render=False`, `ui.map.WorldMap`'s bounds) against how it was called before (`render=True`, folium's own
bounds walking every vertex), in the same run, on the seed registry and on generated ones of 300 and 2,000 sites
(the app bench's size; above 300 the sites are clustered points).

Also checks that both give the browser the same map: the component's script, header, HTML and links are equal
but for folium's random element ids (only the default `bounds` value differs: the world's, which the page never
asks back).

    python -m bench.map_rerun_bench [--quick]
"""

from __future__ import annotations

import logging
import re
import tempfile
import warnings
from pathlib import Path
from typing import Any

import folium
import streamlit_folium

from bench.harness import Report, parser, timed
from facilities.store import GeoPackageStore
from tests.support import generate
from tracker.seeding import ensure_seeded
from ui.map import map_parts

SAME = ("script", "header", "html", "css_links", "js_links", "feature_group", "layer_control")
FOLIUM_ID = re.compile(r"_[0-9a-f]{32}")  # folium's random element ids: new ones at every build, whatever the mode


def _same(a: object, b: object) -> bool:
    return FOLIUM_ID.sub("_ID", str(a)) == FOLIUM_ID.sub("_ID", str(b))


def _registry(root: Path, sites: int) -> tuple[list, list]:
    if sites:  # generated outlines (tests.support.generate), as the app bench uses
        registry = generate.generate(sites)
        return list(registry.facilities), list(registry.structures)
    store = GeoPackageStore(root / "seed.gpkg")
    try:
        ensure_seeded(store)
        return store.list_facilities(), store.list_structures()
    finally:
        store.close()


def _component_args(facilities: list, structures: list, *, render: bool, folium_bounds: bool) -> dict[str, Any]:
    captured: dict[str, Any] = {}
    real = streamlit_folium._component_func
    streamlit_folium._component_func = lambda **kw: captured.update(kw)  # the browser's side, not timed here
    try:
        parts = map_parts(facilities, structures, selected_id=facilities[0].id, offline=True)
        if folium_bounds:  # before: folium's get_bounds over every layer
            parts.base.get_bounds = folium.Map.get_bounds.__get__(parts.base)  # type: ignore[method-assign]
        streamlit_folium.st_folium(parts.base, key="registry_map", height=560, use_container_width=True,
                                   returned_objects=[], feature_group_to_add=parts.selection, center=parts.center,
                                   zoom=parts.zoom, render=render)
    finally:
        streamlit_folium._component_func = real
    return captured


def main() -> None:
    args = parser(__doc__, "the seed and 300 sites, 3 repeats").parse_args()
    warnings.filterwarnings("ignore")
    logging.getLogger("streamlit").setLevel(logging.ERROR)
    repeat = 3 if args.quick else 7
    rep = Report("map-rerun")
    with tempfile.TemporaryDirectory() as tmp:
        sizes = (("seed registry", 0), ("300 sites", 300)) + (() if args.quick else (("2,000 sites", 2000),))
        for label, sites in sizes:
            facilities, structures = _registry(Path(tmp), sites)
            new = _component_args(facilities, structures, render=False, folium_bounds=False)
            old = _component_args(facilities, structures, render=True, folium_bounds=True)
            rep.section(f"{label}: {len(facilities)} facilities, {len(structures)} structures")
            differs = [k for k in SAME if not _same(new.get(k), old.get(k))]
            rep.verdict("same map for the browser (script, header, html, links)", not differs,
                        "equal" if not differs else "differs: " + ", ".join(differs))
            ours = rep.timing(f"{sites}-ours", "st_folium as the page calls it", timed(
                lambda f=facilities, s=structures: _component_args(f, s, render=False, folium_bounds=False),
                repeat=repeat))
            before = rep.timing(f"{sites}-before", "as before (render=True, folium's bounds)", timed(
                lambda f=facilities, s=structures: _component_args(f, s, render=True, folium_bounds=True),
                repeat=repeat))
            rep.compare(f"{sites}-ratio", "ours / before", ours, before)
    rep.write(quick=args.quick)


if __name__ == "__main__":
    main()
