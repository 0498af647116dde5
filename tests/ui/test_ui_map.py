"""The map as HTML: user text escaped everywhere, scripts served locally, attribution on every layer."""

from __future__ import annotations

import json
import re
from pathlib import Path

import branca.colormap
import folium
import folium.elements
import pytest
from shapely.geometry import Point, Polygon

from facilities.model import Alias, Facility, ParentClaim, Structure
from imagery.errors import ImageryError
from imagery.providers import BASEMAPS, ESRI_WORLD_IMAGERY, OPENSTREETMAP, get_provider
from ui.assets import AssetError, LocalAssets, external_links, localise, walk, write_assets
from ui.basemap import OFFLINE_NAME, OFFLINE_NOTE, land_geojson
from ui.map import (
    LARGE_REGISTRY,
    MAX_NEIGHBOURS,
    MAX_ZOOM,
    SiteClusters,
    build_map,
    map_parts,
    neighbourhood,
    view_for,
)
from ui.safe import markdown_text, safe_text

IMG = "<img src=x onerror=alert(1)>"
TEMPLATE = "${alert(1)}"
TICK = "tick`+(globalThis.PWNED=1)+`"
SCRIPT = "</script><script>alert(2)</script>"
BACKSLASH = "slash\\`${globalThis.PWNED=3}"
PREFIX = "/component/ui.assets.leaflet_assets"


def square(lon: float, lat: float, d: float = 0.01) -> Polygon:
    return Polygon([(lon, lat), (lon + d, lat), (lon + d, lat + d), (lon, lat + d)])


@pytest.fixture
def hostile() -> tuple[list[Facility], list[Structure]]:
    facilities = [
        Facility(id="evil-img", name=IMG, geometry=square(127.6, 39.9), location_precision="approximate",
                 aliases=(Alias(TEMPLATE), Alias(TICK, lang="en")), notes=SCRIPT,
                 parents=(ParentClaim(name=BACKSLASH),), systems=(IMG,), category=TEMPLATE),
        Facility(id="evil-template", name=TEMPLATE, geometry=square(127.7, 39.9), location_precision="surveyed",
                 notes=TICK + BACKSLASH),
        Facility(id="evil-script", name=SCRIPT, geometry=square(127.8, 39.9), location_precision="city"),
    ]
    structures = [
        Structure(id="evil-img.a", facility_id="evil-img", name=TICK, kind=IMG, geometry=Point(127.605, 39.905),
                  notes=TEMPLATE),
        Structure(id="evil-img.b", facility_id="evil-img", name=SCRIPT, kind=BACKSLASH,
                  geometry=square(127.602, 39.902, 0.002), location_precision="surveyed"),
    ]
    return facilities, structures


@pytest.fixture(scope="module")
def assets(tmp_path_factory: pytest.TempPathFactory) -> LocalAssets:
    directory = tmp_path_factory.mktemp("web-assets")
    return LocalAssets(files=write_assets(directory), url_prefix=PREFIX, directory=directory)


def render(m: folium.Map) -> str:
    return m.get_root().render()


# ---------------------------------------------------------------- escaping

def test_safe_text_neutralises_html_and_template_literals():
    assert safe_text(IMG) == "&lt;img src=x onerror=alert(1)&gt;"
    assert safe_text(TEMPLATE) == "&#36;{alert(1)}"
    assert safe_text("a\\`b'\"") == "a&#92;&#96;b&#x27;&quot;"
    for payload in (IMG, TEMPLATE, TICK, SCRIPT, BACKSLASH):
        assert not set(safe_text(payload)) & set("<>`$\\\"'")
    assert markdown_text("[a](javascript:x) <b>") == r"\[a\]\(javascript\:x\) \<b\>"


def test_hostile_names_are_escaped_in_the_rendered_map(hostile):
    facilities, structures = hostile
    html = render(build_map(facilities, structures, selected_id="evil-img"))
    for raw in ("<img src=x", "${alert", "${globalThis", "tick`", "slash\\`", "</script><script>alert",
                "alert(2)</script"):
        assert raw not in html, raw
    # The text is there, as entities the browser shows but JavaScript never parses.
    for escaped in ("&lt;img src=x onerror=alert(1)&gt;", "&#36;{alert(1)}", "tick&#96;+(globalThis.PWNED=1)+&#96;",
                    "&lt;/script&gt;&lt;script&gt;alert(2)&lt;/script&gt;", "slash&#92;&#96;&#36;{globalThis"):
        assert escaped in html, escaped
    # Only folium's own script tags: one </script> per <script>.
    assert html.count("</script>") == html.count("<script")


