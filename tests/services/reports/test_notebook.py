"""The case-study notebook runs from top to bottom against a temporary registry and local imagery."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.support.reports import make_imagery

NOTEBOOK = Path(__file__).resolve().parents[3] / "notebooks" / "hamhung-february-11-plant.ipynb"


@pytest.mark.slow
def test_case_study_notebook_executes(tmp_path, monkeypatch):
    data = tmp_path / "data"
    make_imagery(tmp_path, data, ["2019-06-01", "2024-10-05"], size=1600)  # covers the seed outline
    out = tmp_path / "out"
    # The kernel inherits the environment: a fresh registry (seeded by the notebook) and our imports.
    monkeypatch.setenv("TRACKER_DATABASE", str(tmp_path / "registry.gpkg"))
    monkeypatch.setenv("TRACKER_DATA_DIR", str(data))
    monkeypatch.setenv("REPORT_OUT", str(out))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    # the budget is nbclient's own: a cell that runs over 120 s fails (it takes a few seconds; bench/ times it)
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    text = "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "2 image dates" in text and "changed" in text
    for name in ("february-11-plant.geojson", "february-11-plant.kmz", "february-11-plant.html",
                 "february-11-plant.pdf", "figures/february-11-plant-pair.png"):
        assert (out / name).exists(), name
