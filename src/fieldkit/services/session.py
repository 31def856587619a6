"""What every use case shares: the session, the one-transaction write, lookups that name what is
missing. A write stores its record, appends the outbox row the server needs and, where it
applies, an audit event with its own ``audit.append`` row: all in one vault transaction, so a
crash leaves either all of it or none of it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from typing import Any, TypeVar

from fieldkit.domain.codec import to_dict
from fieldkit.domain.enums import AuditAction, Role
from fieldkit.domain.records import Case, JournalEntry, Person
from fieldkit.errors import N_, InvalidInput, NotFound, Refused
from fieldkit.protocol.messages import MutationName
from fieldkit.services.profile import Identity, Session, SessionLocked

__all__ = [
    "Identity",
    "Session",
    "SessionLocked",
    "audit",
    "coerce_enum",
    "encode_changes",
    "parse_date",
    "parse_datetime",
    "queue",
    "require_case",
    "require_note",
    "require_person",
    "write",
]

E = TypeVar("E", bound=Enum)


@contextmanager
def write(session: Session) -> Iterator[Any]:
    """One vault transaction for a use case; yields the vault."""
    vault = session.vault
    with vault.transaction():
        yield vault


def queue(session: Session, name: MutationName, args: dict[str, Any]) -> int:
    """Append an outbox row (inside the caller's transaction)."""
    return int(session.vault.outbox.append(name, args))


def audit(
    session: Session,
    action: AuditAction,
    *,
    record_type: str = "",
    record_id: str | None = None,
    case_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> Any:
    return session.record(
        action, record_type=record_type, record_id=record_id, case_id=case_id, details=details
    )


def record_args(key: str, record: Any) -> dict[str, Any]:
    return {key: to_dict(record)}


def encode_changes(changes: dict[str, Any]) -> dict[str, Any]:
    """Field changes as JSON-able values, the way the codec writes them."""
    from fieldkit.domain.codec import _encode

    return {name: _encode(value) for name, value in changes.items()}


def require_case(session: Session, case_id: str) -> Case:
    case = session.vault.cases.get(case_id)
    if case is None:
        raise NotFound(
            N_("No case with id {case_id} on this laptop."),
            N_("List the cases with 'fieldkit case list'."),
            case_id=case_id,
        )
    return case  # type: ignore[no-any-return]


def require_may_work_on(session: Session, case: Case) -> None:
    """The case's own workers, and team leads of the case's team, may change it."""
    me = session.identity
    if me.user_id in case.workers():
        return
    if me.role is Role.TEAM_LEAD and case.team_id == me.team_id:
        return
    raise Refused(
        N_("You are not one of the workers on this case."),
        N_("Ask the case owner or your team lead."),
    )


def require_person(session: Session, person_id: str) -> Person:
    person = session.vault.persons.get(person_id)
    if person is None:
        raise NotFound(N_("No person with id {person_id} on this laptop."), person_id=person_id)
    return person  # type: ignore[no-any-return]


def require_note(session: Session, note_id: str) -> JournalEntry:
    note = session.vault.notes.get(note_id)
    if note is None:
        raise NotFound(
            N_("No journal entry with id {note_id} on this laptop."),
            N_("List a case's entries with 'fieldkit note list CASE_ID'."),
            note_id=note_id,
        )
    return note  # type: ignore[no-any-return]


def _label(what: str) -> str:
    """A field name for a message, in the user's language (``what`` is marked with N_)."""
    from fieldkit.i18n import _

    return _(what)


def coerce_enum(enum: type[E], value: Any, what: str) -> E:
    if isinstance(value, enum):
        return value
    try:
        return enum(str(value).strip().lower())
    except ValueError as exc:
        raise InvalidInput(
            N_("Unknown {what}: {value} (choose one of: {choices})."),
            what=_label(what),
            value=value,
            choices=", ".join(m.value for m in enum),
        ) from exc


def parse_date(value: Any, what: str) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError as exc:
        raise InvalidInput(
            N_("{value} is not a date for {what} (write YYYY-MM-DD)."),
            value=value,
            what=_label(what),
        ) from exc


def parse_datetime(value: Any, what: str) -> dt.datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        parsed = value
    else:
        try:
            parsed = dt.datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError as exc:
            raise InvalidInput(
                N_("{value} is not a time for {what} (write YYYY-MM-DD HH:MM)."),
                value=value,
                what=_label(what),
            ) from exc
    if parsed.tzinfo is None:
        parsed = parsed.astimezone()  # local wall-clock time as the worker wrote it
    return parsed.astimezone(dt.UTC)
