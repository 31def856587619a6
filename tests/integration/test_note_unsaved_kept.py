"""What the journal editor of a case could not save is kept inside the real vault (the meta
table, no schema change) until it is saved, restored or discarded: a new note, a draft's
changes, a linked entry being written. The editor's save removes it (no other save, and no
signature: text kept for a draft signed afterwards stays, to read and copy), nothing is kept for
someone else's draft, it goes with a purged entry or case, nothing is queued for the server, and
no text reaches a log or a file in the clear."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from fieldkit.domain.enums import CaseType
from fieldkit.domain.ids import new_id
from fieldkit.domain.journal import MAX_TEXT
from fieldkit.domain.records import replace
from fieldkit.errors import InvalidInput
from fieldkit.protocol.messages import RecordType
from fieldkit.services import cases, notes
from fieldkit.services.profile import Session, open_session

pytestmark = pytest.mark.keyring

PASS = "korrekt häst batteri häftklammer"
SECRET = "Elias berättade att han ska träffa Omar vid moskén på fredag"


def fields(text: str = SECRET, place: str = "Fritidsgården") -> dict[str, object]:
    return {"text": text, "contact_type": "phone", "place": place, "present": ["Elias", "Mamma"]}


def a_case(s: Session) -> str:
    return cases.create_case(s, CaseType.INDIVIDUAL_AT_RISK, "Elias Exempel").id


def kept_refs(s: Session, case_id: str) -> list[str]:
    """Where text is kept for the case's journal editor (every piece of work)."""
    return [ref for ref, _entry in s.vault.unsaved.beside("note", case_id)]


def queued(s: Session) -> list[str]:
    return [str(r.name) for r in s.vault.outbox.pending(limit=100_000, max_bytes=10**9)]