def test_every_backtick_in_the_page_is_folium_own(hostile):
    facilities, structures = hostile
    html = render(build_map(facilities, structures))
    # folium opens template literals with `< (tooltip/popup HTML) and closes with >`; any other
    # backtick would have to come from user text.
    for m in re.finditer("`", html):
        around = html[max(0, m.start() - 1): m.end() + 1]
        assert around.endswith("`<") or around.startswith(">`") or "`)" in around, around


def test_geometries_carry_no_user_properties(hostile):
    facilities, structures = hostile
    m = build_map(facilities, structures)
    for element in walk(m):
        if isinstance(element, folium.GeoJson) and element.layer_name != OFFLINE_NAME:
            for feature in element.data["features"]:
                assert feature["properties"] == {}


def test_approximate_outlines_are_dashed_and_say_so(hostile):
    facilities, structures = hostile
    html = render(build_map(facilities, structures))
    assert html.count("approximate outline") >= 2  # approximate + city
    assert "surveyed outline" in html
    group = next(e for e in walk(build_map(facilities, structures))
                 if isinstance(e, folium.FeatureGroup) and e.layer_name == "Facilities")
    dashed = {}
    for layer in group._children.values():
        tooltip = next(c for c in layer._children.values() if isinstance(c, folium.Tooltip))
        dashed[tooltip.text.split("<br>")[0]] = layer.style_function({}).get("dashArray")
    assert dashed[safe_text(IMG)] == "6 6" and dashed[safe_text(SCRIPT)] == "6 6"
    assert dashed[safe_text(TEMPLATE)] is None


def test_map_fits_the_selected_facility(hostile):
    facilities, structures = hostile
    m = build_map(facilities, structures, selected_id="evil-script")
    fits = [e for e in walk(m) if isinstance(e, folium.FitBounds)]
    assert len(fits) == 1
    assert fits[0].bounds == [[39.9, 127.8], [pytest.approx(39.91), pytest.approx(127.81)]]


# ---------------------------------------------------------------- offline scripts

def test_localise_leaves_no_cdn_script_or_style(hostile, assets):
    facilities, structures = hostile
    m = build_map(facilities, structures)
    assert external_links(m), "folium links CDNs by default; the test would prove nothing"
    localise(m, assets)
    assert external_links(m) == []
    html = render(m)
    scripts = re.findall(r"<script[^>]*\bsrc=\"([^\"]*)\"", html)
    styles = re.findall(r"<link[^>]*\bhref=\"([^\"]*)\"", html)
    assert scripts and styles
    assert all(url.startswith(PREFIX + "/") for url in scripts + styles), scripts + styles
    assert not re.search(r"(src|href)=\"(https?:)?//", html)
    for url in scripts + styles:  # each points at a real file with the right extension
        name = url.removeprefix(PREFIX + "/")
        assert (assets.directory / name).is_file()
        assert name.endswith(".js" if url in scripts else ".css")
    leaflet = (assets.directory / assets.files["https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js"])
    assert "Leaflet 1.9.3" in leaflet.read_text("utf-8")


def test_localise_does_not_change_folium_classes(assets):
    m = build_map([], [])
    localise(m, assets)
    assert folium.Map.default_js[0][1].startswith("https://")  # other maps in the process untouched
    assert external_links(build_map([], []))


def test_a_map_rendered_before_localise_is_fixed_too(assets):
    m = build_map([], [])
    render(m)
    html = render(localise(m, assets))
    assert not re.search(r"(src|href)=\"(https?:)?//", html)


def test_unknown_script_is_refused(assets):
    class Plugin(folium.elements.JSCSSMixin):
        default_js = [("newplugin", "https://cdn.example.org/new-plugin.js")]

    m = build_map([], [])
    Plugin().add_to(m)
    with pytest.raises(AssetError, match="new-plugin.js"):
        localise(m, assets)
    m2 = build_map([], [])
    branca.colormap.LinearColormap(["red", "blue"]).add_to(m2)
    with pytest.raises(AssetError, match="d3"):
        localise(m2, assets)


def test_write_assets_is_idempotent_and_repairs(tmp_path: Path):
    first = write_assets(tmp_path)
    leaflet = tmp_path / first["https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js"]
    mtime = leaflet.stat().st_mtime_ns
    assert write_assets(tmp_path) == first
    assert leaflet.stat().st_mtime_ns == mtime
    leaflet.unlink()
    assert write_assets(tmp_path) == first
    assert "Leaflet 1.9.3" in leaflet.read_text("utf-8")
    assert not list(tmp_path.glob("*.part"))


# ---------------------------------------------------------------- base layers

