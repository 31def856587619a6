"""Answers the assessment editor could not save are kept inside the real vault (its meta table,
no schema change) until they are saved, restored or discarded: they survive locking and a
killed process, are offered with the assessment, go once the editor saves the draft or the
author discards them (never by another save, a submit or a look at the assessment), are never
kept for someone else's assessment, go with a purged case, queue nothing for the server, and no
answer reaches a log or the vault file in the clear."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from fieldkit.domain.enums import AssessmentStatus, CaseType
from fieldkit.domain.ids import new_id
from fieldkit.domain.records import replace
from fieldkit.forms import FormRegistry
from fieldkit.forms.definition import Form
from fieldkit.services import assessments, cases
from fieldkit.services.profile import Session, open_session

pytestmark = pytest.mark.keyring

PASS = "korrekt häst batteri häftklammer"
CONCERN = FormRegistry.load().latest("fk.vbe.concern")
SAVED = {"A1": "initial", "B1": {"rating": "some"}}
SECRET = "Elias träffar Omar vid moskén kl halv tio"  # case content: only inside the vault
# what she typed after the last good save: a time the form cannot hold, and a note
REFUSED = {
    "A1": "initial",
    "B1": {"rating": "some", "note": SECRET},
    "F1": {"rating": "clear"},
    "FU1": "2026-11-02Thalv tio",
}


def a_draft(s: Session) -> tuple[str, str]:
    case = cases.create_case(s, CaseType.INDIVIDUAL_AT_RISK, "Elias Exempel")
    a = assessments.create_assessment(s, case.id, "fk.vbe.concern")
    assessments.save_draft(s, a.id, SAVED)
    return case.id, a.id


def refused(s: Session, assessment_id: str) -> None:
    with pytest.raises(assessments.DraftDoesNotFit):
        assessments.save_draft(s, assessment_id, REFUSED)


def queued(s: Session) -> list[str]:
    rows = s.vault.outbox.pending(limit=100_000, max_bytes=1_000_000_000)
    return [str(r.name) for r in rows]


def complete(form: Form) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for item in form.items():
        if item.type == "rating":
            answers[item.id] = {"rating": item.codes[0]}
        elif item.type in ("singleselect", "yes_no_unknown"):
            answers[item.id] = item.codes[0]
        elif item.type == "multiselect":
            answers[item.id] = [item.codes[0]]
        elif item.type == "date":
            answers[item.id] = "2026-11-30"
        elif item.type == "datetime":
            answers[item.id] = "2026-11-30T09:30"
        elif item.type == "text":
            answers[item.id] = "Bedömningen bygger på samtal med Elias och skolan. " * 5
    return answers


def test_refused_answers_are_kept_through_a_lock_and_offered_back(
    folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with open_session(folder, PASS) as s:
        case_id, aid = a_draft(s)
        refused(s, aid)
        before = queued(s)
        assert assessments.keep_unsaved(s, aid, REFUSED, {}) is True
        assert queued(s) == before  # kept on this laptop only: nothing for the server
    with open_session(folder, PASS) as s:  # locked and unlocked again
        kept = assessments.unsaved_answers(s, aid)
        assert kept is not None
        assert kept.answers == REFUSED and kept.overrides == {}
        assert kept.kept_at is not None
        assert dict(s.vault.assessments.get(aid).answers) == SAVED  # the draft is unchanged
        detail = assessments.show_assessment(s, aid, "en")
        assert detail.unsaved == kept
        assert detail.assessment.answers == SAVED
        assert s.vault.unsaved.of_case(case_id) == [("assessment", aid)]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert SECRET not in logged and "halv tio" not in logged
    for path in folder.rglob("*"):  # inside the encrypted vault, nowhere in the clear
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path


def test_the_editors_successful_save_removes_what_was_kept(worker: Session) -> None:
    _case, aid = a_draft(worker)
    assessments.keep_unsaved(worker, aid, REFUSED)
    fixed = {**REFUSED, "FU1": "2026-11-02T09:30"}
    assessments.save_draft(worker, aid, fixed, clears_kept=True)
    assert assessments.unsaved_answers(worker, aid) is None
    assert worker.vault.unsaved.get("assessment", aid) is None


def test_another_save_of_the_draft_leaves_what_was_kept(worker: Session) -> None:
    _case, aid = a_draft(worker)
    assessments.keep_unsaved(worker, aid, REFUSED)
    assessments.save_draft(worker, aid, {**SAVED, "B1": {"rating": "clear"}})  # e.g. the CLI
    kept = assessments.unsaved_answers(worker, aid)
    assert kept is not None and kept.answers == REFUSED
    assert kept.draft_changed and kept.restorable


def test_discarding_removes_what_was_kept(worker: Session) -> None:
    _case, aid = a_draft(worker)
    assessments.keep_unsaved(worker, aid, REFUSED)
    assessments.discard_unsaved(worker, aid)
    assert worker.vault.unsaved.get("assessment", aid) is None
    assert dict(worker.vault.assessments.get(aid).answers) == SAVED


def test_answers_equal_to_the_draft_keep_nothing(worker: Session) -> None:
    _case, aid = a_draft(worker)
    assessments.keep_unsaved(worker, aid, REFUSED)
    assert assessments.keep_unsaved(worker, aid, SAVED, {}) is False  # nothing unsaved now
    assert worker.vault.unsaved.get("assessment", aid) is None


def test_answers_kept_before_a_submit_stay_readable_but_not_restorable(worker: Session) -> None:
    case = cases.create_case(worker, CaseType.INDIVIDUAL_AT_RISK, "Elias Exempel")
    a = assessments.create_assessment(worker, case.id, "fk.vbe.concern")
    assessments.save_draft(worker, a.id, complete(CONCERN))
    assessments.keep_unsaved(worker, a.id, REFUSED)  # kept while it is a draft ...
    submitted = assessments.submit(worker, a.id)
    assert submitted.status is AssessmentStatus.SUBMITTED
    kept = assessments.unsaved_answers(worker, a.id)  # ... and still there after the submit
    assert kept is not None and kept.answers == REFUSED
    assert not kept.restorable and kept.status is AssessmentStatus.SUBMITTED
    assert assessments.show_assessment(worker, a.id, "en").unsaved == kept  # a look keeps it
    assert worker.vault.unsaved.get("assessment", a.id) is not None
    assessments.discard_unsaved(worker, a.id)  # only her own choice removes it
    assert assessments.unsaved_answers(worker, a.id) is None


def test_answers_typed_when_the_draft_was_submitted_elsewhere_are_still_kept(
    worker: Session,
) -> None:
    _case, aid = a_draft(worker)
    a = worker.vault.assessments.get(aid)
    with worker.vault.transaction():  # as a pull would leave it: submitted on another device
        worker.vault.assessments.put(replace(a, status=AssessmentStatus.SUBMITTED))
    assert assessments.keep_unsaved(worker, aid, REFUSED, written_on=a) is True
    kept = assessments.show_assessment(worker, aid, "en").unsaved
    assert kept is not None and kept.answers == REFUSED and not kept.restorable


def test_nothing_is_kept_for_someone_elses_draft(worker: Session) -> None:
    _case, aid = a_draft(worker)
    a = worker.vault.assessments.get(aid)
    with worker.vault.transaction():
        worker.vault.assessments.put(replace(a, author_id=new_id()))
    assert assessments.keep_unsaved(worker, aid, REFUSED) is False
    assert worker.vault.unsaved.get("assessment", aid) is None


def test_a_purged_case_takes_what_was_kept_with_it(worker: Session) -> None:
    case_id, aid = a_draft(worker)
    other_case, other = a_draft(worker)
    assessments.keep_unsaved(worker, aid, REFUSED)
    assessments.keep_unsaved(worker, other, REFUSED)
    worker.vault.purge_case(case_id)
    assert worker.vault.unsaved.get("assessment", aid) is None
    assert worker.vault.unsaved.get("assessment", other) is not None
    assert worker.vault.unsaved.of_case(other_case) == [("assessment", other)]


def test_a_damaged_entry_is_treated_as_absent(worker: Session) -> None:
    _case, aid = a_draft(worker)
    with worker.vault.transaction():
        worker.vault.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?)", (f"unsaved.assessment.{aid}", "{not")
        )
    assert assessments.unsaved_answers(worker, aid) is None
    with worker.vault.transaction():
        worker.vault.meta.set(f"unsaved.assessment.{aid}", {"content": {"answers": [1]}})
    assert assessments.unsaved_answers(worker, aid) is None
    assessments.save_draft(worker, aid, SAVED, clears_kept=True)  # and the editor's save clears it
    assert worker.vault.meta.get(f"unsaved.assessment.{aid}") is None


def test_bad_answers_are_refused_with_a_clear_error_and_nothing_is_kept(worker: Session) -> None:
    from fieldkit.errors import InvalidInput

    _case, aid = a_draft(worker)
    with pytest.raises(InvalidInput):
        assessments.keep_unsaved(worker, aid, {"A1": "x" * (assessments.MAX_ANSWERS_BYTES + 1)})
    with pytest.raises(InvalidInput):
        assessments.keep_unsaved(worker, aid, ["not", "an", "object"])  # type: ignore[arg-type]
    assert worker.vault.unsaved.get("assessment", aid) is None


KEEP_THEN_DIE = textwrap.dedent(
    """
    import os, signal, sys
    from fieldkit.security import SecurityPolicy
    from fieldkit.services import assessments
    from fieldkit.services.profile import open_session
    s = open_session(sys.argv[1], sys.argv[2], SecurityPolicy(argon2_target_seconds=0.01))
    answers = {"A1": "initial", "FU1": "2026-11-02Thalv tio", "B1": {"rating": "some"}}
    assessments.keep_unsaved(s, sys.argv[3], answers)
    os.kill(os.getpid(), signal.SIGKILL)  # a crash right after: the vault is never closed
    """
)


def test_what_was_kept_survives_a_killed_process(folder: Path) -> None:
    with open_session(folder, PASS) as s:
        _case, aid = a_draft(s)
    done = subprocess.run(
        [sys.executable, "-c", KEEP_THEN_DIE, str(folder), PASS, aid],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()
    with open_session(folder, PASS) as s:
        kept = assessments.unsaved_answers(s, aid)
        assert kept is not None and kept.answers["FU1"] == "2026-11-02Thalv tio"
        assert dict(s.vault.assessments.get(aid).answers) == SAVED
