"""What kept work (answers or text an editor could not save, ``UnsavedRepository``) records of
the draft it was written on, and whether that draft changed since: restoring work written on
an earlier version replaces the newer one, so the editors say so before offering it.

And everything kept for a case, by the id the user names it by (``kept_of_case``,
``discard_kept``, ``kept_text``: ``fieldkit case kept``), including what no editor can offer:
answers of an assessment no longer on this laptop (``assessments.stray_answers``) and entries
that cannot be read back (``unreadable``), reached from the case instead."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from dataclasses import dataclass
from typing import Any

from fieldkit.errors import N_, NotFound
from fieldkit.services.session import Session, require_case, write

log = logging.getLogger(__name__)


def aware(when: dt.datetime) -> dt.datetime:
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)


def parse_time(value: Any) -> dt.datetime | None:
    """An ISO time from a kept entry, or None (absent or damaged)."""
    try:
        return aware(dt.datetime.fromisoformat(str(value))) if value else None
    except ValueError:
        return None


def based_on(record: Any) -> dict[str, Any]:
    """The draft's version and time of change, kept with the work written on it. A save here
    or a newer version from another device changes the time."""
    return {"version": int(record.version), "updated_at": aware(record.updated_at).isoformat()}


def based_on_version(based: Any) -> int | None:
    version = based.get("version") if isinstance(based, dict) else None
    return version if isinstance(version, int) and not isinstance(version, bool) else None


def based_on_time(based: Any) -> dt.datetime | None:
    return parse_time(based.get("updated_at")) if isinstance(based, dict) else None


def changed_since(
    updated_at: dt.datetime, based: Any, kept_at: dt.datetime | None
) -> dt.datetime | None:
    """When the draft (changed last at ``updated_at``) changed after the kept work was written
    on it, or None. For work kept before the draft's state was recorded with it (older
    entries), the draft counts as changed when it changed after the work was kept, or in the
    same millisecond (times are kept to the millisecond: a change then cannot be told from none,
    and a needless warning is the safe side of that). A new version number alone (the server
    acknowledging this laptop's own save) is no change."""
    now = aware(updated_at)
    base = based_on_time(based)
    if base is not None:
        return now if now != base else None
    if kept_at is not None and now >= aware(kept_at):
        return now
    return None


# --- everything kept for a case, by the id the user names it by ------------------------------
#
# The editors offer what they kept when they open (the journal for a case, the assessment
# editor for its assessment). What they cannot offer is reached from the case: answers of an
# assessment no longer on this laptop (``assessments.stray_answers``), and entries whose
# content cannot be read back (``unreadable``), which are named without their content in the
# log, shown with the text they hold to copy, and go only when the user discards them.


class NothingKept(NotFound):
    """Nothing is kept for the case under the id named (discarded meanwhile, or a typo)."""


NOTE, ASSESSMENT = "note", "assessment"  # the kinds of kept work (UnsavedRepository)
LEGACY_NOTE = "journal"  # the id of the one journal entry per case kept by earlier releases


@dataclass(frozen=True)
class KeptItem:
    """One piece of work kept for a case, as ``fieldkit case kept`` lists it. ``work_id`` is
    what the user names it by: the journal editor's piece of work (``"journal"`` for the one
    entry of earlier releases), or the assessment the answers were written in. ``state`` is the
    journal draft's (``new``, ``draft``, ``signed``, ``gone``, ``other``) or the assessment's
    status (``gone`` when it is no longer on this laptop); ``unreadable`` when the content
    cannot be read back."""

    work_id: str
    kind: str
    kept_at: dt.datetime | None
    state: str
    restorable: bool = False
    record_id: str | None = None  # the journal draft or the assessment
    changed_at: dt.datetime | None = None


@dataclass(frozen=True)
class Unreadable:
    """A kept entry of the case whose content cannot be read back: ``text`` is what readable
    text it holds ("" when none), to copy before discarding it."""

    work_id: str
    kind: str
    kept_at: dt.datetime | None
    text: str


_META = ("draft_id", "based_on", "link", "form", "contact_type", "present")


def _text_of(content: Any) -> str:
    """The readable text in a damaged entry's content: a journal text as it is, anything else
    as indented JSON without the bookkeeping."""
    if isinstance(content, dict):
        text = content.get("text")
        if isinstance(text, str) and text.strip():
            place = content.get("place")
            extra = f"\n\n{place}" if isinstance(place, str) and place.strip() else ""
            return text + extra
        content = {k: v for k, v in content.items() if k not in _META}
    if content in (None, "", {}, []):
        return ""
    return (
        content if isinstance(content, str) else json.dumps(content, ensure_ascii=False, indent=2)
    )


_STRING = re.compile(r'"([^"\\]{1,64})"\s*:\s*"((?:[^"\\]|\\.)*)(?:"|$)', re.DOTALL)
_BOOKKEEPING = {*_META, "case_id", "kept_at", "first_kept_at", "updated_at", "id", "version"}


def _decoded(value: str) -> str:
    try:
        return str(json.loads(f'"{value}"', strict=False))
    except ValueError:  # cut off inside an escape
        return value.replace('\\"', '"').replace("\\n", "\n")


def _recovered(stored: str) -> tuple[dt.datetime | None, str]:
    """From an entry that is not JSON (cut off, or partly overwritten): when it was kept, and
    the text values it still holds, without the bookkeeping; the stored text itself when
    nothing can be picked out."""
    kept_at, texts = None, []
    for key, value in _STRING.findall(stored):
        if key == "kept_at" and kept_at is None:
            kept_at = parse_time(value)
        if key not in _BOOKKEEPING and value.strip():
            texts.append(_decoded(value))
    return kept_at, "\n\n".join(texts) if texts else stored.strip()


def _readable_text(stored: str) -> tuple[Any, str]:
    """(the entry when it is JSON, else None; the text a user can copy)."""
    try:
        entry = json.loads(stored)
    except ValueError:
        return None, _recovered(stored)[1]
    content = entry.get("content") if isinstance(entry, dict) else entry
    return entry, _text_of(content)


_CASE_IN_TEXT = re.compile(r'"case_id"\s*:\s*"([0-9A-Za-z_-]{1,64})"')


def _case_of(session: Session, kind: str, ref: str, entry: Any, stored: str) -> str | None:
    if kind == NOTE:
        return ref.split(".", 1)[0]
    if kind == ASSESSMENT:
        a = session.vault.assessments.get(ref)
        if a is not None:
            return str(a.case_id)
    if isinstance(entry, dict) and isinstance(entry.get("case_id"), str):
        return str(entry["case_id"])
    found = _CASE_IN_TEXT.search(stored)  # a damaged entry may still name its case
    return found.group(1) if found else None


def work_id_of(kind: str, case_id: str, ref: str) -> str:
    if kind == NOTE:
        if ref == case_id:
            return LEGACY_NOTE
        return ref[len(case_id) + 1 :] if ref.startswith(f"{case_id}.") else ref
    return ref


def _readable(session: Session, kind: str, case_id: str, ref: str, entry: Any) -> bool:
    from fieldkit.services import assessments, notes

    if not isinstance(entry, dict) or not isinstance(entry.get("content"), dict):
        return False
    if kind == NOTE:
        return notes.kept_readable(case_id, ref, entry["content"])
    return assessments.kept_readable(entry["content"])


def _entries(session: Session, case_id: str) -> list[tuple[str, str, Any, str]]:
    """(kind, ref, entry or None, stored text) of every entry kept for the case."""
    found = []
    for kind in (NOTE, ASSESSMENT):
        for ref, stored in session.vault.unsaved.stored(kind):
            try:
                entry: Any = json.loads(stored)
            except ValueError:
                entry = None
            if _case_of(session, kind, ref, entry, stored) == case_id:
                found.append((kind, ref, entry, stored))
    return found


def unreadable(session: Session, case_id: str) -> list[Unreadable]:
    """The case's kept entries whose content cannot be read back (the editors pass over them),
    oldest first. The log says that one was found, never what it holds."""
    case = require_case(session, case_id)
    found = []
    for kind, ref, entry, stored in _entries(session, case.id):
        if _readable(session, kind, case.id, ref, entry):
            continue
        log.info("a kept entry of a case cannot be read; it is offered to copy and discard")
        _entry, text = _readable_text(stored)
        if isinstance(entry, dict):
            kept_at = parse_time(entry.get("kept_at"))
        else:
            kept_at = _recovered(stored)[0] if entry is None else None
        found.append(Unreadable(work_id_of(kind, case.id, ref), kind, kept_at, text))
    found.sort(key=lambda u: (u.kept_at is None, u.kept_at or _EPOCH, u.work_id))
    return found


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def kept_of_case(session: Session, case_id: str) -> list[KeptItem]:
    """Everything kept for the case, oldest first (not logged: no content is shown): journal
    text (``notes.unsaved_notes``), answers of its assessments (``unsaved_answers``), answers
    of assessments no longer here (``stray_answers``) and unreadable entries."""
    from fieldkit.services import assessments, notes

    case = require_case(session, case_id)
    items: list[KeptItem] = []
    for n in notes.unsaved_notes(session, case.id):
        state = n.draft_state if n.draft_id is not None else "new"
        items.append(
            KeptItem(
                n.work_id or LEGACY_NOTE,
                NOTE,
                n.kept_at,
                state,
                n.restorable,
                n.draft_id,
                n.changed_at,
            )
        )
    for kind, ref, entry, _stored in _entries(session, case.id):
        if kind != ASSESSMENT or not _readable(session, kind, case.id, ref, entry):
            continue
        if session.vault.assessments.get(ref) is None:
            continue  # a stray, below
        kept = assessments.unsaved_answers(session, ref)
        if kept is not None:
            items.append(
                KeptItem(
                    ref,
                    ASSESSMENT,
                    kept.kept_at,
                    kept.status.value,
                    kept.restorable,
                    ref,
                    kept.changed_at,
                )
            )
    for stray in assessments.stray_answers(session, case.id):
        items.append(KeptItem(stray.assessment_id, ASSESSMENT, stray.kept_at, "gone", False, None))
    for bad in unreadable(session, case.id):
        items.append(KeptItem(bad.work_id, bad.kind, bad.kept_at, "unreadable"))
    items.sort(key=lambda i: (i.kept_at is None, i.kept_at or _EPOCH))
    return items


def discard_kept(session: Session, case_id: str, work_id: str) -> KeptItem:
    """The user chose to discard one piece of kept work of the case, named by its id (as
    ``kept_of_case`` lists it): it leaves the vault, and nothing else does. NotFound when
    nothing is kept for the case under that id; never more than one entry."""
    case = require_case(session, case_id)
    listed = {item.work_id: item for item in kept_of_case(session, case.id)}
    item = listed.get(work_id)
    refs = [
        (kind, ref)
        for kind, ref, _entry, _stored in _entries(session, case.id)
        if work_id_of(kind, case.id, ref) == work_id
    ]
    if item is None or len(refs) != 1:
        raise NothingKept(
            N_("Nothing is kept for the case under the id {work_id}."),
            N_("List what is kept for the case with 'fieldkit case kept {case_id}'."),
            work_id=work_id,
            case_id=case.id,
        )
    kind, ref = refs[0]
    with write(session) as vault:
        vault.unsaved.drop(kind, ref)
    log.info("kept %s work discarded", kind)
    return item


def kept_text(session: Session, case_id: str, work_id: str, locale: str | None = None) -> str:
    """The content of one piece of work kept for the case, as text to read and copy: journal
    text as typed, answers by question with the labels of their form version (by item id when
    that version is unknown here), an unreadable entry's readable text. The caller logs the
    read (the case's, as opening it does)."""
    from fieldkit.services import assessments, notes

    case = require_case(session, case_id)
    for item in kept_of_case(session, case.id):
        if item.work_id != work_id:
            continue
        if item.state == "unreadable":
            return next(u.text for u in unreadable(session, case.id) if u.work_id == work_id)
        if item.kind == NOTE:
            note = notes.unsaved_note(session, case.id, "" if work_id == LEGACY_NOTE else work_id)
            return note.text if note is not None else ""
        if item.state == "gone":
            stray = assessments.stray_answer(session, case.id, work_id)
            form = assessments.known_form(stray.form_id, stray.form_version)
            return assessments.kept_answers_text(form, stray.answers, stray.overrides, locale)
        a = assessments.require_assessment(session, work_id)
        kept = assessments.unsaved_answers(session, work_id)
        if kept is None:
            return ""
        form = assessments.form_of(a)
        return assessments.kept_answers_text(form, kept.answers, kept.overrides, locale)
    raise NothingKept(
        N_("Nothing is kept for the case under the id {work_id}."),
        N_("List what is kept for the case with 'fieldkit case kept {case_id}'."),
        work_id=work_id,
        case_id=case.id,
    )