def test_every_layer_shows_its_attribution():
    m = build_map([], [])
    tiles = [e for e in walk(m) if isinstance(e, folium.TileLayer)]
    assert {t.tile_name for t in tiles} == {p.title for p in BASEMAPS}
    for tile in tiles:
        assert tile.options["attribution"].strip()
    attributions = {t.tile_name: t.options["attribution"] for t in tiles}
    esri = attributions["Esri World Imagery"]
    assert 'Powered by <a href="https://www.esri.com"' in esri
    assert "Source: Esri, Maxar, Earthstar Geographics, and the GIS User Community" in esri
    assert 'href="https://www.openstreetmap.org/copyright"' in attributions["OpenStreetMap"]
    assert "© OpenStreetMap contributors" in attributions["OpenStreetMap"]
    land = [e for e in walk(m) if isinstance(e, folium.GeoJson) and e.layer_name == OFFLINE_NAME]
    assert len(land) == 1 and "Natural Earth" in land[0].options["attribution"]
    esri_layer = next(t for t in tiles if t.tile_name == "Esri World Imagery")
    assert esri_layer.options["max_zoom"] == 21 and esri_layer.options["max_native_zoom"] == 19


def test_online_map_falls_back_to_the_offline_basemap():
    html = render(build_map([], []))
    assert ESRI_WORLD_IMAGERY.url in html and OPENSTREETMAP.url in html
    assert '"tileerror"' in html and OFFLINE_NOTE.replace("—", "\\u2014") in html


def test_offline_map_has_no_online_tiles(hostile):
    facilities, structures = hostile
    m = build_map(facilities, structures, offline=True)
    assert not [e for e in walk(m) if isinstance(e, folium.TileLayer)]
    html = render(m)
    for provider in BASEMAPS:
        assert provider.url.split("/{z}")[0] not in html
    assert "arcgisonline" not in html and "openstreetmap.org/{z}" not in html
    land = [e for e in walk(m) if isinstance(e, folium.GeoJson) and e.layer_name == OFFLINE_NAME]
    assert land[0].show


def test_land_layer_is_compact_and_shipped():
    land = land_geojson()
    assert len(land["features"]) == 177
    coords = re.findall(r"-?\d+\.(\d+)", str(land["features"][0]["geometry"]["coordinates"]))
    assert coords and max(len(c) for c in coords) <= 3


def test_providers_are_browser_only_data():
    for provider in BASEMAPS:
        assert provider.server_fetch_allowed is False
        assert provider.licence and provider.licence_url.startswith("https://")
    assert get_provider("esri-world-imagery") is ESRI_WORLD_IMAGERY
    assert OPENSTREETMAP.tile_url(3, 1, 2) == "https://tile.openstreetmap.org/3/1/2.png"
    assert ESRI_WORLD_IMAGERY.tile_url(3, 1, 2).endswith("/tile/3/2/1")
    with pytest.raises(ImageryError, match="known: esri-world-imagery"):
        get_provider("google")


# ---------------------------------------------------------------- large registries

def generated(n: int) -> list[Facility]:

    from tests.support import generate
    return list(generate.generate(n).facilities)


@pytest.fixture(scope="module")
def ten_thousand() -> list[Facility]:
    return generated(10_000)


def base_script(m: folium.Map) -> str:
    """The script streamlit-folium hashes to decide whether to re-mount the map."""
    from streamlit_folium import _get_map_string, generate_js_hash

    m.get_root().render()
    return generate_js_hash(_get_map_string(m), "registry_map")


def test_large_mode_above_the_threshold():
    small = [Facility(id=f"f{i}", name=f"F {i}", geometry=square(10 + i * 0.01, 10)) for i in range(LARGE_REGISTRY)]
    big = [*small, Facility(id="one-more", name="One more", geometry=square(20, 20))]
    assert not map_parts(small, [], "f0").large
    parts = map_parts(big, [], "f0")
    assert parts.large
    clusters = [e for e in walk(parts.base) if isinstance(e, SiteClusters)]
    assert len(clusters) == 1 and clusters[0].layer_name == "Facilities"
    assert not [e for e in walk(parts.base) if isinstance(e, folium.GeoJson) and e.layer_name != OFFLINE_NAME]
    assert '"One more"' in clusters[0].rows_json
    # no zoom animation with clusters: it hung Chromium at 10,000 sites when the view moved
    assert '"zoomAnimation": false' in parts.base.get_root().render()
    assert '"zoomAnimation": false' not in map_parts(small, [], "f0").base.get_root().render()


