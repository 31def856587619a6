"""A lean text flowable for the long documents (a 500-entry journal is mostly plain text).

reportlab's Paragraph parses markup for every paragraph; a journal entry is plain text with a
few styled runs, so ``Spans`` takes the runs as data (text, bold, colour) and only measures,
wraps and draws. It breaks across pages line by line, honours explicit line breaks and breaks
over-long words, and is several times faster than Paragraph for the same text."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from reportlab.lib.colors import Color
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import Flowable

from fieldkit.reports.fonts import BOLD, REGULAR
from fieldkit.reports.layout import clean


@dataclass(frozen=True)
class Run:
    text: str
    bold: bool = False
    colour: Color | None = None  # None: the style's colour
    font: str | None = None  # None: the style's (bold) font
    size: float | None = None  # None: the style's size


@dataclass(frozen=True)
class SpanStyle:
    font_size: float
    leading: float
    colour: Color
    indent: float = 0.0
    font: str = REGULAR
    bold_font: str = BOLD


_widths: dict[tuple[str, str, float], float] = {}


def _measure(word: str, font: str, size: float) -> float:
    """stringWidth, remembered (journal text repeats its words a great deal)."""
    key = (word, font, size)
    found = _widths.get(key)
    if found is None:
        if len(_widths) > 100_000:
            _widths.clear()
        found = _widths[key] = stringWidth(word, font, size)
    return found


# A laid-out line: (x offset, text, font, size, colour) pieces.
Line = list[tuple[float, str, str, float, Color]]


class Spans(Flowable):
    def __init__(self, runs: Sequence[Run] | str, style: SpanStyle, *, keep: bool = False) -> None:
        """``keep``: never split (a short block such as a signature line and its hash)."""
        super().__init__()
        given = [Run(runs)] if isinstance(runs, str) else list(runs)
        self.runs = [Run(clean(r.text), r.bold, r.colour, r.font, r.size) for r in given]
        self.keep = keep
        self.style = style
        self._lines: list[Line] | None = None
        self._width = 0.0

    # --- layout ---------------------------------------------------------------------------

    def _layout(self, width: float) -> list[Line]:
        st = self.style
        usable = max(width - st.indent, 20.0)
        lines: list[Line] = []
        line: Line = []
        x = 0.0

        def flush() -> None:
            nonlocal line, x
            lines.append(line)
            line, x = [], 0.0

        for run in self.runs:
            font = run.font or (st.bold_font if run.bold else st.font)
            size = run.size or st.font_size
            colour = run.colour or st.colour
            space = _measure(" ", font, size)
            for n, paragraph in enumerate(run.text.split("\n")):
                if n:
                    flush()
                for word in paragraph.split(" "):
                    if word == "":
                        if x:
                            x += space
                        continue
                    w = _measure(word, font, size)
                    if x and x + w > usable:
                        flush()
                    while w > usable:  # a word longer than the line: break it
                        cut = _fit(word, font, size, usable - x)
                        line.append((x, word[:cut], font, size, colour))
                        flush()
                        word = word[cut:]
                        w = stringWidth(word, font, size)
                    last = line[-1] if line else None
                    if last and last[2] == font and last[3] == size and last[4] == colour:
                        ox, text = last[0], last[1]
                        gap = " " * _gap(x, ox, text, font, size, space)
                        line[-1] = (ox, text + gap + word, font, size, colour)
                    else:
                        line.append((x, word, font, size, colour))
                    x += w + space
        if line or not lines:
            lines.append(line)
        return lines

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        if self._lines is None or self._width != available_width:
            self._lines = self._layout(available_width)
            self._width = available_width
        self.width = available_width
        self.height = len(self._lines) * self.style.leading
        return (available_width, self.height)

    def split(self, available_width: float, available_height: float) -> list[Flowable]:
        self.wrap(available_width, available_height)
        assert self._lines is not None
        fit = int(available_height // self.style.leading)
        if self.keep:
            return [] if fit < len(self._lines) else [self]
        if fit <= 0 or fit >= len(self._lines):
            return [] if fit <= 0 else [self]
        return [
            _Laid(self._lines[:fit], self.style, available_width),
            _Laid(self._lines[fit:], self.style, available_width),
        ]

    def draw(self) -> None:
        assert self._lines is not None
        _draw(self.canv, self._lines, self.style)


class _Laid(Spans):
    """Lines already laid out (the parts of a split)."""

    def __init__(self, lines: list[Line], style: SpanStyle, width: float) -> None:
        Flowable.__init__(self)
        self.runs = []
        self.keep = False
        self.style = style
        self._lines = lines
        self._width = width


def _gap(x: float, ox: float, text: str, font: str, size: float, space: float) -> int:
    """Spaces to put between a merged piece and the next word (1, or more after blanks)."""
    current = ox + stringWidth(text, font, size)
    return max(1, round((x - current) / space)) if space else 1


def _fit(word: str, font: str, size: float, width: float) -> int:
    cut = max(1, len(word))
    while cut > 1 and stringWidth(word[:cut], font, size) > width:
        cut -= 1
    return cut


def _draw(canvas: Any, lines: list[Line], style: SpanStyle) -> None:
    y = len(lines) * style.leading - style.font_size
    for line in lines:
        for x, text, font, size, colour in line:
            canvas.setFont(font, size)
            canvas.setFillColor(colour)
            canvas.drawString(style.indent + x, y, text)
        y -= style.leading
