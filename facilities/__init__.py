"""The facility registry: model, stores, GeoJSON import/export, seed, CLI."""

__version__ = "0.1.0"
