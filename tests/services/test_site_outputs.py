"""One site, three outputs: the Registry page, `facilities show` and the PDF report print the same
built-up figures and the same cited sources, in the same order (all from tracker.site.SiteView)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import shapely
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from facilities.model import Source, Structure
from facilities.store import GeoPackageStore
from tests.support.apptest import open_section
from tracker.cli import registry_app
from tracker.reports.narrative import display_title
from tracker.reports.site_report import build_report
from tracker.seeding import ensure_seeded
from tracker.site import load_site

APP = Path(__file__).resolve().parents[2] / "app.py"
PLANT = "february-11-plant"
STEP = re.compile(r"(\d{4}-\d{2}-\d{2})\s+([\d,]+)\s+(\d+)\s+(\d+)\s*$")


@pytest.fixture
def registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The seed plus a shed with a footprint, built 2018 and removed 2020, on a source of its own."""
    path = tmp_path / "registry.gpkg"
    for name, value in (("TRACKER_DATABASE", path), ("TRACKER_DATA_DIR", tmp_path / "data"),
                        ("TRACKER_CONFIG", tmp_path / "none.toml")):
        monkeypatch.setenv(name, str(value))
    monkeypatch.delenv("TRACKER_OFFLINE", raising=False)
    monkeypatch.delenv("TRACKER_SEED", raising=False)
    store = GeoPackageStore(path)
    ensure_seeded(store)
    store.add_source(Source(id="shed-notes", title="Analyst notes on the shed", published="2021"), actor="test")
    store.add_structure(Structure(id=f"{PLANT}.shed", facility_id=PLANT, name="Shed",
                                  geometry=shapely.box(127.6560, 39.9200, 127.6570, 39.9207), built="2018",
                                  removed="2020", source_ids=("shed-notes",)), actor="test")
    store.close()
    return path


def _page(at: AppTest, column: str):
    frames = [d.value for d in at.dataframe if column in d.value.columns]
    assert len(frames) == 1, [list(d.value.columns) for d in at.dataframe]
    return frames[0]


def test_page_cli_and_pdf_show_the_same_figures_and_sources(registry: Path, tmp_path: Path):
    store = GeoPackageStore(registry)
    site = load_site(store, PLANT)
    rows = [tuple(str(v) for v in row) for row in site.built_up.rows()]
    assert site.built_up.shown and ("2020-01-01", "0", "0", "1") in rows  # the shed is gone from 2020-01-01
    assert rows[1][:3] == ("2018-01-01", f"{site.structure(f'{PLANT}.shed').footprint_m2:,.0f}", "1")
    titles = [s.title for s in site.sources]
    assert "Analyst notes on the shed" in titles and len(titles) == 5  # a structure's source is cited

    # the Registry page
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.query_params["facility"] = PLANT
    at.run()
    assert not at.exception, at.exception
    open_section(at, "Timeline")  # one section at a time below the map (issue 18.6)
    figures = _page(at, "built-up m²")
    assert [tuple(str(v) for v in r) for r in figures.itertuples(index=False)] == rows
    open_section(at, "Details & sources")
    sources = _page(at, "link")
    assert sources["title"].tolist() == titles and sources["#"].tolist() == list(range(1, len(titles) + 1))

    # facilities show
    result = CliRunner().invoke(registry_app, ["--db", str(registry), "show", PLANT])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("built-up footprint ("))
    cli_rows = [m.groups() for line in lines[start + 2:] if (m := STEP.search(line))]
    assert cli_rows == rows
    cli_sources = [line for line in lines if re.match(r"  \[\d+\] ", line)]
    assert [re.match(r"  \[(\d+)\]", line)[1] for line in cli_sources] == [str(n) for n in range(1, 6)]
    assert all(title in line for title, line in zip(titles, cli_sources, strict=True))

    # the PDF report
    files = build_report(store, PLANT, tmp_path / "out", None, dpi=100)
    layout = subprocess.run(["pdftotext", "-layout", str(files.pdf), "-"], capture_output=True, text=True,
                            check=True, timeout=120).stdout
    assert [m.groups() for line in layout.splitlines() if (m := STEP.search(line))] == rows
    text = " ".join(subprocess.run(["pdftotext", str(files.pdf), "-"], capture_output=True, text=True, check=True,
                                   timeout=120).stdout.split())
    listed = text[text.rindex("Sources "):]
    where = [listed.find(f"{n}. {display_title(title)}") for n, title in enumerate(titles, 1)]  # long: shortened
    assert -1 not in where and where == sorted(where), (where, listed[:800])
