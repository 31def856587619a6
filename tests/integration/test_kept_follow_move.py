"""Kept work moves with the record that carries it on (``UnsavedRepository.move``, used by the
sync when a second submit ends in a conflicted copy): every entry kept for the record, readable
or not, as stored; nothing replaced where the new key is taken; and in the caller's
transaction, so a removal that fails leaves the entry where it was. Real SQLCipher vault."""

from __future__ import annotations

import pytest

from fieldkit.domain.enums import CaseType
from fieldkit.domain.ids import new_id
from fieldkit.protocol.messages import RecordType
from fieldkit.services import assessments, cases, kept
from fieldkit.services.profile import Session

pytestmark = pytest.mark.keyring

TYPED = "Elias sa att han vill börja på fritidsgården igen"
DAMAGED = "Mamman berättade att hon har fått en ny lägenhet i Rinkeby"


def kept_draft(s: Session) -> tuple[str, str]:
    case = cases.create_case(s, CaseType.INDIVIDUAL_AT_RISK, "Elias Exempel")
    a = assessments.create_assessment(s, case.id, "fk.vbe.concern")
    assert assessments.keep_unsaved(s, a.id, {"A1": "initial", "S3": TYPED})
    return case.id, a.id


def test_a_moved_entry_is_offered_on_the_new_record_as_it_was_kept(worker: Session) -> None:
    case_id, original = kept_draft(worker)
    before = dict(worker.vault.unsaved.stored(assessments.UNSAVED))[original]
    copy = assessments.create_assessment(worker, case_id, "fk.vbe.concern")
    with worker.vault.transaction():
        assert worker.vault.unsaved.move(assessments.UNSAVED, original, copy.id) == 1
        worker.vault.purge_record(RecordType.ASSESSMENT, original)
    assert dict(worker.vault.unsaved.stored(assessments.UNSAVED)) == {copy.id: before}
    offered = assessments.unsaved_answers(worker, copy.id)
    assert offered is not None and offered.answers["S3"] == TYPED and offered.restorable
    assert assessments.stray_answers(worker, case_id) == []


def test_an_entry_that_cannot_be_read_moves_too_and_is_offered_from_the_case(
    worker: Session,
) -> None:
    case_id, original = kept_draft(worker)
    with worker.vault.transaction():
        worker.vault.meta.delete(worker.vault.unsaved.key(assessments.UNSAVED, original))
        worker.vault.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?)",
            (
                worker.vault.unsaved.key(assessments.UNSAVED, original),
                '{"case_id":"' + case_id + '","content":{"answers":{"S3":"' + DAMAGED,
            ),
        )
    copy = assessments.create_assessment(worker, case_id, "fk.vbe.concern")
    with worker.vault.transaction():
        assert worker.vault.unsaved.move(assessments.UNSAVED, original, copy.id) == 1
        worker.vault.purge_record(RecordType.ASSESSMENT, original)
    [bad] = kept.unreadable(worker, case_id)
    assert bad.work_id == copy.id and DAMAGED in bad.text


def test_a_taken_key_is_not_replaced_the_moved_entry_keeps_beside_it(worker: Session) -> None:
    case_id, original = kept_draft(worker)
    copy = assessments.create_assessment(worker, case_id, "fk.vbe.concern")
    assert assessments.keep_unsaved(worker, copy.id, {"A1": "initial", "S3": "kopians egna"})
    with worker.vault.transaction():
        assert worker.vault.unsaved.move(assessments.UNSAVED, original, copy.id) == 1
        worker.vault.purge_record(RecordType.ASSESSMENT, original)
    stored = dict(worker.vault.unsaved.stored(assessments.UNSAVED))
    assert set(stored) == {copy.id, f"{copy.id}.{original}"}
    assert "kopians egna" in stored[copy.id] and TYPED in stored[f"{copy.id}.{original}"]
    # both reachable from the case: the copy's own offered in its editor, the other listed
    listed = {i.work_id: i.state for i in kept.kept_of_case(worker, case_id)}
    assert listed == {copy.id: "draft", f"{copy.id}.{original}": "gone"}


def test_a_removal_that_fails_leaves_the_entry_where_it_was(worker: Session) -> None:
    _case_id, original = kept_draft(worker)
    copy_id = new_id()
    with pytest.raises(RuntimeError), worker.vault.transaction():
        worker.vault.unsaved.move(assessments.UNSAVED, original, copy_id)
        worker.vault.purge_record(RecordType.ASSESSMENT, original)
        raise RuntimeError("the sync's transaction fails after the removal")
    assert worker.vault.assessments.get(original) is not None
    offered = assessments.unsaved_answers(worker, original)
    assert offered is not None and offered.answers["S3"] == TYPED
    assert [ref for ref, _ in worker.vault.unsaved.stored(assessments.UNSAVED)] == [original]
