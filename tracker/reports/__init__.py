"""Publishable evidence: figures, site reports, KML and the GeoJSON report member.

This package combines the registry (facilities) with imagery, which neither may do itself
(see the import-linter contracts in pyproject.toml).
"""
