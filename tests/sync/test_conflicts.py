"""Conflicts and refusals end to end, against a real server: decided by the worker through
`fieldkit conflicts`, never silently; a second submit of an assessment keeps a conflicted copy;
a refused change lands in the needs-attention list with the server's reason and its text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sync_harness import Laptop, LiveServer, ServerDB, cli, complete_answers, concern_form

from fieldkit.domain.enums import AssessmentStatus, CaseType
from fieldkit.services import assessments, cases
from fieldkit.services import sync as sync_service

pytestmark = pytest.mark.keyring

FORM = concern_form()


def conflicted_pair(
    tmp_path: Path, server_db: ServerDB, server: LiveServer, team: dict[str, str]
) -> tuple[Laptop, Laptop, str]:
    """anna and bo share a case; both changed its summary offline; anna synced first, so bo
    holds one conflict."""
    anna = Laptop(tmp_path / "anna", server.url, server_db.code("anna"))
    bo = Laptop(tmp_path / "bo", server.url, server_db.code("bo"))
    with anna.session() as s:
        case = cases.create_case(s, CaseType.EXIT_SUPPORT, "Sam Holm", summary="Start.")
        cases.assign_case(s, case.id, [team["bo"]])
    anna.sync()
    bo.sync()
    with anna.session() as s:
        cases.set_case_fields(s, case.id, summary="Anna: kontakt med familjen etablerad.")
    with bo.session() as s:
        cases.set_case_fields(s, case.id, summary="Bo: mentor utsedd, möte på fredag.")
    anna.sync()
    bo.sync()
    return anna, bo, case.id


@pytest.mark.parametrize(
    ("keep", "extra", "expected"),
    [
        ("mine", [], "Bo: mentor utsedd, möte på fredag."),
        ("theirs", [], "Anna: kontakt med familjen etablerad."),
        (
            "merged",
            ["--text", "Kontakt med familjen; mentor utsedd."],
            "Kontakt med familjen; mentor utsedd.",
        ),
    ],
)
def test_a_conflict_is_decided_by_the_worker_and_reaches_everyone(
    tmp_path: Path,
    server_db: ServerDB,
    live_server: LiveServer,
    team: dict[str, str],
    real_keyring: str,
    keep: str,
    extra: list[str],
    expected: str,
) -> None:
    anna, bo, case_id = conflicted_pair(tmp_path, server_db, live_server, team)
    listed = cli(bo.data_dir, "--json", "conflicts", "list")
    assert listed.returncode == 0, listed.stderr
    [conflict] = json.loads(listed.stdout)
    assert conflict["field"] == "summary" and conflict["state"] == "open"
    assert conflict["local_value"] == "Bo: mentor utsedd, möte på fredag."
    with bo.session() as s:  # until decided, the server's value is what the case shows
        assert s.vault.cases.get(case_id).summary == "Anna: kontakt med familjen etablerad."
    text = cli(bo.data_dir, "conflicts", "list")
    assert "Bo: mentor utsedd" in text.stdout and "Anna: kontakt" in text.stdout

    decided = cli(bo.data_dir, "conflicts", "resolve", conflict["id"][:8], "--keep", keep, *extra)
    assert decided.returncode == 0, decided.stderr
    bo.sync()
    anna.sync()
    for laptop in (anna, bo):
        with laptop.session() as s:
            assert s.vault.cases.get(case_id).summary == expected
    with bo.session() as s:
        assert sync_service.list_conflicts(s) == []  # decided, and no new conflict from it
        [done] = sync_service.list_conflicts(s, include_resolved=True)
        assert (done.resolution, done.state) == (keep, "resolved")
    with anna.session() as s:
        assert sync_service.list_conflicts(s) == []
    again = cli(bo.data_dir, "conflicts", "resolve", conflict["id"], "--keep", "mine")
    assert again.returncode != 0 and "already been decided" in again.stderr


def test_merged_without_text_is_refused_and_nothing_changes(
    tmp_path: Path,
    sqlite_server_db: ServerDB,
    real_keyring: str,
) -> None:
    db = sqlite_server_db
    team_id = db.team("Syd")
    team = {"team_id": team_id, "anna": db.user("anna", team_id), "bo": db.user("bo", team_id)}
    server = LiveServer(db.url).start()
    try:
        _anna, bo, _case_id = conflicted_pair(tmp_path, db, server, team)
        with bo.session() as s:
            [conflict] = sync_service.list_conflicts(s)
        result = cli(bo.data_dir, "conflicts", "resolve", conflict.id, "--keep", "merged")
        assert result.returncode != 0 and "needs the merged text" in result.stderr
        with bo.session() as s:
            assert [c.id for c in sync_service.list_conflicts(s)] == [conflict.id]
    finally:
        server.stop()


def test_a_refused_change_needs_attention_with_the_reason_and_its_text(
    tmp_path: Path,
    server_db: ServerDB,
    live_server: LiveServer,
    team: dict[str, str],
    real_keyring: str,
) -> None:
    anna = Laptop(tmp_path / "anna", live_server.url, server_db.code("anna"))
    bo = Laptop(tmp_path / "bo", live_server.url, server_db.code("bo"))
    with anna.session() as s:
        case = cases.create_case(s, CaseType.RELATIVE_SUPPORT, "Mika Ström")
        cases.assign_case(s, case.id, [team["bo"]])
    anna.sync()
    bo.sync()
    with anna.session() as s:
        cases.close_case(s, case.id, "Insatsen avslutad.")
    anna.sync()
    with bo.session() as s:  # offline, on the old copy
        cases.set_case_fields(s, case.id, district="Bos text som inte får försvinna")
    report = bo.sync()
    assert report.rejected == 1

    listed = cli(bo.data_dir, "--json", "sync", "attention")
    assert listed.returncode == 0, listed.stderr
    [item] = json.loads(listed.stdout)
    assert item["name"] == "case.set_fields"
    assert item["reason_code"] == "case_closed" and "closed" in item["reason"]
    with bo.session() as s:
        kept = sync_service.list_needs_attention(s)[0]
        assert kept.args["changes"]["district"] == "Bos text som inte får försvinna"
        assert sync_service.status(s).needs_attention == 1
    status = cli(bo.data_dir, "sync", "status")
    assert "needing attention: 1" in status.stdout

    dismissed = cli(bo.data_dir, "sync", "attention", "--dismiss", str(item["mutation_id"]))
    assert dismissed.returncode == 0, dismissed.stderr
    with bo.session() as s:
        assert sync_service.list_needs_attention(s) == []
        [still] = sync_service.list_needs_attention(s, include_dismissed=True)
        assert still.args["changes"]["district"] == "Bos text som inte får försvinna"


def test_a_second_submit_of_an_assessment_keeps_a_conflicted_copy(
    tmp_path: Path,
    server_db: ServerDB,
    live_server: LiveServer,
    team: dict[str, str],
    real_keyring: str,
) -> None:
    # One worker, two laptops (two devices): the same draft submitted on both while offline.
    first = Laptop(tmp_path / "laptop1", live_server.url, server_db.code("anna"))
    second = Laptop(tmp_path / "laptop2", live_server.url, server_db.code("anna"))
    with first.session() as s:
        case = cases.create_case(s, CaseType.INDIVIDUAL_AT_RISK, "Noa Vik")
        draft = assessments.create_assessment(s, case.id, FORM.id, answers={})
    first.sync()
    second.sync()
    with first.session() as s:
        assessments.save_draft(s, draft.id, complete_answers("Bedömning från dator 1."))
        assessments.submit(s, draft.id)
    with second.session() as s:
        assessments.save_draft(s, draft.id, complete_answers("Bedömning från dator 2."))
        assessments.submit(s, draft.id)
    first.sync()
    report = second.sync()
    assert report.conflicts == 1
    first.sync()

    with second.session() as s:
        original = s.vault.assessments.get(draft.id)
        copies = [a for a in s.vault.assessments.list_for_case(case.id) if a.conflict_of]
        [conflict] = sync_service.list_conflicts(s)
    # The server's version stands for the original; the second laptop's text is a copy.
    assert original.status is AssessmentStatus.SUBMITTED
    assert "Bedömning från dator 1." in json.dumps(original.answers, ensure_ascii=False)
    [copy] = copies
    assert copy.conflict_of == draft.id and copy.status is AssessmentStatus.DRAFT
    assert "Bedömning från dator 2." in json.dumps(copy.answers, ensure_ascii=False)
    assert conflict.record_type == "assessment" and conflict.copy_id == copy.id
    # The copy is safe on the server too, and reaches the worker's other laptop.
    with first.session() as s:
        mirrored = s.vault.assessments.get(copy.id)
    assert mirrored is not None and mirrored.conflict_of == draft.id
