"""An assessment's answers as printed: each visible item of its own form version, grouped by
section, with the labels of the chosen language; a rating with its trend, key-factor mark and
evidence (sources, date observed, note). Nothing is added up: the printout shows answers, and
the overall level is whatever the assessor answered."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, Spacer, Table

from fieldkit.domain.records import Assessment
from fieldkit.forms.answers import is_answered, rating_parts
from fieldkit.forms.definition import Form
from fieldkit.forms.model import FormView, ItemView, SectionView, build_view
from fieldkit.reports.common import ReportContext
from fieldkit.reports.layout import (
    CONTENT_WIDTH,
    RULE,
    WARN_BG,
    WARN_EDGE,
    boxed,
    esc,
    long_text,
    markup,
    para,
    styles,
    table_style,
)
from fieldkit.reports.text import N_

INDENT = 11 * mm
UNKNOWN_CODES = frozenset({"unknown"})
LONG_ANSWER = 24  # characters that fit the answer column on one or two lines


def form_view(form: Form, assessment: Assessment, ctx: ReportContext) -> FormView:
    return build_view(form, assessment.answers, assessment.overrides, ctx.text.language)


def _label_of(options: tuple[Any, ...], code: Any) -> str:
    for option in options:
        if option.code == code:
            return str(option.label)
    return str(code)


def value_text(item: ItemView, value: Any, ctx: ReportContext) -> str:
    """A non-rating answer as one line of text in the document's language."""
    if item.type in ("singleselect", "yes_no_unknown"):
        return _label_of(item.options, value)
    if item.type == "multiselect":
        codes = value if isinstance(value, list | tuple) else [value]
        return ", ".join(_label_of(item.options, c) for c in codes)
    if item.type in ("date", "datetime"):
        return ctx.text.iso_date(value)
    if isinstance(value, bool):
        return ctx.tr(N_("Yes")) if value else ctx.tr(N_("No"))
    return str(value)


def _rating_details(item: ItemView, value: Any, ctx: ReportContext) -> list[Flowable]:
    tr = ctx.tr
    st = styles()
    parts = rating_parts(value)
    line: list[str] = []
    trend = parts.get("trend")
    if trend not in (None, ""):
        line.append(f"{esc(tr(N_('Trend')))}: {esc(_label_of(item.trend_options, trend))}")
    if parts.get("key_factor") is True:
        line.append(f"<b>{esc(tr(N_('Key factor')))}</b>")
    sources = parts.get("sources") or []
    if sources:
        options = item.evidence.sources if item.evidence else ()
        names = ", ".join(_label_of(options, c) for c in sources)
        line.append(f"{esc(tr(N_('Sources')))}: {esc(names)}")
    observed = parts.get("observed_on")
    if observed:
        line.append(f"{esc(tr(N_('Observed')))}: {esc(ctx.text.iso_date(observed))}")
    out: list[Flowable] = []
    if line:
        out.append(markup(" · ".join(line), _indented(st.small)))
    note = parts.get("note")
    if isinstance(note, str) and note.strip():
        out += long_text(note, _indented(st.body))
    return out


def _indented(style: Any) -> Any:
    from reportlab.lib.styles import ParagraphStyle

    cache = _indented.__dict__.setdefault("cache", {})
    found = cache.get(style.name)
    if found is None:
        found = ParagraphStyle(f"{style.name}_ind", parent=style, leftIndent=INDENT)
        cache[style.name] = found
    return found


def _repeat(item: ItemView, value: Any, ctx: ReportContext) -> list[Flowable]:
    st = styles()
    out: list[Flowable] = []
    entries = value if isinstance(value, list) else []
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, Mapping):
            continue
        bits = []
        for field in item.fields:
            answer = entry.get(field.id)
            if is_answered(answer):
                bits.append(f"<b>{esc(field.label)}</b>: {esc(value_text(field, answer, ctx))}")
        out.append(markup(f"{number}. " + " · ".join(bits), _indented(st.body)))
    return out


