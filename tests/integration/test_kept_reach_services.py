"""Kept work that no editor can offer is reached from its case: answers of an assessment that
left the laptop (kept even when it left while she was writing), to read, copy, start a new
assessment with (when their form version is in use) and discard; entries whose content cannot
be read, named in the log without their content, offered to copy and discard. Discarding
names one piece of work by its id and removes that one only. Real profile: SQLCipher vault
and keyring."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from fieldkit.domain.enums import CaseType
from fieldkit.errors import NotFound, Refused
from fieldkit.protocol.messages import RecordType
from fieldkit.services import assessments, cases, kept, notes
from fieldkit.services.profile import Session, open_session

PASS = "korrekt häst batteri häftklammer"  # the folder fixture's passphrase

pytestmark = pytest.mark.keyring

TYPED = "Elias berättade om en ny kontakt som han träffar i helgen"
DAMAGED_TEXT = "Mamman ringde och var orolig över att Elias inte kommer hem på nätterna"


def a_case(s: Session) -> str:
    return cases.create_case(s, CaseType.INDIVIDUAL_AT_RISK, "Elias Exempel").id


def removed_while_writing(s: Session, case_id: str, answers: dict[str, object]) -> str:
    """A draft is open in the editor; a sync removes it; then the editor keeps what it holds
    (the app locks): the case of what happens when the assessment is gone under her."""
    a = assessments.create_assessment(s, case_id, "fk.vbe.concern")
    s.vault.purge_record(RecordType.ASSESSMENT, a.id)
    assert s.vault.assessments.get(a.id) is None
    assert assessments.keep_unsaved(s, a.id, answers, written_on=a)
    return a.id


def put_raw(s: Session, key: str, stored: str) -> None:
    """An entry as a damaged vault (or another release) might hold it."""
    with s.vault.transaction():
        s.vault.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, stored),
        )


def test_answers_of_an_assessment_removed_while_she_wrote_are_kept_and_start_a_new_one(
    worker: Session,
) -> None:
    case_id = a_case(worker)
    gone = removed_while_writing(worker, case_id, {"A1": "initial", "S3": TYPED})

    strays = assessments.stray_answers(worker, case_id)
    assert [x.assessment_id for x in strays] == [gone]
    stray = strays[0]
    assert stray.answers["S3"] == TYPED
    assert stray.form_id == "fk.vbe.concern" and stray.form_version
    assert stray.startable
    text = kept.kept_text(worker, case_id, gone, "en")
    assert TYPED in text

    new = assessments.start_from_stray(worker, case_id, gone)
    assert new.id != gone and new.case_id == case_id
    assert worker.vault.assessments.get(new.id).answers["S3"] == TYPED  # they fit: in the draft
    assert assessments.stray_answers(worker, case_id) == []  # moved, not kept twice
    assert assessments.unsaved_answers(worker, new.id) is None


def test_answers_the_form_cannot_hold_start_an_empty_draft_and_are_offered_for_it(
    worker: Session,
) -> None:
    case_id = a_case(worker)
    gone = removed_while_writing(
        worker, case_id, {"S3": TYPED, "FU1": {"date": "2026-11-02", "time": "halv tio"}}
    )
    new = assessments.start_from_stray(worker, case_id, gone)
    assert "S3" not in worker.vault.assessments.get(new.id).answers
    offered = assessments.unsaved_answers(worker, new.id)
    assert offered is not None and offered.restorable and not offered.draft_changed
    assert offered.answers["S3"] == TYPED
    assert assessments.stray_answers(worker, case_id) == []


def test_stray_answers_without_their_form_are_copy_only_and_discarded_by_id(
    worker: Session,
) -> None:
    case_id = a_case(worker)
    other = removed_while_writing(worker, case_id, {"A1": "initial", "S3": "annat"})
    # kept by an earlier release (no form recorded), its assessment since gone
    with worker.vault.transaction():
        worker.vault.unsaved.keep(
            "assessment",
            "0190aaaa-0000-7000-8000-000000000001",
            case_id,
            {"answers": {"S3": TYPED}},
        )
    old = next(x for x in assessments.stray_answers(worker, case_id) if x.form_id is None)
    assert not old.startable
    with pytest.raises(Refused):
        assessments.start_from_stray(worker, case_id, old.assessment_id)
    assert f"S3: {TYPED}" in kept.kept_text(worker, case_id, old.assessment_id)

    listed = {i.work_id: i for i in kept.kept_of_case(worker, case_id)}
    assert listed[old.assessment_id].state == "gone"
    with pytest.raises(NotFound):
        kept.discard_kept(worker, case_id, "no-such-work")
    kept.discard_kept(worker, case_id, old.assessment_id)
    assert [x.assessment_id for x in assessments.stray_answers(worker, case_id)] == [other]


def test_a_case_that_left_the_laptop_keeps_nothing_of_its_assessments(worker: Session) -> None:
    case_id = a_case(worker)
    a = assessments.create_assessment(worker, case_id, "fk.vbe.concern")
    worker.vault.purge_case(case_id)  # access ended or culled: nothing of it may stay
    with pytest.raises(NotFound):
        assessments.keep_unsaved(worker, a.id, {"S3": TYPED}, written_on=a)
    assert worker.vault.unsaved.of_case(case_id) == []


def test_unreadable_entries_are_told_copyable_and_discarded_by_id_without_content_in_the_log(
    worker: Session, caplog: pytest.LogCaptureFixture
) -> None:
    case_id = a_case(worker)
    good = notes.new_work_id()
    notes.keep_unsaved_note(worker, case_id, {"text": "läsbar text"}, work_id=good)
    bad_note = notes.new_work_id()
    put_raw(  # cut off in the middle: not JSON
        worker,
        f"unsaved.note.{case_id}.{bad_note}",
        '{"case_id":"' + case_id + '","content":{"text":"' + DAMAGED_TEXT,
    )
    bad_answers = "0190bbbb-0000-7000-8000-000000000002"
    put_raw(  # JSON, but the answers are not answers
        worker,
        f"unsaved.assessment.{bad_answers}",
        '{"case_id":"' + case_id + '","kept_at":"2026-11-28T10:00:00+00:00",'
        '"content":{"answers":"' + TYPED + '"}}',
    )
    # what the editors offer is unchanged: the readable text only
    assert [n.work_id for n in notes.unsaved_notes(worker, case_id)] == [good]

    caplog.set_level(logging.INFO)
    found = {u.work_id: u for u in kept.unreadable(worker, case_id)}
    assert set(found) == {bad_note, bad_answers}
    assert DAMAGED_TEXT in found[bad_note].text and found[bad_note].kind == "note"
    assert TYPED in found[bad_answers].text and found[bad_answers].kind == "assessment"
    assert "cannot be read" in caplog.text
    assert DAMAGED_TEXT not in caplog.text and TYPED not in caplog.text

    listed = {i.work_id: i.state for i in kept.kept_of_case(worker, case_id)}
    assert listed == {good: "new", bad_note: "unreadable", bad_answers: "unreadable"}
    kept.discard_kept(worker, case_id, bad_note)
    kept.discard_kept(worker, case_id, bad_answers)
    assert kept.unreadable(worker, case_id) == []
    assert [n.work_id for n in notes.unsaved_notes(worker, case_id)] == [good]  # untouched
    assert DAMAGED_TEXT not in caplog.text and TYPED not in caplog.text


def test_unreadable_entries_of_another_case_are_not_shown_or_discarded_here(
    folder: Path,
) -> None:
    with open_session(folder, PASS) as s:
        mine, other = a_case(s), a_case(s)
        work = notes.new_work_id()
        put_raw(s, f"unsaved.note.{other}.{work}", "not json " + DAMAGED_TEXT)
        assert kept.unreadable(s, mine) == []
        with pytest.raises(NotFound):
            kept.discard_kept(s, mine, work)
        assert [u.work_id for u in kept.unreadable(s, other)] == [work]


def test_a_case_leaving_the_laptop_takes_its_unreadable_kept_text_along(worker: Session) -> None:
    """Access ended or the file culled: kept text of the case goes with it even when it cannot
    be read (it named no case, so it stayed behind, out of reach, with the case's text)."""
    case_id, other = a_case(worker), a_case(worker)
    put_raw(worker, f"unsaved.note.{case_id}.{notes.new_work_id()}", "cut " + DAMAGED_TEXT)
    put_raw(worker, f"unsaved.note.{case_id}", '{"content": "' + DAMAGED_TEXT + '"}')
    keep = notes.new_work_id()
    put_raw(worker, f"unsaved.note.{other}.{keep}", "cut " + DAMAGED_TEXT)
    worker.vault.purge_case(case_id)
    held = [ref for ref, _stored in worker.vault.unsaved.stored("note")]
    assert held == [f"{other}.{keep}"]
