"""The HTML/PDF site report: self-contained, escaped, and a PDF whose pages are not blank."""

from __future__ import annotations

import re
import subprocess

import numpy as np
import pytest
from PIL import Image

from imagery.local import LocalSource
from tests.support.reports import HOSTILE, KOREAN, make_imagery, make_store
from tracker.reports.site_report import build_report

pytestmark = pytest.mark.filterwarnings("ignore:Glyph:UserWarning")  # Hangul without a CJK font installed


def pdf_pages(pdf, out_dir, dpi: int = 40) -> list[np.ndarray]:
    subprocess.run(["pdftoppm", "-png", "-r", str(dpi), str(pdf), str(out_dir / "page")], check=True, timeout=120)
    return [np.asarray(Image.open(p).convert("L"), dtype=float) for p in sorted(out_dir.glob("page-*.png"))]


def test_full_report_html_and_pdf(tmp_path):
    store = make_store(tmp_path / "r.gpkg", name=HOSTILE, observations=6)
    make_imagery(tmp_path, tmp_path / "data", ["2019-06-01", "2023-08-09", "2024-10-05"])
    files = build_report(store, "february-11-plant", tmp_path / "out", LocalSource(tmp_path / "data"))
    html = files.html.read_text("utf-8")
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt; &amp; Co" in html
    assert "Valentine&#39;s &lt;b&gt;Day&lt;/b&gt; report" in html  # source titles escaped too
    srcs = re.findall(r'<img src="([^"]+)"', html)
    assert srcs and all(s.startswith("data:image/") for s in srcs)  # self-contained: nothing to fetch
    assert "Imagery © Test Imaging Co." in html and "[1]" in html and "Fig. 2" in html
    assert html.count("<tr><td>") == 6  # one table row per observation
    pages = pdf_pages(files.pdf, tmp_path)
    assert len(pages) >= 3
    for page in pages:
        assert page.std() > 5, "a PDF page is blank"
    assert files.figures.grid.exists() and files.figures.pair.exists() and files.figures.gif.exists()


@pytest.mark.parametrize("case", ["no-imagery", "one-date", "no-observations", "korean-long"])
def test_bad_inputs_still_give_a_report(tmp_path, case):
    name = KOREAN + " " + "긴 이름 " * 40 if case == "korean-long" else HOSTILE
    store = make_store(tmp_path / "r.gpkg", name=name, observations=0 if case == "no-observations" else 3,
                       structures=case != "no-observations")
    dates = {"no-imagery": [], "one-date": ["2024-10-05"]}.get(case, ["2019-06-01", "2024-10-05"])
    make_imagery(tmp_path, tmp_path / "data", dates)
    files = build_report(store, "february-11-plant", tmp_path / "out", LocalSource(tmp_path / "data"),
                         pdf=case != "one-date", dpi=100)
    html = files.html.read_text("utf-8")
    if case == "no-imagery":
        assert "No imagery covers this facility" in html and files.figures.paths == []
    if case == "one-date":
        assert "Only one image date" in html
    if case == "no-observations":
        assert "No observations are recorded" in html
    if case == "korean-long":
        assert KOREAN in html
    else:
        assert "&lt;img src=x" in html and "<img src=x" not in html
    if files.pdf is not None:
        assert all(page.std() > 5 for page in pdf_pages(files.pdf, tmp_path))
