"""Journal entries: write a draft, edit it, sign it (logged), and write corrections, supplements
and the person's own view as new entries linked to a signed one. The rules themselves are
fieldkit.domain.journal's; this module applies them and stores the result with its outbox row
(and, for a signature, its audit event) in one transaction."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from typing import Any

from fieldkit.domain import journal
from fieldkit.domain.codec import to_dict
from fieldkit.domain.enums import AuditAction, ContactType, LinkKind
from fieldkit.domain.ids import utcnow
from fieldkit.domain.records import JournalEntry
from fieldkit.errors import N_, Refused
from fieldkit.protocol.messages import MutationName
from fieldkit.services.cases import sorted_notes
from fieldkit.services.session import (
    Session,
    audit,
    coerce_enum,
    encode_changes,
    parse_datetime,
    queue,
    require_case,
    require_note,
    write,
)

log = logging.getLogger(__name__)


def _present(value: Iterable[str] | str | None) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = value.split(",")
    return tuple(p.strip() for p in value if p and p.strip())


def _sign_in_transaction(session: Session, entry: JournalEntry) -> JournalEntry:
    signed = journal.sign(entry, session.identity.user_id)
    session.vault.notes.put(signed)
    queue(session, MutationName.NOTE_SIGN, {"note": to_dict(signed)})
    audit(
        session,
        AuditAction.SIGN,
        record_type="note",
        record_id=signed.id,
        case_id=signed.case_id,
        details={"content_hash": signed.content_hash},
    )
    return signed


def add_note(
    session: Session,
    case_id: str,
    text: str,
    *,
    contact_type: ContactType | str = ContactType.VISIT,
    place: str = "",
    present: Iterable[str] | str = (),
    event_time: dt.datetime | str | None = None,
    sign: bool = False,
) -> JournalEntry:
    """A new journal entry (a draft, or signed at once with ``sign=True``)."""
    case = require_case(session, case_id)
    journal.check_text(text)
    kind = coerce_enum(ContactType, contact_type, N_("contact type"))
    when = parse_datetime(event_time, N_("event time"))
    me = session.identity
    now = utcnow()
    entry = JournalEntry(
        case_id=case.id,
        author_id=me.user_id,
        text=text,
        author_role=me.role,
        author_name=me.display_name,
        event_time=when or now,
        contact_type=kind,
        place=place.strip(),
        present=_present(present),
        device_id=me.device_id,
        created_at=now,
        updated_at=now,
    )
    with write(session) as vault:
        vault.notes.put(entry)
        queue(session, MutationName.NOTE_CREATE, {"note": to_dict(entry)})
        if sign:
            entry = _sign_in_transaction(session, entry)
    log.info("journal entry written (signed=%s)", sign)
    return entry


def _check_author(session: Session, entry: JournalEntry) -> None:
    if entry.author_id != session.identity.user_id:
        raise Refused(
            N_("Only the author can change or sign this draft."),
            N_("Write your own entry, or a supplement once it is signed."),
        )


def update_draft(session: Session, note_id: str, **changes: Any) -> JournalEntry:
    """Edit a draft (text, event time, contact type, place, present). Signed entries refuse."""
    entry = require_note(session, note_id)
    if "contact_type" in changes:
        changes["contact_type"] = coerce_enum(
            ContactType, changes["contact_type"], N_("contact type")
        )
    if "event_time" in changes:
        changes["event_time"] = parse_datetime(changes["event_time"], N_("event time")) or utcnow()
    if "present" in changes:
        changes["present"] = _present(changes["present"])
    if "place" in changes and isinstance(changes["place"], str):
        changes["place"] = changes["place"].strip()
    updated = journal.edit_draft(entry, **changes)  # refuses signed entries and unknown fields
    _check_author(session, entry)
    with write(session) as vault:
        vault.notes.put(updated)
        queue(
            session,
            MutationName.NOTE_UPDATE_DRAFT,
            {"note_id": entry.id, "changes": encode_changes(changes)},
        )
    return updated


def sign_note(session: Session, note_id: str) -> JournalEntry:
    """Sign a draft: from now on it never changes. Logged as ``sign``."""
    entry = require_note(session, note_id)
    with write(session):
        signed = _sign_in_transaction(session, entry)
    log.info("journal entry signed")
    return signed


def add_linked_note(
    session: Session,
    note_id: str,
    kind: LinkKind | str,
    text: str,
    *,
    sign: bool = False,
    **fields: Any,
) -> JournalEntry:
    """A correction, supplement or the person's own view, linked to a signed entry of the same
    case. The original stays as it was."""
    link = coerce_enum(LinkKind, kind, N_("link kind"))
    original = require_note(session, note_id)
    me = session.identity
    if "contact_type" in fields:
        fields["contact_type"] = coerce_enum(
            ContactType, fields["contact_type"], N_("contact type")
        )
    if "event_time" in fields:
        fields["event_time"] = parse_datetime(fields["event_time"], N_("event time")) or utcnow()
    if "present" in fields:
        fields["present"] = _present(fields["present"])
    now = utcnow()
    entry = journal.new_linked_entry(
        original,
        link,
        me.user_id,
        text,
        author_role=me.role,
        author_name=me.display_name,
        device_id=me.device_id,
        created_at=now,
        updated_at=now,
        **fields,
    )
    with write(session) as vault:
        vault.notes.put(entry)
        queue(session, MutationName.NOTE_CREATE, {"note": to_dict(entry)})
        if sign:
            entry = _sign_in_transaction(session, entry)
    log.info("linked journal entry %s written (%s)", entry.id, link)
    return entry


def list_notes(session: Session, case_id: str) -> list[JournalEntry]:
    """A case's journal in chronological order. Reading it is logged as ``case.read``."""
    case = require_case(session, case_id)
    with write(session) as vault:
        audit(
            session,
            AuditAction.CASE_READ,
            record_type="case",
            record_id=case.id,
            case_id=case.id,
            details={"view": "journal"},
        )
        notes = list(vault.notes.list_for_case(case.id))
    return sorted_notes(notes)


def links_to(notes: Iterable[JournalEntry], note_id: str) -> list[JournalEntry]:
    """The corrections, supplements and own views written about one entry."""
    return [n for n in notes if n.link_to == note_id]