def test_a_new_note_too_long_to_save_is_kept_through_a_lock(
    folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    pasted = SECRET + " " + "ord " * (MAX_TEXT // 4)  # over the entry's limit: refused
    with open_session(folder, PASS) as s:
        case_id = a_case(s)
        with pytest.raises(InvalidInput):
            notes.add_note(s, case_id, pasted)
        before = queued(s)
        assert notes.keep_unsaved_note(s, case_id, fields(pasted)) is True
        assert queued(s) == before
    with open_session(folder, PASS) as s:
        kept = notes.unsaved_note(s, case_id)
        assert kept is not None
        assert kept.text == pasted and kept.draft_id is None and kept.link is None
        assert (kept.contact_type, kept.place, kept.present) == (
            "phone",
            "Fritidsgården",
            ("Elias", "Mamma"),
        )
        assert kept.kept_at is not None
        assert notes.list_notes(s, case_id) == []
    assert SECRET not in "\n".join(r.getMessage() for r in caplog.records)
    for path in folder.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path


def test_the_editor_saving_the_new_note_removes_what_was_kept(worker: Session) -> None:
    case_id = a_case(worker)
    notes.keep_unsaved_note(worker, case_id, fields(), work_id="editor")
    notes.add_note(worker, case_id, "En annan anteckning, skriven i kommandot.")
    assert notes.unsaved_note(worker, case_id) is not None  # not the editor's note
    notes.add_note(worker, case_id, SECRET, clears_kept=True, work_id="editor")
    assert notes.unsaved_note(worker, case_id) is None
    assert kept_refs(worker, case_id) == []


def test_a_drafts_changes_go_once_the_editor_saves_them_and_stay_through_a_signature(
    worker: Session,
) -> None:
    case_id = a_case(worker)
    draft = notes.add_note(worker, case_id, "Första versionen.")
    assert notes.keep_unsaved_note(worker, case_id, fields(), draft_id=draft.id, work_id="w")
    kept = notes.unsaved_note(worker, case_id)
    assert kept is not None and kept.draft_id == draft.id and kept.text == SECRET
    assert kept.work_id == "w"
    notes.update_draft(worker, draft.id, text=SECRET, clears_kept=True, work_id="w")
    assert kept_refs(worker, case_id) == []

    notes.keep_unsaved_note(
        worker, case_id, fields("Ännu en ändring."), draft_id=draft.id, work_id="w"
    )
    notes.sign_note(worker, draft.id)
    kept = notes.unsaved_note(worker, case_id)  # signed afterwards: to read and copy
    assert kept is not None and kept.text == "Ännu en ändring."
    assert not kept.restorable and kept.draft_state == "signed" and kept.signed_at is not None
    notes.discard_unsaved_note(worker, case_id, "w")
    assert kept_refs(worker, case_id) == []


def test_text_equal_to_the_draft_or_empty_keeps_nothing(worker: Session) -> None:
    case_id = a_case(worker)
    draft = notes.add_note(
        worker, case_id, SECRET, contact_type="phone", place="Fritidsgården", present="Elias,Mamma"
    )
    assert notes.keep_unsaved_note(worker, case_id, fields("x"), draft_id=draft.id, work_id="w")
    # the same piece of work, now equal to the draft: what was kept of it goes
    assert not notes.keep_unsaved_note(worker, case_id, fields(), draft_id=draft.id, work_id="w")
    assert notes.keep_unsaved_note(worker, case_id, fields("   ")) is False
    assert kept_refs(worker, case_id) == []


def test_nothing_is_kept_for_someone_elses_draft(worker: Session) -> None:
    case_id = a_case(worker)
    draft = notes.add_note(worker, case_id, "Första versionen.")
    with worker.vault.transaction():
        worker.vault.notes.put(replace(draft, author_id=new_id()))
    assert notes.keep_unsaved_note(worker, case_id, fields(), draft_id=draft.id) is False
    assert kept_refs(worker, case_id) == []


def test_a_linked_entry_being_written_is_kept_with_its_link_and_goes_with_the_original(
    worker: Session,
) -> None:
    case_id = a_case(worker)
    original = notes.add_note(worker, case_id, "Signerad anteckning.", sign=True)
    link = ("correction", original.id)
    notes.keep_unsaved_note(worker, case_id, fields(), link=link, work_id="w")
    kept = notes.unsaved_note(worker, case_id)
    assert kept is not None and kept.link == link and kept.draft_id is None
    notes.add_linked_note(worker, original.id, "correction", SECRET, clears_kept=True, work_id="w")
    assert notes.unsaved_note(worker, case_id) is None

    notes.keep_unsaved_note(worker, case_id, fields(), link=link)
    notes.keep_unsaved_note(worker, case_id, fields("Annat, utan koppling."))
    worker.vault.purge_record(RecordType.NOTE, original.id)
    assert [k.text for k in notes.unsaved_notes(worker, case_id)] == ["Annat, utan koppling."]


def test_a_purged_draft_or_case_takes_what_was_kept_with_it(worker: Session) -> None:
    case_id, other = a_case(worker), a_case(worker)
    draft = notes.add_note(worker, case_id, "Första versionen.")
    notes.keep_unsaved_note(worker, case_id, fields(), draft_id=draft.id)
    notes.keep_unsaved_note(worker, case_id, fields("En annan."), draft_id=draft.id)
    notes.keep_unsaved_note(worker, other, fields())
    notes.keep_unsaved_note(worker, other, fields("En till."))
    worker.vault.purge_record(RecordType.NOTE, draft.id)
    assert kept_refs(worker, case_id) == []
    assert len(kept_refs(worker, other)) == 2
    worker.vault.purge_case(other)
    assert kept_refs(worker, other) == []


def test_a_damaged_entry_is_treated_as_absent_and_discarding_removes_it(
    worker: Session,
) -> None:
    case_id = a_case(worker)
    with worker.vault.transaction():
        worker.vault.meta.set(f"unsaved.note.{case_id}", {"content": {"text": 5}})
    assert notes.unsaved_note(worker, case_id) is None
    notes.keep_unsaved_note(worker, case_id, fields(), work_id="w")
    assert [k.work_id for k in notes.unsaved_notes(worker, case_id)] == ["w"]
    notes.discard_unsaved_note(worker, case_id, "w")
    assert notes.unsaved_notes(worker, case_id) == []
    notes.discard_unsaved_note(worker, case_id, "")  # the damaged entry of an earlier release
    assert kept_refs(worker, case_id) == []
