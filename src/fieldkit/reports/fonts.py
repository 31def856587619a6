"""The documents' typeface: DejaVu Sans, shipped in ``resources/fonts`` (Bitstream Vera licence,
see its LICENSE) and embedded (subset) in every PDF, so å ä ö é ü and the rest print the same on
any reader. The PDF base-14 fonts are never used: they cannot be embedded and cover no more
than Latin-1."""

from __future__ import annotations

import threading
from pathlib import Path

from reportlab.lib.fonts import addMapping
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from fieldkit.i18n import resources_dir

REGULAR = "FieldkitSans"
BOLD = "FieldkitSans-Bold"
ITALIC = "FieldkitSans-Oblique"
MONO = "FieldkitMono"

FILES = {
    REGULAR: "DejaVuSans.ttf",
    BOLD: "DejaVuSans-Bold.ttf",
    ITALIC: "DejaVuSans-Oblique.ttf",
    MONO: "DejaVuSansMono.ttf",
}

_lock = threading.Lock()
_registered = False


class FontMissing(RuntimeError):
    """The shipped font files are not where the build put them (a broken install)."""


def fonts_dir() -> Path:
    return resources_dir() / "fonts"


def register_fonts() -> None:
    """Register the fonts with reportlab once per process (thread-safe)."""
    global _registered
    with _lock:
        if _registered:
            return
        folder = fonts_dir()
        for name, file in FILES.items():
            path = folder / file
            if not path.is_file():
                raise FontMissing(f"font file missing: {path}")
            pdfmetrics.registerFont(TTFont(name, str(path)))
        addMapping(REGULAR, 0, 0, REGULAR)
        addMapping(REGULAR, 1, 0, BOLD)
        addMapping(REGULAR, 0, 1, ITALIC)
        addMapping(REGULAR, 1, 1, BOLD)
        _registered = True
