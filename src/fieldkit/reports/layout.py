"""The page every document shares: letterhead, the confidentiality marking, an optional draft
banner, and a footer with the document, the case reference and "Page X of Y", drawn on every
page; plus the paragraph styles and small building blocks the documents are made of.

Pages are decorated when the document is saved (a canvas that holds its pages until it knows how
many there are), so "of Y" is exact in one layout pass.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from fieldkit.reports.fonts import BOLD, ITALIC, MONO, REGULAR, register_fonts

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN_X = 20 * mm
CONTENT_WIDTH = PAGE_WIDTH - 2 * MARGIN_X

INK = colors.HexColor("#1d2733")
MUTED = colors.HexColor("#5b6673")
ACCENT = colors.HexColor("#1f4e79")
RULE = colors.HexColor("#c9d1da")
PALE = colors.HexColor("#f2f5f8")
MARK = colors.HexColor("#8b1a1a")
WARN_BG = colors.HexColor("#fff4d6")
WARN_EDGE = colors.HexColor("#b7791f")


@dataclass(frozen=True)
class PageDecor:
    """What is printed on every page (all already in the document's language)."""

    document: str  # "Journalutdrag"
    marking: str  # the confidentiality marking, from the catalogue
    page_label: str  # "Sida {page} av {pages}"
    letterhead: str = ""  # "Malmö stad · Fältgruppen Väster"
    reference: str = ""  # the case reference, or the person for a subject-access extract
    produced: str = ""  # "Utskrivet 2026-11-28 14:05"
    draft_banner: str | None = None  # printed prominently across the top of every page
    watermark: str | None = None  # faint diagonal word, e.g. "UTKAST"
    language: str = "sv"
    pages: list[int] = field(default_factory=list)  # filled with the page count when saved


def _draw_decor(canvas: Canvas, decor: PageDecor, page: int, total: int) -> None:
    width, height = PAGE_WIDTH, PAGE_HEIGHT
    top = height - 12 * mm
    canvas.saveState()
    if decor.watermark:
        canvas.setFillColor(colors.Color(0.55, 0.1, 0.1, alpha=0.07))
        canvas.setFont(BOLD, 110)
        canvas.translate(width / 2, height / 2)
        canvas.rotate(52)
        canvas.drawCentredString(0, -35, decor.watermark)
        canvas.rotate(-52)
        canvas.translate(-width / 2, -height / 2)
    canvas.setFillColor(MUTED)
    canvas.setFont(REGULAR, 8)
    if decor.letterhead:
        canvas.drawString(MARGIN_X, top, clean(decor.letterhead))
    # The confidentiality marking: boxed, top right, every page.
    canvas.setFont(BOLD, 8.5)
    text_width = canvas.stringWidth(decor.marking, BOLD, 8.5)
    box_x = width - MARGIN_X - text_width - 6
    canvas.setStrokeColor(MARK)
    canvas.setLineWidth(0.8)
    canvas.rect(box_x, top - 3, text_width + 6, 12.5, stroke=1, fill=0)
    canvas.setFillColor(MARK)
    canvas.drawString(box_x + 3, top + 0.5, decor.marking)
    canvas.setStrokeColor(RULE)
    canvas.setLineWidth(0.6)
    canvas.line(MARGIN_X, top - 6, width - MARGIN_X, top - 6)
    if decor.draft_banner:
        band_top = top - 10
        canvas.setFillColor(WARN_BG)
        canvas.setStrokeColor(WARN_EDGE)
        canvas.setLineWidth(1)
        canvas.rect(MARGIN_X, band_top - 16, CONTENT_WIDTH, 16, stroke=1, fill=1)
        canvas.setFillColor(colors.HexColor("#5c3d00"))
        size = 9.5
        while canvas.stringWidth(decor.draft_banner, BOLD, size) > CONTENT_WIDTH - 8 and size > 6:
            size -= 0.5
        canvas.setFont(BOLD, size)
        canvas.drawCentredString(width / 2, band_top - 11, decor.draft_banner)
    # Footer.
    bottom = 12 * mm
    canvas.setStrokeColor(RULE)
    canvas.line(MARGIN_X, bottom + 9, width - MARGIN_X, bottom + 9)
    canvas.setFont(REGULAR, 7.5)
    canvas.setFillColor(MUTED)
    left = clean(" · ".join(p for p in (decor.document, decor.reference) if p))
    canvas.drawString(MARGIN_X, bottom, left)
    canvas.setFont(BOLD, 7.5)
    canvas.setFillColor(INK)
    canvas.drawRightString(
        width - MARGIN_X, bottom, decor.page_label.format(page=page, pages=total)
    )
    if decor.produced:
        canvas.setFont(REGULAR, 7)
        canvas.setFillColor(MUTED)
        canvas.drawString(MARGIN_X, bottom - 9, clean(decor.produced))
    canvas.setFont(BOLD, 7)
    canvas.setFillColor(MARK)
    canvas.drawRightString(width - MARGIN_X, bottom - 9, decor.marking)
    canvas.restoreState()


class _DecoratedCanvas(Canvas):
    """Holds its pages until saved, then decorates each with "page X of Y"."""

    def __init__(self, *args: Any, decor: PageDecor, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._decor = decor
        self._held: list[dict[str, Any]] = []

    def showPage(self) -> None:
        self._held.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._held)
        for number, state in enumerate(self._held, start=1):
            self.__dict__.update(state)
            _draw_decor(self, self._decor, number, total)
            Canvas.showPage(self)
        self._decor.pages.append(total)
        Canvas.save(self)


def top_margin(decor: PageDecor) -> float:
    return (38 if decor.draft_banner else 27) * mm


def build_pdf(out: BinaryIO, story: Sequence[Flowable], decor: PageDecor, title: str) -> int:
    """Lay the story out on decorated A4 pages into ``out``; returns the page count.

    ``title`` goes into the PDF's metadata: the kind of document only, never a name (metadata
    is what file browsers and search indexers show)."""
    register_fonts()
    doc = BaseDocTemplate(
        out,
        pagesize=A4,
        leftMargin=MARGIN_X,
        rightMargin=MARGIN_X,
        topMargin=top_margin(decor),
        bottomMargin=24 * mm,
        title=title,
        author="fieldkit",
        creator="fieldkit",
        subject="",
        keywords="",
        lang="sv-SE" if decor.language == "sv" else "en-GB",
        initialFontName=REGULAR,  # never the unembeddable base-14 Helvetica, not even unused
        initialFontSize=9.5,
        initialLeading=13,
    )
    frame = Frame(
        doc.leftMargin, doc.bottomMargin, doc.width, doc.height, id="body", showBoundary=0
    )
    doc.addPageTemplates([PageTemplate(id="page", frames=[frame])])

    def canvasmaker(*args: Any, **kwargs: Any) -> Canvas:
        return _DecoratedCanvas(*args, decor=decor, **kwargs)

    doc.build(list(story), canvasmaker=canvasmaker)
    return decor.pages[-1]


# --- styles ---------------------------------------------------------------------------------


class Styles:
    def __init__(self) -> None:
        register_fonts()
        base = ParagraphStyle(
            "body",
            fontName=REGULAR,
            fontSize=9.5,
            leading=13,
            textColor=INK,
            alignment=TA_LEFT,
        )
        self.body = base
        self.small = ParagraphStyle("small", parent=base, fontSize=8, leading=10.5)
        self.muted = ParagraphStyle("muted", parent=self.small, textColor=MUTED)
        self.italic = ParagraphStyle("italic", parent=base, fontName=ITALIC, textColor=MUTED)
        self.mono = ParagraphStyle(
            "mono", parent=base, fontName=MONO, fontSize=7, leading=9, textColor=MUTED
        )
        self.title = ParagraphStyle(
            "title", parent=base, fontName=BOLD, fontSize=17, leading=21, textColor=ACCENT
        )
        self.subtitle = ParagraphStyle(
            "subtitle", parent=base, fontSize=11, leading=14, textColor=MUTED, spaceAfter=6
        )
        self.h1 = ParagraphStyle(
            "h1",
            parent=base,
            fontName=BOLD,
            fontSize=12.5,
            leading=16,
            textColor=ACCENT,
            spaceBefore=12,
            spaceAfter=5,
        )
        self.h2 = ParagraphStyle(
            "h2",
            parent=base,
            fontName=BOLD,
            fontSize=10.5,
            leading=14,
            textColor=INK,
            spaceBefore=8,
            spaceAfter=3,
        )
        self.label = ParagraphStyle("label", parent=base, fontSize=8.5, leading=11)
        self.cell = ParagraphStyle("cell", parent=base, fontSize=9, leading=12)
        self.cell_bold = ParagraphStyle("cell_bold", parent=self.cell, fontName=BOLD)
        self.entry_head = ParagraphStyle(
            "entry_head", parent=base, fontName=BOLD, fontSize=9.5, leading=13, textColor=ACCENT
        )
        self.callout = ParagraphStyle("callout", parent=base, fontName=BOLD, textColor=MARK)


_styles: Styles | None = None


def styles() -> Styles:
    global _styles
    if _styles is None:
        _styles = Styles()
    return _styles


# --- building blocks -------------------------------------------------------------------------


def table_style(commands: list[tuple[Any, ...]]) -> TableStyle:
    """A TableStyle in the document font (reportlab's default cell font is the unembeddable
    base-14 Helvetica, which would otherwise be referenced on every page with a table)."""
    return TableStyle([("FONTNAME", (0, 0), (-1, -1), REGULAR), *commands])


_INVISIBLE: dict[int, str | None] = {
    c: None for c in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F]
}
_INVISIBLE.update({c: None for c in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]})
_INVISIBLE[0x09] = " "


