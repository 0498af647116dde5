"""The facility registry: model, stores, GeoJSON import/export, seed, CLI."""

from . import geojson_codec as _geojson_codec  # noqa: F401  registers the model's GeoJSON encoder

__version__ = "0.1.0"
