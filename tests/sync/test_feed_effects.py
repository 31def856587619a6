"""What the change feed does to a laptop besides adding records: a revoked case leaves it with
everything of it (search index included); progress events for a progress bar; a laptop enrolled
again (new device) starts its mutation numbering afresh."""

from __future__ import annotations

from pathlib import Path

import pytest
from sync_harness import Laptop, LiveServer, ServerDB

from fieldkit.domain.enums import CaseType
from fieldkit.errors import ExitCode
from fieldkit.services import cases, notes
from fieldkit.services import search as search_service
from fieldkit.services import sync as sync_service
from fieldkit.services.sync import SyncService
from fieldkit.sync.status import SyncPhase, SyncProgress

pytestmark = pytest.mark.keyring


def test_access_revoked_purges_the_case_and_its_search_entries(
    tmp_path: Path,
    server_db: ServerDB,
    live_server: LiveServer,
    team: dict[str, str],
    real_keyring: str,
) -> None:
    anna = Laptop(tmp_path / "anna", live_server.url, server_db.code("anna"))
    bo = Laptop(tmp_path / "bo", live_server.url, server_db.code("bo"))
    with anna.session() as s:
        case = cases.create_case(s, CaseType.INDIVIDUAL_AT_RISK, "Wilma Sjögren")
        cases.assign_case(s, case.id, [team["bo"]])
        notes.add_note(s, case.id, "Samtal om kampsportsklubben i Tensta.", sign=True)
    anna.sync()
    bo.sync()
    with bo.session() as s:
        assert s.vault.cases.get(case.id) is not None
        assert search_service.search(s, "kampsportsklubben")
    with anna.session() as s:
        cases.assign_case(s, case.id, [])  # bo no longer works on it
    anna.sync()
    report = bo.sync()
    assert report.purged >= 1
    with bo.session() as s:
        assert s.vault.cases.get(case.id) is None
        assert s.vault.notes.list_for_case(case.id) == []
        assert search_service.search(s, "kampsportsklubben") == []
        assert search_service.search(s, "Sjögren") == []


def test_progress_events_tell_phase_and_counts(
    tmp_path: Path, sqlite_server_db: ServerDB, real_keyring: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIELDKIT_SYNC_PUSH_BATCH", "4")
    monkeypatch.setenv("FIELDKIT_SYNC_PULL_LIMIT", "5")
    db = sqlite_server_db
    team_id = db.team("Progress")
    db.user("gun", team_id)
    server = LiveServer(db.url).start()
    try:
        gun = Laptop(tmp_path / "gun", server.url, db.code("gun"))
        with gun.session() as s:
            case = cases.create_case(s, CaseType.EXIT_SUPPORT, "Hugo Lund")
            for n in range(6):
                notes.add_note(s, case.id, f"Anteckning {n}.")
            events: list[SyncProgress] = []
            service = SyncService(s, on_progress=events.append)
            pending = s.vault.outbox.count()
            report = service.run_cycle()
            service.close()
    finally:
        server.stop()
    phases = [e.phase for e in events]
    assert phases[0] is SyncPhase.CONNECT and phases[-1] is SyncPhase.DONE
    pushes = [e for e in events if e.phase is SyncPhase.PUSH]
    assert pushes[0].done == 0 and pushes[0].total == pending
    assert [e.done for e in pushes] == sorted(e.done for e in pushes)  # it only moves forward
    assert pushes[-1].done == pushes[-1].total == pending
    assert len(pushes) >= 1 + pending // 4
    pulls = [e for e in events if e.phase is SyncPhase.PULL]
    assert len(pulls) >= 3 and pulls[-1].pulled == report.pulled
    assert events[-1].pushed == report.pushed and events[-1].pulled == report.pulled
    assert all("Anteckning" not in str(e.to_dict()) for e in events)  # counts, never content


def test_enrolling_an_existing_profile_is_refused_before_the_code_is_spent(
    tmp_path: Path,
    server_db: ServerDB,
    live_server: LiveServer,
    team: dict[str, str],
    real_keyring: str,
) -> None:
    from sync_harness import cli

    anna = Laptop(tmp_path / "anna", live_server.url, server_db.code("anna"))
    with anna.session() as s:
        pending = s.vault.outbox.count()
    code = server_db.code("anna")
    again = cli(
        anna.data_dir,
        "enroll",
        "--server",
        live_server.url,
        "--code",
        code,
        "--allow-http-loopback",
    )
    assert again.returncode == ExitCode.REFUSED, again.stderr
    assert "already exists" in again.stderr and live_server.url in again.stderr
    with anna.session() as s:  # untouched: same device, nothing queued by the attempt
        assert s.identity.device_id == anna.device_id
        assert s.vault.outbox.count() == pending + 2  # only this check's own unlock and lock
    other = Laptop(tmp_path / "other", live_server.url, code)  # the code was not spent
    assert other.device_id != anna.device_id


def test_a_pulled_case_does_not_hide_an_edit_written_while_the_cycle_ran(
    tmp_path: Path,
    server_db: ServerDB,
    live_server: LiveServer,
    team: dict[str, str],
    real_keyring: str,
) -> None:
    from fieldkit.sync.status import SyncReport

    anna = Laptop(tmp_path / "anna", live_server.url, server_db.code("anna"))
    bo = Laptop(tmp_path / "bo", live_server.url, server_db.code("bo"))
    with anna.session() as s:
        case = cases.create_case(s, CaseType.EXIT_SUPPORT, "Ali Nord", summary="Start.")
        cases.assign_case(s, case.id, [team["bo"]])
    anna.sync()
    bo.sync()
    with anna.session() as s:
        cases.set_case_fields(s, case.id, district="Södermalm")
    anna.sync()
    with bo.session() as s:
        service = SyncService(s)
        engine = service.engine
        report = SyncReport()
        engine.push(report)
        # the worker types while the cycle is between its push and its pull
        cases.set_case_fields(s, case.id, summary="Bos text, skriven under synken.")
        engine.pull(report)
        shown = s.vault.cases.get(case.id)
        assert shown.district == "Södermalm"  # the pull arrived...
        assert shown.summary == "Bos text, skriven under synken."  # ...and did not hide this
        service.run_cycle()
        service.close()
    anna.sync()
    for laptop in (anna, bo):
        with laptop.session() as s:
            case_now = s.vault.cases.get(case.id)
            assert (case_now.summary, case_now.district) == (
                "Bos text, skriven under synken.",
                "Södermalm",
            )
            assert sync_service.list_conflicts(s) == []
