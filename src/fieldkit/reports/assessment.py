"""The assessment report: what a team lead brings to a case conference.

Header (organisation, case, person with protected-identity handling, form and version), every
visible item of the assessment's own form version grouped by section, warnings overridden with
their justification, the risk/protective profile over the case's assessments, interventions and
the re-assessment date, the review record(s), and the signature (author, submitted time, content
hash). The overall level is printed as the assessor answered it; nothing is summed or averaged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import BinaryIO

from reportlab.platypus import Flowable, KeepTogether, Spacer, Table

from fieldkit.domain import assessment as assessment_rules
from fieldkit.domain.enums import AssessmentStatus
from fieldkit.domain.records import Assessment, Case, Intervention, Person, Review
from fieldkit.forms.definition import Form
from fieldkit.reports.answers import (
    answers_flowables,
    form_view,
    opened_sections,
    overrides_flowables,
)
from fieldkit.reports.chart import profile_flowables
from fieldkit.reports.common import ReportContext, case_rows, header_block, person_rows
from fieldkit.reports.layout import (
    CONTENT_WIDTH,
    MARK,
    PALE,
    RULE,
    boxed,
    build_pdf,
    esc,
    facts_table,
    long_text,
    markup,
    para,
    styles,
    table_style,
)
from fieldkit.reports.text import N_


@dataclass(frozen=True)
class AssessmentReportInput:
    assessment: Assessment
    form: Form  # the exact version the assessment was made with
    case: Case
    person: Person
    # Its reviews, and those of the earlier versions it revises (returned, then revised).
    reviews: Sequence[Review] = ()
    interventions: Sequence[Intervention] = ()
    # The case's assessments with their own form versions, for the profile over time (the
    # report's own assessment is added when missing).
    history: Sequence[tuple[Assessment, Form]] = ()


def _title(form: Form, language: str) -> str:
    return form.title.get(language) or next(iter(form.title.values()), form.id)


def _header(data: AssessmentReportInput, ctx: ReportContext) -> list[Flowable]:
    tr, text = ctx.tr, ctx.text
    a, form = data.assessment, data.form
    rows = []
    if ctx.letterhead():
        rows.append((tr(N_("Municipality and unit")), ctx.letterhead()))
    rows += case_rows(data.case, ctx)
    rows += person_rows(data.person, ctx)
    rows += [
        (
            tr(N_("Form")),
            tr(
                N_("{title}, version {version} ({form_id})"),
                title=_title(form, text.language),
                version=form.version,
                form_id=form.id,
            ),
        ),
        (tr(N_("Status")), text.enum(a.status)),
        (tr(N_("Assessor")), ctx.name(a.author_id)),
        (tr(N_("Submitted")), text.datetime(a.submitted_at) if a.submitted_at else "–"),
        (tr(N_("Re-assessment date")), text.long_date(a.reassessment_due)),
    ]
    out = header_block(
        tr(N_("Structured assessment")), _title(form, text.language), rows, data.person, ctx
    )
    disclaimer = form.disclaimer or {}
    said = disclaimer.get(text.language) or next(iter(disclaimer.values()), "")
    if said:
        out.append(para(said, styles().italic))
    return out


def _alerts(data: AssessmentReportInput, ctx: ReportContext) -> list[Flowable]:
    st = styles()
    opened = opened_sections(data.form, form_view(data.form, data.assessment, ctx))
    if not opened:
        return []
    names = ", ".join(s.title for s in opened)
    return [
        Spacer(1, 6),
        boxed(
            [
                para(ctx.tr(N_("Opened by the answers: {sections}"), sections=names), st.callout),
                para(
                    ctx.tr(
                        N_(
                            "The answers opened this section; what was done, when the team lead "
                            "was informed and on what legal basis are set out below."
                        )
                    ),
                    st.small,
                ),
            ],
            edge=MARK,
            fill=PALE,
        ),
    ]


def _grid(rows: list[list[Flowable]], widths: list[float]) -> Table:
    table = Table(rows, colWidths=widths, repeatRows=1, hAlign="LEFT")
    table.setStyle(
        table_style(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, 0), 0.8, RULE),
                ("LINEBELOW", (0, 1), (-1, -1), 0.3, RULE),
                ("LEFTPADDING", (0, 0), (-1, -1), 2),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    return table


def interventions_flowables(
    interventions: Sequence[Intervention], ctx: ReportContext
) -> list[Flowable]:
    st = styles()
    tr, text = ctx.tr, ctx.text
    if not interventions:
        return [para(tr(N_("No interventions are recorded for the case.")), st.muted)]
    head = [
        para(tr(N_("Intervention")), st.muted),
        para(tr(N_("From")), st.muted),
        para(tr(N_("To")), st.muted),
        para(tr(N_("Responsible")), st.muted),
        para(tr(N_("Description and outcome")), st.muted),
    ]
    rows = [head]
    for i in sorted(interventions, key=lambda i: (i.start_date, i.id)):
        about = "\n".join(p for p in (i.description, i.outcome) if p)
        rows.append(
            [
                para(text.enum(i.kind), st.cell_bold),
                para(text.date(i.start_date), st.cell),
                para(text.date(i.end_date) if i.end_date else tr(N_("ongoing")), st.cell),
                para(i.responsible or "–", st.cell),
                para(about or "–", st.cell),
            ]
        )
    w = CONTENT_WIDTH
    return [_grid(rows, [0.22 * w, 0.14 * w, 0.14 * w, 0.17 * w, 0.33 * w])]


def reviews_flowables(
    reviews: Sequence[Review], ctx: ReportContext, assessment_id: str | None = None
) -> list[Flowable]:
    """Each review; one of an earlier version (returned, then revised into this one) says so."""
    st = styles()
    tr, text = ctx.tr, ctx.text
    heading = para(tr(N_("Review")), st.h1)
    if not reviews:
        return [heading, para(tr(N_("The assessment has not been reviewed.")), st.muted)]
    out: list[Flowable] = []
    for r in sorted(reviews, key=lambda r: (r.created_at, r.id)):
        rows = [
            (tr(N_("Reviewer")), ctx.name(r.reviewer_id, r.reviewer_name)),
            (tr(N_("Decision")), text.enum(r.decision)),
            (tr(N_("Outcome")), text.enum(r.outcome)),
            (tr(N_("Time")), text.datetime(r.created_at)),
            (tr(N_("Comment")), long_text(r.comment) if r.comment.strip() else "–"),
        ]
        if assessment_id is not None and r.assessment_id != assessment_id:
            rows.insert(0, (tr(N_("Applies to")), tr(N_("An earlier version, returned"))))
        block: list[Flowable] = [heading] if not out else []
        out += [KeepTogether([*block, facts_table(rows)]), Spacer(1, 6)]
    return out


def signature_flowables(a: Assessment, ctx: ReportContext) -> list[Flowable]:
    st = styles()
    tr, text = ctx.tr, ctx.text
    rows: list[tuple[str, object]] = [
        (tr(N_("Author")), ctx.name(a.author_id)),
        (tr(N_("Submitted by")), ctx.name(a.submitted_by) if a.submitted_by else "–"),
        (tr(N_("Submitted")), text.datetime(a.submitted_at) if a.submitted_at else "–"),
        (
            tr(N_("Content hash (SHA-256)")),
            para(a.content_hash, st.mono) if a.content_hash else "–",
        ),
    ]
    out: list[Flowable] = [KeepTogether([para(tr(N_("Signature")), st.h1), facts_table(rows)])]
    if a.content_hash and a.content_hash != assessment_rules.content_hash(a):
        warning = tr(N_("The content hash does not match these answers: report to IT."))
        out.append(para(warning, st.callout))
    elif a.content_hash:
        out.append(
            para(
                tr(
                    N_(
                        "The content hash identifies exactly the answers that were submitted; "
                        "the same hash in fieldkit shows this printout matches the record."
                    )
                ),
                st.muted,
            )
        )
    return out


def _draft_banner(a: Assessment, ctx: ReportContext) -> str | None:
    if a.status is AssessmentStatus.DRAFT:
        return ctx.tr(N_("DRAFT – not submitted, not a finished assessment"))
    return None


def assessment_story(data: AssessmentReportInput, ctx: ReportContext) -> list[Flowable]:
    st = styles()
    tr, text = ctx.tr, ctx.text
    a = data.assessment
    story: list[Flowable] = [*_header(data, ctx), *_alerts(data, ctx)]
    story += answers_flowables(data.form, a, ctx)
    story += overrides_flowables(data.form, a, ctx)
    history = list(data.history)
    if not any(h.id == a.id for h, _ in history):
        history.append((a, data.form))
    story += profile_flowables(history, ctx)
    story.append(para(tr(N_("Interventions and follow-up")), st.h1))
    story += interventions_flowables(data.interventions, ctx)
    story.append(Spacer(1, 5))
    due = esc(text.long_date(a.reassessment_due))
    story.append(markup(f"<b>{esc(tr(N_('Re-assessment date')))}:</b> {due}", st.body))
    story += reviews_flowables(data.reviews, ctx, a.id)
    story += signature_flowables(a, ctx)
    return story


def render_assessment_report(out: BinaryIO, data: AssessmentReportInput, ctx: ReportContext) -> int:
    """Write the report as PDF into ``out``; returns the number of pages."""
    decor = ctx.decor(
        ctx.tr(N_("Structured assessment")),
        data.case.reference or data.case.id,
        draft_banner=_draft_banner(data.assessment, ctx),
    )
    return build_pdf(out, assessment_story(data, ctx), decor, ctx.tr(N_("Structured assessment")))
