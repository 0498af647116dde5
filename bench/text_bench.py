"""Text reader bench: precision and recall per kind on the gold set (tests/services/articles/gold), linking
accuracy, and throughput in articles of about 5,000 characters per minute on one core.

    .venv/bin/python -m bench.text_bench [--minutes 0.2] [--verbose]
    .venv/bin/python -m bench.text_bench --quick     # a 5-second throughput window (make bench)

Prints figures and writes them to bench/out/text-<date>.json; never fails on time (targets:
facility recall >= 0.9, precision >= 0.85; >= 1,000 articles a minute), PASS/MISS only.
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path
from typing import Any

from bench import harness
from bench.harness import ROOT, Report, once
from tracker.articles import Reader, load_resources
from tracker.articles.evaluate import (
    SCORED,
    Tally,
    date_values,
    score_article,
    score_attribution,
    score_links,
    score_values,
)
from tracker.seeding import read_seed

GOLD = ROOT / "tests" / "services" / "articles" / "gold"


def load_gold(gold_dir: Path = GOLD) -> list[tuple[str, str, dict]]:
    """(name, text, annotation) for every gold article."""
    out = []
    for path in sorted(gold_dir.glob("*.json")):
        doc = json.loads(path.read_text("utf-8"))
        out.append((path.stem, (path.parent / doc["text_file"]).read_text("utf-8"), doc))
    return out


def make_reader() -> tuple[Any, Reader]:
    """The lexicon and gazetteer, and a reader over them and the seed registry's facilities."""
    resources = load_resources()
    return resources, Reader(resources, read_seed().facilities)


def evaluate(reader: Reader, gold: list[tuple[str, str, dict]]) -> tuple[dict[str, Tally], tuple[int, int], int]:
    """Tallies per kind, (links right, links annotated) and languages detected as annotated."""
    tallies: dict[str, Tally] = {}
    links_ok = links_total = languages_ok = 0
    for name, text, doc in gold:
        results = reader.read_bytes(text.encode("utf-8"), name=doc["text_file"])
        found = [(m.kind, m.text) for r in results for m in r.mentions]
        score_article(doc["expected"], found, tallies, name)
        if "date" in doc["expected"]:
            score_values("date", doc["expected"]["date"], date_values(m for r in results for m in r.mentions),
                         tallies, name)
        if "attribution" in doc:
            score_attribution(doc["attribution"], [(p.facility_id, p.facility_name, p.evidence)
                                                   for r in results for p in r.proposals], tallies, name)
        ok, total = score_links(doc.get("links") or {}, [(lk.mention.text, lk.facility_id)
                                                         for r in results for lk in r.links])
        links_ok, links_total = links_ok + ok, links_total + total
        languages_ok += results[0].article.language == doc.get("language")
        a = results[0].article
        for key, want in (doc.get("source") or {}).items():
            got = getattr(a, key, None)
            meta = tallies.setdefault(f"source {key}", Tally())
            if got is not None and str(got) == want:
                meta.tp += 1
            else:
                meta.fn += 1
                meta.misses.append(f"{name}: {got!r} (want {want!r})")
    return tallies, (links_ok, links_total), languages_ok


def corpus(gold: list[tuple[str, str, dict]], size: int = 5000) -> list[str]:
    """Articles of about `size` characters, made by joining gold articles in turn."""
    texts = [t for _, t, _ in gold]
    out, i = [], 0
    for _ in range(len(texts)):
        parts: list[str] = []
        while sum(map(len, parts)) < size:
            parts.append(texts[i % len(texts)])
            i += 1
        out.append("\n\n".join(parts)[:size])
    return out


def throughput(reader: Reader, articles: list[str], seconds: float) -> tuple[float, int]:
    """Articles read per minute over a window of `seconds`, and how many were read."""
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        reader.read(articles[n % len(articles)])
        n += 1
    return n / (time.perf_counter() - start) * 60, n


def tokenise_throughput(articles: list[str], seconds: float) -> tuple[float, int]:
    """The baseline: splitting the same articles into words, nothing more."""
    words = re.compile(r"\w+")
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        words.findall(articles[n % len(articles)])
        n += 1
    return n / (time.perf_counter() - start) * 60, n


