"""The February 11 Plant's report as an editor gets it (issue 17 item 1): the seeded registry, two generated local
images over the plant imported and a change between them measured and accepted through the CLI, then
`facilities report pdf`. Checked on the PDF's text (pdftotext): no Python repr, the title block in words, the summary
sentences, every table header and confidence word whole, a credit under every image, the before/after figure's
caption; the pages rendered to PNG in the test's directory (look at them)."""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser

import numpy as np
import pytest
import rasterio
from affine import Affine
from pyproj import Transformer

from tests.support.cli import cli_in

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None or shutil.which("pdftoppm") is None,
                                reason="poppler-utils not installed (make report-tools)")
PLANT = (127.6568, 39.9209)  # the seed outline's centre
SIZE = 1800  # 1.8 km at 1 m: the outline (~1 km) with its margins
CREDIT = "Imagery © Test Imaging Co."
HEADERS = ("#", "Date", "Kind", "Id", "Summary", "Conf.", "Image", "Src.", "Fig.")


def _scene(path, seed: int, roof: bool):
    to_utm = Transformer.from_crs("EPSG:4326", "EPSG:32652", always_xy=True)
    cx, cy = to_utm.transform(*PLANT)
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    base = (np.sin(xx / 31.0) + np.cos(yy / 19.0)) * 30 + 100
    data = np.stack([base + 10 * b + rng.normal(0, 4, base.shape) for b in range(3)])
    if roof:  # a 120 m x 60 m roof north-east of the centre
        for b, v in enumerate((70, 120, 210)):
            data[b, 700:760, 1000:1120] = v
    with rasterio.open(path, "w", driver="GTiff", width=SIZE, height=SIZE, count=3, dtype="uint8", crs="EPSG:32652",
                       transform=Affine(1.0, 0, round(cx) - SIZE // 2, 0, -1.0, round(cy) + SIZE // 2)) as dst:
        dst.write(np.clip(data, 0, 255).astype("uint8"))
    return path


class _Captions(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.captions: list[str] = []
        self.images = 0
        self._in = False

    def handle_starttag(self, tag, attrs):
        if tag == "figcaption":
            self._in = True
            self.captions.append("")
        if tag == "img":
            self.images += 1

    def handle_endtag(self, tag):
        if tag == "figcaption":
            self._in = False

    def handle_data(self, data):
        if self._in:
            self.captions[-1] += data


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    mp = pytest.MonkeyPatch()
    mp.setenv("TRACKER_DATA_DIR", str(tmp / "data"))
    mp.setenv("TRACKER_OFFLINE", "1")
    try:
        run = cli_in(tmp, init=True)
        keys = []
        for i, (day, roof) in enumerate((("2021-04-02", False), ("2024-10-05", True))):
            tif = _scene(tmp / f"scene-{i}.tif", i, roof)
            out = run("imagery", "import", f"{tif}={day}", "--attribution", CREDIT).stdout
            keys.append(out.split("\t")[0])
        run("imagery", "change", "february-11-plant", "--before", keys[0], "--after", keys[1], "--accept")
        run("report", "pdf", "february-11-plant", "-o", str(tmp / "out"))
    finally:
        mp.undo()
    pdf = tmp / "out" / "february-11-plant.pdf"
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(pdf), str(tmp / "page")], check=True)
    html = (tmp / "out" / "february-11-plant.html").read_text("utf-8")
    return tmp, text, html


def test_no_python_repr_in_the_pdf(report):
    _tmp, text, _html = report
    for bad in ("['", "facility_ids=", "None", "Filters:"):
        assert bad not in text, bad


def test_title_block_and_summary_in_words(report):
    _tmp, text, _html = report
    assert re.search(r"Generated \d{1,2} [A-Z][a-z]+ \d{4}, \d\d:\d\d UTC", text)
    assert "All observations (2011 to 2024)" in text
    assert "By tester." in text
    flat = " ".join(text.split())
    assert "February 11 Plant (North Korea, missile production) has 2 recorded structures" in flat
    assert re.search(r"The images show [\d,]+ m² changed \([\d,]+–[\d,]+ m²\) in \d+ regions? between "
                     r"2 April 2021 and 5 October 2024", flat)


def test_the_country_is_named_not_coded(report):
    _tmp, text, _html = report
    flat = " ".join(text.split())
    assert "Country North Korea" in flat  # the site facts
    assert "February 11 Plant (North Korea," in flat  # the summary
    assert not re.search(r"\bKP\b", text), [line for line in text.splitlines() if re.search(r"\bKP\b", line)]


def test_the_first_and_last_dates_are_not_shown_again_beside_the_measured_pair(report):
    """The measured Before and after section replaces the old first/last pair figure (it drew the same two
    images without the measurement)."""
    tmp, text, html = report
    parser = _Captions()
    parser.feed(html)
    titled = [c for c in parser.captions if "Before and after (" in c]
    assert not titled, titled  # the old figure's caption: "Figure n. Before and after (<facility>-pair.png)"
    assert len([c for c in parser.captions if "Left:" in c]) == 1  # the measured pair, once
    assert not (tmp / "out" / "figures" / "february-11-plant-pair.png").exists()
    assert "february-11-plant-pair.png" not in html


def test_table_headers_and_confidence_words_are_never_split(report):
    _tmp, text, _html = report
    header = next(line for line in text.splitlines() if "Summary" in line and "Conf." in line)
    assert header.split() == list(HEADERS)
    words = set(re.findall(r"[\w.#]+", text))
    for conf in ("high", "medium", "low"):
        assert conf in words
    assert "Confide" not in words and "nce" not in words


def test_a_credit_under_every_image_and_the_before_after_caption(report):
    _tmp, text, html = report
    parser = _Captions()
    parser.feed(html)
    imagery = [c for c in parser.captions if not c.startswith(("Observations by date", "Top: observations"))]
    assert imagery, parser.captions
    for cap in imagery:
        assert "Credit:" in cap or "Natural Earth" in cap, cap
    pair = next(c for c in parser.captions if "Left:" in c)
    assert pair.count(f"Credit: {CREDIT}") == 2
    for words in ("2 April 2021 (date stated by the analyst who imported it)", "5 October 2024",
                  "Annotated by tester", "projected area", "Method:"):
        assert words in " ".join(pair.split()), words
    assert "Before and after" in text


def test_the_pages_render(report):
    tmp, _text, _html = report
    pages = sorted(tmp.glob("page-*.png"))
    assert len(pages) >= 3
    print("pages:", *pages)


def test_the_appendix_names_each_image_with_the_sha256_of_its_stored_file(report):
    """Berkeley Protocol practice: every image the report uses, hashed from the bytes kept, in the PDF and as JSON
    beside the report."""
    import hashlib
    import json

    tmp, text, html = report
    assert "Appendix: provenance" in text  # in the PDF; the hashes wrap inside their cells, so read them in the HTML
    stored = sorted((tmp / "data" / "imagery").glob("*.tif"))
    assert len(stored) == 2
    doc = json.loads((tmp / "out" / "february-11-plant-provenance.json").read_text("utf-8"))
    listed = json.dumps(doc)
    for tif in stored:
        digest = hashlib.sha256(tif.read_bytes()).hexdigest()
        assert digest in html and digest in listed
