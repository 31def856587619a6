"""The records of a case file. Pure data; the rules that govern them live beside them
(``journal``, ``assessment``, ``consent``, ``audit``)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from fieldkit.domain.enums import (
    AssessmentStatus,
    AuditAction,
    CaseStatus,
    CaseType,
    ConsentGiver,
    ContactType,
    InterventionKind,
    LegalBasis,
    LinkKind,
    NoteState,
    ProtectedIdentity,
    RecipientKind,
    ReviewDecision,
    ReviewOutcome,
    Role,
)
from fieldkit.domain.ids import new_id, utcnow


@dataclass(frozen=True, slots=True)
class Person:
    """The subject of one or more cases."""

    name: str
    personnummer: str | None = None  # normalised YYYYMMDD-NNNN (see ``personnummer``)
    birth_date: dt.date | None = None
    protected_identity: ProtectedIdentity = ProtectedIdentity.NONE
    address: str | None = None  # shown only after a logged unmask
    phone: str | None = None
    id: str = field(default_factory=new_id)
    author_id: str = ""
    device_id: str = ""
    created_at: dt.datetime = field(default_factory=utcnow)
    updated_at: dt.datetime = field(default_factory=utcnow)
    version: int = 0  # server version; 0 until the server has it


# The case fields a worker may edit after creation; merged per field during sync.
EDITABLE_CASE_FIELDS: tuple[str, ...] = ("summary", "district", "referral_source", "next_contact")


@dataclass(frozen=True, slots=True)
class Case:
    person_id: str
    case_type: CaseType
    team_id: str
    owner_id: str
    reference: str = ""  # the human case number, e.g. "VBE-2026-0042"
    status: CaseStatus = CaseStatus.OPEN
    assigned_ids: tuple[str, ...] = ()
    summary: str = ""
    district: str = ""
    referral_source: str = ""
    next_contact: dt.date | None = None
    closed_at: dt.datetime | None = None
    close_reason: str = ""
    id: str = field(default_factory=new_id)
    author_id: str = ""
    device_id: str = ""
    created_at: dt.datetime = field(default_factory=utcnow)
    updated_at: dt.datetime = field(default_factory=utcnow)
    version: int = 0

    @property
    def case_id(self) -> str:
        return self.id

    def workers(self) -> tuple[str, ...]:
        return (self.owner_id, *[w for w in self.assigned_ids if w != self.owner_id])


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """A journal note. Draft until signed; signed entries never change."""

    case_id: str
    author_id: str
    text: str
    author_role: Role = Role.WORKER
    author_name: str = ""
    event_time: dt.datetime = field(default_factory=utcnow)  # when it happened
    contact_type: ContactType = ContactType.VISIT
    place: str = ""
    present: tuple[str, ...] = ()
    state: NoteState = NoteState.DRAFT
    link_kind: LinkKind | None = None
    link_to: str | None = None
    signed_at: dt.datetime | None = None
    signed_by: str | None = None
    content_hash: str | None = None
    id: str = field(default_factory=new_id)
    device_id: str = ""
    created_at: dt.datetime = field(default_factory=utcnow)  # writing time
    updated_at: dt.datetime = field(default_factory=utcnow)
    version: int = 0

    @property
    def is_signed(self) -> bool:
        return self.state is NoteState.SIGNED


@dataclass(frozen=True, slots=True)
class Assessment:
    """A structured assessment made from one exact version of a form."""

    case_id: str
    form_id: str
    form_version: str
    author_id: str
    answers: dict[str, Any] = field(default_factory=dict)
    overrides: dict[str, str] = field(default_factory=dict)  # check id -> written justification
    status: AssessmentStatus = AssessmentStatus.DRAFT
    reassessment_due: dt.date | None = None
    previous_id: str | None = None  # the returned assessment this draft revises
    conflict_of: str | None = None  # set on a local copy kept after a submit conflict
    submitted_at: dt.datetime | None = None
    submitted_by: str | None = None
    content_hash: str | None = None
    id: str = field(default_factory=new_id)
    device_id: str = ""
    created_at: dt.datetime = field(default_factory=utcnow)
    updated_at: dt.datetime = field(default_factory=utcnow)
    version: int = 0


@dataclass(frozen=True, slots=True)
class Review:
    """A team lead's review of a submitted assessment: its own record, never an edit."""

    assessment_id: str
    case_id: str
    reviewer_id: str
    decision: ReviewDecision
    outcome: ReviewOutcome
    comment: str = ""
    reviewer_name: str = ""
    id: str = field(default_factory=new_id)
    device_id: str = ""
    created_at: dt.datetime = field(default_factory=utcnow)
    updated_at: dt.datetime = field(default_factory=utcnow)
    version: int = 0


@dataclass(frozen=True, slots=True)
class Consent:
    case_id: str
    person_id: str
    given_by: ConsentGiver
    given_by_name: str
    recipients: tuple[str, ...]
    information: str
    purpose: str
    valid_from: dt.date
    valid_until: dt.date | None = None
    written: bool = True
    withdrawn_at: dt.datetime | None = None
    withdrawn_reason: str = ""
    author_id: str = ""
    id: str = field(default_factory=new_id)
    device_id: str = ""
    created_at: dt.datetime = field(default_factory=utcnow)
    updated_at: dt.datetime = field(default_factory=utcnow)
    version: int = 0


@dataclass(frozen=True, slots=True)
class Disclosure:
    """Information shared with another body, with its basis."""

    case_id: str
    person_id: str
    recipient: str
    recipient_kind: RecipientKind
    information: str
    legal_basis: LegalBasis | None
    disclosed_at: dt.datetime
    consent_id: str | None = None
    justification: str = ""
    author_id: str = ""
    id: str = field(default_factory=new_id)
    device_id: str = ""
    created_at: dt.datetime = field(default_factory=utcnow)
    updated_at: dt.datetime = field(default_factory=utcnow)
    version: int = 0


@dataclass(frozen=True, slots=True)
class Intervention:
    case_id: str
    kind: InterventionKind
    start_date: dt.date
    end_date: dt.date | None = None
    description: str = ""
    responsible: str = ""
    outcome: str = ""
    author_id: str = ""
    id: str = field(default_factory=new_id)
    device_id: str = ""
    created_at: dt.datetime = field(default_factory=utcnow)
    updated_at: dt.datetime = field(default_factory=utcnow)
    version: int = 0


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """Who did what to which record, when, on which device. Hash-chained per device."""

    device_id: str
    actor_id: str
    action: AuditAction
    seq: int  # per-device position in the chain, from 1
    record_type: str = ""
    record_id: str | None = None
    case_id: str | None = None
    details: dict[str, Any] = field(default_factory=dict)  # never case content
    at: dt.datetime = field(default_factory=utcnow)
    prev_hash: str = ""
    hash: str = ""
    id: str = field(default_factory=new_id)


def replace(record: Any, **changes: Any) -> Any:
    return dataclasses.replace(record, **changes)
