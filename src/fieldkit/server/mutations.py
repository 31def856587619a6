"""The named mutations of sync v1, applied on the server with the same rules as the client.

Each handler gets the caller, the mutation's ``args`` and a ``Store`` on the open transaction;
it returns an ``Outcome`` or raises ``Rejected`` (a business refusal: recorded, and the device's
mutation id still advances). Ids the caller may not see are answered exactly like unknown ids.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from fieldkit.domain import assessment as assessment_rules
from fieldkit.domain import audit as audit_rules
from fieldkit.domain import consent as consent_rules
from fieldkit.domain import journal
from fieldkit.domain import personnummer as pnr
from fieldkit.domain.codec import to_dict
from fieldkit.domain.enums import AssessmentStatus, CaseStatus, NoteState, ReviewOutcome, Role
from fieldkit.domain.ids import is_id, utcnow
from fieldkit.domain.records import (
    EDITABLE_CASE_FIELDS,
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
from fieldkit.errors import FieldkitError, InvalidInput
from fieldkit.protocol import ChangeKind, FieldConflict, MutationName, MutationStatus, RecordType
from fieldkit.server import forms as assessment_forms
from fieldkit.server.feed import CASE_BOUND
from fieldkit.server.identity import DeviceRow, Principal, clean_text
from fieldkit.server.models import (
    AuditEventRow,
    AuditProblem,
    CaseMember,
    CaseScope,
    User,
)
from fieldkit.server.scope import ScopeRow, may_see_case
from fieldkit.server.store import RecordRow, Store, record_data

T = TypeVar("T")

PERSON_EDITABLE = ("name", "personnummer", "birth_date", "protected_identity", "address", "phone")
INTERVENTION_EDITABLE = ("kind", "start_date", "end_date", "description", "responsible", "outcome")
MAX_AUDIT_EVENTS = 1000


class Rejected(Exception):
    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def not_found(what: str = "case") -> Rejected:
    return Rejected("not_found", f"No such {what}, or it is not yours to change.")


def refused(exc: FieldkitError) -> Rejected:
    code = "invalid_args" if isinstance(exc, InvalidInput) else "refused"
    return Rejected(code, exc.render(lambda s: s))


@dataclass
class Outcome:
    status: MutationStatus = MutationStatus.APPLIED
    record_version: int | None = None
    conflicts: list[FieldConflict] = field(default_factory=list)
    reason_code: str | None = None
    reason: str | None = None


@dataclass
class Context:
    session: Session
    store: Store
    principal: Principal
    device: DeviceRow
    # Within one push: which cases the caller may see (a push cannot change that for its own
    # caller), and the latest entry time per case, written once at the end of the batch.
    visible: dict[str, ScopeRow | None] = field(default_factory=dict)
    last_entry: dict[str, dt.datetime] = field(default_factory=dict)

    def may_see(self, case_id: str) -> ScopeRow | None:
        if case_id not in self.visible:
            self.visible[case_id] = may_see_case(self.session, self.principal, case_id)
        return self.visible[case_id]

    def prefetch(self, batch_args: list[dict[str, Any]]) -> None:
        """Read what a batch's mutations name — records by id, cases' scope and the caller's
        membership — in a few queries instead of a few per mutation."""
        ids: set[str] = set()
        for args in batch_args:
            _collect_ids(args, ids, 0)
        if not ids:
            return
        # the records, each with its case's scope row if the caller may see the case (a
        # case's own record is of that case)
        for case_id, scope in self.store.prefetch(ids, self.principal).items():
            self.visible.setdefault(case_id, scope)

    def finish(self) -> None:
        """Write what the batch deferred (call before committing)."""
        for case_id, when in self.last_entry.items():
            scope = self.session.get(CaseScope, case_id)
            if scope is not None and when > scope.last_entry_at:
                scope.last_entry_at = when


def _collect_ids(value: Any, out: set[str], depth: int) -> None:
    """The UUIDs a mutation's args name (``id``, ``*_id``, ``link_to``; two levels deep)."""
    if depth > 2 or not isinstance(value, dict):
        return
    for key, item in value.items():
        if isinstance(item, str):
            if (key == "id" or key.endswith("_id") or key == "link_to") and is_id(item):
                out.add(item)
        elif isinstance(item, dict):
            _collect_ids(item, out, depth + 1)


# --- argument parsing -------------------------------------------------------------------


@cache
def _adapter(cls: Any) -> TypeAdapter[Any]:
    return TypeAdapter(cls)


def parse_record(cls: type[T], value: Any, what: str) -> T:
    """A record from the wire, with every field's type checked (not only decoded)."""
    return parse_record_encoded(cls, value, what)[0]


