"""The risk/protective profile: for each domain (form section) and each of the case's
assessments, how many of the domain's factors got each answer.

It is a count of answers per category, drawn as a bar split into the categories, with the
count written in each part. "Unknown" is a category of its own, and so is "not answered"; no
bar is ever summed across categories, averaged, or turned into a level. The overall judgement
is the assessor's own answer and is printed as such elsewhere in the report."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from reportlab.graphics.shapes import Drawing, Line, Rect, String
from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, Spacer

from fieldkit.domain.enums import AssessmentStatus
from fieldkit.domain.records import Assessment
from fieldkit.forms.answers import Visibility, is_answered, rating_parts
from fieldkit.forms.definition import Form, Option
from fieldkit.reports.common import ReportContext
from fieldkit.reports.fonts import BOLD, REGULAR
from fieldkit.reports.layout import CONTENT_WIDTH, INK, MUTED, RULE, para, styles
from fieldkit.reports.text import N_

MAX_COLUMNS = 6
SHORT_STATUS = {
    AssessmentStatus.DRAFT: N_("Draft"),
    AssessmentStatus.SUBMITTED: N_("Submitted"),
    AssessmentStatus.RETURNED: N_("Returned"),
    AssessmentStatus.APPROVED: N_("Approved"),
    AssessmentStatus.SUPERSEDED: N_("Superseded"),
}
NOT_ANSWERED = "__not_answered__"
UNKNOWN = "unknown"

# Sequential shades per scale (light = the scale's first step); unknown is grey, apart.
SHADES = (
    ("#e4ecf5", "#a9c1dc", "#5b84b1", "#23466f", "#10243d"),  # first scale (e.g. concern)
    ("#e3f2ec", "#a6d6c3", "#4f9c80", "#22624c", "#0f3326"),  # second (e.g. protective)
    ("#f3ecdf", "#dcc39a", "#b08a4f", "#6f5327", "#3a2a10"),
)
UNKNOWN_FILL = colors.HexColor("#b9b9b9")


@dataclass(frozen=True)
class Column:
    assessment: Assessment
    form: Form

    @property
    def when(self) -> object:
        return self.assessment.submitted_at or self.assessment.created_at


def _scale_of(form: Form, item_id: str) -> str | None:
    item = form.item(item_id)
    if item is None or item.type != "rating":
        return None
    return item.options_source or "inline"


def scales_in(columns: Sequence[Column]) -> list[tuple[str, tuple[Option, ...]]]:
    """The rating scales used, in the order the newest form first uses them, with its codes."""
    found: dict[str, tuple[Option, ...]] = {}
    for column in reversed(columns):
        for item in column.form.items():
            if item.type == "rating":
                found.setdefault(item.options_source or "inline", item.options)
    return list(found.items())


def _sections(columns: Sequence[Column], scale: str) -> list[tuple[str, str]]:
    """(section id, title) of the sections with rating items of the scale, newest form first."""
    seen: dict[str, str] = {}
    for column in reversed(columns):
        for section in column.form.sections:
            if any(_scale_of(column.form, i.id) == scale for i in section.items):
                seen.setdefault(section.id, section.id)
    return list(seen.items())


def count_answers(column: Column, scale: str) -> dict[str, Counter[str]]:
    """Per section: how many rating items of the scale got each code (or were not answered)."""
    form, answers = column.form, column.assessment.answers
    visible = Visibility(form, answers)
    result: dict[str, Counter[str]] = {}
    for section in form.sections:
        for item in section.items:
            if _scale_of(form, item.id) != scale:
                continue
            counts = result.setdefault(section.id, Counter())
            value = answers.get(item.id)
            code = rating_parts(value).get("rating") if is_answered(value) else None
            if not visible.item_visible(item.id) or not isinstance(code, str):
                counts[NOT_ANSWERED] += 1
            else:
                counts[code] += 1
    return result


def _fills(codes: Sequence[str], palette: int) -> dict[str, colors.Color]:
    shades = SHADES[palette % len(SHADES)]
    ordered = [c for c in codes if c != UNKNOWN]
    fills = {c: colors.HexColor(shades[min(i, len(shades) - 1)]) for i, c in enumerate(ordered)}
    fills[UNKNOWN] = UNKNOWN_FILL
    fills[NOT_ANSWERED] = colors.white
    return fills


def _text_colour(fill: colors.Color) -> colors.Color:
    luminance = 0.299 * fill.red + 0.587 * fill.green + 0.114 * fill.blue
    return colors.white if luminance < 0.55 else INK


def _section_title(columns: Sequence[Column], section_id: str, language: str) -> str:
    for column in reversed(columns):
        for section in column.form.sections:
            if section.id == section_id:
                return section.title.get(language) or next(iter(section.title.values()))
    return section_id


def _wrap(text: str, font: str, size: float, width: float, max_lines: int = 2) -> list[str]:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    words, lines, current = text.split(), [], ""
    for word in words:
        trial = f"{current} {word}".strip()
        if stringWidth(trial, font, size) <= width or not current:
            current = trial
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    if len(lines) > max_lines:
        lines = [*lines[: max_lines - 1], " ".join(lines[max_lines - 1 :])]
        while stringWidth(lines[-1] + "…", font, size) > width and len(lines[-1]) > 1:
            lines[-1] = lines[-1][:-1]
        lines[-1] += "…"
    return lines


def grid(
    columns: Sequence[Column],
    scale: str,
    options: tuple[Option, ...],
    palette: int,
    ctx: ReportContext,
) -> Drawing:
    """One scale's grid: a row per domain, a column per assessment, a split bar per cell."""
    language = ctx.text.language
    sections = _sections(columns, scale)
    codes = [o.code for o in options]
    fills = _fills(codes, palette)
    label_width = 52 * mm
    row_height = 22.0
    header_height = 24.0
    legend_height = 30.0
    n = len(columns)
    column_width = min((CONTENT_WIDTH - label_width) / max(n, 1), 48 * mm)
    height = header_height + row_height * len(sections) + legend_height
    drawing = Drawing(CONTENT_WIDTH, height, initialFontName=REGULAR, initialFontSize=7.5)
    top = height - header_height
    for index, column in enumerate(columns):
        x = label_width + index * column_width
        when = column.when
        drawing.add(
            String(
                x + column_width / 2,
                top + 11,
                ctx.text.date(when),  # type: ignore[arg-type]
                fontName=BOLD,
                fontSize=7.5,
                fillColor=INK,
                textAnchor="middle",
            )
        )
        drawing.add(
            String(
                x + column_width / 2,
                top + 3,
                ctx.tr(SHORT_STATUS[column.assessment.status]),
                fontName=REGULAR,
                fontSize=6,
                fillColor=MUTED,
                textAnchor="middle",
            )
        )
    counts = [count_answers(c, scale) for c in columns]
    for row, (section_id, _) in enumerate(sections):
        y = top - (row + 1) * row_height
        drawing.add(
            Line(0, y, label_width + n * column_width, y, strokeColor=RULE, strokeWidth=0.4)
        )
        title = _section_title(columns, section_id, language)
        lines = _wrap(title, REGULAR, 7.5, label_width - 6)
        for i, line in enumerate(lines):
            offset = row_height / 2 + (len(lines) - 1) * 4.5 - i * 9 - 2.5
            drawing.add(String(0, y + offset, line, fontName=REGULAR, fontSize=7.5, fillColor=INK))
        for index, per_section in enumerate(counts):
            x0 = label_width + index * column_width + 4
            bar_width = column_width - 8
            cell = per_section.get(section_id)
            if not cell:  # the domain is not in that assessment's form version
                drawing.add(
                    String(
                        x0 + bar_width / 2,
                        y + row_height / 2 - 2.5,
                        ctx.tr(N_("not in this form version")),
                        fontName=REGULAR,
                        fontSize=5.5,
                        fillColor=MUTED,
                        textAnchor="middle",
                    )
                )
                continue
            items = sum(cell.values())  # the bar's full width = the domain's factor count
            x = x0
            order = [*codes, *sorted(set(cell) - {*codes, NOT_ANSWERED}), NOT_ANSWERED]
            for code in order:
                count = cell.get(code, 0)
                if not count:
                    continue
                width = bar_width * count / items
                fill = fills.get(code, colors.HexColor("#d9c3e6"))
                drawing.add(
                    Rect(
                        x,
                        y + 4,
                        width,
                        row_height - 8,
                        fillColor=fill,
                        strokeColor=colors.white if code != NOT_ANSWERED else MUTED,
                        strokeWidth=0.6,
                        strokeDashArray=[1.5, 1.5] if code == NOT_ANSWERED else None,
                    )
                )
                size = 7.5 if width >= 7 else 6  # every count is written, however narrow
                drawing.add(
                    String(
                        x + width / 2,
                        y + row_height / 2 - size * 0.37,
                        str(count),
                        fontName=BOLD,
                        fontSize=size,
                        fillColor=_text_colour(fill),
                        textAnchor="middle",
                    )
                )
                x += width
    # Legend: every category, "unknown" and "not answered" included.
    legend_y = 10.0
    x = 0.0
    entries = [(o.code, o.label(language)) for o in options]
    entries.append((NOT_ANSWERED, ctx.tr(N_("Not answered"))))
    for code, label in entries:
        fill = fills.get(code, colors.HexColor("#d9c3e6"))
        drawing.add(
            Rect(
                x,
                legend_y,
                9,
                9,
                fillColor=fill,
                strokeColor=MUTED if code == NOT_ANSWERED else fill,
                strokeWidth=0.6,
                strokeDashArray=[1.5, 1.5] if code == NOT_ANSWERED else None,
            )
        )
        drawing.add(
            String(x + 12, legend_y + 1.5, label, fontName=REGULAR, fontSize=7.5, fillColor=INK)
        )
        from reportlab.pdfbase.pdfmetrics import stringWidth

        x += 12 + stringWidth(label, REGULAR, 7.5) + 12
    return drawing


