"""Journal rules: draft -> signed; signed entries never change; corrections, supplements and the
person's own view are new entries linked to a signed one."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fieldkit.domain.codec import sha256_hex
from fieldkit.domain.enums import LinkKind, NoteState
from fieldkit.domain.ids import utcnow
from fieldkit.domain.records import JournalEntry, replace
from fieldkit.errors import N_, InvalidInput, Refused

# What a signature covers. Changing any of these after signing breaks the hash.
SIGNED_FIELDS = (
    "id",
    "case_id",
    "author_id",
    "author_role",
    "event_time",
    "contact_type",
    "place",
    "present",
    "text",
    "link_kind",
    "link_to",
    "signed_by",
    "signed_at",
)
DRAFT_EDITABLE = ("text", "event_time", "contact_type", "place", "present")
MAX_TEXT = 200_000


def content_hash(entry: JournalEntry) -> str:
    from fieldkit.domain.codec import to_dict

    data = to_dict(entry)
    return sha256_hex({k: data[k] for k in SIGNED_FIELDS})


def check_text(text: str) -> None:
    if not text.strip():
        raise InvalidInput(N_("A journal entry needs text."))
    if len(text) > MAX_TEXT:
        raise InvalidInput(
            N_("The entry is too long ({length} characters; at most {limit})."),
            length=len(text),
            limit=MAX_TEXT,
        )


def edit_draft(entry: JournalEntry, **changes: Any) -> JournalEntry:
    if entry.state is NoteState.SIGNED:
        raise Refused(
            N_("A signed journal entry cannot be changed."),
            N_("Write a correction or a supplement linked to it instead."),
        )
    unknown = set(changes) - set(DRAFT_EDITABLE)
    if unknown:
        raise InvalidInput(N_("These fields cannot be edited: {fields}."), fields=sorted(unknown))
    if "text" in changes:
        check_text(changes["text"])
    return replace(entry, **changes, updated_at=utcnow())


def sign(entry: JournalEntry, signer_id: str, at: dt.datetime | None = None) -> JournalEntry:
    if entry.state is NoteState.SIGNED:
        raise Refused(N_("This journal entry is already signed."))
    if signer_id != entry.author_id:
        raise Refused(N_("Only the author can sign a journal entry."))
    check_text(entry.text)
    signed_at = at or utcnow()
    signed = replace(
        entry,
        state=NoteState.SIGNED,
        signed_by=signer_id,
        signed_at=signed_at,
        updated_at=signed_at,
    )
    return replace(signed, content_hash=content_hash(signed))


def verify_signature(entry: JournalEntry) -> bool:
    return entry.state is NoteState.SIGNED and entry.content_hash == content_hash(entry)


def check_link(kind: LinkKind | None, target: JournalEntry | None, case_id: str) -> None:
    """A linked entry points at a signed entry of the same case."""
    if kind is None:
        if target is not None:
            raise InvalidInput(N_("A link needs a kind (correction, supplement or own view)."))
        return
    if target is None:
        raise InvalidInput(N_("The entry to correct or supplement was not found."))
    if target.state is not NoteState.SIGNED:
        raise Refused(
            N_("Only a signed entry can be corrected or supplemented."),
            N_("Edit the draft itself instead."),
        )
    if target.case_id != case_id:
        raise Refused(N_("A linked entry must belong to the same case as the original."))


def new_linked_entry(
    original: JournalEntry, kind: LinkKind, author_id: str, text: str, **fields: Any
) -> JournalEntry:
    check_link(kind, original, original.case_id)
    check_text(text)
    return JournalEntry(
        case_id=original.case_id,
        author_id=author_id,
        text=text,
        link_kind=kind,
        link_to=original.id,
        contact_type=fields.pop("contact_type", original.contact_type),
        **fields,
    )
