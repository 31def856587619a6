"""Journal entries: write a draft, edit it, sign it (logged), and write corrections, supplements
and the person's own view as new entries linked to a signed one. The rules themselves are
fieldkit.domain.journal's; this module applies them and stores the result with its outbox row
(and, for a signature, its audit event) in one transaction."""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from fieldkit.domain import journal
from fieldkit.domain.codec import to_dict
from fieldkit.domain.enums import AuditAction, ContactType, LinkKind
from fieldkit.domain.ids import new_id, utcnow
from fieldkit.domain.records import JournalEntry
from fieldkit.errors import N_, InvalidInput, Refused
from fieldkit.protocol.messages import MutationName
from fieldkit.services import kept as kept_work
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
    clears_kept: bool = False,
    work_id: str | None = None,
) -> JournalEntry:
    """A new journal entry (a draft, or signed at once with ``sign=True``). With
    ``clears_kept`` (the editor saving what it holds), what was kept of the editor's piece of
    work ``work_id`` is removed in the same transaction (without ``work_id``: the one entry an
    earlier fieldkit kept for a new note of the case)."""
    case = require_case(session, case_id)
    if work_id is not None:
        _ref(case.id, work_id)  # a bad name is refused before anything is written
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
        if clears_kept:
            _drop_kept(session, case.id, None, work_id)
    log.info("journal entry written (signed=%s)", sign)
    return entry


def _check_author(session: Session, entry: JournalEntry) -> None:
    if entry.author_id != session.identity.user_id:
        raise Refused(
            N_("Only the author can change or sign this draft."),
            N_("Write your own entry, or a supplement once it is signed."),
        )


def update_draft(
    session: Session,
    note_id: str,
    *,
    clears_kept: bool = False,
    work_id: str | None = None,
    **changes: Any,
) -> JournalEntry:
    """Edit a draft (text, event time, contact type, place, present). Signed entries refuse.
    With ``clears_kept`` (the editor saving what it holds), what was kept of the editor's
    piece of work ``work_id`` is removed in the same transaction (without ``work_id``: the one
    entry an earlier fieldkit kept, when it was about this draft); any other edit, and other
    work kept about the same draft, stay, to be offered back with a notice that the draft
    changed since."""
    entry = require_note(session, note_id)
    if work_id is not None:
        _ref(entry.case_id, work_id)
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
        if clears_kept:
            _drop_kept(session, entry.case_id, entry.id, work_id)  # the editor's text is saved
    return updated


def sign_note(session: Session, note_id: str) -> JournalEntry:
    """Sign a draft: from now on it never changes. Logged as ``sign``."""
    entry = require_note(session, note_id)
    with write(session):
        # text kept for the draft stays: it is offered to read and copy, until discarded
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
    clears_kept: bool = False,
    work_id: str | None = None,
    **fields: Any,
) -> JournalEntry:
    """A correction, supplement or the person's own view, linked to a signed entry of the same
    case. The original stays as it was. ``clears_kept`` and ``work_id`` as for ``add_note``."""
    link = coerce_enum(LinkKind, kind, N_("link kind"))
    original = require_note(session, note_id)
    if work_id is not None:
        _ref(original.case_id, work_id)
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
        if clears_kept:
            _drop_kept(session, entry.case_id, None, work_id)
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


# --- what the note editor could not save ----------------------------------------------------

UNSAVED = "note"  # the kind of a kept entry (fieldkit.storage.repos.UnsavedRepository)
MAX_KEPT_TEXT = 1_000_000  # characters of kept text (a pasted text over MAX_TEXT still fits)
_WORK_ID = re.compile(r"[0-9A-Za-z_-]{1,64}")


def new_work_id() -> str:
    """A name for one piece of work in the journal editor (a note being written, from the
    moment the editor starts it): what is kept of it is kept under it, beside anything else
    kept for the case, and only this piece of work replaces it."""
    return new_id()


def _ref(case_id: str, work_id: str) -> str:
    """Where a piece of work is kept: ``<case>.<work>``; ``""`` names the one entry per case
    that fieldkit kept before pieces of work had names (``<case>``)."""
    if work_id == "":
        return case_id
    if not isinstance(work_id, str) or not _WORK_ID.fullmatch(work_id):
        raise ValueError("a piece of work is named by letters, digits, '-' and '_' only")
    return f"{case_id}.{work_id}"


def _work_of(case_id: str, ref: str) -> str | None:
    if ref == case_id:
        return ""
    work = ref[len(case_id) + 1 :] if ref.startswith(f"{case_id}.") else ""
    return work if _WORK_ID.fullmatch(work) else None


