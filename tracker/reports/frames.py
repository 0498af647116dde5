"""Timelapse frames: an image's pixels for display, the site's outline drawn on them, and a stamp band below.

Pure apart from finding a font file: arrays and text in, Pillow images out. The stamp is a band added
under the image (it hides no pixel of the evidence) holding a few lines of text: the date and what it
means, the provider, the credit. Text is drawn with a Nanum font when one is installed (it draws Korean
as well as Latin), else with Pillow's own default font and a one-line notice saying so.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from imagery.chips import to_rgba8

NANUM_DIRS = (Path("/usr/share/fonts/truetype/nanum"), Path("/usr/share/fonts/nanum"),
              Path("/usr/local/share/fonts/nanum"))
NANUM_FILES = ("NanumGothic.ttf", "NanumBarunGothic.ttf", "NanumGothicBold.ttf")
BACKGROUND = (28, 28, 28)  # where an image has no data, and the stamp band
INK = (240, 240, 240)
OUTLINE = (255, 214, 0)  # the site's outline: yellow reads on fields, roofs and water alike
FONT_NOTICE = ("no Nanum font found (install fonts-nanum): frames are stamped with Pillow's default font, "
               "which draws Korean as boxes")

FontType = ImageFont.FreeTypeFont | ImageFont.ImageFont


@dataclass(frozen=True)
class StampFont:
    """A font for stamps at one size, and the notice to show once when it is the fallback (None for Nanum)."""

    font: FontType
    size: int
    notice: str | None


def nanum_path(dirs: Sequence[Path] = NANUM_DIRS) -> Path | None:
    """The first Nanum font file installed in `dirs`, or None."""
    for folder in dirs:
        for name in NANUM_FILES:
            if (folder / name).is_file():
                return folder / name
    return None


@functools.lru_cache(maxsize=8)
def stamp_font(size: int, dirs: tuple[Path, ...] = NANUM_DIRS) -> StampFont:
    """The stamp font at `size` px: Nanum when installed, else Pillow's default font with FONT_NOTICE."""
    path = nanum_path(dirs)
    if path is not None:
        return StampFont(ImageFont.truetype(str(path), size), size, None)
    return StampFont(ImageFont.load_default(size), size, FONT_NOTICE)


def font_size_for(width: int) -> int:
    """A legible stamp size for a frame `width` px wide (11 px at least)."""
    return max(11, round(width / 48))


def display_rgb(data: np.ndarray, nodata: float | None) -> np.ndarray:
    """(rows, cols, 3) uint8 for display: 8-bit bands as they are, others stretched (imagery.chips.to_rgba8), and
    pixels without data in the dark BACKGROUND."""
    rgba = to_rgba8(data, nodata)
    rgb = np.moveaxis(rgba[:3], 0, -1).copy()
    rgb[rgba[3] == 0] = BACKGROUND
    return rgb


def draw_outline(image: Image.Image, rings: Sequence[Sequence[tuple[float, float]]], *, width: int = 2) -> None:
    """Draw each ring ((column, row) pixel coordinates) on `image` in OUTLINE colour, in place."""
    draw = ImageDraw.Draw(image)
    for ring in rings:
        if len(ring) >= 2:
            draw.line([(float(x), float(y)) for x, y in ring], fill=OUTLINE, width=width, joint="curve")


def _fit(text: str, font: FontType, width: float) -> str:
    """The text cut with '…' so that it fits `width` px in `font`."""
    if font.getlength(text) <= width:
        return text
    while text and font.getlength(text + "…") > width:
        text = text[:-1]
    return text + "…"


def band_height(lines: int, font: StampFont) -> int:
    """The stamp band's height in px for `lines` lines of text: even (H.264 wants even frame sizes)."""
    height = round(lines * font.size * 1.35 + font.size * 0.8)
    return height + height % 2


def stamp_band(lines: Sequence[str], width: int, font: StampFont) -> Image.Image:
    """A BACKGROUND band `width` px wide holding `lines` (each cut with '…' to fit), one under the other."""
    band = Image.new("RGB", (width, band_height(len(lines), font)), BACKGROUND)
    draw = ImageDraw.Draw(band)
    pad = max(4, font.size // 2)
    for n, line in enumerate(lines):
        y = round(font.size * 0.4 + n * font.size * 1.35)
        draw.text((pad, y), _fit(line, font.font, width - 2 * pad), font=font.font, fill=INK)
    return band


def compose_frame(rgb: np.ndarray, rings: Sequence[Sequence[tuple[float, float]]], lines: Sequence[str],
                  font: StampFont) -> Image.Image:
    """One frame: the image (rows x cols x 3 uint8) with the outline drawn, and the stamp band under it."""
    picture = Image.fromarray(np.ascontiguousarray(rgb), "RGB")
    draw_outline(picture, rings, width=max(2, picture.width // 300))
    band = stamp_band(lines, picture.width, font)
    frame = Image.new("RGB", (picture.width, picture.height + band.height), BACKGROUND)
    frame.paste(picture, (0, 0))
    frame.paste(band, (0, picture.height))
    return frame