def clean(text: object) -> str:
    """Text as printed: control characters and bidirectional overrides removed (they could make
    a printed line read differently from what was written), tabs as spaces."""
    return str(text).replace("\r\n", "\n").replace("\r", "\n").translate(_INVISIBLE)


def esc(text: object) -> str:
    """Text for a Paragraph: cleaned, markup characters escaped, line breaks kept."""
    return escape(clean(text)).replace("\n", "<br/>")


def para(text: object, style: ParagraphStyle | None = None) -> Paragraph:
    return Paragraph(esc(text), style or styles().body)


def markup(text: str, style: ParagraphStyle | None = None) -> Paragraph:
    """A Paragraph from text that already is Paragraph markup (every value in it escaped)."""
    return Paragraph(text, style or styles().body)


def long_text(text: str, style: ParagraphStyle | None = None) -> list[Flowable]:
    """Free text as paragraphs (blank lines separate them), so long texts break across pages."""
    chunks = [c for c in text.replace("\r\n", "\n").split("\n\n") if c.strip()] or [""]
    s = style or styles().body
    out: list[Flowable] = []
    for i, chunk in enumerate(chunks):
        out.append(Paragraph(esc(chunk.strip("\n")), s))
        if i < len(chunks) - 1:
            out.append(Spacer(1, 3))
    return out


