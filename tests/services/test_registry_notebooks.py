"""The geopandas notebooks run from top to bottom against a fresh seeded registry, offline."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


def _run(name: str, tmp_path: Path, monkeypatch) -> str:
    monkeypatch.setenv("TRACKER_DATABASE", str(tmp_path / "registry.gpkg"))  # new: the notebook seeds it
    monkeypatch.setenv("REPORT_OUT", str(tmp_path / "out"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    return "\n".join(str(o.get("text") or o.get("data", {}).get("text/plain", ""))
                     for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))


@pytest.mark.slow
def test_registry_with_geopandas_notebook(tmp_path, monkeypatch):
    text = _run("registry-with-geopandas.ipynb", tmp_path, monkeypatch)
    assert "february-11-plant: 2 structures" in text
    assert "9 observations since 2020" in text
    assert "2 sites within 20 km of Hamhung" in text and "9.82" in text
    assert (tmp_path / "out" / "sites-near-hamhung.html").read_text().count("leaflet") > 0
    assert (tmp_path / "out" / "build-out.png").stat().st_size > 1000


@pytest.mark.slow
def test_join_your_own_layer_notebook(tmp_path, monkeypatch):
    text = _run("join-your-own-layer.ipynb", tmp_path, monkeypatch)
    assert "February 11 Plant" in text and "3 features written to my-layer.fgb" in text
    assert "3 of 3 rows are invalid; nothing was imported" in text and "added 3 facility" in text
    assert (tmp_path / "out" / "my-layer.fgb").exists()
