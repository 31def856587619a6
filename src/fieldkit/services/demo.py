"""Seed a realistic, fictitious caseload through the public services.

Used by ``fieldkit demo`` (``make run``) and by the screenshots: everything is written the way
a worker would write it, so the outbox, the audit log and the search index are real. Content
comes from ``demo_content`` and is deterministic for a given seed.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fieldkit.domain.enums import (
    AssessmentStatus,
    CaseType,
    ConsentGiver,
    InterventionKind,
    LinkKind,
)
from fieldkit.domain.ids import utcnow
from fieldkit.forms import Form, FormRegistry, validate
from fieldkit.forms.answers import Visibility
from fieldkit.services import assessments, cases, consents, demo_content, interventions, notes
from fieldkit.services.profile import Session

CONCERN_FORM = "fk.vbe.concern"
RELATIVES_FORM = "fk.relatives.followup"

EVIDENCE_NOTES = (
    "Framkom i samtal och bekräftas av skolans elevhälsa.",
    "Egen iakttagelse vid två tillfällen under uppsökande arbete.",
    "Vårdnadshavare beskriver detta; personen själv bekräftar delvis.",
    "Uppgift från samverkansmöte; källan bedöms som tillförlitlig.",
)
FREE_TEXT = (
    "Bedömningen vilar främst på samtal med personen och vårdnadshavare samt skolans "
    "iakttagelser under hösten. De faktorer som väger tyngst är kontakten med äldre personer "
    "i en våldsbejakande miljö och att personen dragit sig undan tidigare vänner. Samtidigt "
    "finns tydliga skyddsfaktorer: en tränare som personen litar på och ett uttalat intresse "
    "för att fullfölja gymnasiet. Oron bedöms utifrån helheten, inte utifrån antalet faktorer."
)


@dataclass
class SeedReport:
    case_ids: list[str] = field(default_factory=list)
    notes: int = 0
    submitted_assessment_ids: list[str] = field(default_factory=list)
    draft_assessment_ids: list[str] = field(default_factory=list)


def demo_answers(form: Form, rng: random.Random, today: dt.date) -> dict[str, Any]:
    """Answers that pass the form's validation, with varied, plausible ratings and evidence.

    The overall level (S1) is chosen here like an assessor would choose it: independently of
    how many items were rated, never computed from them."""
    answers: dict[str, Any] = {}
    observed = (today - dt.timedelta(days=rng.randint(3, 40))).isoformat()
    for item in form.items():
        kind = item.type
        if kind == "rating":
            code = rng.choices(item.codes, weights=[5, 3, 1, 2][: len(item.codes)])[0]
            value: dict[str, Any] = {"rating": code}
            if item.trend:
                value["trend"] = rng.choice([o.code for o in item.trend])
            if item.key_factor:
                value["key_factor"] = rng.random() < 0.15
            ev = item.evidence
            if ev is not None:
                if ev.sources:
                    value["sources"] = rng.sample([o.code for o in ev.sources], k=2)
                if ev.observed_on:
                    value["observed_on"] = observed
                value["note"] = rng.choice(EVIDENCE_NOTES)
            answers[item.id] = value
        elif kind == "yes_no_unknown":
            answers[item.id] = rng.choice(["yes", "no"]) if item.id != "S2" else "no"
        elif kind == "singleselect":
            answers[item.id] = rng.choice(item.codes)
        elif kind == "multiselect":
            answers[item.id] = rng.sample(list(item.codes), k=min(2, len(item.codes)))
        elif kind == "text":
            answers[item.id] = FREE_TEXT
        elif kind == "date":
            answers[item.id] = (today + dt.timedelta(days=rng.choice((30, 90, 180)))).isoformat()
        elif kind == "datetime":
            answers[item.id] = f"{today.isoformat()}T10:30:00"
    if form.item("A1") is not None:
        answers["A1"] = "initial"
    if form.item("S1") is not None:
        answers["S1"] = rng.choice(["low", "moderate", "moderate", "high"])
    shown = Visibility(form, answers).visible_items
    return {k: v for k, v in answers.items() if k in shown}


def complete_overrides(form: Form, answers: Mapping[str, Any]) -> dict[str, str]:
    """A written justification for every warning the answers raise (what a worker must do)."""
    result = validate(form, answers, {})
    return {
        str(
            w.check_id
        ): "Motiverat i sammanfattningen: helhetsbedömningen väger in skyddsfaktorerna."
        for w in result.warnings
        if w.check_id
    }


def seed_caseload(
    session: Session,
    *,
    seed: int = 2026,
    case_count: int = 22,
    registry: FormRegistry | None = None,
    today: dt.date | None = None,
) -> SeedReport:
    """Cases of every type with notes (signed, drafts, a correction), consents, interventions
    and assessments: some submitted for review, some drafts."""
    rng = random.Random(seed)  # noqa: S311 (fictitious content, not security)
    registry = registry or FormRegistry.load()
    concern = registry.latest(CONCERN_FORM)
    day = today or utcnow().date()
    report = SeedReport()
    types = list(CaseType)
    for index in range(case_count):
        kind = types[index % len(types)] if index < len(types) else demo_content.case_type(rng)
        person = demo_content.person(rng)
        case = cases.create_case(
            session,
            kind,
            person.name,
            personnummer=person.personnummer,
            protected_identity=person.protected_identity,
            address=person.address,
            summary=demo_content.summary(kind),
            district=person.district,
            referral_source=rng.choice(("Skola", "Polis", "Vårdnadshavare", "Egen kontakt")),
        )
        report.case_ids.append(case.id)
        start = utcnow() - dt.timedelta(days=rng.randint(40, 200))
        note_count = rng.randint(4, 12)
        signed = []
        for n in range(note_count):
            when = start + dt.timedelta(days=n * rng.randint(3, 9), hours=rng.randint(9, 17))
            entry = notes.add_note(
                session,
                case.id,
                demo_content.note_text(rng, person.first, person.district),
                contact_type=demo_content.contact_type(rng),
                place=rng.choice(demo_content.PLACES),
                event_time=min(when, utcnow()),
                sign=n < note_count - 1 or rng.random() < 0.6,
            )
            report.notes += 1
            if entry.signed_at is not None:
                signed.append(entry)
        if signed and rng.random() < 0.3:
            notes.add_linked_note(
                session,
                signed[0].id,
                LinkKind.CORRECTION,
                "Rättelse: mötet ägde rum på fritidsgården, inte i skolan som först angavs.",
            )
            report.notes += 1
        if kind in (CaseType.INDIVIDUAL_AT_RISK, CaseType.EXIT_SUPPORT) and rng.random() < 0.7:
            consents.record_consent(
                session,
                case.id,
                given_by=ConsentGiver.GUARDIAN,
                given_by_name="Vårdnadshavare (mamma)",
                recipients=("Skolan", "Polisen i Järva"),
                information="Uppgifter om närvaro, mående och pågående insatser",
                purpose="SSPF-samverkan kring stöd i skola och fritid",
                valid_from=day - dt.timedelta(days=rng.randint(10, 60)),
                valid_until=day + dt.timedelta(days=rng.choice((-5, 90, 180))),
            )
            interventions.record_intervention(
                session,
                case.id,
                rng.choice((InterventionKind.MENTOR, InterventionKind.SSPF, InterventionKind.EXIT)),
                start_date=day - dt.timedelta(days=rng.randint(5, 90)),
                description="Regelbundna träffar varannan vecka.",
                responsible="Fältgruppen",
            )
        if kind in (CaseType.INDIVIDUAL_AT_RISK, CaseType.EXIT_SUPPORT):
            answers = demo_answers(concern, rng, day)
            a = assessments.create_assessment(
                session,
                case.id,
                concern.id,
                concern.version,
                answers=answers,
                overrides=complete_overrides(concern, answers),
                registry=registry,
            )
            if index % 3 != 2:
                a = assessments.submit(session, a.id, registry=registry)
            if a.status is AssessmentStatus.SUBMITTED:
                report.submitted_assessment_ids.append(a.id)
            else:
                report.draft_assessment_ids.append(a.id)
    return report
