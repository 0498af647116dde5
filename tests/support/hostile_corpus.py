"""The hostile corpus of issue 14: generated files of every hostile class plus the public corpora the
project already uses, each fed through the CLI commands that take it, in subprocesses.

Every outcome is one of: accepted (exit 0), a clear error (exit 1 or 2, a short message), or a
failure (a traceback, a hang, another exit code, or the registry changed by a refused command).
`tests/services/test_hostile_corpus.py` asserts there are no failures; `python -m bench.hostile_corpus`
writes the counts to bench/out/.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.cli import TRACEBACK, cli_env, run_cli

ROOT = Path(__file__).resolve().parents[2]
PLANT = "february-11-plant"
SQUARE = [[[10, 10], [10.01, 10], [10.01, 10.01], [10, 10.01], [10, 10]]]


@dataclass(frozen=True)
class Case:
    """One command run on one hostile input."""

    cls: str  # the class of fault (geojson, kml, kmz, csv, text, geotiff, non-file, args, settings, output, public)
    name: str
    args: tuple[str | bytes, ...]
    program: str = "facilities"
    env: tuple[tuple[str, str], ...] = ()
    writes: bool = False  # a command that may change the registry when it succeeds


@dataclass
class Outcome:
    """What a case did."""

    case: Case
    verdict: str  # "accepted", "clear error" or "failure"
    returncode: int
    detail: str

    def as_dict(self) -> dict:
        """JSON-ready."""
        return {"class": self.case.cls, "name": self.case.name, "program": self.case.program,
                "args": [a if isinstance(a, str) else repr(a) for a in self.case.args],
                "verdict": self.verdict, "returncode": self.returncode, "detail": self.detail}


@dataclass
class Corpus:
    """The generated files (under `root`) and the cases that use them."""

    root: Path
    cases: list[Case] = field(default_factory=list)

    def file(self, name: str, data: bytes | str) -> str:
        """Write a corpus file; its path as a string."""
        path = self.root / "files" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        return str(path)

    def add(self, cls: str, name: str, *args: str | bytes, program: str = "facilities", writes: bool = False,
            **env: str) -> None:
        """One case."""
        self.cases.append(Case(cls, name, tuple(args), program, tuple(env.items()), writes))

    def vector(self, cls: str, name: str, path: str) -> None:
        """A vector file through validate and import (import may change the registry when it succeeds)."""
        self.add(cls, f"{name} (validate)", "validate", path)
        self.add(cls, f"{name} (import)", "import", path, writes=True)


def _fc(*features: object, **extra: object) -> str:
    return json.dumps({"type": "FeatureCollection", "features": list(features), **extra})


def _feature(geometry: object, fid: str = "f-1", **props: object) -> dict:
    return {"type": "Feature", "id": fid, "properties": {"name": "Site", **props}, "geometry": geometry}


def _poly(coords: object = SQUARE) -> dict:
    return {"type": "Polygon", "coordinates": coords}


def geojson_cases(c: Corpus) -> None:
    """Broken and odd GeoJSON (reliability brief 3.1 #1-#22)."""
    good = _fc(_feature(_poly()))
    files = {
        "cut-mid-array": good[: len(good) // 2],
        "not-json": "this is not json",
        "empty": "",
        "whitespace": "   \n\t ",
        "bom": "\ufeff" + good,
        "utf16": good.encode("utf-16"),
        "invalid-utf8": good.encode().replace(b"Site", b"S\xffte"),
        "deep-nesting": "[" * 100_000,
        "deep-objects": '{"a":' * 50_000,
        "nan": good.replace("10.01", "NaN", 1),
        "infinity": good.replace("10.01", "Infinity", 1),
        "huge-number": good.replace("10.01", "1e400", 1),
        "5000-digit-int": _fc(_feature(_poly(), big=0)).replace('"big": 0', '"big": ' + "9" * 5000),
        "duplicate-keys": good.replace('"type": "Polygon"', '"type": "Point", "type": "Polygon"'),
        "crs-metres": _fc(_feature(_poly([[[500000, 4649776], [500100, 4649776], [500100, 4649876],
                                           [500000, 4649776]]])),
                          crs={"type": "name", "properties": {"name": "EPSG:32633"}}),
        "lat-95": _fc(_feature(_poly([[[10, 95], [11, 95], [11, 96], [10, 95]]]))),
        "unclosed-ring": _fc(_feature(_poly([[[10, 10], [11, 10], [11, 11], [10, 11]]]))),
        "short-ring": _fc(_feature(_poly([[[10, 10], [11, 10], [10, 10]]]))),
        "bowtie": _fc(_feature(_poly([[[10, 10], [11, 11], [11, 10], [10, 11], [10, 10]]]))),
        "null-geometry": _fc(_feature(None)),
        "empty-coordinates": _fc(_feature(_poly([]))),
        "string-coordinates": _fc(_feature(_poly([[["10", "10"], ["11", "10"], ["11", "11"], ["10", "10"]]]))),
        "lowercase-type": good.replace('"FeatureCollection"', '"featurecollection"'),
        "unknown-type": good.replace('"Polygon"', '"Polygonz"'),
        "geometrycollection-nested": _fc(_feature({"type": "GeometryCollection", "geometries": [
            {"type": "GeometryCollection", "geometries": [_poly()]}]})),
        "4d": _fc(_feature(_poly([[[10, 10, 1, 2], [11, 10, 1, 2], [11, 11, 1, 2], [10, 10, 1, 2]]]))),
        "features-not-list": json.dumps({"type": "FeatureCollection", "features": {"a": 1}}),
        "properties-int": json.dumps({"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": 5, "geometry": _poly()}]}),
        "id-object": _fc(_feature(_poly(), fid={"a": 1})),  # type: ignore[arg-type]
        "top-level-array": "[1, 2, 3]",
        "top-level-number": "42",
        "top-level-null": "null",
        "2000-properties": _fc(_feature(_poly(), **{f"p{i}": i for i in range(2000)})),
        "hostile-names": _fc(_feature(_poly(), fid="<script>", name="<img src=x onerror=alert(1)> ${x} `\u202e")),
        "antimeridian": _fc(_feature(_poly([[[179.9, 10], [-179.9, 10], [-179.9, 11], [179.9, 11], [179.9, 10]]]))),
        "nul-in-string": _fc(_feature(_poly(), name="a\u0000b")),
        "lone-surrogate-escape": good.replace('"Site"', '"\\ud800"'),
        "empty-collection": _fc(),
    }
    for name, data in files.items():
        c.vector("geojson", name, c.file(f"geojson/{name}.geojson", data))


