"""Kept work (answers or text an editor could not save) records the draft's version and time
of change it was written on, so that offering it back can say when the draft changed since: a
save here, or a newer version brought by a pull from another device. A version number alone
(the server acknowledging this laptop's own save) is no change. When the draft can no longer be
changed (submitted or signed meanwhile, locally or by a pull), the work stays, readable and not
restorable, until the author discards it. Entries kept before this was recorded still work."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from fieldkit.domain.codec import to_dict
from fieldkit.domain.enums import AssessmentStatus, CaseType
from fieldkit.domain.records import replace
from fieldkit.forms.model import build_view
from fieldkit.protocol.messages import RecordType
from fieldkit.services import assessments, cases, notes
from fieldkit.services.profile import Session

pytestmark = pytest.mark.keyring

SAVED = {"A1": "initial", "B1": {"rating": "some"}}
MINE = {"A1": "initial", "B1": {"rating": "some", "note": "Elias har bytt skola"}}
THEIRS = {"A1": "initial", "B1": {"rating": "clear", "note": "Kollegans bedömning"}}
LATER = dt.timedelta(minutes=7)
MS = dt.timedelta(milliseconds=1)  # the resolution of every stored time


def a_draft(s: Session) -> tuple[str, str]:
    case = cases.create_case(s, CaseType.INDIVIDUAL_AT_RISK, "Elias Exempel")
    a = assessments.create_assessment(s, case.id, "fk.vbe.concern")
    assessments.save_draft(s, a.id, SAVED)
    return case.id, a.id


def pulled(s: Session, record_type: RecordType, record: Any, version: int) -> None:
    """A newer copy of the record as the sync's pull applies it (its real entry point)."""
    assert s.vault.apply_remote(record_type, to_dict(record), version) is True


# --- assessments ----------------------------------------------------------------------------


def test_the_drafts_version_and_time_are_kept_with_the_answers(worker: Session) -> None:
    _case, aid = a_draft(worker)
    a = worker.vault.assessments.get(aid)
    assessments.keep_unsaved(worker, aid, MINE)
    entry = worker.vault.unsaved.get("assessment", aid)
    assert entry is not None
    assert entry["content"]["based_on"] == {
        "version": a.version,
        "updated_at": a.updated_at.isoformat(),
    }
    kept = assessments.unsaved_answers(worker, aid)
    assert kept is not None
    assert (kept.based_on_version, kept.based_on_updated_at) == (a.version, a.updated_at)
    assert kept.changed_at is None and not kept.draft_changed and kept.restorable


def test_a_newer_version_pulled_from_another_device_is_noticed(worker: Session) -> None:
    _case, aid = a_draft(worker)
    assessments.keep_unsaved(worker, aid, MINE)
    a = worker.vault.assessments.get(aid)
    newer = replace(a, answers=THEIRS, updated_at=a.updated_at + LATER)
    pulled(worker, RecordType.ASSESSMENT, newer, a.version + 3)
    kept = assessments.unsaved_answers(worker, aid)
    assert kept is not None and kept.answers == MINE  # hers, as she wrote them
    assert kept.changed_at == newer.updated_at and kept.restorable
    assert dict(worker.vault.assessments.get(aid).answers) == THEIRS  # theirs, untouched


def test_the_echo_of_this_laptops_own_save_is_no_change(worker: Session) -> None:
    _case, aid = a_draft(worker)
    assessments.keep_unsaved(worker, aid, MINE)
    a = worker.vault.assessments.get(aid)
    pulled(worker, RecordType.ASSESSMENT, a, a.version + 1)  # same content, server's number
    kept = assessments.unsaved_answers(worker, aid)
    assert kept is not None and kept.changed_at is None


def test_answers_written_on_the_draft_the_editor_loaded_notice_a_pull_in_between(
    worker: Session,
) -> None:
    _case, aid = a_draft(worker)
    loaded = worker.vault.assessments.get(aid)  # the editor opens the draft
    newer = replace(loaded, answers=THEIRS, updated_at=loaded.updated_at + LATER)
    pulled(worker, RecordType.ASSESSMENT, newer, loaded.version + 1)  # a sync while she types
    assessments.keep_unsaved(worker, aid, MINE, written_on=loaded)  # then the app locks
    kept = assessments.unsaved_answers(worker, aid)
    assert kept is not None and kept.changed_at == newer.updated_at


def test_an_entry_kept_without_the_drafts_state_still_works(worker: Session) -> None:
    _case, aid = a_draft(worker)
    a = worker.vault.assessments.get(aid)
    old = {"answers": MINE, "overrides": {}}  # as the previous release kept it
    with worker.vault.transaction():
        worker.vault.meta.set(
            f"unsaved.assessment.{aid}",
            {"case_id": a.case_id, "kept_at": (a.updated_at + MS).isoformat(), "content": old},
        )
    kept = assessments.unsaved_answers(worker, aid)  # kept after the draft's last change
    assert kept is not None and kept.answers == MINE and kept.changed_at is None
    assert kept.based_on_version is None and kept.based_on_updated_at is None
    pulled(worker, RecordType.ASSESSMENT, replace(a, updated_at=a.updated_at + LATER), 9)
    kept = assessments.unsaved_answers(worker, aid)  # changed after it was kept
    assert kept is not None and kept.changed_at == a.updated_at + LATER and kept.restorable


