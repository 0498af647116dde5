"""Dated imagery of the facilities: the sources (Esri Wayback, Sentinel-2 through STAC, imported files), the HTTP
client and cache that fetch it, chips cut from it and change between two dates. Knows nothing of the registry."""
