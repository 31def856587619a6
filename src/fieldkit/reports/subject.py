"""The subject-access extract (registerutdrag): everything this laptop holds about a person.

The person's records (one per case they appear in), and for each case: its details, every
journal entry (drafts included and marked: a draft may already be a public record), every
assessment with its answers, reviews and signature, consents, disclosures and interventions;
then the logged reads about the person (who opened, searched, exported or unmasked what, when).

It is a DRAFT for a secrecy review before anything is released: every page says so, in a band
across the top and a watermark. The reviewer decides what the person may receive; the extract
withholds nothing itself, except that a protected person's address and contact details are not
printed (they are recorded in the vault and shown only through a logged unmask).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from reportlab.platypus import Flowable, KeepTogether, PageBreak, Spacer, Table

from fieldkit.domain.records import (
    Assessment,
    AuditEvent,
    Case,
    Consent,
    Disclosure,
    Intervention,
    JournalEntry,
    Person,
    Review,
)
from fieldkit.forms.definition import Form
from fieldkit.reports.answers import answers_flowables, overrides_flowables
from fieldkit.reports.assessment import (
    interventions_flowables,
    reviews_flowables,
    signature_flowables,
)
from fieldkit.reports.common import ReportContext, personnummer_shown, protected_notice
from fieldkit.reports.journal import JournalExtractInput, entries_flowables, select
from fieldkit.reports.layout import (
    CONTENT_WIDTH,
    RULE,
    build_pdf,
    facts_table,
    long_text,
    para,
    styles,
    table_style,
)
from fieldkit.reports.text import N_


@dataclass(frozen=True)
class SubjectCase:
    case: Case
    person: Person
    entries: Sequence[JournalEntry] = ()
    assessments: Sequence[tuple[Assessment, Form | None]] = ()  # None: form version missing
    reviews: Sequence[Review] = ()
    consents: Sequence[Consent] = ()
    disclosures: Sequence[Disclosure] = ()
    interventions: Sequence[Intervention] = ()


@dataclass(frozen=True)
class SubjectAccessInput:
    persons: Sequence[Person]  # the person's records (the same personnummer across cases)
    cases: Sequence[SubjectCase]
    reads: Sequence[AuditEvent] = field(default_factory=tuple)  # logged reads about the person


def _draft(ctx: ReportContext) -> str:
    return ctx.tr(N_("DRAFT – for secrecy review before release"))


def _contact(value: str | None, person: Person, ctx: ReportContext) -> str:
    if person.protected_identity.is_protected:
        return ctx.tr(N_("Not printed: protected identity"))
    return value or ctx.tr(N_("Not recorded"))


def person_flowables(person: Person, ctx: ReportContext) -> list[Flowable]:
    tr, text = ctx.tr, ctx.text
    rows: list[tuple[str, Any]] = [
        (tr(N_("Name")), person.name),
        (tr(N_("Personnummer")), personnummer_shown(person, ctx)),
        (tr(N_("Date of birth")), text.date(person.birth_date) if person.birth_date else "–"),
        (tr(N_("Protected identity")), text.enum(person.protected_identity)),
        (tr(N_("Address")), _contact(person.address, person, ctx)),
        (tr(N_("Phone")), _contact(person.phone, person, ctx)),
        (tr(N_("Recorded")), text.datetime(person.created_at)),
    ]
    out: list[Flowable] = []
    if person.protected_identity.is_protected:
        out += [protected_notice(person, ctx), Spacer(1, 4)]
    out.append(facts_table(rows))
    return out


def _case_rows(case: Case, ctx: ReportContext) -> list[tuple[str, Any]]:
    tr, text = ctx.tr, ctx.text
    rows: list[tuple[str, Any]] = [
        (tr(N_("Case")), case.reference or case.id),
        (tr(N_("Case type")), text.enum(case.case_type)),
        (tr(N_("Status")), text.enum(case.status)),
        (tr(N_("Opened")), text.datetime(case.created_at)),
        (tr(N_("Case owner")), ctx.name(case.owner_id)),
    ]
    if case.assigned_ids:
        rows.append((tr(N_("Assigned")), ", ".join(ctx.name(i) for i in case.assigned_ids)))
    if case.district:
        rows.append((tr(N_("District")), case.district))
    if case.referral_source:
        rows.append((tr(N_("Referral source")), case.referral_source))
    if case.summary:
        rows.append((tr(N_("Summary")), long_text(case.summary)))
    if case.closed_at:
        rows.append((tr(N_("Closed")), text.datetime(case.closed_at)))
        if case.close_reason:
            rows.append((tr(N_("Reason for closing")), case.close_reason))
    return rows


def _table(rows: list[list[Any]], widths: list[float]) -> Table:
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


def consents_flowables(consents: Sequence[Consent], ctx: ReportContext) -> list[Flowable]:
    tr, text = ctx.tr, ctx.text
    st = styles()
    if not consents:
        return [para(tr(N_("No consents are recorded.")), st.muted)]
    out: list[Flowable] = []
    for c in sorted(consents, key=lambda c: (c.valid_from, c.id)):
        period = f"{text.date(c.valid_from)} – {text.date(c.valid_until) if c.valid_until else '…'}"
        rows: list[tuple[str, Any]] = [
            (tr(N_("Given by")), f"{c.given_by_name} ({text.enum(c.given_by)})"),
            (tr(N_("Recipients")), ", ".join(c.recipients)),
            (tr(N_("Information")), c.information),
            (tr(N_("Purpose")), c.purpose),
            (tr(N_("Valid")), period),
            (tr(N_("Written")), tr(N_("Yes")) if c.written else tr(N_("No"))),
        ]
        if c.withdrawn_at:
            rows.append(
                (
                    tr(N_("Withdrawn")),
                    f"{text.datetime(c.withdrawn_at)} {c.withdrawn_reason}".strip(),
                )
            )
        out += [KeepTogether(facts_table(rows)), Spacer(1, 5)]
    return out


def disclosures_flowables(disclosures: Sequence[Disclosure], ctx: ReportContext) -> list[Flowable]:
    tr, text = ctx.tr, ctx.text
    st = styles()
    if not disclosures:
        return [para(tr(N_("No disclosures are recorded.")), st.muted)]
    out: list[Flowable] = []
    for d in sorted(disclosures, key=lambda d: (d.disclosed_at, d.id)):
        rows: list[tuple[str, Any]] = [
            (tr(N_("Disclosed")), text.datetime(d.disclosed_at)),
            (tr(N_("Recipient")), f"{d.recipient} ({text.enum(d.recipient_kind)})"),
            (tr(N_("Information")), d.information),
            (
                tr(N_("Legal basis")),
                text.enum(d.legal_basis) if d.legal_basis else tr(N_("None stated")),
            ),
        ]
        if d.justification:
            rows.append((tr(N_("Justification")), d.justification))
        out += [KeepTogether(facts_table(rows)), Spacer(1, 5)]
    return out


def assessment_flowables(
    a: Assessment,
    form: Form | None,
    reviews: Sequence[Review],
    ctx: ReportContext,
) -> list[Flowable]:
    tr, text = ctx.tr, ctx.text
    st = styles()
    title = form.title.get(text.language) if form else None
    heading = tr(
        N_("Assessment: {title}, version {version} – {status}"),
        title=title or a.form_id,
        version=a.form_version,
        status=text.enum(a.status),
    )
    out: list[Flowable] = [para(heading, st.h1)]
    if form is None:
        out.append(
            para(
                tr(
                    N_(
                        "The form version {form} is not installed on this laptop; the answers "
                        "are listed by item id."
                    ),
                    form=f"{a.form_id}@{a.form_version}",
                ),
                st.muted,
            )
        )
        for item_id, value in sorted(a.answers.items()):
            out.append(para(f"{item_id}: {value}", st.small))
    else:
        out += answers_flowables(form, a, ctx)
        out += overrides_flowables(form, a, ctx)
    out += reviews_flowables([r for r in reviews if r.assessment_id == a.id], ctx)
    out += signature_flowables(a, ctx)
    return out


def reads_flowables(reads: Sequence[AuditEvent], ctx: ReportContext) -> list[Flowable]:
    tr, text = ctx.tr, ctx.text
    st = styles()
    if not reads:
        return [para(tr(N_("No logged reads on this laptop.")), st.muted)]
    head = [
        para(tr(N_("Time")), st.muted),
        para(tr(N_("Event")), st.muted),
        para(tr(N_("By")), st.muted),
        para(tr(N_("Record")), st.muted),
    ]
    rows = [head]
    for e in sorted(reads, key=lambda e: (e.at, e.device_id, e.seq)):
        rows.append(
            [
                para(text.datetime(e.at), st.small),
                para(text.enum(e.action), st.small),
                para(ctx.name(e.actor_id), st.small),
                para(_record_label(e.record_type, ctx), st.small),
            ]
        )
    w = CONTENT_WIDTH
    return [_table(rows, [0.24 * w, 0.28 * w, 0.26 * w, 0.22 * w])]


def _record_label(record_type: str, ctx: ReportContext) -> str:
    known = {
        "case": N_("Case"),
        "person": N_("Person"),
        "note": N_("Journal entry"),
        "assessment": N_("Assessment"),
    }
    message = known.get(record_type)
    return ctx.tr(message) if message else record_type or "–"


def subject_story(data: SubjectAccessInput, ctx: ReportContext) -> list[Flowable]:
    tr = ctx.tr
    st = styles()
    story: list[Flowable] = [
        para(tr(N_("Subject-access extract")), st.title),
        para(
            tr(
                N_(
                    "Everything this laptop holds about the person, across cases and record "
                    "types. This is a draft: it must be reviewed for secrecy before anything is "
                    "released to the person, and it may contain information the person is not "
                    "entitled to receive."
                )
            ),
            st.italic,
        ),
        Spacer(1, 4),
        facts_table(
            [
                (tr(N_("Produced")), ctx.text.datetime(ctx.produced_at)),
                (tr(N_("Produced by")), ctx.produced_by or "–"),
                (tr(N_("Organisation")), ctx.letterhead() or "–"),
                (tr(N_("Cases")), ", ".join(c.case.reference or c.case.id for c in data.cases)),
                (
                    tr(N_("Scope")),
                    tr(
                        N_(
                            "Records on this laptop only; the municipality's server may hold "
                            "more (for example cases of other teams and older log events)."
                        )
                    ),
                ),
            ]
        ),
        para(tr(N_("The person")), st.h1),
    ]
    for person in data.persons:
        story += [*person_flowables(person, ctx), Spacer(1, 6)]
    for sc in data.cases:
        story.append(PageBreak())
        story.append(para(tr(N_("Case {reference}"), reference=sc.case.reference), st.title))
        story.append(facts_table(_case_rows(sc.case, ctx)))
        story.append(para(tr(N_("Journal entries")), st.h1))
        selection = select(
            JournalExtractInput(sc.case, sc.person, sc.entries, include_drafts=True), ctx
        )
        if selection.rows:
            story += entries_flowables(selection, ctx)
        else:
            story.append(para(tr(N_("There are no journal entries.")), st.muted))
        for a, form in sorted(sc.assessments, key=lambda p: (p[0].created_at, p[0].id)):
            story += assessment_flowables(a, form, sc.reviews, ctx)
        if not sc.assessments:
            story += [
                para(tr(N_("Assessments")), st.h1),
                para(tr(N_("There are no assessments.")), st.muted),
            ]
        story += [para(tr(N_("Consents")), st.h1), *consents_flowables(sc.consents, ctx)]
        story += [para(tr(N_("Disclosures")), st.h1), *disclosures_flowables(sc.disclosures, ctx)]
        story += [
            para(tr(N_("Interventions")), st.h1),
            *interventions_flowables(sc.interventions, ctx),
        ]
    story += [
        PageBreak(),
        para(tr(N_("Logged reads about the person")), st.h1),
        para(
            tr(
                N_(
                    "Who opened, searched, exported or unmasked the person's records, as the "
                    "audit log on this laptop shows."
                )
            ),
            st.small,
        ),
        Spacer(1, 4),
        *reads_flowables(data.reads, ctx),
    ]
    return story


def render_subject_access(out: BinaryIO, data: SubjectAccessInput, ctx: ReportContext) -> int:
    """Write the extract as PDF into ``out``; returns the number of pages."""
    name = data.persons[0].name if data.persons else ""
    protected = any(p.protected_identity.is_protected for p in data.persons)
    decor = ctx.decor(
        ctx.tr(N_("Subject-access extract")),
        "" if protected else name,
        draft_banner=_draft(ctx),
        watermark=ctx.tr(N_("DRAFT")),
    )
    return build_pdf(out, subject_story(data, ctx), decor, ctx.tr(N_("Subject-access extract")))