def item_flowables(item: ItemView, ctx: ReportContext) -> list[Flowable]:
    """One item: id and label with the answer at the right; details indented below."""
    st = styles()
    tr = ctx.tr
    value = item.value
    answered = is_answered(value)
    details: list[Flowable] = []
    if not answered:
        answer = markup(f"<i>{esc(tr(N_('Not answered')))}</i>", st.muted)
    elif item.type == "rating":
        code = rating_parts(value).get("rating")
        label = _label_of(item.options, code)
        style = st.muted if code in UNKNOWN_CODES else st.cell_bold
        answer = para(label, style)
        details = _rating_details(item, value, ctx)
    elif item.type == "text":
        answer = para("", st.cell)
        details = long_text(str(value), _indented(st.body))
    elif item.type == "repeat":
        answer = para("", st.cell)
        details = _repeat(item, value, ctx)
    else:
        shown = value_text(item, value, ctx)
        if item.type == "multiselect" or len(shown) > LONG_ANSWER:
            # A list or a long label reads badly squeezed into the answer column: below it.
            answer = para("", st.cell)
            details = [para(shown, _indented(st.cell_bold))]
        else:
            answer = para(shown, st.cell_bold)
    answer_width = 42 * mm
    row = Table(
        [[para(item.id, st.muted), para(item.label, st.label), answer]],
        colWidths=[INDENT, CONTENT_WIDTH - INDENT - answer_width, answer_width],
        hAlign="LEFT",
    )
    row.setStyle(
        table_style(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 4),
                ("TOPPADDING", (0, 0), (-1, -1), 1),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
            ]
        )
    )
    head: list[Flowable] = [row]
    if details:
        # Keep the label with the first lines of its evidence; long notes may still break.
        head.append(details[0])
        return [KeepTogether(head), *details[1:], Spacer(1, 4), _rule()]
    return [*head, Spacer(1, 3), _rule()]


class _Rule(Flowable):
    def __init__(self) -> None:
        super().__init__()
        self.width = CONTENT_WIDTH
        self.height = 3

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        return (self.width, self.height)

    def draw(self) -> None:
        self.canv.setStrokeColor(RULE)
        self.canv.setLineWidth(0.3)
        self.canv.line(0, 1.5, self.width, 1.5)


def _rule() -> Flowable:
    return _Rule()


def is_conditional(form: Form, section_id: str) -> bool:
    section = next((s for s in form.sections if s.id == section_id), None)
    return section is not None and section.when is not None


def section_flowables(section: SectionView, form: Form, ctx: ReportContext) -> list[Flowable]:
    st = styles()
    # Answered items, and required ones left unanswered (shown as such); optional blanks skip.
    items = [i for i in section.items if i.visible and (is_answered(i.value) or i.required)]
    if not section.visible or not items:
        return []
    heading = para(section.title, st.h1)
    body: list[Flowable] = []
    for item in items:
        body += item_flowables(item, ctx)
    if is_conditional(form, section.id):
        # A section the answers opened (e.g. immediate actions after warning signs): boxed.
        note = para(
            ctx.tr(N_("This section was opened by the answers above and must be acted on.")),
            st.small,
        )
        return [
            KeepTogether([heading, boxed([note], edge=WARN_EDGE, fill=WARN_BG), Spacer(1, 4)]),
            *body,
        ]
    return [heading, *body]


def answers_flowables(form: Form, assessment: Assessment, ctx: ReportContext) -> list[Flowable]:
    view = form_view(form, assessment, ctx)
    out: list[Flowable] = []
    for section in view.sections:
        out += section_flowables(section, form, ctx)
    return out


def opened_sections(form: Form, view: FormView) -> list[SectionView]:
    """Conditional sections the answers opened (shown as an alert at the top)."""
    return [
        s
        for s in view.sections
        if s.visible and is_conditional(form, s.id) and any(i.visible for i in s.items)
    ]


def overrides_flowables(form: Form, assessment: Assessment, ctx: ReportContext) -> list[Flowable]:
    """Warnings the assessor overrode, each with the check's message and the written reason."""
    st = styles()
    tr = ctx.tr
    if not assessment.overrides:
        return []
    out: list[Flowable] = [para(tr(N_("Warnings overridden with a justification")), st.h1)]
    checks = {c.id: c for c in form.checks}
    for check_id, justification in sorted(assessment.overrides.items()):
        check = checks.get(check_id)
        message = (
            (check.message.get(ctx.text.language) or next(iter(check.message.values())))
            if check
            else check_id
        )
        out.append(markup(f"<b>{esc(check_id)}</b> – {esc(message)}", st.body))
        out.append(
            markup(
                f"{esc(tr(N_('Justification')))}: {esc(justification)}",
                _indented(st.body),
            )
        )
        out.append(Spacer(1, 4))
    return out
