"""Number labels on a chart that never overlap: the report's timeline numbers its observations above their marks,
and two observations of one kind on one date (or close dates) would print "12" over "13".

Each label is tried above its mark, then beside it (left and right, growing steps), then one line higher, and is
kept where its box meets no label placed before: greedy, in display space, on a figure whose layout is final (as
tracker.reports.maps.place_labels does for the site map's boxed labels; matplotlib has no overlap-free placement
of its own, and adjustText would be a new dependency for a dozen numbers).
"""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.axes import Axes
from matplotlib.transforms import Bbox

ABOVE = 3.0  # points between a mark and its number


def _offsets(step: float) -> list[tuple[float, float]]:
    """Candidate (dx, dy) in points, nearest first: above, beside it in growing steps, then a line higher."""
    out: list[tuple[float, float]] = []
    for dy in (ABOVE, ABOVE + 7.0, ABOVE + 14.0):
        out.append((0.0, dy))
        for k in range(1, 6):
            out += [(k * step, dy), (-k * step, dy)]
    return out


def place_numbers(ax: Axes, items: Sequence[tuple[float, float, str]], fontsize: float = 6,
                  pad: float = 0.5) -> list[Bbox]:
    """Draw each (x, y, text) in data coordinates above its point at the first offset where its box (grown by
    `pad` points) meets no earlier one; returns the boxes drawn, in display space. The figure's layout must be
    final before calling (call tight_layout first). When every offset is taken, the last one is used."""
    fig = ax.figure
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    grow = pad * fig.dpi / 72
    placed: list[Bbox] = []
    for x, y, text in items:
        step = fontsize * 0.62 * max(len(text), 1) + 1.5  # a digit is about 0.6 em wide
        candidates = _offsets(step)
        for n, (dx, dy) in enumerate(candidates):
            ann = ax.annotate(text, (x, y), xytext=(dx, dy), textcoords="offset points", fontsize=fontsize,
                              ha="center", va="bottom", annotation_clip=False)
            box = ann.get_window_extent(renderer)
            wide = Bbox.from_extents(box.x0 - grow, box.y0 - grow, box.x1 + grow, box.y1 + grow)
            if not any(wide.overlaps(b) for b in placed) or n == len(candidates) - 1:
                placed.append(wide)
                break
            ann.remove()
    return placed
