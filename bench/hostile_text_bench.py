"""Hostile text bench: article reading on pathological input against ordinary article text of the
same size, timed in the same run, at 10 KB, 100 KB and 1 MB.

    .venv/bin/python -m bench.hostile_text_bench            # 10 KB, 100 KB, 1 MB
    .venv/bin/python -m bench.hostile_text_bench --quick    # 10 KB and 100 KB

For every pattern (unclosed Markdown emphasis and links, nested brackets, fences, runs of stops,
blank-line runs, HTML fragments, one endless word, ...) it prints the time per size, the ratio
to the baseline of the same size, and the growth exponent between the smallest and largest size
(1.0 is linear; reading was quadratic, 2.0, on several of these). Never fails on time: the
verdict is MISS when an exponent exceeds 1.3 or a ratio exceeds 20x.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from bench import harness
from bench.harness import ROOT, Report, once
from tests.support.articles import reader
from tracker.errors import TextInputError

HELDOUT = ROOT / "tests" / "services" / "articles" / "heldout"
KB = 1000

# name -> (format, unit repeated to the size)
PATTERNS: dict[str, tuple[str, str]] = {
    "md-emphasis '*a '": ("markdown", "*a "),
    "md-strong '**a '": ("markdown", "**a "),
    "md-underscore '__a '": ("markdown", "__a "),
    "md-brackets '['": ("markdown", "["),
    "md-image '!['": ("markdown", "!["),
    "md-link-open '[a]('": ("markdown", "[a]("),
    "md-nested '[[a]'": ("markdown", "[[a]"),
    "md-backticks '`a '": ("markdown", "`a "),
    "md-fences '```'": ("markdown", "```\nword\n"),
    "md-headings '# '": ("markdown", "#  \n"),
    "md-list ' - '": ("markdown", " - \n"),
    "blank-lines '\\n \\n'": ("markdown", "\n \t\n"),
    "stops '.'": ("text", "."),
    "stops '?!'": ("text", "?!"),
    "closers '.\")'": ("text", '.")'),
    "abbreviations 'No. '": ("text", "No. "),
    "initials 'A. '": ("text", "A. "),
    "digits '1.2 '": ("text", "1.2 "),
    "capitals 'Aa Bb '": ("text", "Aa Bb "),
    "one word 'a'": ("text", "a"),
    "spaces+tabs 'a \\t'": ("text", "a \t"),
    "html '<'": ("html", "<"),
    "html attrs '<a b='": ("html", "<a b="),
    "html comment '<!--'": ("html", "<!--a"),
    "html entities '&#'": ("html", "&#1"),
    "html blocks '<p> </p>'": ("html", "<p> \n </p>"),
    "html blank lines": ("html", "\n \n"),
}


def baseline_text() -> str:
    """Ordinary article text: the held-out articles, joined as one long article."""
    texts = [p.read_text(encoding="utf-8") for p in sorted(HELDOUT.glob("*.txt"))]
    return "\n\n".join(texts)


def sized(unit: str, size: int) -> str:
    """`unit` repeated to exactly `size` characters, with a word at the front so there is text to read."""
    body = unit * (size // len(unit) + 1)
    return ("Report. " + body)[:size]


def _reading(text: str, fmt: str) -> Callable[[], object]:
    def run() -> object:
        try:
            return reader.read(text, fmt=fmt)
        except TextInputError:
            return None  # "no text to read" is an answer too; it is the time that is measured
    return run


def exponent(t_small: float, t_large: float, n_small: int, n_large: int) -> float:
    """The growth exponent k in t ~ n**k between two sizes."""
    if t_small <= 0 or t_large <= 0:
        return float("nan")
    return math.log(t_large / t_small) / math.log(n_large / n_small)


def main() -> None:
    """Time every pattern and the baseline at each size; print and write the table."""
    args = harness.parser(__doc__, "10 KB and 100 KB only").parse_args()
    sizes = [10 * KB, 100 * KB] if args.quick else [10 * KB, 100 * KB, 1000 * KB]
    rep = Report("hostile-text")
    base = baseline_text()
    base_times: dict[int, float] = {}
    rep.section("baseline: held-out articles, repeated to the size")
    for size in sizes:
        text = (base * (size // len(base) + 1))[:size]
        repeat = 3 if size <= 100 * KB else 1
        samples = harness.timed(_reading(text, "text"), repeat=repeat, warmup=1 if repeat > 1 else 0)
        base_times[size] = rep.timing(f"baseline/{size}", f"baseline {size // KB} KB", samples)
    worst_exp, worst_ratio = 0.0, 0.0
    for name, (fmt, unit) in PATTERNS.items():
        rep.section(f"{name} ({fmt})")
        times: dict[int, float] = {}
        for size in sizes:
            seconds, _ = once(_reading(sized(unit, size), fmt))
            times[size] = seconds
            r = rep.compare(f"{name}/{size}", f"{size // KB} KB: {seconds:.3f} s vs baseline", seconds,
                            base_times[size])
            worst_ratio = max(worst_ratio, r)
        k = exponent(times[sizes[0]], times[sizes[-1]], sizes[0], sizes[-1])
        rep.data[f"{name}/exponent"] = k
        rep.row("growth exponent (1.0 = linear)", f"{k:.2f}")
        if not math.isnan(k):
            worst_exp = max(worst_exp, k)
    base_k = exponent(base_times[sizes[0]], base_times[sizes[-1]], sizes[0], sizes[-1])
    rep.section("verdicts")
    rep.row("baseline growth exponent", f"{base_k:.2f}")
    rep.verdict("worst growth exponent <= 1.3", worst_exp <= 1.3, f"{worst_exp:.2f}")
    rep.verdict("worst ratio to baseline <= 20x", worst_ratio <= 20, f"{worst_ratio:.2f}x")
    rep.write(sizes=sizes)


if __name__ == "__main__":
    main()