def facts_table(rows: Iterable[tuple[str, Any]], label_width: float = 45 * mm) -> Table:
    """Label/value pairs in two columns; a value may be a flowable or text."""
    st = styles()
    data = []
    for label, value in rows:
        cell = value if isinstance(value, Flowable | list) else para(value, st.cell)
        data.append([para(label, st.muted), cell])
    table = Table(data, colWidths=[label_width, CONTENT_WIDTH - label_width], hAlign="LEFT")
    table.setStyle(
        table_style(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.4, RULE),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
                ("LEFTPADDING", (0, 0), (-1, -1), 2),
            ]
        )
    )
    return table


def boxed(content: list[Flowable], *, edge: Any = WARN_EDGE, fill: Any = WARN_BG) -> Table:
    """Content in a tinted box (alerts, the protected-identity notice)."""
    table = Table([[content]], colWidths=[CONTENT_WIDTH], hAlign="LEFT")
    table.setStyle(
        table_style(
            [
                ("BOX", (0, 0), (-1, -1), 1, edge),
                ("BACKGROUND", (0, 0), (-1, -1), fill),
                ("LEFTPADDING", (0, 0), (-1, -1), 7),
                ("RIGHTPADDING", (0, 0), (-1, -1), 7),
                ("TOPPADDING", (0, 0), (-1, -1), 5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
            ]
        )
    )
    return table


def side_ruled(content: list[Flowable], colour: Any, indent: float = 8 * mm) -> Table:
    """Content indented with a coloured rule on its left (linked journal entries)."""
    table = Table([[content]], colWidths=[CONTENT_WIDTH - indent], hAlign="RIGHT")
    table.setStyle(
        table_style(
            [
                ("LINEBEFORE", (0, 0), (0, -1), 2.2, colour),
                ("LEFTPADDING", (0, 0), (-1, -1), 7),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
            ]
        )
    )
    return table