def kml_cases(c: Corpus) -> None:
    """Hostile and broken KML (billion laughs, XXE, NetworkLink, odd coordinates)."""
    head = '<?xml version="1.0"?>\n'
    doc = '<kml xmlns="http://www.opengis.net/kml/2.2"><Document>{}</Document></kml>'
    pm = ("<Placemark><name>{name}</name><Polygon><outerBoundaryIs><LinearRing><coordinates>{coords}"
          "</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark>")
    ok = "10,10 10.01,10 10.01,10.01 10,10.01 10,10"
    files = {
        "billion-laughs": head + '<!DOCTYPE lolz [<!ENTITY lol "lol">' + "".join(
            f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">' for i in range(1, 10))
        + "]>" + doc.format(pm.format(name="&lol9;", coords=ok)),
        "xxe": head + '<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>' + doc.format(
            pm.format(name="&xxe;", coords=ok)),
        "not-xml": "<kml><Document><Placemark>",
        "empty": "",
        "networklink": head + doc.format("<NetworkLink><Link><href>http://127.0.0.1:9/x.kml</href></Link>"
                                         "</NetworkLink>"),
        "garbage-coordinates": head + doc.format(pm.format(name="x", coords="a,b c,d")),
        "two-points": head + doc.format(pm.format(name="x", coords="10,10 11,11")),
        "nan-coordinates": head + doc.format(pm.format(name="x", coords="nan,10 11,10 11,11 nan,10")),
        "deep-nesting": head + "<kml>" + "<Folder>" * 20000 + "</Folder>" * 20000 + "</kml>",
        "hostile-name": head + doc.format(pm.format(name="&lt;script&gt;alert(1)&lt;/script&gt; ${x}", coords=ok)),
        "no-placemarks": head + doc.format(""),
        "utf16": (head.replace("?>", ' encoding="utf-16"?>') + doc.format(pm.format(name="x", coords=ok)))
        .encode("utf-16"),
    }
    for name, data in files.items():
        c.vector("kml", name, c.file(f"kml/{name}.kml", data))


def _zip(members: dict[str, bytes], compress: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compress) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def kmz_cases(c: Corpus) -> None:
    """KMZ: a zip bomb, path traversal, no KML inside, not a zip."""
    kml = (b'<kml xmlns="http://www.opengis.net/kml/2.2"><Placemark><name>x</name><Polygon><outerBoundaryIs>'
           b"<LinearRing><coordinates>10,10 10.01,10 10.01,10.01 10,10</coordinates></LinearRing>"
           b"</outerBoundaryIs></Polygon></Placemark></kml>")
    files = {
        "zip-bomb": _zip({"doc.kml": b"<kml>" + b" " * (300 * 2**20) + b"</kml>"}),
        "traversal": _zip({"../../evil.kml": kml, "/etc/x.kml": kml}),
        "no-kml": _zip({"readme.txt": b"hello"}),
        "empty-zip": _zip({}),
        "not-a-zip": b"PK\x03\x04 this is not a zip",
        "truncated": _zip({"doc.kml": kml})[:40],
        "many-members": _zip({f"f{i}.kml": kml for i in range(2000)}),
    }
    for name, data in files.items():
        c.vector("kmz", name, c.file(f"kmz/{name}.kmz", data))


def csv_cases(c: Corpus) -> None:
    """CSV with WKT (the vector formats' reader), and CSV where GeoJSON is expected."""
    files = {
        "wkt-garbage": "id,name,wkt\n1,a,POLYGON((\n",
        "empty": "",
        "header-only": "id,name,wkt\n",
        "binary": b"\x00\x01\x02\xff" * 100,
        "quotes": 'id,name,wkt\n1,"unterminated,POINT (1 1)\n',
        "wide": ",".join(f"c{i}" for i in range(5000)) + "\n" + ",".join("1" for _ in range(5000)) + "\n",
    }
    for name, data in files.items():
        c.vector("csv", name, c.file(f"csv/{name}.csv", data))


def text_cases(c: Corpus) -> None:
    """Articles: pathological Markdown/HTML, binary, encodings, control characters, size."""
    files = {
        "emphasis.md": "*a " * 100_000,
        "brackets.md": "[" * 100_000,
        "fences.md": "```\nword\n" * 20_000,
        "stops.txt": "." * 200_000,
        "blank-lines.html": "<p>Report.</p>" + "\n \n" * 100_000,
        "script.html": "<html><body><script>alert(1)</script><p>The Rakwon plant expanded in 2021.</p></body></html>",
        "nul.txt": "The plant\x00 expanded.\x00" * 10,
        "invalid-utf8.txt": b"The plant \xff\xfe expanded in 2021 near Pyongyang.",
        "utf16-bom.txt": "The plant expanded in 2021.".encode("utf-16"),
        "rtl-zero-width.txt": "The \u202eplant\u200b expanded\u2066 in 2021.",
        "pdf.txt": b"%PDF-1.7\n" + bytes(range(256)) * 10,
        "empty.txt": "",
        "only-markup.html": "<html><script>x</script></html>",
        "huge-article.txt": "word " * 500_000,  # 2.5 M characters in one article: over the per-article limit
        "bad-feed.rss": "<?xml version='1.0'?><rss><channel><item><title>x</title><description>" * 100,
        "urls-coordinates.txt": "See http://127.0.0.1:9/x and 39.0392° N, 125.7625° E; also 95°N 200°E.",
    }
    for name, data in files.items():
        c.add("text", name, "ingest", c.file(f"text/{name}", data))
    c.add("text", "bad --date", "ingest", "--date", "2024-02-30", c.file("text/ok.txt", "The plant expanded."))


def geotiff_cases(c: Corpus) -> None:
    """Raster headers where vectors or text are expected (no CLI command imports images)."""
    files = {
        "tiff-header.tif": b"II*\x00\x08\x00\x00\x00" + b"\x00" * 64,
        "bigtiff-header.tif": b"II+\x00\x08\x00\x00\x00\x10\x00\x00\x00\x00\x00\x00\x00",
        "vrt-as-tif.tif": '<VRTDataset rasterXSize="1" rasterYSize="1"><VRTRasterBand dataType="Byte" band="1">'
                          '<SimpleSource><SourceFilename>/vsicurl/http://127.0.0.1:9/x.tif</SourceFilename>'
                          "</SimpleSource></VRTRasterBand></VRTDataset>",
        "png-as-tif.tif": b"\x89PNG\r\n\x1a\n" + b"\x00" * 100,
        "tiff-as-geojson.geojson": b"II*\x00\x08\x00\x00\x00" + b"\x00" * 64,
    }
    for name, data in files.items():
        path = c.file(f"geotiff/{name}", data)
        c.vector("geotiff", name, path)
        c.add("geotiff", f"{name} (ingest)", "ingest", path)


def non_file_cases(c: Corpus) -> None:
    """Paths that are not regular files: devices, a FIFO, a directory, /proc, symlink loops, missing."""
    base = c.root / "files" / "nonfile"
    base.mkdir(parents=True, exist_ok=True)
    fifo = base / "pipe.geojson"
    if not fifo.exists():
        os.mkfifo(fifo)
    (base / "folder.geojson").mkdir(exist_ok=True)
    loop = base / "loop.geojson"
    if not loop.is_symlink():
        loop.symlink_to(loop)
    broken = base / "broken.geojson"
    if not broken.is_symlink():
        broken.symlink_to(base / "nowhere")
    odd = base / "new\nline.geojson"
    odd.write_text(_fc(_feature(_poly(), fid="newline-name")), encoding="utf-8")
    paths = {"dev-zero": "/dev/zero", "dev-urandom": "/dev/urandom", "fifo": str(fifo),
             "directory": str(base / "folder.geojson"), "proc-status": "/proc/self/status", "loop": str(loop),
             "broken-link": str(broken), "missing": str(base / "missing.geojson"), "newline-name": str(odd)}
    for name, path in paths.items():
        c.vector("non-file", name, path)
        c.add("non-file", f"{name} (ingest)", "ingest", path)
        c.add("non-file", f"{name} (--geometry)", "add", "Odd", "--geometry", path, writes=True)


def arg_cases(c: Corpus) -> None:
    """Odd command-line arguments."""
    for g in ["[1,2]", "5", "null", "{}", '{"type":"Point"}', "POLYGON((", "", "[" * 50_000, "POINT (nan nan)",
              "POLYGON EMPTY", '{"type":"Polygon","coordinates":[[[0,0],[1,1],[0,0]]]}']:
        c.add("args", f"add --geometry {g[:20]!r}", "add", "Odd", "--geometry", g, writes=True)
    sq = "POLYGON((10 10, 10.01 10, 10.01 10.01, 10 10.01, 10 10))"
    c.add("args", "add: id of 20000 characters", "add", "Long", "--id", "x" * 20_000, "--geometry", sq, writes=True)
    c.add("args", "add: empty name", "add", "", "--geometry", sq, writes=True)
    c.add("args", "add: bad status", "add", "S", "--geometry", sq, "--status", "<b>", writes=True)
    for arg in (b"\xff", b"plant-\xc3", b"\xed\xa0\x80"):
        c.add("args", f"show {arg!r}", "show", arg)
        c.add("args", f"add {arg!r}", "add", arg, "--geometry", sq, writes=True)
        c.add("args", f"report pdf {arg!r}", "pdf", arg, program="tracker-report")
    for d in ["2020", "2020x", "2024-02-30", "0001", "99999", "~", "2024-13", ""]:
        c.add("args", f"export --from {d!r}", "export", "-", "--from", d)
        c.add("args", f"report kml --from {d!r}", "kml", str(c.root / "out" / "k.kml"), "--from", d,
              program="tracker-report")
        c.add("args", f"observe --date {d!r}", "observe", PLANT, "--date", d, "--kind", "progress", "--summary",
              "x", writes=True)
    for b in ["1,2,3", "a,b,c,d", "0,10,5,0", "nan,0,1,1", "-200,0,0,1"]:
        c.add("args", f"list --bbox {b!r}", "list", "--bbox", b)
    c.add("args", "show: unknown id", "show", "no-such-facility")
    c.add("args", "show: NUL in id", "show", "a\x01b")
    c.add("args", "export --precision 0", "export", "-", "--precision", "0")
    c.add("args", "figures --dpi 0", "figures", PLANT, "--dpi", "0", "-o", str(c.root / "out" / "fig0"),
          program="tracker-report")


def settings_cases(c: Corpus) -> None:
    """Bad settings, for a reading and a writing command of each entry point."""
    toml = c.file("settings/broken.toml", "max_import_mb = = 3\n")
    badval = c.file("settings/badval.toml", 'request_timeout = "soon"\n')
    folder = c.root / "files" / "settings" / "registry.gpkg"
    folder.mkdir(parents=True, exist_ok=True)
    envs = {"max-import-mb-abc": {"TRACKER_MAX_IMPORT_MB": "abc"}, "timeout-0": {"TRACKER_REQUEST_TIMEOUT": "0"},
            "allow-hosts-not-json": {"TRACKER_IMAGERY_ALLOW_HOSTS": "localhost"},
            "log-level": {"TRACKER_LOG_LEVEL": "loud"}, "broken-toml": {"TRACKER_CONFIG": toml},
            "bad-toml-value": {"TRACKER_CONFIG": badval}, "registry-is-directory": {"TRACKER_DATABASE": str(folder)},
            "config-is-directory": {"TRACKER_CONFIG": str(folder)}, "data-dir-is-file": {"TRACKER_DATA_DIR": toml}}
    for name, env in envs.items():
        c.add("settings", f"{name} (list)", "list", **env)
        c.add("settings", f"{name} (import)", "import", c.file("settings/ok.geojson", _fc(_feature(_poly()))),
              writes=True, **env)
        c.add("settings", f"{name} (report kml)", "kml", str(c.root / "out" / "s.kml"), program="tracker-report",
              **env)


def output_cases(c: Corpus) -> None:
    """Writing where one cannot: a directory, below a file, a device."""
    out = c.root / "files" / "output"
    (out / "dir.geojson").mkdir(parents=True, exist_ok=True)
    blocker = out / "blocker"
    blocker.write_text("a file", encoding="utf-8")
    targets = {"directory": str(out / "dir.geojson"), "below-a-file": str(blocker / "x.geojson"),
               "proc": "/proc/self/x.geojson", "device": "/dev/null"}
    for name, target in targets.items():
        c.add("output", f"export to {name}", "export", target)
        c.add("output", f"report kml to {name}", "kml", target, program="tracker-report")
        c.add("output", f"report geojson to {name}", "geojson", target, program="tracker-report")
    c.add("output", "report html below a file", "html", PLANT, "-o", str(blocker), program="tracker-report")
    c.add("output", "figures below a file", "figures", PLANT, "-o", str(blocker), program="tracker-report")


def public_cases(c: Corpus) -> None:
    """The corpora the project already uses: held-out and seed articles, feeds, the seed registry, the recorded
    real-service answers (STAC item collections are FeatureCollections too)."""
    for p in sorted((ROOT / "tests" / "services" / "articles" / "heldout").glob("*.txt")):
        c.add("public", f"heldout {p.name}", "ingest", str(p))
    for p in sorted((ROOT / "seeds" / "texts").glob("*")):
        c.add("public", f"seed text {p.name}", "ingest", str(p))
    for p in sorted((ROOT / "tests" / "services" / "articles" / "feeds").glob("*")):
        c.add("public", f"feed {p.name}", "ingest", str(p))
    c.vector("public", "seeds/facilities.geojson", str(ROOT / "seeds" / "facilities.geojson"))
    fixtures = Path("/work/shared/fixtures/real-services")
    for p in sorted(fixtures.glob("*/*.json")):
        c.vector("public", f"{p.parent.name}/{p.name}", str(p))


BUILDERS: dict[str, Callable[[Corpus], None]] = {
    "geojson": geojson_cases, "kml": kml_cases, "kmz": kmz_cases, "csv": csv_cases, "text": text_cases,
    "geotiff": geotiff_cases, "non-file": non_file_cases, "args": arg_cases, "settings": settings_cases,
    "output": output_cases, "public": public_cases}


def build(root: Path, classes: list[str] | None = None) -> Corpus:
    """Generate the corpus files under `root` and list the cases."""
    corpus = Corpus(root)
    for name, builder in BUILDERS.items():
        if classes is None or name in classes:
            builder(corpus)
    return corpus


def seeded_registry(root: Path) -> Path:
    """A seeded registry to copy for each class."""
    path = root / "seed" / "registry.gpkg"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        res = run_cli(["init", "-q"], env=cli_env(path.parent), cwd=path.parent)
        assert res.returncode == 0, res
    return path


def classify(case: Case, returncode: int, stdout: str, stderr: str, changed: bool) -> Outcome:
    """accepted / clear error / failure, from what the command did."""
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    if TRACEBACK in stderr or TRACEBACK in stdout or returncode == -1:
        both = stderr + stdout
        at = both.find(TRACEBACK)
        return Outcome(case, "failure", returncode, f"traceback or hang: {both[max(at, 0):][-1200:]}")
    if returncode == 0:
        if changed and not case.writes:
            return Outcome(case, "failure", 0, "a read-only command changed the registry")
        return Outcome(case, "accepted", 0, (stdout.strip().splitlines() or [""])[-1][:200])
    if changed:
        return Outcome(case, "failure", returncode, "refused, but the registry changed")
    if returncode in (1, 2) and 0 < len(lines) <= 30:
        return Outcome(case, "clear error", returncode, lines[-1][:300])
    return Outcome(case, "failure", returncode, f"unclear refusal: {stderr.strip()[-300:]!r}")


def _arg(value: str | bytes) -> str:
    return value.decode("utf-8", "surrogateescape") if isinstance(value, bytes) else value  # as Python's argv


def _run_batch(cases: list[Case], home: Path, timeout: float) -> list[Outcome]:
    """Cases one after another in one worker process (tests.support.hostile_worker) on the registry in `home`."""
    if not cases:
        return []
    payload = [{"args": [_arg(a) for a in c.args], "program": c.program, "cwd": str(home),
                "env": cli_env(home, **dict(c.env)), "db": str(home / "registry.gpkg"), "timeout": timeout}
               for c in cases]
    env = cli_env(home)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    res = subprocess.run([sys.executable, "-m", "tests.support.hostile_worker"], input=json.dumps(payload),
                         capture_output=True, text=True, env=env, cwd=ROOT, timeout=timeout * len(cases) + 300)
    if res.returncode != 0:
        raise RuntimeError(f"hostile worker failed: {res.stderr[-3000:]}")
    return [classify(c, r["returncode"], r["stdout"], r["stderr"], r["changed"])
            for c, r in zip(cases, json.loads(res.stdout), strict=True)]


def run_class(corpus: Corpus, cls: str, seed: Path, timeout: float = 120) -> list[Outcome]:
    """Every case of one class: the read-only ones and the ones that may write each in their own worker
    process on their own copy of the seeded registry (writes one after another), side by side."""
    cases = [c for c in corpus.cases if c.cls == cls]
    homes = []
    for part in ("read", "write"):
        home = corpus.root / "homes" / cls / part
        (home / "out").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(seed, home / "registry.gpkg")
        homes.append(home)
    readers = [c for c in cases if not c.writes]
    writers = [c for c in cases if c.writes]
    with ThreadPoolExecutor(2) as pool:
        got_r = pool.submit(_run_batch, readers, homes[0], timeout)
        got_w = pool.submit(_run_batch, writers, homes[1], timeout)
        outcomes = got_r.result() + got_w.result()
    order = {id(c): n for n, c in enumerate(cases)}
    return sorted(outcomes, key=lambda o: order[id(o.case)])


def counts(outcomes: list[Outcome]) -> dict[str, int]:
    """tried / clear error / accepted / failure."""
    return {"tried": len(outcomes), "clear error": sum(o.verdict == "clear error" for o in outcomes),
            "accepted": sum(o.verdict == "accepted" for o in outcomes),
            "failure": sum(o.verdict == "failure" for o in outcomes)}


def iter_report(outcomes: list[Outcome]) -> Iterator[str]:
    """Lines of a table: counts per class, then every failure."""
    classes = sorted({o.case.cls for o in outcomes})
    for cls in classes:
        n = counts([o for o in outcomes if o.case.cls == cls])
        yield f"{cls:10} tried {n['tried']:4}  clear error {n['clear error']:4}  accepted {n['accepted']:4}  " \
              f"failure {n['failure']:3}"
    n = counts(outcomes)
    yield f"{'all':10} tried {n['tried']:4}  clear error {n['clear error']:4}  accepted {n['accepted']:4}  " \
          f"failure {n['failure']:3}"
    for o in outcomes:
        if o.verdict == "failure":
            yield f"FAILURE [{o.case.cls}] {o.case.name}: {o.detail}"
