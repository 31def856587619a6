"""Cases and the person each is about: create, list, open (logged), edit per field, assign,
close; the address only through a logged unmask."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

from fieldkit.domain import personnummer as pnr
from fieldkit.domain.codec import to_dict
from fieldkit.domain.enums import (
    AssessmentStatus,
    AuditAction,
    CaseStatus,
    CaseType,
    ProtectedIdentity,
    Role,
)
from fieldkit.domain.ids import utcnow
from fieldkit.domain.records import (
    EDITABLE_CASE_FIELDS,
    Case,
    Consent,
    Disclosure,
    Intervention,
    JournalEntry,
    Person,
    replace,
)
from fieldkit.errors import N_, InvalidInput, Refused
from fieldkit.protocol.messages import MutationName
from fieldkit.services.profile import setting
from fieldkit.services.session import (
    Session,
    audit,
    coerce_enum,
    encode_changes,
    parse_date,
    queue,
    require_case,
    require_may_work_on,
    require_person,
    write,
)
from fieldkit.storage.repos import CASE_PAGE_SORTS

log = logging.getLogger(__name__)

MAX_NAME = 200


@dataclass(frozen=True)
class PersonView:
    """A person as shown with a case: everything but the address (and, for a protected
    identity, the phone number), which need a logged unmask."""

    id: str
    name: str
    personnummer: str | None
    birth_date: dt.date | None
    protected_identity: ProtectedIdentity
    has_address: bool
    phone: str | None

    @classmethod
    def of(cls, person: Person) -> PersonView:
        protected = person.protected_identity.is_protected
        return cls(
            id=person.id,
            name=person.name,
            personnummer=person.personnummer,
            birth_date=person.birth_date,
            protected_identity=person.protected_identity,
            has_address=bool(person.address),
            phone=None if protected else person.phone,
        )

    def age_on(self, on: dt.date) -> int | None:
        if self.birth_date is None:
            return None
        years = on.year - self.birth_date.year
        if (on.month, on.day) < (self.birth_date.month, self.birth_date.day):
            years -= 1
        return years

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "personnummer": self.personnummer,
            "birth_date": self.birth_date.isoformat() if self.birth_date else None,
            "protected_identity": self.protected_identity.value,
            "has_address": self.has_address,
            "phone": self.phone,
        }


@dataclass(frozen=True)
class CaseSummary:
    """One line of a caseload list."""

    case_id: str
    reference: str
    case_type: CaseType
    status: CaseStatus
    person_id: str
    person_name: str
    protected_identity: ProtectedIdentity
    owner_id: str
    assigned_ids: tuple[str, ...]
    team_id: str
    next_contact: dt.date | None
    created_at: dt.datetime
    updated_at: dt.datetime
    note_count: int = 0
    draft_count: int = 0
    last_note_at: dt.datetime | None = None
    reassessment_due: dt.date | None = None
    owner_name: str = ""
    needs_review: bool = False  # an assessment of the case waits for a team lead's review

    def to_dict(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id,
            "reference": self.reference,
            "case_type": self.case_type.value,
            "status": self.status.value,
            "person_id": self.person_id,
            "person_name": self.person_name,
            "protected_identity": self.protected_identity.value,
            "owner_id": self.owner_id,
            "assigned_ids": list(self.assigned_ids),
            "team_id": self.team_id,
            "next_contact": self.next_contact.isoformat() if self.next_contact else None,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "note_count": self.note_count,
            "draft_count": self.draft_count,
            "last_note_at": self.last_note_at.isoformat() if self.last_note_at else None,
            "reassessment_due": (
                self.reassessment_due.isoformat() if self.reassessment_due else None
            ),
            "owner_name": self.owner_name,
            "needs_review": self.needs_review,
        }


@dataclass(frozen=True)
class CaseView:
    """An opened case (the open is logged). The address is not here: see ``unmask_address``."""

    case: Case
    person: PersonView
    notes: list[JournalEntry] = field(default_factory=list)
    consents: list[Consent] = field(default_factory=list)
    disclosures: list[Disclosure] = field(default_factory=list)
    interventions: list[Intervention] = field(default_factory=list)

    @property
    def case_id(self) -> str:
        return self.case.id

    def to_dict(self) -> dict[str, Any]:
        return {
            "case": to_dict(self.case),
            "person": self.person.to_dict(),
            "notes": [to_dict(n) for n in self.notes],
            "consents": [to_dict(c) for c in self.consents],
            "disclosures": [to_dict(d) for d in self.disclosures],
            "interventions": [to_dict(i) for i in self.interventions],
        }


# --- create ---------------------------------------------------------------------------------


def _check_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise InvalidInput(N_("The person's name is needed."))
    if len(name) > MAX_NAME:
        raise InvalidInput(N_("The name is too long (at most {limit} characters)."), limit=MAX_NAME)
    return name


def create_case(
    session: Session,
    case_type: CaseType | str,
    person_name: str,
    personnummer: str | None = None,
    protected_identity: ProtectedIdentity | str = ProtectedIdentity.NONE,
    address: str | None = None,
    summary: str = "",
    reference: str | None = None,
    *,
    phone: str | None = None,
    district: str = "",
    referral_source: str = "",
) -> Case:
    """A new case and the person it is about, owned by this profile's user, queued for the
    server (``case.create``) and audited, in one transaction."""
    kind = coerce_enum(CaseType, case_type, N_("case type"))
    protection = coerce_enum(ProtectedIdentity, protected_identity, N_("protected identity level"))
    if protection.is_protected and setting(
        session.config, "keep_protected_identity_off_laptop", False
    ):
        raise Refused(
            N_(
                "By your organisation's policy, cases of persons with protected identity are "
                "not kept on laptops."
            ),
            N_("Record the case in the central system, or ask your team lead."),
        )
    name = _check_name(person_name)
    number = pnr.parse(personnummer) if personnummer and personnummer.strip() else None
    me = session.identity
    now = utcnow()
    person = Person(
        name=name,
        personnummer=number.normalised if number else None,
        birth_date=number.birth_date if number else None,
        protected_identity=protection,
        address=(address or "").strip() or None,
        phone=(phone or "").strip() or None,
        author_id=me.user_id,
        device_id=me.device_id,
        created_at=now,
        updated_at=now,
    )
    case = Case(
        person_id=person.id,
        case_type=kind,
        team_id=me.team_id,
        owner_id=me.user_id,
        reference=(reference or "").strip(),
        summary=summary,
        district=district,
        referral_source=referral_source,
        author_id=me.user_id,
        device_id=me.device_id,
        created_at=now,
        updated_at=now,
    )
    with write(session) as vault:
        vault.persons.put(person)
        vault.cases.put(case)
        queue(session, MutationName.CASE_CREATE, {"case": to_dict(case), "person": to_dict(person)})
        audit(
            session,
            AuditAction.CASE_CREATE,
            record_type="case",
            record_id=case.id,
            case_id=case.id,
            details={"case_type": kind.value, "protected": protection.is_protected},
        )
    log.info("case %s created (%s)", case.id, kind)
    return case


# --- read -----------------------------------------------------------------------------------


def _all_cases(session: Session) -> list[Case]:
    return list(session.vault.cases.list())


def list_cases(
    session: Session,
    *,
    mine: bool = False,
    protected_only: bool = False,
    status: CaseStatus | str | None = None,
    query: str | None = None,
) -> list[CaseSummary]:
    """The caseload on this laptop, newest activity first. Not logged: it shows names and
    types, not case content; opening a case is logged."""
    wanted_status = coerce_enum(CaseStatus, status, N_("case status")) if status else None
    needle = (query or "").strip().casefold()
    rows = session.vault.cases.summaries(
        user_id=session.identity.user_id,
        mine=mine,
        protected_only=protected_only,
        status=wanted_status,
    )
    names = _display_names(session)
    awaiting_review = session.vault.assessments.case_ids_with_status(AssessmentStatus.SUBMITTED)
    return [
        _summary(row, names, row.case.id in awaiting_review)
        for row in rows
        if not needle or needle in f"{row.person_name} {row.case.reference}".casefold()
    ]


def _summary(row: Any, names: dict[str, str], needs_review: bool) -> CaseSummary:
    case = row.case
    return CaseSummary(
        case_id=case.id,
        reference=case.reference,
        case_type=case.case_type,
        status=case.status,
        person_id=case.person_id,
        person_name=row.person_name,
        protected_identity=row.protected_identity,
        owner_id=case.owner_id,
        assigned_ids=case.assigned_ids,
        team_id=case.team_id,
        next_contact=case.next_contact,
        created_at=case.created_at,
        updated_at=case.updated_at,
        note_count=int(row.note_count),
        draft_count=int(row.draft_count),
        last_note_at=row.last_note_at,
        reassessment_due=row.reassessment_due,
        owner_name=names.get(case.owner_id, ""),
        needs_review=needs_review,
    )


PAGE_SIZE = 200  # a caseload page: a few screens of rows
MAX_PAGE_SIZE = 1000
PAGE_SORTS = tuple(CASE_PAGE_SORTS)


@dataclass(frozen=True)
class PageCursor:
    """Where the next page of a caseload starts: the order it belongs to and the last row's
    keys. Ask for the next page with the same filters (a changed filter starts over)."""

    sort: str
    descending: bool
    key: tuple[Any, ...]


@dataclass(frozen=True)
class CasePage:
    """One page of the caseload. ``after``: pass it for the next page (None: this is the last
    page). ``total``: every case the filters match (None when not asked for)."""

    cases: list[CaseSummary]
    after: PageCursor | None
    total: int | None

    @property
    def more(self) -> bool:
        return self.after is not None


def case_page(
    session: Session,
    *,
    mine: bool = False,
    protected_only: bool = False,
    status: CaseStatus | str | None = None,
    query: str | None = None,
    needs_review: bool = False,
    reassessment_due_by: dt.date | None = None,
    sort: str = "updated",
    descending: bool | None = None,
    after: PageCursor | None = None,
    limit: int = PAGE_SIZE,
    count: bool = True,
) -> CasePage:
    """A page of the caseload on this laptop, by default newest activity first (the case id
    breaking ties), with the filters of ``list_cases`` done in the vault: the person's name or
    case number containing ``query`` (any case), cases waiting for a team lead's review
    (``needs_review``), cases whose re-assessment is due by a date. A page costs the same
    whatever the caseload's size (``count`` adds a count of every match). Not logged, as
    ``list_cases``: names and types, not case content."""
    if sort not in CASE_PAGE_SORTS:
        raise InvalidInput(
            N_("Unknown sort order: {sort}. Use one of: {choices}."),
            sort=sort,
            choices=", ".join(PAGE_SORTS),
        )
    if not 1 <= int(limit) <= MAX_PAGE_SIZE:
        raise InvalidInput(
            N_("A page holds 1 to {limit} cases, not {count}."), limit=MAX_PAGE_SIZE, count=limit
        )
    down = CASE_PAGE_SORTS[sort][1] if descending is None else bool(descending)
    if after is not None and (after.sort != sort or after.descending != down):
        raise InvalidInput(
            N_("The next page was asked for in another order than the page before it."),
            N_("Load the caseload again from its first page."),
        )
    wanted_status = coerce_enum(CaseStatus, status, N_("case status")) if status else None
    rows = session.vault.cases.page(
        user_id=session.identity.user_id,
        mine=mine,
        protected_only=protected_only,
        status=wanted_status,
        needle=(query or "").strip().casefold() or None,
        needs_review=needs_review,
        due_by=reassessment_due_by,
        sort=sort,
        descending=down,
        after=after.key if after is not None else None,
        limit=int(limit),
        count=count,
    )
    names = _display_names(session)
    return CasePage(
        cases=[_summary(row, names, row.needs_review) for row in rows.rows],
        after=PageCursor(sort, down, rows.last_key) if rows.last_key is not None else None,
        total=rows.total,
    )


def _display_names(session: Session) -> dict[str, str]:
    names = {str(u["id"]): str(u.get("display_name") or "") for u in session.vault.users.list()}
    me = session.identity
    names.setdefault(me.user_id, me.display_name)
    return names


def _list_for_case(repo: Any, case_id: str) -> list[Any]:
    return list(repo.list_for_case(case_id))


def sorted_notes(notes: list[JournalEntry]) -> list[JournalEntry]:
    """Chronological by event time, then writing time (how a journal is read)."""
    return sorted(notes, key=lambda n: (n.event_time, n.created_at, n.id))


def open_case(session: Session, case_id: str) -> CaseView:
    """Everything of a case but the address. Logged as ``case.read``."""
    vault = session.vault
    case = require_case(session, case_id)
    person = require_person(session, case.person_id)
    with write(session):
        audit(
            session, AuditAction.CASE_READ, record_type="case", record_id=case.id, case_id=case.id
        )
        view = CaseView(
            case=case,
            person=PersonView.of(person),
            notes=sorted_notes(_list_for_case(vault.notes, case.id)),
            consents=_list_for_case(vault.consents, case.id),
            disclosures=_list_for_case(vault.disclosures, case.id),
            interventions=_list_for_case(vault.interventions, case.id),
        )
    return view


def unmask_address(session: Session, person_id: str) -> str | None:
    """The person's address, logged as ``unmask`` (even when there is none to show)."""
    person = require_person(session, person_id)
    case_id = _case_of_person(session, person_id)
    with write(session):
        audit(
            session,
            AuditAction.UNMASK,
            record_type="person",
            record_id=person.id,
            case_id=case_id,
            details={"field": "address"},
        )
    return person.address