def test_an_old_entry_kept_in_the_millisecond_of_the_drafts_change_counts_as_changed(
    worker: Session,
) -> None:
    """Within one millisecond a change cannot be told from none: the restore says the draft
    changed (a needless warning) rather than replace newer answers unwarned."""
    _case, aid = a_draft(worker)
    a = worker.vault.assessments.get(aid)
    old = {"answers": MINE, "overrides": {}}
    with worker.vault.transaction():
        worker.vault.meta.set(
            f"unsaved.assessment.{aid}",
            {"case_id": a.case_id, "kept_at": a.updated_at.isoformat(), "content": old},
        )
    kept = assessments.unsaved_answers(worker, aid)
    assert kept is not None and kept.changed_at == a.updated_at


def test_a_draft_submitted_on_another_device_keeps_the_answers_readable(worker: Session) -> None:
    _case, aid = a_draft(worker)
    assessments.keep_unsaved(worker, aid, MINE)
    a = worker.vault.assessments.get(aid)
    when = a.updated_at + LATER
    submitted = replace(
        a, status=AssessmentStatus.SUBMITTED, submitted_at=when, submitted_by=a.author_id
    )
    pulled(worker, RecordType.ASSESSMENT, replace(submitted, updated_at=when), a.version + 2)
    detail = assessments.show_assessment(worker, aid, "en")
    kept = detail.unsaved
    assert kept is not None and kept.answers == MINE
    assert not kept.restorable and kept.status is AssessmentStatus.SUBMITTED
    assert kept.changed_at == when
    assert worker.vault.unsaved.get("assessment", aid) is not None  # nothing silently gone
    lines = assessments.answers_lines(
        build_view(detail.form, kept.answers, kept.overrides, "sv"), kept.overrides
    )
    assert any("Elias har bytt skola" in line for line in lines)  # readable to copy


# --- journal notes --------------------------------------------------------------------------


def note_fields(text: str) -> dict[str, object]:
    return {"text": text, "contact_type": "phone", "place": "Fritidsgården", "present": []}


def a_note_draft(s: Session) -> tuple[str, Any]:
    case_id = cases.create_case(s, CaseType.INDIVIDUAL_AT_RISK, "Elias Exempel").id
    draft = notes.add_note(s, case_id, "Första versionen.", contact_type="phone")
    return case_id, draft


def test_a_notes_draft_changed_here_or_pulled_is_noticed(worker: Session) -> None:
    case_id, draft = a_note_draft(worker)
    notes.keep_unsaved_note(
        worker, case_id, note_fields("Min text"), draft_id=draft.id, work_id="w1"
    )
    entry = worker.vault.unsaved.get("note", f"{case_id}.w1")
    assert entry is not None and entry["content"]["based_on"] == {
        "version": draft.version,
        "updated_at": draft.updated_at.isoformat(),
    }
    assert notes.unsaved_note(worker, case_id).changed_at is None  # type: ignore[union-attr]

    edited = notes.update_draft(worker, draft.id, text="Ändrad från kommandoraden.")
    kept = notes.unsaved_note(worker, case_id)
    assert kept is not None and kept.text == "Min text"
    assert kept.changed_at == edited.updated_at and kept.restorable

    newer = replace(edited, text="Kollegans text", updated_at=edited.updated_at + LATER)
    pulled(worker, RecordType.NOTE, newer, 5)
    kept = notes.unsaved_note(worker, case_id)
    assert kept is not None and kept.changed_at == newer.updated_at


def test_a_note_signed_meanwhile_offers_its_text_as_a_new_note(worker: Session) -> None:
    case_id, draft = a_note_draft(worker)
    notes.keep_unsaved_note(worker, case_id, note_fields("Min text"), draft_id=draft.id)
    signed = notes.sign_note(worker, draft.id)
    kept = notes.unsaved_note(worker, case_id)
    assert kept is not None and not kept.restorable and kept.draft_state == "signed"
    assert kept.signed_at == signed.signed_at
    # she starts a new note with it: the entry becomes a new note's, and saving it removes it
    reused = notes.reuse_unsaved_note(worker, case_id, kept.work_id)
    assert reused is not None and reused.restorable and reused.work_id == kept.work_id
    assert (reused.draft_id, reused.link, reused.text) == (None, None, "Min text")
    assert len(notes.unsaved_notes(worker, case_id)) == 1
    notes.add_note(worker, case_id, "Min text", clears_kept=True, work_id=kept.work_id)
    assert notes.unsaved_notes(worker, case_id) == []
    assert worker.vault.unsaved.beside("note", case_id) == []


def test_a_note_kept_for_someone_elses_draft_does_not_replace_what_was_kept(
    worker: Session,
) -> None:
    from fieldkit.domain.ids import new_id

    case_id, _draft = a_note_draft(worker)
    notes.keep_unsaved_note(worker, case_id, note_fields("Min nya anteckning"))
    theirs = notes.add_note(worker, case_id, "Någon annans utkast.")
    with worker.vault.transaction():
        worker.vault.notes.put(replace(theirs, author_id=new_id()))
    assert notes.keep_unsaved_note(worker, case_id, note_fields("x"), draft_id=theirs.id) is False
    kept = notes.unsaved_note(worker, case_id)
    assert kept is not None and kept.text == "Min nya anteckning"
