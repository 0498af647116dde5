"""Leaflet and its plugins served by the app itself, so maps draw with no internet.

folium links every script and stylesheet from public CDNs. The folium-offline package ships the
content of each of those URLs (`offlinefolium.elements._res`, {CDN URL: text}); we write them once
to files under settings.data_dir and register that directory as a Streamlit custom component.
Streamlit then serves it at `<baseUrlPath>/component/ui.assets.leaflet_assets/<file>` with the
right MIME types (text/javascript, text/css); app static serving would send text/plain, which
browsers refuse to run. `localise` rewrites a map's links to those files and refuses any URL it
has no copy of, so a new plugin can never silently go back to a CDN.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import branca.colormap
import branca.element
import folium
import folium.elements
import folium.plugins

from facilities.files import write_atomically

COMPONENT = "leaflet_assets"
MANIFEST = "manifest.json"
_SAFE = re.compile(r"[^a-z0-9._-]+")


class AssetError(RuntimeError):
    """A map needs a script or stylesheet that has no local copy (it would load from the internet)."""


def _bundled() -> dict[str, str]:
    # A 3.5 MB module of string literals: imported only when the files must be (re)written.
    from offlinefolium.elements import _res

    return dict(_res)


def _bundle_version() -> str:
    from importlib.metadata import version

    return version("folium-offline")


def file_name(url: str) -> str:
    """A stable, collision-free file name for a CDN URL, keeping .js/.css so the MIME type is right.

    >>> file_name("https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js")
    'leaflet.59d28e5b.js'
    """
    path = urlsplit(url).path.rstrip("/")
    stem = _SAFE.sub("-", path.rsplit("/", 1)[-1].lower()).strip("-.") or "asset"
    ext = ".css" if stem.endswith(".css") else ".js"  # the only extension-less URL is a script
    for known in (".min.css", ".min.js", ".css", ".js"):
        if stem.endswith(known):
            stem = stem[: -len(known)]
            break
    digest = hashlib.sha256(url.encode()).hexdigest()[:8]
    return f"{stem[:60] or 'asset'}.{digest}{ext}"


def _write_atomic(path: Path, data: bytes) -> None:
    write_atomically(path, [data], binary=True)


def write_assets(directory: Path) -> dict[str, str]:
    """Write every bundled script/style into `directory` once; return {CDN URL: file name}.

    Idempotent: files are rewritten only when missing or different, each by an atomic rename, and
    the manifest is written last, so a crash mid-way is repaired by the next call.
    """
    directory.mkdir(parents=True, exist_ok=True)
    manifest_path = directory / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text("utf-8"))
        if all((directory / name).is_file() for name in manifest.values()):
            return manifest
    except (OSError, ValueError, AttributeError):
        pass
    manifest = {}
    for url, text in sorted(_bundled().items()):
        name = file_name(url)
        data = text.encode("utf-8")
        target = directory / name
        if not (target.is_file() and target.read_bytes() == data):
            _write_atomic(target, data)
        manifest[url] = name
    _write_atomic(manifest_path, json.dumps(manifest, indent=1, sort_keys=True).encode())
    return manifest


@dataclass(frozen=True)
class LocalAssets:
    """Where the local copies are and the URL prefix the browser reaches them at."""

    files: Mapping[str, str]  # CDN URL -> file name
    url_prefix: str  # e.g. "/component/ui.assets.leaflet_assets"
    directory: Path | None = None

    def url_for(self, url: str) -> str:
        """The local URL serving the copy of a CDN script or stylesheet; AssetError if there is none, as the map
        would then load it from the internet."""
        if url.startswith(self.url_prefix + "/"):
            return url  # already local
        try:
            return f"{self.url_prefix}/{self.files[url]}"
        except KeyError:
            raise AssetError(
                f"no local copy of {url}: the map would load it from the internet. Use only folium "
                "elements whose scripts folium-offline ships, or add the file to the local assets."
            ) from None


def assets_dir(data_dir: Path) -> Path:
    """The directory holding the local copies of this folium-offline release's files; one per release, so an upgrade
    never mixes old and new files."""
    # One directory per folium-offline release, so an upgrade never mixes old and new files.
    return Path(data_dir) / "web-assets" / f"folium-offline-{_bundle_version()}"


_served: dict[Path, LocalAssets] = {}


def serve_assets(data_dir: Path) -> LocalAssets:
    """Write the files (first call in this process) and register them with Streamlit (every run).

    declare_component registers with the running server only inside a script run, so it is called
    on each run; registering the same name and path again is a no-op.
    """
    from streamlit import config
    from streamlit.components.v1 import declare_component

    directory = assets_dir(data_dir)
    cached = _served.get(directory)
    files = cached.files if cached is not None else write_assets(directory)
    component = declare_component(COMPONENT, path=str(directory))
    base = (config.get_option("server.baseUrlPath") or "").strip("/")
    prefix = "/" + "/".join(part for part in (base, "component", component.name) if part)
    assets = LocalAssets(files=files, url_prefix=prefix, directory=directory)
    _served[directory] = assets
    return assets


def walk(element: branca.element.Element) -> Iterator[branca.element.Element]:
    """Every element under `element`, as streamlit_folium collects scripts (DualMap maps too)."""
    yield element
    if isinstance(element, folium.plugins.DualMap):
        yield from walk(element.m1)
        yield from walk(element.m2)
    for child in getattr(element, "_children", {}).values():
        yield from walk(child)


def localise(folium_map: folium.Map, assets: LocalAssets) -> folium.Map:
    """Point every script and stylesheet of the map at the local copies; AssetError if one has none.

    Links are replaced per element (new lists), never in place: folium keeps them in class-level
    lists, and editing those would change every map in the process.
    """
    root = folium_map.get_root()
    for element in walk(folium_map):
        if isinstance(element, branca.colormap.ColorMap):
            # streamlit_folium adds d3 from two CDNs for colour maps, outside our reach.
            raise AssetError("colour-map legends load d3 from a CDN in streamlit_folium; draw the legend instead")
        if isinstance(element, folium.elements.JSCSSMixin):
            element.default_js = [(name, assets.url_for(url)) for name, url in element.default_js]
            element.default_css = [(name, assets.url_for(url)) for name, url in element.default_css]
    # Links a previous render already put in the page header.
    for child in getattr(root, "header", branca.element.Element())._children.values():
        if isinstance(child, branca.element.Link) and child.url:
            child.url = assets.url_for(child.url)
    return folium_map


def external_links(folium_map: folium.Map) -> list[str]:
    """Script/style URLs of the map that would leave the machine (empty after localise)."""
    urls = []
    for element in walk(folium_map):
        if isinstance(element, folium.elements.JSCSSMixin):
            urls += [url for _, url in (*element.default_js, *element.default_css)]
    return [url for url in urls if re.match(r"^(https?:)?//", url)]