@dataclass(frozen=True)
class UnsavedNote:
    """What the journal editor of a case held and could not save (the save failed, or the app
    locked or closed first), kept inside the vault until it is saved, restored or discarded
    (only ever by the author's explicit choice): the draft it changes (None: a note never
    saved), or the signed entry a new linked entry is about, and the fields as typed.
    ``work_id`` names the piece of work (``""``: kept by an earlier fieldkit, one per case);
    several pieces of work can be kept for a case, each offered on its own.

    ``changed_at`` is set when the draft changed since the text was written (saved here, or a
    newer version from another device): restoring replaces those changes. ``restorable`` is
    False once the draft can no longer be changed (``draft_state`` "signed", or "gone", or
    not the author's): the text can then only be read, copied into a new note and
    discarded."""

    case_id: str
    draft_id: str | None
    link: tuple[str, str] | None  # (link kind, original entry id)
    text: str
    contact_type: str
    place: str
    present: tuple[str, ...]
    kept_at: dt.datetime | None
    based_on_version: int | None = None  # the draft's version the text was written on
    based_on_updated_at: dt.datetime | None = None  # and its time of change
    changed_at: dt.datetime | None = None  # when the draft changed since (None: it has not)
    restorable: bool = True
    draft_state: str = "draft"  # "draft", "signed", "gone" (no longer on this laptop), "other"
    signed_at: dt.datetime | None = None
    work_id: str = ""

    @property
    def draft_changed(self) -> bool:
        return self.changed_at is not None


def _drop_kept(session: Session, case_id: str, draft_id: str | None, work_id: str | None) -> None:
    """Inside the caller's transaction: the editor saved what it holds. With ``work_id``, what
    was kept of that piece of work goes (and nothing else: other work kept for the case stays,
    to be offered). Without (a caller that does not say which work it holds), only the one
    entry kept by an earlier fieldkit goes, when it was about this draft (or, with None, about
    a note not saved before)."""
    if work_id is not None:
        session.vault.unsaved.drop(UNSAVED, _ref(case_id, work_id))
        return
    entry = session.vault.unsaved.get(UNSAVED, case_id)
    if entry is not None and entry["content"].get("draft_id") == draft_id:
        session.vault.unsaved.drop(UNSAVED, case_id)


def _kept_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    text, place = fields.get("text", ""), fields.get("place", "")
    contact_type = fields.get("contact_type") or ContactType.VISIT.value
    present = _present(fields.get("present"))
    if not all(isinstance(v, str) for v in (text, place, contact_type)):
        raise InvalidInput(N_("The note's text, place and contact type must be text."))
    if len(text) + len(place) + sum(map(len, present)) > MAX_KEPT_TEXT:
        raise InvalidInput(
            N_("The text is too long to keep ({length} characters; at most {limit})."),
            length=len(text),
            limit=MAX_KEPT_TEXT,
        )
    return {
        "text": text,
        "contact_type": str(getattr(contact_type, "value", contact_type)),
        "place": place,
        "present": list(present),
    }


def _same_as_draft(note: JournalEntry, fields: Mapping[str, Any]) -> bool:
    return (
        note.text == fields["text"]
        and note.contact_type.value == fields["contact_type"]
        and note.place == fields["place"].strip()
        and tuple(note.present) == tuple(fields["present"])
    )


def _mine(session: Session, case_id: str, note: JournalEntry) -> bool:
    return note.case_id == case_id and note.author_id == session.identity.user_id


def keep_unsaved_note(
    session: Session,
    case_id: str,
    fields: Mapping[str, Any],
    *,
    draft_id: str | None = None,
    link: tuple[str, str] | None = None,
    written_on: JournalEntry | None = None,
    work_id: str | None = None,
) -> bool:
    """Keep what the case's journal editor holds (``text``, ``contact_type``, ``place``,
    ``present``) inside the vault until it is saved, restored or discarded. ``work_id`` names
    the piece of work (``new_work_id``; None: a new one): keeping it again replaces what was
    kept of it, and nothing else; text kept of other work for the case stays beside it. For a
    draft, ``written_on`` is the draft as the editor loaded or last saved it (default: as
    stored now): its version and time of change are kept with the text, so that offering it
    back can say when the draft changed since. Text typed into the author's draft is kept even
    when the draft was signed meanwhile (it is then offered to read and copy). Nothing is kept
    for someone else's draft, text equal to the stored draft, or a new note without text (and
    what was kept before of the same piece of work goes: the editor's text replaces it). True
    when kept."""
    case = require_case(session, case_id)
    kept = _kept_fields(fields)
    ref = _ref(case.id, work_id if work_id is not None else new_work_id())
    based: dict[str, Any] | None = None
    if draft_id is not None:
        note = session.vault.notes.get(draft_id)
        if note is not None and not _mine(session, case.id, note):
            return False
        if note is not None and _same_as_draft(note, kept):
            with write(session) as vault:
                vault.unsaved.drop(UNSAVED, ref)
            return False
        if note is not None:
            base = written_on if written_on is not None and written_on.id == note.id else note
            based = kept_work.based_on(base)
    elif not kept["text"].strip():
        with write(session) as vault:
            vault.unsaved.drop(UNSAVED, ref)
        return False
    with write(session) as vault:
        content = {
            **kept,
            "draft_id": draft_id,
            "link": list(link) if link and draft_id is None else None,
        }
        if based is not None:
            content["based_on"] = based
        vault.unsaved.keep(UNSAVED, ref, case.id, content)
    log.info("unsaved journal text kept in the vault")
    return True


