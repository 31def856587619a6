"""Answers kept for an assessment (typed in an editor that could not save them) follow the work
when a second submit of it ends in a conflicted copy: the sync removes the laptop's own
submitted version (the server's stands for the original), and the kept answers move to the
copy in that same transaction, offered there to restore, never dropped with the original.
Real server on loopback (SQLite and PostgreSQL), two enrolled laptops, SQLCipher vaults."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sync_harness import Laptop, LiveServer, ServerDB, cli, complete_answers, concern_form

from fieldkit.domain.enums import AssessmentStatus, CaseType
from fieldkit.services import assessments, cases, kept
from fieldkit.services import sync as sync_service

pytestmark = pytest.mark.keyring

FORM = concern_form()
TYPED = "Noa berättade efteråt att hon sover hos en kompis i helgen"  # never saved


def with_typed(answers: dict[str, Any]) -> dict[str, Any]:
    """The submitted answers and, in their first text item, what she typed after."""
    first_text = next(i.id for i in FORM.items() if i.type == "text" and i.id in answers)
    return {**answers, first_text: TYPED}


def submitted_twice(tmp_path: Path, server_db: ServerDB, server: LiveServer) -> Any:
    """One worker, two laptops: the same draft submitted on both while offline; on the second
    one answers were kept for it (the editor could not save them) before the submit."""
    first = Laptop(tmp_path / "laptop1", server.url, server_db.code("anna"))
    second = Laptop(tmp_path / "laptop2", server.url, server_db.code("anna"))
    with first.session() as s:
        case = cases.create_case(s, CaseType.INDIVIDUAL_AT_RISK, "Noa Vik")
        draft = assessments.create_assessment(s, case.id, FORM.id, answers={})
    first.sync()
    second.sync()
    with first.session() as s:
        assessments.save_draft(s, draft.id, complete_answers("Bedömning från dator 1."))
        assessments.submit(s, draft.id)
    typed = with_typed(complete_answers("Bedömning från dator 2."))
    with second.session() as s:
        assessments.save_draft(s, draft.id, complete_answers("Bedömning från dator 2."))
        assert assessments.keep_unsaved(s, draft.id, typed)
        assessments.submit(s, draft.id)
        assert assessments.unsaved_answers(s, draft.id) is not None  # kept through the submit
    first.sync()
    report = second.sync()
    assert report.conflicts == 1
    return second, case.id, draft.id, typed


def test_answers_kept_for_an_assessment_submitted_twice_follow_the_conflicted_copy(
    tmp_path: Path,
    server_db: ServerDB,
    live_server: LiveServer,
    team: dict[str, str],
    real_keyring: str,
) -> None:
    second, case_id, original_id, typed = submitted_twice(tmp_path, server_db, live_server)

    with second.session() as s:
        original = s.vault.assessments.get(original_id)
        [copy] = [a for a in s.vault.assessments.list_for_case(case_id) if a.conflict_of]
        [conflict] = sync_service.list_conflicts(s)
        offered = assessments.unsaved_answers(s, copy.id)
        on_original = assessments.unsaved_answers(s, original_id)
        strays = assessments.stray_answers(s, case_id)
        items = kept.kept_of_case(s, case_id)
        stored = [ref for ref, _text in s.vault.unsaved.stored(assessments.UNSAVED)]
    # the server's version stands for the original; her submitted text is the copy
    assert original.status is AssessmentStatus.SUBMITTED
    assert "Bedömning från dator 1." in json.dumps(original.answers, ensure_ascii=False)
    assert conflict.copy_id == copy.id and copy.status is AssessmentStatus.DRAFT
    # what she typed and could not save is offered on the copy, hers to restore
    assert offered is not None
    assert offered.answers == typed and offered.restorable
    assert on_original is None and strays == []
    assert [(i.work_id, i.kind, i.record_id, i.restorable) for i in items] == [
        (copy.id, "assessment", copy.id, True)
    ]
    assert stored == [copy.id]  # moved, not copied: kept once

    # restoring them into the copy saves them there and the kept entry goes
    with second.session() as s:
        assessments.save_draft(s, copy.id, offered.answers, offered.overrides, clears_kept=True)
    second.sync()
    with second.session() as s:
        assert TYPED in json.dumps(s.vault.assessments.get(copy.id).answers, ensure_ascii=False)
        assert s.vault.unsaved.stored(assessments.UNSAVED) == []


def test_the_case_kept_command_names_the_copy_after_the_conflict(
    tmp_path: Path,
    sqlite_server_db: ServerDB,
    real_keyring: str,
) -> None:
    sqlite_server_db.user("anna", sqlite_server_db.team("Syd"))
    server = LiveServer(sqlite_server_db.url).start()
    try:
        second, case_id, original_id, _typed = submitted_twice(tmp_path, sqlite_server_db, server)
        second.sync()  # a later cycle leaves them where they are
    finally:
        server.stop()
    with second.session() as s:
        [copy] = [a for a in s.vault.assessments.list_for_case(case_id) if a.conflict_of]
    listing = cli(second.data_dir, "--json", "case", "kept", case_id)
    assert listing.returncode == 0, listing.stderr
    assert copy.id in listing.stdout and original_id not in listing.stdout
    assert TYPED not in listing.stdout  # listed by id, no content
    shown = cli(second.data_dir, "case", "kept", case_id, "--show", copy.id)
    assert shown.returncode == 0, shown.stderr
    assert TYPED in shown.stdout
