"""The services layer: the work between the registry (facilities/), the imagery (imagery/) and a
screen (ui/, the CLI, a notebook). No Streamlit here.

- settings: every path and tunable, declared once, read once where a program starts.
- wiring: settings -> a store, an imagery session, local images (used by app, CLI, notebook, bench).
- site: the one read model of a site (cited sources, built-up curve, observation order, image labels).
- imports, edits, undo, migrate, seeding: the front doors that write to the registry.
- articles: reading news text into proposals; reports: publishable evidence; cli: both entry points.
"""
