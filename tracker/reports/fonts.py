"""Fonts for Korean (and other CJK) names in report figures: found and registered once per process.

matplotlib builds its font list once and caches it on disk, so fonts installed later (`make run`,
`make test` install fonts-nanum where apt exists) are unknown to it until added; and the Nanum
bold files declare weight 600, so every bold label ("N" of the north arrow) logged "Failed to find
font weight bold for NanumGothic" once per report. `register_fonts` adds the CJK files it finds,
marks the `*Bold` files bold, puts them after DejaVu Sans as glyph fallbacks (matplotlib >= 3.6
falls back per glyph) and, where no CJK font exists, logs one line saying so and how to fix it.
The PDF needs nothing here: WeasyPrint finds the same files through fontconfig, and the template's
font-family lists them.
"""

from __future__ import annotations

import dataclasses
import logging
from functools import lru_cache
from pathlib import Path

import matplotlib
from matplotlib import font_manager

matplotlib.use("Agg")  # files only, never a window, whatever the environment says
log = logging.getLogger(__name__)

CJK_FAMILIES = ("NanumGothic", "Noto Sans CJK KR", "Noto Sans KR", "UnDotum")
FONT_DIRS = (Path("/usr/share/fonts/truetype/nanum"), Path("/usr/share/fonts/opentype/noto"),
             Path("/usr/share/fonts/truetype/unfonts-core"))
FALLBACK_NOTICE = ("No Korean font found (install fonts-nanum, e.g. `make run` where apt is available): "
                   "Hangul in report figures is drawn as empty boxes.")


def _cjk_files(dirs: tuple[Path, ...]) -> list[Path]:
    return sorted(p for d in dirs if d.is_dir() for p in d.iterdir()
                  if p.suffix.lower() in (".ttf", ".otf", ".ttc") and ("Nanum" in p.name or "CJK" in p.name
                                                                       or p.name.startswith("Un")))


@lru_cache(maxsize=1)
def register_fonts(dirs: tuple[Path, ...] = FONT_DIRS) -> tuple[str, ...]:
    """Add the CJK fonts found in `dirs` to matplotlib once per process and set the figure font list
    (DejaVu Sans, then the CJK families found); the families found, () with one logged notice if none."""
    manager = font_manager.fontManager
    known = {Path(f.fname) for f in manager.ttflist}
    for path in _cjk_files(dirs):
        if path not in known:
            manager.addfont(str(path))
    # Nanum's bold files say weight 600: asked for "bold" (700), matplotlib warned on every figure.
    manager.ttflist = [dataclasses.replace(f, weight=700)
                       if Path(f.fname).stem.endswith("Bold") and f.weight == 600 else f for f in manager.ttflist]
    manager._findfont_cached.cache_clear()  # type: ignore[attr-defined]  # the list changed under its cache
    have = {f.name for f in manager.ttflist}
    found = tuple(name for name in CJK_FAMILIES if name in have)
    if not found:
        log.warning(FALLBACK_NOTICE)
    matplotlib.rcParams["font.family"] = ["DejaVu Sans", *found]
    return found