def parse_record_encoded(cls: type[T], value: Any, what: str) -> tuple[T, dict[str, Any]]:
    """``parse_record`` and the record's ``to_dict`` form (encoding it is part of the check:
    it refuses naive datetimes), so that a handler storing the record encodes it once."""
    if not isinstance(value, dict):
        raise Rejected("invalid_args", f"'{what}' must be an object.")
    if not is_id(value.get("id")):
        raise Rejected("invalid_args", f"'{what}.id' must be a UUID.")
    try:
        record: T = _adapter(cls).validate_python(value)  # type: ignore[arg-type]
        encoded = to_dict(record)  # refuses naive datetimes, and times with no UTC equivalent
    except (ValidationError, ValueError, TypeError, OverflowError) as exc:
        raise Rejected(
            "invalid_args", f"'{what}' is not a valid {cls.__name__}: {_brief(exc)}"
        ) from None
    return record, encoded


def _brief(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['type']}" for err in exc.errors()[:5]
        )
    return type(exc).__name__


def arg(args: dict[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    value = args.get(name)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise Rejected("invalid_args", f"'{name}' is missing or has the wrong type.")
    return value


def merged(
    cls: type[T],
    current: dict[str, Any],
    changes: dict[str, Any],
    allowed: tuple[str, ...],
    what: str,
) -> T:
    unknown = sorted(set(changes) - set(allowed))
    if unknown:
        raise Rejected("invalid_args", f"These fields cannot be changed: {', '.join(unknown)}.")
    data = {k: v for k, v in current.items() if k not in ("version", "field_versions")}
    data.update(changes)
    return parse_record(cls, data, what)


def datetime_arg(args: dict[str, Any], name: str) -> dt.datetime:
    value = args.get(name)
    try:
        parsed = dt.datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise Rejected("invalid_args", f"'{name}' must be an ISO 8601 time with a time zone.")
    try:
        parsed.astimezone(dt.UTC)  # 9999-12-31T23:59-14:00 has none: it is past year 9999
    except OverflowError:
        raise Rejected("invalid_args", f"'{name}' is out of range.") from None
    return parsed


# --- helpers ----------------------------------------------------------------------------


def visible_case(ctx: Context, case_id: Any) -> tuple[ScopeRow, Any]:
    if not is_id(case_id):
        raise not_found()
    scope = ctx.may_see(case_id)
    rec = ctx.store.get(RecordType.CASE, case_id) if scope else None
    if scope is None or rec is None:
        raise not_found()
    return scope, rec


def visible_record(ctx: Context, record_type: RecordType, record_id: Any) -> Any:
    if not is_id(record_id):
        raise not_found(record_type.value)
    rec = ctx.store.get(record_type, record_id)
    if rec is None or rec.case_id is None or ctx.may_see(rec.case_id) is None:
        raise not_found(record_type.value)
    return rec


def require_author(ctx: Context, author_id: str) -> None:
    if author_id != ctx.principal.user_id:
        raise Rejected("author_mismatch", "The author must be the user of this device.")


def stamp(
    record: Any, ctx: Context, *, encoded: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    """The record as stored: its ``to_dict`` form (``encoded`` when the caller has it) with
    the writing device."""
    data = dict(encoded) if encoded is not None else to_dict(record)
    data["device_id"] = ctx.principal.device_id
    data.update(extra)
    return data


def ensure_new(ctx: Context, record_type: RecordType, record_id: str) -> None:
    if ctx.store.get(record_type, record_id) is not None:
        raise Rejected("id_in_use", f"A {record_type.value} with this id already exists.")


def own_or_new(ctx: Context, record_type: RecordType, record_id: str) -> Any:
    """For a mutation that creates the record or changes it (by its client-made id): the
    record to change, or None to create it. An id the caller may not see is answered as
    creating a record with an id in use is (``id_in_use``, the one answer that tells an id
    exists, docs/server.md), never as "not found", which a fresh id would not get."""
    rec = ctx.store.get(record_type, record_id)
    if rec is not None and (rec.case_id is None or ctx.may_see(rec.case_id) is None):
        raise Rejected("id_in_use", f"A {record_type.value} with this id already exists.")
    return rec


def team_members(ctx: Context, user_ids: list[str]) -> list[User]:
    users = []
    for uid in user_ids:
        user = ctx.session.get(User, uid) if is_id(uid) else None
        if (
            user is None
            or not user.active
            or user.team_id != ctx.principal.team_id
            or user.role == Role.ADMIN.value
        ):
            raise Rejected("invalid_user", "Cases are assigned to active members of your team.")
        users.append(user)
    return users


def now_iso() -> str:
    return utcnow().isoformat().replace("+00:00", "Z")


def touch_case(ctx: Context, scope: ScopeRow, when: dt.datetime) -> None:
    """The case's latest entry, which retention counts from, moves to ``when``; never past
    the time it reaches the server (an entry dated in the future, by a laptop's wrong clock or
    on purpose, would otherwise keep its file from ever being due)."""
    when = min(when, utcnow())
    if when > ctx.last_entry.get(scope.case_id, when - dt.timedelta(seconds=1)):
        ctx.last_entry[scope.case_id] = when


# --- cases and persons ------------------------------------------------------------------


def case_create(ctx: Context, args: dict[str, Any]) -> Outcome:
    p = ctx.principal
    case = parse_record(Case, args.get("case"), "case")
    person = parse_record(Person, args.get("person"), "person")
    if case.person_id != person.id:
        raise Rejected("invalid_args", "case.person_id must be the person's id.")
    if case.team_id != p.team_id:
        raise Rejected("forbidden", "A case is created in your own team.")
    if case.status is not CaseStatus.OPEN:
        raise Rejected("invalid_args", "A new case is open.")
    if p.role is Role.WORKER and case.owner_id != p.user_id:
        raise Rejected("forbidden", "A worker creates cases they own.")
    team_members(ctx, [case.owner_id, *case.assigned_ids])
    ensure_new(ctx, RecordType.CASE, case.id)
    existing_person = ctx.store.get(RecordType.PERSON, person.id)
    if existing_person is not None:
        linked = ctx.session.scalars(
            select(CaseScope.case_id).where(CaseScope.person_id == person.id)
        )
        if not any(may_see_case(ctx.session, p, cid) for cid in linked):
            raise Rejected("id_in_use", "A person with this id already exists.")
    else:
        person = normalise_person(person)
        ctx.store.insert(RecordType.PERSON, stamp(person, ctx, author_id=p.user_id), case_id=None)
    fv = dict.fromkeys(EDITABLE_CASE_FIELDS, 0)
    rec = ctx.store.insert(
        RecordType.CASE, stamp(case, ctx, author_id=p.user_id), case_id=case.id, field_versions=fv
    )
    ctx.session.add(
        CaseScope(
            case_id=case.id,
            team_id=case.team_id,
            person_id=person.id,
            owner_id=case.owner_id,
            case_type=case.case_type.value,
            status=case.status.value,
            last_entry_at=case.created_at,
            retention_exempt=False,
            archived=False,
            tombstoned=False,
        )
    )
    ctx.session.flush()
    for uid in dict.fromkeys(case.workers()):
        ctx.session.add(CaseMember(case_id=case.id, user_id=uid))
    ctx.session.flush()
    # The person before the case: a pull page may end between the two, and a laptop can
    # store a person without its case but not a case without its person.
    person_rec = ctx.store.get(RecordType.PERSON, person.id)
    assert person_rec is not None
    ctx.store.changed(person_rec)
    ctx.store.changed(rec)
    ctx.visible.pop(case.id, None)
    return Outcome(record_version=rec.version)


def normalise_person(person: Person) -> Person:
    if not person.name.strip():
        raise Rejected("invalid_args", "A person needs a name.")
    if person.personnummer:
        try:
            number = pnr.parse(person.personnummer)
        except InvalidInput as exc:
            raise refused(exc) from None
        return dataclasses.replace(
            person,
            personnummer=number.normalised,
            birth_date=person.birth_date or number.birth_date,
        )
    return person


def case_set_fields(ctx: Context, args: dict[str, Any]) -> Outcome:
    scope, rec = visible_case(ctx, args.get("case_id"))
    changes = arg(args, "changes", dict)
    base = args.get("base_versions") or {}
    if not isinstance(base, dict) or not all(isinstance(v, int) for v in base.values()):
        raise Rejected("invalid_args", "'base_versions' maps fields to integers.")
    if scope.status != CaseStatus.OPEN.value:
        raise Rejected("case_closed", "The case is closed.")
    current = record_data(rec)
    candidate = merged(Case, current, changes, EDITABLE_CASE_FIELDS, "changes")
    typed = to_dict(candidate)
    fv: dict[str, int] = current.get("field_versions", {})
    conflicts, applied = [], {}
    for name in changes:
        if fv.get(name, 0) != base.get(name, 0):
            conflicts.append(
                FieldConflict(
                    record_type=RecordType.CASE,
                    record_id=rec.id,
                    field=name,
                    base_version=base.get(name),
                    server_value=current.get(name),
                    local_value=typed[name],
                )
            )
        else:
            applied[name] = typed[name]
    if applied:
        data = {**current, **applied, "updated_at": to_dict(candidate)["updated_at"]}
        new_version = rec.version + 1
        fv = {**fv, **dict.fromkeys(applied, new_version)}
        ctx.store.replace(rec, data, field_versions=fv)
        ctx.store.changed(rec)
    status = MutationStatus.CONFLICT if conflicts else MutationStatus.APPLIED
    return Outcome(
        status=status,
        record_version=rec.version,
        conflicts=conflicts,
        reason_code="field_conflict" if conflicts else None,
    )


def case_assign(ctx: Context, args: dict[str, Any]) -> Outcome:
    scope, rec = visible_case(ctx, args.get("case_id"))
    ctx.visible.clear()
    assigned = arg(args, "assigned_ids", list)
    p = ctx.principal
    if p.role is not Role.TEAM_LEAD and scope.owner_id != p.user_id:
        raise Rejected("forbidden", "Only the case owner or a team lead assigns workers.")
    team_members(ctx, assigned)
    current = record_data(rec)
    assigned_ids = list(dict.fromkeys(a for a in assigned if a != scope.owner_id))
    before = set(
        ctx.session.scalars(select(CaseMember.user_id).where(CaseMember.case_id == rec.id))
    )
    after = {scope.owner_id, *assigned_ids}
    ctx.store.replace(
        rec,
        {
            **current,
            "assigned_ids": assigned_ids,
            "updated_at": now_iso(),
        },
    )
    for uid in sorted(before - after):
        ctx.session.execute(
            delete(CaseMember).where(CaseMember.case_id == rec.id, CaseMember.user_id == uid)
        )
        user = ctx.session.get(User, uid)
        if user is None or user.role != Role.TEAM_LEAD.value or user.team_id != scope.team_id:
            ctx.store.emit(
                ChangeKind.REVOKE, RecordType.CASE.value, rec.id, case_id=rec.id, target_user_id=uid
            )
    for uid in sorted(after - before):
        ctx.session.add(CaseMember(case_id=rec.id, user_id=uid))
        replay_case(ctx, scope, uid)
    # After the replay (person first): a new member's page must not hold the case alone.
    ctx.store.changed(rec)
    ctx.session.flush()
    return Outcome(record_version=rec.version)


# The order a case's records are replayed in: the case, then entries before what refers to
# them (assessments before their reviews; CASE_BOUND lists the types so); within a type by
# id, which is time-ordered (UUIDv7), so an original note comes before its corrections.
_REPLAY_RANK = {t.value: rank for rank, t in enumerate(CASE_BOUND)}


def _replay_order(rec: RecordRow) -> tuple[int, str]:
    return _REPLAY_RANK.get(rec.record_type, len(_REPLAY_RANK)), rec.id


def replay_case(ctx: Context, scope: ScopeRow, user_id: str) -> None:
    """Everything of a case, addressed to a user who has just been given it."""
    person = ctx.store.get(RecordType.PERSON, scope.person_id)
    if person is not None:
        ctx.store.emit(
            ChangeKind.UPSERT,
            RecordType.PERSON.value,
            person.id,
            case_id=scope.case_id,
            target_user_id=user_id,
        )
    # Parents first: the laptop checks a record's references (a note's case, a review's
    # assessment, a correction's note) when its pull transaction commits, and a transaction
    # may end anywhere in the replay. The table's own order is not that: an updated case's
    # row can come after its entries (PostgreSQL).
    for rec in sorted(ctx.store.records_of_case(scope.case_id), key=_replay_order):
        ctx.store.emit(
            ChangeKind.UPSERT,
            rec.record_type,
            rec.id,
            case_id=scope.case_id,
            target_user_id=user_id,
        )


def case_close(ctx: Context, args: dict[str, Any]) -> Outcome:
    scope, rec = visible_case(ctx, args.get("case_id"))
    reason = arg(args, "reason", str)
    closed_at = datetime_arg(args, "closed_at")
    if scope.status == CaseStatus.CLOSED.value:
        raise Rejected("case_closed", "The case is already closed.")
    current = record_data(rec)
    candidate = merged(
        Case,
        current,
        {"status": "closed", "closed_at": closed_at.isoformat(), "close_reason": reason},
        ("status", "closed_at", "close_reason"),
        "case",
    )
    ctx.store.replace(rec, to_dict(candidate))
    ctx.session.execute(
        update(CaseScope)
        .where(CaseScope.case_id == scope.case_id)
        .values(status=CaseStatus.CLOSED.value)
    )
    scope.status = CaseStatus.CLOSED.value
    ctx.store.changed(rec)
    return Outcome(record_version=rec.version)


def person_update(ctx: Context, args: dict[str, Any]) -> Outcome:
    person_id = args.get("person_id")
    if not is_id(person_id) or ctx.principal.role is Role.ADMIN:
        raise not_found("person")
    linked = ctx.session.scalars(select(CaseScope.case_id).where(CaseScope.person_id == person_id))
    if not any(may_see_case(ctx.session, ctx.principal, cid) for cid in linked):
        raise not_found("person")
    rec = ctx.store.get(RecordType.PERSON, str(person_id))
    if rec is None:
        raise not_found("person")
    changes = arg(args, "changes", dict)
    person = normalise_person(merged(Person, record_data(rec), changes, PERSON_EDITABLE, "changes"))
    ctx.store.replace(rec, {**to_dict(person), "updated_at": now_iso()})
    ctx.store.changed(rec)
    return Outcome(record_version=rec.version)


# --- journal ----------------------------------------------------------------------------


def _check_note(ctx: Context, note: JournalEntry, scope: ScopeRow) -> None:
    require_author(ctx, note.author_id)
    if note.author_role.value != ctx.principal.role.value:
        raise Rejected("author_mismatch", "The author's role does not match the user's.")
    try:
        journal.check_text(note.text)
        target = None
        if note.link_to is not None:
            linked = ctx.store.get(RecordType.NOTE, note.link_to)
            if linked is not None and linked.case_id == scope.case_id:
                target = parse_record(JournalEntry, record_data(linked), "link")
        if note.link_kind is not None or note.link_to is not None:
            journal.check_link(note.link_kind, target, note.case_id)
    except FieldkitError as exc:
        raise refused(exc) from None
    if note.state is NoteState.SIGNED and not (
        note.signed_by == ctx.principal.user_id and journal.verify_signature(note)
    ):
        raise Rejected("bad_signature", "The signed entry's content hash does not match it.")


def note_create(ctx: Context, args: dict[str, Any]) -> Outcome:
    note, encoded = parse_record_encoded(JournalEntry, args.get("note"), "note")
    scope, _case = visible_case(ctx, note.case_id)
    _check_note(ctx, note, scope)
    ensure_new(ctx, RecordType.NOTE, note.id)
    signed = note.state is NoteState.SIGNED
    rec = ctx.store.insert(
        RecordType.NOTE, stamp(note, ctx, encoded=encoded), case_id=note.case_id, sealed=signed
    )
    touch_case(ctx, scope, max(note.event_time, note.created_at))
    ctx.store.changed(rec)
    return Outcome(record_version=rec.version)


def note_update_draft(ctx: Context, args: dict[str, Any]) -> Outcome:
    rec = visible_record(ctx, RecordType.NOTE, args.get("note_id"))
    changes = arg(args, "changes", dict)
    current = parse_record(JournalEntry, record_data(rec), "note")
    require_author(ctx, current.author_id)
    if rec.sealed or current.state is NoteState.SIGNED:
        raise Rejected("immutable", "A signed journal entry cannot be changed.")
    typed = merged(JournalEntry, record_data(rec), changes, journal.DRAFT_EDITABLE, "changes")
    try:
        edited = journal.edit_draft(current, **{k: getattr(typed, k) for k in changes})
    except FieldkitError as exc:
        raise refused(exc) from None
    ctx.store.replace(rec, stamp(edited, ctx))
    ctx.store.changed(rec)
    return Outcome(record_version=rec.version)


def note_sign(ctx: Context, args: dict[str, Any]) -> Outcome:
    note = parse_record(JournalEntry, args.get("note"), "note")
    if note.state is not NoteState.SIGNED:
        raise Rejected("invalid_args", "note.sign carries the signed entry.")
    rec = ctx.store.get(RecordType.NOTE, note.id)
    if rec is None or rec.case_id is None or ctx.may_see(rec.case_id) is None:
        # a new signed entry; or another's, answered exactly as creating it would be
        return note_create(ctx, args)
    scope, _case = visible_case(ctx, rec.case_id)
    current = parse_record(JournalEntry, record_data(rec), "note")
    if rec.sealed or current.state is NoteState.SIGNED:
        raise Rejected("already_signed", "This journal entry is already signed.")
    if note.case_id != current.case_id or note.author_id != current.author_id:
        raise Rejected("invalid_args", "The signed entry must be the draft's own case and author.")
    _check_note(ctx, note, scope)
    ctx.store.replace(rec, stamp(note, ctx), seal=True)
    touch_case(ctx, scope, max(note.event_time, note.signed_at or note.event_time))
    ctx.store.changed(rec)
    return Outcome(record_version=rec.version)


# --- assessments ------------------------------------------------------------------------


def check_answers(a: Assessment, *, complete: bool) -> None:
    """The answers fit the assessment's released form version (``complete``: and are complete
    as a submission needs); otherwise a rejection that names items, never answers."""
    try:
        assessment_forms.check_assessment(a, complete=complete)
    except assessment_forms.UnknownForm as exc:
        raise Rejected("unknown_form", str(exc)) from None
    except assessment_forms.AnswersInvalid as exc:
        raise Rejected("invalid_answers", exc.reason) from None


def assessment_save_draft(ctx: Context, args: dict[str, Any]) -> Outcome:
    a = parse_record(Assessment, args.get("assessment"), "assessment")
    visible_case(ctx, a.case_id)
    require_author(ctx, a.author_id)
    if a.status is not AssessmentStatus.DRAFT:
        raise Rejected("invalid_args", "assessment.save_draft carries a draft.")
    check_answers(a, complete=False)
    rec = own_or_new(ctx, RecordType.ASSESSMENT, a.id)
    if rec is None:
        rec = ctx.store.insert(RecordType.ASSESSMENT, stamp(a, ctx), case_id=a.case_id)
    else:
        current = parse_record(Assessment, record_data(rec), "assessment")
        if rec.sealed or current.status is not AssessmentStatus.DRAFT:
            raise Rejected(
                "immutable",
                f"This assessment is {current.status.value} and can no longer be changed.",
            )
        if current.case_id != a.case_id or current.author_id != a.author_id:
            raise Rejected("invalid_args", "A draft keeps its case and author.")
        if (current.form_id, current.form_version) != (a.form_id, a.form_version):
            raise Rejected("invalid_args", "A draft keeps the form version it was made with.")
        ctx.store.replace(rec, stamp(a, ctx))
    ctx.store.changed(rec)
    return Outcome(record_version=rec.version)


def assessment_submit(ctx: Context, args: dict[str, Any]) -> Outcome:
    a = parse_record(Assessment, args.get("assessment"), "assessment")
    visible_case(ctx, a.case_id)
    require_author(ctx, a.author_id)
    if (
        a.status is not AssessmentStatus.SUBMITTED
        or a.submitted_by != ctx.principal.user_id
        or a.reassessment_due is None
    ):
        raise Rejected(
            "invalid_args",
            "assessment.submit carries the submitted assessment, "
            "submitted by its author, with a re-assessment date.",
        )
    if a.content_hash != assessment_rules.content_hash(a):
        raise Rejected("bad_hash", "The submitted assessment's content hash does not match it.")
    check_answers(a, complete=True)
    rec = own_or_new(ctx, RecordType.ASSESSMENT, a.id)
    if rec is not None:
        current = parse_record(Assessment, record_data(rec), "assessment")
        if rec.sealed or current.status is not AssessmentStatus.DRAFT:
            # A second submit: the server's version stands; the device keeps a conflicted copy.
            return Outcome(
                status=MutationStatus.CONFLICT,
                record_version=rec.version,
                reason_code="already_submitted",
                reason=f"This assessment is already {current.status.value}.",
            )
        ctx.store.replace(rec, stamp(a, ctx), seal=True)
    else:
        rec = ctx.store.insert(RecordType.ASSESSMENT, stamp(a, ctx), case_id=a.case_id, sealed=True)
    ctx.store.changed(rec)
    return Outcome(record_version=rec.version)


def assessment_review(ctx: Context, args: dict[str, Any]) -> Outcome:
    review = parse_record(Review, args.get("review"), "review")
    p = ctx.principal
    if review.reviewer_id != p.user_id:
        raise Rejected("author_mismatch", "The reviewer must be the user of this device.")
    rec = visible_record(ctx, RecordType.ASSESSMENT, review.assessment_id)
    if review.case_id != rec.case_id:
        raise Rejected("invalid_args", "The review's case is the assessment's case.")
    ensure_new(ctx, RecordType.REVIEW, review.id)
    current = parse_record(Assessment, record_data(rec), "assessment")
    try:
        updated, _ = assessment_rules.review(
            current,
            p.user_id,
            p.role,
            review.decision,
            review.outcome,
            review.comment,
            review.reviewer_name,
        )
    except FieldkitError as exc:
        raise refused(exc) from None
    if review.outcome is ReviewOutcome.APPROVE:
        for other in ctx.store.records_of_case(rec.case_id):
            if other.record_type != RecordType.ASSESSMENT.value or other.id == rec.id:
                continue
            data = record_data(other)
            if data.get("status") == AssessmentStatus.APPROVED.value:
                superseded = assessment_rules.supersede(
                    parse_record(Assessment, data, "assessment")
                )
                ctx.store.replace(other, to_dict(superseded))
                ctx.store.changed(other)
    ctx.store.replace(rec, to_dict(updated))
    ctx.store.changed(rec)
    review_rec = ctx.store.insert(
        RecordType.REVIEW, stamp(review, ctx), case_id=rec.case_id, sealed=True
    )
    ctx.store.changed(review_rec)
    return Outcome(record_version=review_rec.version)


# --- consents, disclosures, interventions -----------------------------------------------


def consent_record(ctx: Context, args: dict[str, Any]) -> Outcome:
    consent = parse_record(Consent, args.get("consent"), "consent")
    scope, _case = visible_case(ctx, consent.case_id)
    if consent.person_id != scope.person_id:
        raise Rejected("invalid_args", "A consent is given for the case's person.")
    require_author(ctx, consent.author_id)
    try:
        consent_rules.check_consent(consent)
    except FieldkitError as exc:
        raise refused(exc) from None
    ensure_new(ctx, RecordType.CONSENT, consent.id)
    rec = ctx.store.insert(RecordType.CONSENT, stamp(consent, ctx), case_id=consent.case_id)
    ctx.store.changed(rec)
    return Outcome(record_version=rec.version)


def consent_withdraw(ctx: Context, args: dict[str, Any]) -> Outcome:
    rec = visible_record(ctx, RecordType.CONSENT, args.get("consent_id"))
    when = datetime_arg(args, "withdrawn_at")
    reason = args.get("reason", "")
    if not isinstance(reason, str):
        raise Rejected("invalid_args", "'reason' is text.")
    try:
        withdrawn = consent_rules.withdraw(
            parse_record(Consent, record_data(rec), "consent"), reason, when
        )
    except FieldkitError as exc:
        raise refused(exc) from None
    ctx.store.replace(rec, to_dict(withdrawn))
    ctx.store.changed(rec)
    return Outcome(record_version=rec.version)


def disclosure_record(ctx: Context, args: dict[str, Any]) -> Outcome:
    disclosure = parse_record(Disclosure, args.get("disclosure"), "disclosure")
    scope, _case = visible_case(ctx, disclosure.case_id)
    require_author(ctx, disclosure.author_id)
    if disclosure.person_id != scope.person_id:
        raise Rejected("invalid_args", "A disclosure concerns the case's person.")
    consents = [
        parse_record(Consent, record_data(r), "consent")
        for r in ctx.store.records_of_case(scope.case_id)
        if r.record_type == RecordType.CONSENT.value
    ]
    if disclosure.consent_id is not None and disclosure.consent_id not in {c.id for c in consents}:
        raise not_found("consent")
    try:
        consent_rules.check_disclosure(disclosure, consents)
    except FieldkitError as exc:
        raise refused(exc) from None
    ensure_new(ctx, RecordType.DISCLOSURE, disclosure.id)
    rec = ctx.store.insert(
        RecordType.DISCLOSURE, stamp(disclosure, ctx), case_id=disclosure.case_id, sealed=True
    )
    ctx.store.changed(rec)
    return Outcome(record_version=rec.version)


def _check_intervention(i: Intervention) -> None:
    if i.end_date is not None and i.end_date < i.start_date:
        raise Rejected("invalid_args", "An intervention cannot end before it starts.")


def intervention_record(ctx: Context, args: dict[str, Any]) -> Outcome:
    intervention = parse_record(Intervention, args.get("intervention"), "intervention")
    visible_case(ctx, intervention.case_id)
    require_author(ctx, intervention.author_id)
    _check_intervention(intervention)
    ensure_new(ctx, RecordType.INTERVENTION, intervention.id)
    rec = ctx.store.insert(
        RecordType.INTERVENTION, stamp(intervention, ctx), case_id=intervention.case_id
    )
    ctx.store.changed(rec)
    return Outcome(record_version=rec.version)


def intervention_update(ctx: Context, args: dict[str, Any]) -> Outcome:
    rec = visible_record(ctx, RecordType.INTERVENTION, args.get("intervention_id"))
    changes = arg(args, "changes", dict)
    updated = merged(Intervention, record_data(rec), changes, INTERVENTION_EDITABLE, "changes")
    _check_intervention(updated)
    ctx.store.replace(rec, {**to_dict(updated), "updated_at": now_iso()})
    ctx.store.changed(rec)
    return Outcome(record_version=rec.version)


# --- audit ------------------------------------------------------------------------------


def audit_append(ctx: Context, args: dict[str, Any]) -> Outcome:
    raw = arg(args, "events", list)
    if len(raw) > MAX_AUDIT_EVENTS:
        raise Rejected("invalid_args", f"At most {MAX_AUDIT_EVENTS} events per mutation.")
    events = [parse_record(AuditEvent, e, "events[]") for e in raw]
    for e in events:
        if not 0 < e.seq < 2**62:
            raise Rejected("invalid_args", "An audit event's seq is a positive integer.")
        if e.device_id != ctx.device.id:
            raise Rejected("device_mismatch", "Audit events must come from this device's chain.")
        if e.actor_id != ctx.principal.user_id:
            raise Rejected("author_mismatch", "Audit events are the device user's own.")
    stored: set[str] = set()
    ids = [e.id for e in events]
    for start in range(0, len(ids), 500):
        stored.update(
            ctx.session.scalars(
                select(AuditEventRow.id).where(AuditEventRow.id.in_(ids[start : start + 500]))
            )
        )
    if stored:
        raise Rejected("id_in_use", "An audit event with this id is already stored.")
    device = ctx.device
    problems = audit_rules.verify_chain(
        events, start_hash=device.audit_head_hash, start_seq=device.audit_head_seq + 1
    )
    now = utcnow()
    for e in events:
        ctx.session.add(
            AuditEventRow(
                id=e.id,
                device_id=e.device_id,
                seq=e.seq,
                actor_id=e.actor_id,
                action=e.action.value,
                record_type=clean_text(e.record_type, 20),
                record_id=clean_text(e.record_id, 64) if e.record_id else None,
                case_id=clean_text(e.case_id, 64) if e.case_id else None,
                details=json.dumps(to_dict(e)["details"], sort_keys=True),
                at=e.at,
                prev_hash=e.prev_hash,
                hash=e.hash,
                received_at=now,
            )
        )
    for problem in problems:
        ctx.session.add(
            AuditProblem(
                device_id=device.id,
                event_id=problem.event_id,
                position=problem.position,
                kind=problem.kind,
                detected_at=now,
            )
        )
    if events:
        device.audit_head_seq = events[-1].seq
        device.audit_head_hash = events[-1].hash
    ctx.session.flush()
    if problems:
        return Outcome(
            reason_code="audit_chain_broken", reason="; ".join(p.describe() for p in problems[:10])
        )
    return Outcome()


Handler = Callable[[Context, dict[str, Any]], Outcome]

HANDLERS: dict[MutationName, Handler] = {
    MutationName.CASE_CREATE: case_create,
    MutationName.CASE_SET_FIELDS: case_set_fields,
    MutationName.CASE_ASSIGN: case_assign,
    MutationName.CASE_CLOSE: case_close,
    MutationName.PERSON_UPDATE: person_update,
    MutationName.NOTE_CREATE: note_create,
    MutationName.NOTE_UPDATE_DRAFT: note_update_draft,
    MutationName.NOTE_SIGN: note_sign,
    MutationName.ASSESSMENT_SAVE_DRAFT: assessment_save_draft,
    MutationName.ASSESSMENT_SUBMIT: assessment_submit,
    MutationName.ASSESSMENT_REVIEW: assessment_review,
    MutationName.CONSENT_RECORD: consent_record,
    MutationName.CONSENT_WITHDRAW: consent_withdraw,
    MutationName.DISCLOSURE_RECORD: disclosure_record,
    MutationName.INTERVENTION_RECORD: intervention_record,
    MutationName.INTERVENTION_UPDATE: intervention_update,
    MutationName.AUDIT_APPEND: audit_append,
}

# What an admin's device may push: its own audit trail, nothing that touches a case.
ADMIN_ALLOWED = frozenset({MutationName.AUDIT_APPEND})


def apply(ctx: Context, name: str, args: dict[str, Any]) -> Outcome:
    try:
        mutation = MutationName(name)
    except ValueError:
        raise Rejected("unknown_mutation", "This server does not know that mutation.") from None
    if ctx.principal.role is Role.ADMIN and mutation not in ADMIN_ALLOWED:
        raise Rejected("forbidden", "An administrator's device carries no case content.")
    return HANDLERS[mutation](ctx, args)


__all__ = ["ADMIN_ALLOWED", "HANDLERS", "Context", "Outcome", "Rejected", "apply"]
