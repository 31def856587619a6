"""Constructed records for the documents' tests, benchmarks and previews: a case with a person,
a fully answered assessment of the shipped concern form, earlier assessments, reviews,
interventions, consents, disclosures and a journal with corrections. Invented people only."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any

from fieldkit.domain import assessment as assessment_rules
from fieldkit.domain import journal
from fieldkit.domain.enums import (
    AssessmentStatus,
    AuditAction,
    CaseType,
    ConsentGiver,
    ContactType,
    InterventionKind,
    LegalBasis,
    LinkKind,
    ProtectedIdentity,
    RecipientKind,
    ReviewDecision,
    ReviewOutcome,
    Role,
)
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
    replace,
)
from fieldkit.forms.definition import Form

WORKER = "u-worker-1"
LEAD = "u-lead-1"
NAMES = {WORKER: "Åsa Öberg", LEAD: "Jörgen Ängström"}
T0 = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)

CONCERN = ("B", "C", "D", "E", "F", "G", "H")
RATIONALE = (
    "Samlad bedömning: oron är måttlig. Det som väger tyngst är att Elias under hösten "
    "alltmer har dragit sig undan sina tidigare vänner och att han i samtal återkommande "
    "beskriver en upplevd orättvisa som riktas mot en utpekad grupp. Samtidigt finns tydliga "
    "skyddande faktorer: en mentor han litar på, fortsatt närvaro i skolan och en mamma som "
    "stöttar förändring. Inga tecken på avsikt eller förmåga har framkommit."
)


def person(protected: ProtectedIdentity = ProtectedIdentity.NONE) -> Person:
    return Person(
        name="Elias Åkesson-Lindqvist",
        personnummer="20090412-2389",
        birth_date=dt.date(2009, 4, 12),
        protected_identity=protected,
        address="Östra Förstadsgatan 12 B, 212 11 Malmö",
        phone="070-123 45 67",
        author_id=WORKER,
        created_at=T0,
        updated_at=T0,
    )


def case_for(p: Person) -> Case:
    return Case(
        person_id=p.id,
        case_type=CaseType.INDIVIDUAL_AT_RISK,
        team_id="team-1",
        owner_id=WORKER,
        reference="VBE-2026-0042",
        summary="Oro från skolan om förändrat beteende och nya kontakter.",
        district="Söder",
        referral_source="Skolkurator",
        author_id=WORKER,
        created_at=T0,
        updated_at=T0,
    )


def concern_answers(
    form: Form, rng: random.Random, *, urgent: bool = False, level: str = "moderate"
) -> dict[str, Any]:
    """A complete, valid set of answers for the shipped concern form (1.1.0)."""
    answers: dict[str, Any] = {
        "A1": "followup",
        "A2": ["talk_person", "school", "guardian"],
        "A3": "partial",
        "A4": "yes",
    }
    for item in form.items():
        if item.type != "rating":
            continue
        codes = list(item.codes)
        if item.id.startswith("F"):
            code = "none" if not urgent else ("clear" if item.id == "F1" else "none")
        else:
            code = rng.choice(codes)
        value: dict[str, Any] = {"rating": code, "trend": rng.choice(["same", "worse", "better"])}
        if code not in ("none", "unknown", "absent"):
            value.update(
                key_factor=rng.random() < 0.3,
                sources=["talk_person", "school"],
                observed_on="2026-02-20",
                note="Framkom i samtal på fritidsgården; bekräftat av skolkurator. "
                "Beteendet har förändrats märkbart sedan förra terminen.",
            )
        answers[item.id] = value
    if urgent:
        answers.update(
            FU1="2026-03-02T10:15",
            FU2=["police_routine"],
            FU3="osl_10_18a",
            FU4="Polisen kontaktades enligt samverkansrutinen efter uttalandet i skolan.",
        )
    answers.update(
        X1=[
            {"label": "Flytt till ny stadsdel", "polarity": "risk", "note": "Förlorat nätverk."},
            {"label": "Idrottsförening", "polarity": "protect", "note": "Tränar två gånger/vecka."},
        ],
        S1=level,
        S2="yes" if urgent else "no",
        S3=RATIONALE,
        S4="Oron ökar om kontakterna online fördjupas; den minskar om skolgången håller i sig.",
        S5="Vi vet för lite om fritiden på helgerna – samtal med mamma inbokat.",
        S7="moderate",
        S6="Något ökad oro sedan december: mer tid i slutna forum.",
        I1=["mentor", "relatives", "school_work"],
        I2="yes",
        I3="2026-06-02",
        I4=["new_info", "event"],
    )
    return answers


def submitted(
    a: Assessment, at: dt.datetime, reviewer: bool = True
) -> tuple[Assessment, list[Review]]:
    done = assessment_rules.submit(
        replace(a, reassessment_due=dt.date(2026, 6, 2)), WORKER, Role.WORKER, at
    )
    if not reviewer:
        return done, []
    reviewed, review = assessment_rules.review(
        done,
        LEAD,
        Role.TEAM_LEAD,
        ReviewDecision.PARTLY,
        ReviewOutcome.APPROVE,
        "Instämmer i stort. Skyddsfaktorerna kring skolan behöver följas upp särskilt; "
        "överväg SSPF om samtycke finns.",
        NAMES[LEAD],
    )
    return reviewed, [replace(review, created_at=at + dt.timedelta(days=1))]


@dataclass
class SampleCase:
    person: Person
    case: Case
    form: Form
    assessment: Assessment
    reviews: list[Review]
    history: list[tuple[Assessment, Form]]
    interventions: list[Intervention]
    consents: list[Consent] = field(default_factory=list)
    disclosures: list[Disclosure] = field(default_factory=list)
    notes: list[JournalEntry] = field(default_factory=list)
    audit: list[AuditEvent] = field(default_factory=list)


def sample_case(
    form: Form,
    *,
    protected: ProtectedIdentity = ProtectedIdentity.NONE,
    urgent: bool = False,
    notes: int = 12,
    seed: int = 7,
) -> SampleCase:
    rng = random.Random(seed)  # noqa: S311 - reproducible invented data
    p = person(protected)
    c = case_for(p)
    history: list[tuple[Assessment, Form]] = []
    for months_ago, level in ((9, "low"), (6, "moderate"), (3, "moderate")):
        at = T0 - dt.timedelta(days=30 * months_ago)
        old = Assessment(
            case_id=c.id,
            form_id=form.id,
            form_version=form.version,
            author_id=WORKER,
            answers=concern_answers(form, rng, level=level),
            created_at=at,
            updated_at=at,
        )
        done, _ = submitted(old, at)
        history.append((replace(done, status=AssessmentStatus.SUPERSEDED), form))
    current = Assessment(
        case_id=c.id,
        form_id=form.id,
        form_version=form.version,
        author_id=WORKER,
        answers=concern_answers(form, rng, urgent=urgent),
        overrides={"CHK3": "Säkerheten bedöms som hög eftersom tre oberoende källor samstämmer."},
        created_at=T0,
        updated_at=T0,
    )
    current, reviews = submitted(current, T0)
    history.append((current, form))
    interventions = [
        Intervention(
            case_id=c.id,
            kind=InterventionKind.MENTOR,
            start_date=dt.date(2025, 10, 1),
            description="Mentor från föreningen Fältkraft, träffar Elias varje vecka.",
            responsible="Åsa Öberg",
            author_id=WORKER,
        ),
        Intervention(
            case_id=c.id,
            kind=InterventionKind.RELATIVES,
            start_date=dt.date(2025, 11, 15),
            end_date=dt.date(2026, 2, 1),
            description="Samtal med mamma om oro och stöd.",
            outcome="Mamma upplever sig bättre rustad.",
            responsible="Jörgen Ängström",
            author_id=LEAD,
        ),
    ]
    consent = Consent(
        case_id=c.id,
        person_id=p.id,
        given_by=ConsentGiver.GUARDIAN,
        given_by_name="Maria Åkesson",
        recipients=("Skolan", "Polisen (SSPF)"),
        information="Uppgifter om närvaro och pågående insatser",
        purpose="SSPF-samverkan",
        valid_from=dt.date(2025, 10, 1),
        valid_until=dt.date(2026, 9, 30),
        author_id=WORKER,
    )
    disclosure = Disclosure(
        case_id=c.id,
        person_id=p.id,
        recipient="Polisen, kommunpolis Söder",
        recipient_kind=RecipientKind.POLICE,
        information="Att Elias har kontakt med socialtjänsten och pågående insatser",
        legal_basis=LegalBasis.CONSENT,
        disclosed_at=T0 - dt.timedelta(days=20),
        consent_id=consent.id,
        author_id=WORKER,
    )
    return SampleCase(
        person=p,
        case=c,
        form=form,
        assessment=current,
        reviews=reviews,
        history=history,
        interventions=interventions,
        consents=[consent],
        disclosures=[disclosure],
        notes=journal_entries(c, notes, seed=seed),
        audit=audit_events(c, p),
    )


NOTE_TEXTS = (
    "Träffade Elias på fritidsgården Kärnan tillsammans med fältkollega. Han var först "
    "avvaktande men berättade efter en stund om skolan och att han har svårt att sova. "
    "Han nämnde nya kompisar på nätet som ”förstår honom bättre än alla här”.",
    "Telefonsamtal med mamma Maria. Hon är orolig för att Elias sitter uppe på nätterna och "
    "har slutat träna. Vi kom överens om ett gemensamt möte nästa vecka på förvaltningen.",
    "Uppsökande arbete vid centrum kväll. Elias syntes i en grupp om fem äldre ungdomar. Vi "
    "hälsade; han ville inte prata just då men sa ”vi ses på torsdag”.",
    "Möte med skolkurator och mentor. Närvaron har förbättrats de senaste två veckorna. Elias "
    "har börjat i schackklubben efter skoltid.",
)


def journal_entries(case: Case, count: int, *, seed: int = 7) -> list[JournalEntry]:
    """``count`` entries over the year, signed except two drafts, with a correction, a
    supplement and the person's own view linked to earlier signed entries."""
    rng = random.Random(seed)  # noqa: S311 - reproducible invented data
    entries: list[JournalEntry] = []
    base = dt.datetime(2025, 9, 1, 8, 0, tzinfo=dt.UTC)
    for i in range(count):
        event = base + dt.timedelta(hours=17 * i + rng.randint(0, 6))
        entry = JournalEntry(
            case_id=case.id,
            author_id=WORKER if i % 3 else LEAD,
            author_name=NAMES[WORKER if i % 3 else LEAD],
            author_role=Role.WORKER if i % 3 else Role.TEAM_LEAD,
            text=NOTE_TEXTS[i % len(NOTE_TEXTS)] + ("\n\nUppföljning planerad." if i % 2 else ""),
            event_time=event,
            contact_type=list(ContactType)[i % 4],
            place=["Fritidsgården Kärnan", "Telefon", "Centrum", "Skolan"][i % 4],
            present=("Elias", "Åsa Öberg") if i % 2 else ("Maria Åkesson",),
            created_at=event + dt.timedelta(hours=2),
            updated_at=event + dt.timedelta(hours=2),
        )
        if i not in (count - 1, count // 2) or count < 4:
            entry = journal.sign(entry, entry.author_id, event + dt.timedelta(hours=3))
        entries.append(entry)
    signed = [e for e in entries if e.is_signed]
    links = (
        (
            LinkKind.CORRECTION,
            "Rättelse: mötet var på onsdagen, inte tisdagen, och även skolkuratorn var närvarande.",
        ),
        (
            LinkKind.SUPPLEMENT,
            "Komplettering: mamma har i efterhand lämnat skolans närvarorapport.",
        ),
        (LinkKind.OWN_VIEW, "Elias synpunkt: ”Jag var inte i någon grupp, jag väntade på bussen.”"),
    )
    for n, (kind, text) in enumerate(links):
        if len(signed) <= n * 2:
            break
        original = signed[n * 2]
        linked = journal.new_linked_entry(
            original,
            kind,
            WORKER,
            text,
            author_name=NAMES[WORKER],
            event_time=original.event_time + dt.timedelta(days=2),
        )
        linked = replace(linked, created_at=linked.event_time, updated_at=linked.event_time)
        entries.append(journal.sign(linked, WORKER, linked.event_time + dt.timedelta(hours=1)))
    return entries


def audit_events(case: Case, p: Person) -> list[AuditEvent]:
    out = []
    for seq, (action, actor) in enumerate(
        (
            (AuditAction.CASE_READ, WORKER),
            (AuditAction.ASSESSMENT_READ, LEAD),
            (AuditAction.UNMASK, WORKER),
            (AuditAction.EXPORT, LEAD),
        ),
        start=1,
    ):
        out.append(
            AuditEvent(
                device_id="dev-1",
                actor_id=actor,
                action=action,
                seq=seq,
                record_type="person" if action is AuditAction.UNMASK else "case",
                record_id=p.id if action is AuditAction.UNMASK else case.id,
                case_id=case.id,
                at=T0 + dt.timedelta(days=seq),
            )
        )
    return out
