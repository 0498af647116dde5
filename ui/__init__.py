"""Streamlit/folium pieces of the app: pages, the map, escaping, offline web assets and basemap."""