def test_ten_thousand_sites_fit_a_byte_budget(ten_thousand):
    selected = ten_thousand[4321]
    parts = map_parts(ten_thousand, [], selected.id, offline=True)
    base = len(render(parts.base).encode())
    group = parts.selection
    group_html = len(render(build_map(ten_thousand, [], selected.id, offline=True)).encode()) - base
    # Measured: ~0.67 MB for the base map (of which 0.19 MB is the Natural Earth land), a few KB of
    # selection; a plain folium map of the same outlines is ~15 MB.
    assert base < 1_000_000, base
    assert group_html < 150_000, group_html
    outlines = [e for e in walk(group) if isinstance(e, folium.GeoJson)]
    assert 1 <= len(outlines) <= 1 + MAX_NEIGHBOURS
    for layer in outlines:  # simplified and rounded to 6 decimals
        coords = re.findall(r"-?\d+\.(\d+)", str(layer.data["features"][0]["geometry"]["coordinates"]))
        assert max(len(c) for c in coords) <= 6


def test_neighbourhood_outlines_come_with_the_selection():
    sites = [Facility(id=f"n{i}", name=f"N {i}", geometry=square(127.6 + i * 0.02, 39.9, 0.005)) for i in range(400)]
    far = Facility(id="far", name="Far", geometry=square(10, 10))
    parts = map_parts([*sites, far], [], "n0")
    near = neighbourhood([*sites, far], sites[0])
    assert [f.id for f in near][:2] == ["n1", "n2"] and "far" not in {f.id for f in near}
    assert all(abs(f.geometry.bounds[0] - 127.6) < 0.1 for f in near)
    layers = [e for e in walk(parts.selection) if isinstance(e, folium.GeoJson)]
    assert len(layers) == len(near) + 1
    assert layers[-1].style_function({})["weight"] == 4  # the selected outline, on top


def test_hostile_names_are_text_in_the_cluster_layer(hostile):
    facilities, structures = hostile
    filler = [Facility(id=f"x{i}", name=f"X {i}", geometry=square(i * 0.05, 0)) for i in range(LARGE_REGISTRY)]
    m = build_map([*facilities, *filler], structures, selected_id="x3")
    html = render(m)
    for raw in ("<img src=x", "${alert", "${globalThis", "tick`", "slash\\`", "</script><script>alert",
                "alert(2)</script"):
        assert raw not in html, raw
    assert "\\u003cimg src=x onerror=alert(1)\\u003e" in html and "\\u0024{alert(1)}" in html
    assert html.count("</script>") == html.count("<script")
    # Names reach the page as JSON data and are shown with textContent.
    cluster = next(e for e in walk(m) if isinstance(e, SiteClusters))
    script = cluster._template.module.script(cluster)
    assert "name.textContent = layer.siteName" in script and "innerHTML" not in script
    assert [r[2] for r in json.loads(cluster.rows_json)][:3] == [IMG, TEMPLATE, SCRIPT]


@pytest.mark.parametrize("n", [3, LARGE_REGISTRY + 5])
def test_the_base_map_does_not_depend_on_the_selection(n):
    facilities = [Facility(id=f"s{i}", name=f"S {i}", geometry=square(127 + i * 0.03, 39.9)) for i in range(n)]
    structures = [Structure(id="s1.a", facility_id="s1", name="A", geometry=Point(127.035, 39.905))]
    one, two = map_parts(facilities, structures, "s0"), map_parts(facilities, structures, "s2")
    assert base_script(one.base) == base_script(two.base)  # same map: no re-mount when switching
    assert not [e for e in walk(one.base) if isinstance(e, folium.FitBounds)]
    assert one.center != two.center and one.zoom != two.zoom  # the view moves, zoom re-applied
    assert round(one.zoom) == round(two.zoom)  # the per-facility offset is below Leaflet's zoom snap


def test_view_fits_the_selection():
    (lat, lon), zoom = view_for([[39.9, 127.6], [39.91, 127.61]])
    assert (lat, lon) == (pytest.approx(39.905, abs=1e-3), pytest.approx(127.605))
    assert zoom == 15
    assert view_for([[39.9, 127.6], [39.9, 127.6]])[1] == MAX_ZOOM  # a point: the closest zoom allowed
    assert view_for([[-60, -170], [70, 170]])[1] == 1


def test_the_map_loads_only_the_scripts_it_uses(assets):
    m = localise(build_map([], []), assets)
    html = render(m)
    assert "leaflet." in html and "jquery" in html  # jQuery: folium's popups use $()
    for unused in ("bootstrap", "font-awesome", "fontawesome", "awesome-markers", "glyphicons"):
        assert unused not in html.lower(), unused