def _case_of_person(session: Session, person_id: str) -> str | None:
    for case in _all_cases(session):
        if case.person_id == person_id:
            return case.id
    return None


# --- change ---------------------------------------------------------------------------------


def _coerce_case_field(name: str, value: Any) -> Any:
    if name == "next_contact":
        return parse_date(value, N_("next contact"))
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(N_("{name} must be text."), name=name)
    return value


def set_case_fields(session: Session, case_id: str, **changes: Any) -> Case:
    """Change the editable fields (summary, district, referral source, next contact). The
    outbox row carries the per-field versions this edit started from, for the server's merge."""
    unknown = sorted(set(changes) - set(EDITABLE_CASE_FIELDS))
    if unknown:
        raise InvalidInput(
            N_("These case fields cannot be edited: {fields}."), fields=", ".join(unknown)
        )
    case = require_case(session, case_id)
    require_may_work_on(session, case)
    clean = {name: _coerce_case_field(name, value) for name, value in changes.items()}
    clean = {name: value for name, value in clean.items() if getattr(case, name) != value}
    if not clean:
        return case
    updated = replace(case, **clean, updated_at=utcnow())
    with write(session) as vault:
        versions = dict(vault.cases.field_versions(case.id) or {})
        vault.cases.put(updated)
        queue(
            session,
            MutationName.CASE_SET_FIELDS,
            {
                "case_id": case.id,
                "changes": encode_changes(clean),
                "base_versions": {name: int(versions.get(name, 0)) for name in clean},
            },
        )
    return updated