def main(argv: list[str] | None = None) -> int:
    """Score the reader on the gold set, measure its throughput, print and save the figures."""
    ap = harness.parser(__doc__, "the gold set, a 5-second throughput window (--minutes 0.083)")
    ap.add_argument("--minutes", type=float, help="how long to measure throughput (default 0.2)")
    ap.add_argument("--gold", type=Path, default=GOLD,
                    help="annotated articles to score (e.g. tests/services/articles/heldout)")
    ap.add_argument("--verbose", "-v", action="store_true", help="list false positives and misses")
    args = ap.parse_args(argv)
    minutes = args.minutes if args.minutes is not None else (5 / 60 if args.quick else 0.2)
    rep = Report("text")
    load_s, (resources, reader) = once(make_reader)
    rep.out(f"loading lexicon and gazetteer ({len(resources.gazetteer):,} names): {load_s:.2f} s")
    gold = load_gold(args.gold)
    tallies, (links_ok, links_total), languages_ok = evaluate(reader, gold)
    rep.data.update(load_s=load_s, gold=str(args.gold), articles=len(gold), links=[links_ok, links_total],
                    languages=languages_ok)
    rep.out(f"gold set: {len(gold)} articles")
    rep.out(f"{'kind':10} {'precision':>9} {'recall':>7} {'f1':>6} {'tp':>4} {'fp':>4} {'fn':>4}")
    scores = rep.data.setdefault("scores", {})
    for kind in [*SCORED, "date", "attribution"]:
        if kind not in tallies:
            continue
        t = tallies[kind]
        scores[kind] = {"precision": t.precision, "recall": t.recall, "f1": t.f1, "tp": t.tp, "fp": t.fp, "fn": t.fn}
        rep.out(f"{kind:10} {t.precision:9.3f} {t.recall:7.3f} {t.f1:6.3f} {t.tp:4} {t.fp:4} {t.fn:4}")
        if args.verbose:
            for x in t.false_positives:
                rep.out(f"    false positive  {x}")
            for x in t.misses:
                rep.out(f"    missed          {x}")
    rep.out(f"links: {links_ok}/{links_total} facility mentions linked as annotated")
    for key in ("title", "publisher", "published", "url", "language"):
        t = tallies.get(f"source {key}")
        if t:
            scores[f"source {key}"] = {"tp": t.tp, "fn": t.fn}
            rep.out(f"source {key}: {t.tp}/{t.tp + t.fn} as annotated")
            if args.verbose:
                for x in t.misses:
                    rep.out(f"    {x}")
    rep.out(f"language: {languages_ok}/{len(gold)} articles detected as annotated")
    fac = tallies["facility"]
    rep.verdict("facility target (recall >= 0.9, precision >= 0.85)", fac.recall >= 0.9 and fac.precision >= 0.85,
                f"recall {fac.recall:.3f}, precision {fac.precision:.3f}")
    if minutes > 0:
        articles = corpus(gold)
        per_minute, n = throughput(reader, articles, minutes * 60)
        mean = sum(map(len, articles)) / len(articles)
        rep.out(f"throughput: {per_minute:,.0f} articles/minute of {mean:,.0f} characters on one core ({n} read)")
        base, _ = tokenise_throughput(articles, min(minutes * 60, 5.0))
        rep.out(f"baseline, same run: a plain tokenisation (regex words) reads {base:,.0f} articles/minute; "
                f"the reader costs {base / per_minute:,.0f} tokenisations")
        rep.data.update(per_minute=per_minute, read=n, mean_chars=mean, baseline_per_minute=base)
        linear = rep.data.setdefault("linear_s", {})
        for size in (5_000, 50_000, 500_000):
            text = ("\n\n".join(articles) * (size // sum(map(len, articles)) + 1))[:size]
            linear[size], _ = once(lambda text=text: reader.read(text))
            rep.out(f"linear check: {size:>7,} characters read in {linear[size]:6.2f} s")
        rep.verdict("speed target (>= 1,000 articles/min)", per_minute >= 1000, f"{per_minute:,.0f} articles/min")
    rep.write(quick=args.quick, minutes=minutes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
