"""The facility registry: model, stores, GeoJSON import/export, seed, CLI."""

from . import geojson_codec as _geojson_codec  # noqa: F401  registers the model's GeoJSON encoder

__version__ = "0.1.0"

# The notebook's entry points (facilities.read_facilities(...)), loaded on first use: they bring
# pandas and geopandas, which the app's and the CLI's other paths do not need at start-up.
_FRAMES = {"read_facilities": "frames", "read_structures": "frames", "read_observations": "frames",
           "read_sources": "frames", "import_geodataframe": "frames_import"}


def __getattr__(name: str):
    """`facilities.read_facilities` and friends, imported from their module when first asked for."""
    if name in _FRAMES:
        import importlib

        return getattr(importlib.import_module(f".{_FRAMES[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