def assign_case(session: Session, case_id: str, assigned_ids: list[str] | tuple[str, ...]) -> Case:
    """Set the workers assigned besides the owner (the owner or a team lead may)."""
    case = require_case(session, case_id)
    me = session.identity
    if me.user_id != case.owner_id and not (
        me.role is Role.TEAM_LEAD and case.team_id == me.team_id
    ):
        raise Refused(
            N_("Only the case owner or a team lead can assign workers."),
            N_("Ask your team lead."),
        )
    ids = tuple(dict.fromkeys(i for i in assigned_ids if i and i != case.owner_id))
    updated = replace(case, assigned_ids=ids, updated_at=utcnow())
    with write(session) as vault:
        vault.cases.put(updated)
        queue(session, MutationName.CASE_ASSIGN, {"case_id": case.id, "assigned_ids": list(ids)})
    return updated


def close_case(session: Session, case_id: str, reason: str = "") -> Case:
    case = require_case(session, case_id)
    require_may_work_on(session, case)
    if case.status is CaseStatus.CLOSED:
        raise Refused(N_("This case is already closed."))
    now = utcnow()
    updated = replace(
        case, status=CaseStatus.CLOSED, closed_at=now, close_reason=reason.strip(), updated_at=now
    )
    with write(session) as vault:
        vault.cases.put(updated)
        queue(
            session,
            MutationName.CASE_CLOSE,
            {
                "case_id": case.id,
                "reason": updated.close_reason,
                "closed_at": to_dict(updated)["closed_at"],
            },
        )
    return updated