def profile_flowables(
    assessments: Sequence[tuple[Assessment, Form]], ctx: ReportContext
) -> list[Flowable]:
    """The profile section: one grid per rating scale, the most recent assessments last."""
    st = styles()
    tr = ctx.tr
    ordered = sorted(
        (Column(a, f) for a, f in assessments),
        key=lambda c: (c.when, c.assessment.id),  # type: ignore[arg-type,return-value]
    )
    shown = ordered[-MAX_COLUMNS:]
    intro: list[Flowable] = [
        para(tr(N_("Risk and protective profile over time")), st.h1),
        para(
            tr(
                N_(
                    "Each bar shows how many of a domain's factors received each answer, in "
                    "each of the case's assessments. It counts answers per category; it is not "
                    'a measure of risk, nothing is added up, and "Unknown" is shown as its own '
                    "category. The overall judgement is the assessor's own answer above."
                )
            ),
            st.small,
        ),
        Spacer(1, 4),
    ]
    if len(ordered) > len(shown):
        intro.append(
            para(
                tr(
                    N_("The {shown} most recent of the case's {count} assessments are shown."),
                    shown=len(shown),
                    count=len(ordered),
                ),
                st.muted,
            )
        )
    scales = scales_in(shown)
    if not scales:
        return [
            para(tr(N_("Risk and protective profile over time")), st.h1),
            para(tr(N_("This form has no rated factors, so there is no profile.")), st.muted),
        ]
    out: list[Flowable] = []
    for palette, (scale, options) in enumerate(scales):
        name = scale.split(":", 1)[-1]
        heading = para(_scale_heading(name, options, ctx), st.h2)
        block = [*intro, heading] if not out else [heading]
        out.append(KeepTogether([*block, grid(shown, scale, options, palette, ctx)]))
    return out or intro


def _scale_heading(name: str, options: tuple[Option, ...], ctx: ReportContext) -> str:
    tr = ctx.tr
    labels = " / ".join(o.label(ctx.text.language) for o in options)
    known = {
        "concern": tr(N_("Concern factors")),
        "protect": tr(N_("Protective factors")),
    }
    return f"{known.get(name, name)} ({labels})"
