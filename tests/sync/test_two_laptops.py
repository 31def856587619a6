"""Two laptops of one team against a real server on loopback (SQLite and PostgreSQL): enrol,
work offline, sync in both orders, converge; a both-sides field change is one conflict."""

from __future__ import annotations

from pathlib import Path

import pytest
from sync_harness import Laptop, LiveServer, ServerDB

from fieldkit.domain.enums import CaseType
from fieldkit.services import cases, notes
from fieldkit.services import sync as sync_service

pytestmark = pytest.mark.keyring


def _note_texts(session: object, case_id: str) -> list[str]:
    return sorted(n.text for n in session.vault.notes.list_for_case(case_id))  # type: ignore[attr-defined]


def _shared_case(anna: Laptop, bo: Laptop, team: dict[str, str]) -> str:
    with anna.session() as s:
        case = cases.create_case(
            s, CaseType.INDIVIDUAL_AT_RISK, "Kim Andersson", summary="Första kontakt via skolan."
        )
        cases.assign_case(s, case.id, [team["bo"]])
    anna.sync()
    bo.sync()
    with bo.session() as s:
        assert s.vault.cases.get(case.id) is not None, "bo sees the case assigned to him"
    return case.id


def test_enrolment_keeps_the_credential_inside_the_vault_only(
    tmp_path: Path,
    server_db: ServerDB,
    live_server: LiveServer,
    team: dict[str, str],
    real_keyring: str,
) -> None:
    anna = Laptop(tmp_path / "anna", live_server.url, server_db.code("anna"))
    assert anna.identity.user_id == team["anna"]
    assert anna.identity.server_url == live_server.url
    assert anna.identity.team_id == team["team_id"]
    with anna.session() as s:
        device = s.vault.meta.get("sync.device")
        assert device["device_id"] == anna.device_id
        secret = device["device_secret"]
    for path in (tmp_path / "anna").rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), f"credential in clear in {path.name}"
    report = anna.sync()
    assert report.pushed >= 1  # the profile's own audit events
    with anna.session() as s:
        state = sync_service.status(s)
    assert state.enrolled and state.pending <= 2 and state.last_success is not None


@pytest.mark.parametrize("first", ["anna", "bo"])
def test_two_laptops_offline_then_sync_converge_with_one_conflict(
    tmp_path: Path,
    server_db: ServerDB,
    live_server: LiveServer,
    team: dict[str, str],
    real_keyring: str,
    first: str,
) -> None:
    anna = Laptop(tmp_path / "anna", live_server.url, server_db.code("anna"))
    bo = Laptop(tmp_path / "bo", live_server.url, server_db.code("bo"))
    case_id = _shared_case(anna, bo, team)

    # Offline, both write a note and both change the summary; anna also changes the district.
    with anna.session() as s:
        notes.add_note(s, case_id, "Anna: hembesök, familjen samarbetar.", sign=True)
        cases.set_case_fields(s, case_id, summary="Annas sammanfattning", district="Södermalm")
    with bo.session() as s:
        notes.add_note(s, case_id, "Bo: telefonsamtal med mentor.", sign=True)
        cases.set_case_fields(s, case_id, summary="Bos sammanfattning")

    order = [anna, bo] if first == "anna" else [bo, anna]
    second = order[1]
    for laptop in order:
        laptop.sync()
    for laptop in order:  # the first one fetches what the second pushed
        laptop.sync()

    expected_notes = ["Anna: hembesök, familjen samarbetar.", "Bo: telefonsamtal med mentor."]
    views = []
    for laptop in (anna, bo):
        with laptop.session() as s:
            assert _note_texts(s, case_id) == expected_notes
            case = s.vault.cases.get(case_id)
            views.append((case.summary, case.district))
            conflicts = sync_service.list_conflicts(s)
            if laptop is second:
                assert len(conflicts) == 1
                conflict = conflicts[0]
                assert (conflict.record_id, conflict.field) == (case_id, "summary")
                first_summary = "Annas sammanfattning" if first == "anna" else "Bos sammanfattning"
                mine = "Bos sammanfattning" if first == "anna" else "Annas sammanfattning"
                assert conflict.server_value == first_summary
                assert conflict.local_value == mine  # the worker's text is kept, not lost
            else:
                assert conflicts == []
            # What is left is only this very session's unlock record.
            assert {r.name for r in s.vault.outbox.pending()} <= {"audit.append"}
    assert views[0] == views[1], "both laptops show the same case"
    assert views[0][1] == "Södermalm"  # a one-side change merges without a conflict

    # Exactly once on the server, and the same entries as on the laptops.
    with anna.session() as s:
        local_ids = sorted(n.id for n in s.vault.notes.list_for_case(case_id))
    server_ids = sorted(
        row[0]
        for row in server_db.rows(
            "SELECT id FROM records WHERE record_type = 'note' AND case_id = :c", c=case_id
        )
    )
    assert server_ids == local_ids and len(server_ids) == 2