def _unsaved(
    session: Session, case_id: str, work_id: str, entry: dict[str, Any]
) -> UnsavedNote | None:
    content = entry["content"]
    try:
        fields = _kept_fields(content)
    except (InvalidInput, TypeError, ValueError):
        return None  # damaged: treated as absent
    kept_at = kept_work.parse_time(entry.get("kept_at"))
    based = content.get("based_on")
    draft_id, link = content.get("draft_id"), content.get("link")
    changed_at, restorable, state, signed_at = None, True, "draft", None
    if draft_id is not None:
        note = session.vault.notes.get(str(draft_id))
        link = None
        if note is None:
            restorable, state = False, "gone"
        elif not _mine(session, case_id, note):
            restorable, state = False, "other"
        elif _same_as_draft(note, fields):
            return None  # nothing there that the entry does not hold
        else:
            changed_at = kept_work.changed_since(note.updated_at, based, kept_at)
            if note.is_signed:
                restorable, state, signed_at = False, "signed", note.signed_at
    elif not fields["text"].strip():
        return None
    if link is not None:
        if not (
            isinstance(link, list) and len(link) == 2 and all(isinstance(v, str) for v in link)
        ):
            return None
        if session.vault.notes.get(link[1]) is None:
            link = None  # the original is gone: what was written is still offered, unlinked
    return UnsavedNote(
        case_id,
        str(draft_id) if draft_id is not None else None,
        (link[0], link[1]) if link else None,
        fields["text"],
        fields["contact_type"],
        fields["place"],
        tuple(fields["present"]),
        kept_at,
        based_on_version=kept_work.based_on_version(based),
        based_on_updated_at=kept_work.based_on_time(based),
        changed_at=changed_at,
        restorable=restorable,
        draft_state=state,
        signed_at=signed_at,
        work_id=work_id,
    )


def kept_readable(case_id: str, ref: str, content: Mapping[str, Any]) -> bool:
    """Whether kept journal text (an entry's ``ref`` and content) can be read back and offered:
    what ``_unsaved`` passes over as damaged is offered from the case instead
    (``fieldkit.services.kept.unreadable``)."""
    if _work_of(case_id, ref) is None:
        return False
    try:
        _kept_fields(content)
    except (InvalidInput, TypeError, ValueError):
        return False
    link = content.get("link") if content.get("draft_id") is None else None
    return link is None or (
        isinstance(link, list) and len(link) == 2 and all(isinstance(v, str) for v in link)
    )


def unsaved_notes(session: Session, case_id: str) -> list[UnsavedNote]:
    """Everything kept for the case's journal editor, oldest first, each piece of work on its
    own: restorable while its draft can be changed, otherwise to read and copy; with when the
    draft changed since."""
    case = require_case(session, case_id)
    found = []
    for ref, entry in session.vault.unsaved.beside(UNSAVED, case.id):
        work_id = _work_of(case.id, ref)
        kept = _unsaved(session, case.id, work_id, entry) if work_id is not None else None
        if kept is not None:
            found.append(kept)
    return found


def unsaved_note(session: Session, case_id: str, work_id: str | None = None) -> UnsavedNote | None:
    """What is kept of one piece of work (``work_id``) of the case's journal editor, or, with
    None, the oldest of what is kept for the case (``unsaved_notes`` has them all)."""
    if work_id is None:
        return next(iter(unsaved_notes(session, case_id)), None)
    case = require_case(session, case_id)
    entry = session.vault.unsaved.get(UNSAVED, _ref(case.id, work_id))
    return _unsaved(session, case.id, work_id, entry) if entry is not None else None


def discard_unsaved_note(session: Session, case_id: str, work_id: str) -> None:
    """The author chose not to restore the text kept of this piece of work: it is removed from
    the vault (what is kept of other work for the case stays)."""
    case = require_case(session, case_id)
    with write(session) as vault:
        vault.unsaved.drop(UNSAVED, _ref(case.id, work_id))
    log.info("unsaved journal text discarded")


def reuse_unsaved_note(session: Session, case_id: str, work_id: str) -> UnsavedNote | None:
    """Kept text whose draft can no longer be changed (signed meanwhile, or gone) becomes the
    text kept for a new note of the case (the same piece of work), to be restored into the
    editor as one: nothing is lost on the way (saving the new note then removes it, as for any
    new note). The entry as it is, when it can still be restored into its own draft; None when
    nothing is kept of that work."""
    found = unsaved_note(session, case_id, work_id)
    if found is None or found.restorable:
        return found
    fields = {
        "text": found.text,
        "contact_type": found.contact_type,
        "place": found.place,
        "present": list(found.present),
    }
    with write(session) as vault:
        vault.unsaved.keep(
            UNSAVED,
            _ref(found.case_id, work_id),
            found.case_id,
            {**fields, "draft_id": None, "link": None},
        )
    log.info("unsaved journal text kept for a new note")
    return unsaved_note(session, case_id, work_id)
