"""A cursor the server cannot continue (resync required), the integrity check finding a
difference, and a server that lost changes the laptop no longer holds (mutation gap)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from sync_harness import Laptop, LiveServer, ServerDB, cli

from fieldkit.domain.enums import CaseType
from fieldkit.errors import ExitCode
from fieldkit.protocol.messages import RecordType
from fieldkit.services import cases, notes

pytestmark = pytest.mark.keyring


def test_resync_required_pulls_everything_again_and_keeps_unsent_work(
    tmp_path: Path,
    server_db: ServerDB,
    live_server: LiveServer,
    team: dict[str, str],
    real_keyring: str,
) -> None:
    anna = Laptop(tmp_path / "anna", live_server.url, server_db.code("anna"))
    bo = Laptop(tmp_path / "bo", live_server.url, server_db.code("bo"))
    with anna.session() as s:
        case = cases.create_case(s, CaseType.EXIT_SUPPORT, "Lo Hed")
        cases.assign_case(s, case.id, [team["bo"]])
        for n in range(5):
            notes.add_note(s, case.id, f"Anteckning {n}.", sign=True)
    anna.sync()
    bo.sync()
    with bo.session() as s:  # bo's unsent work: a draft and a new case of his own
        draft = notes.add_note(s, case.id, "Bos utkast som inte är skickat.")
        own = cases.create_case(s, CaseType.CONSULTATION, "Ida Sund")
    # The server was restored / its feed restarted: every cursor is now unknown to it.
    with server_db.engine.begin() as conn:
        from sqlalchemy import text

        conn.execute(text("UPDATE server_meta SET value = 'restored' WHERE key = 'epoch'"))
    with anna.session() as s:
        notes.add_note(s, case.id, "Skrivet efter återställningen.", sign=True)
    anna.sync()

    result = cli(bo.data_dir, "--json", "sync")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["resynced"] is True
    with bo.session() as s:
        texts = sorted(n.text for n in s.vault.notes.list_for_case(case.id))
        assert "Bos utkast som inte är skickat." in texts
        assert "Skrivet efter återställningen." in texts
        assert len(texts) == 7
        assert s.vault.cases.get(own.id) is not None
    ids = {r[0] for r in server_db.rows("SELECT id FROM records WHERE record_type = 'note'")}
    assert draft.id in ids


def test_an_integrity_difference_is_logged_without_content_and_repaired(
    tmp_path: Path,
    server_db: ServerDB,
    live_server: LiveServer,
    team: dict[str, str],
    real_keyring: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    anna = Laptop(tmp_path / "anna", live_server.url, server_db.code("anna"))
    with anna.session() as s:
        case = cases.create_case(s, CaseType.INDIVIDUAL_AT_RISK, "Vera Ås")
        secret_text = "Hemlig uppgift om familjen som aldrig får hamna i en logg."
        lost = notes.add_note(s, case.id, secret_text, sign=True)
    anna.sync()
    with anna.session() as s, s.vault.transaction():
        s.vault.purge_record(RecordType.NOTE, lost.id)  # a local copy gone missing
    caplog.set_level(logging.INFO)
    report = anna.sync(integrity=True)
    assert report.integrity_checked
    assert report.integrity_mismatches == ["note"]
    assert report.resynced
    with anna.session() as s:
        assert s.vault.notes.get(lost.id).text == secret_text
    assert "integrity mismatch for note: local 0, server 1" in caplog.text
    assert "Hemlig" not in caplog.text and case.id not in caplog.text
    clean = anna.sync(integrity=True)
    assert clean.integrity_checked and clean.integrity_mismatches == []


def test_a_server_missing_changes_the_laptop_no_longer_holds_is_reported_clearly(
    tmp_path: Path,
    server_db: ServerDB,
    live_server: LiveServer,
    team: dict[str, str],
    real_keyring: str,
) -> None:
    anna = Laptop(tmp_path / "anna", live_server.url, server_db.code("anna"))
    with anna.session() as s:
        case = cases.create_case(s, CaseType.EXIT_SUPPORT, "Tove Al")
    anna.sync()
    # The server comes back from an older backup: it forgot this device's last 3 mutations.
    last = server_db.scalar("SELECT last_mutation_id FROM devices WHERE id = :d", d=anna.device_id)
    with server_db.engine.begin() as conn:
        from sqlalchemy import text

        conn.execute(
            text("UPDATE devices SET last_mutation_id = :n WHERE id = :d"),
            {"n": last - 3, "d": anna.device_id},
        )
        conn.execute(
            text("DELETE FROM mutation_log WHERE device_id = :d AND mutation_id > :n"),
            {"n": last - 3, "d": anna.device_id},
        )
    with anna.session() as s:
        kept = notes.add_note(s, case.id, "Skrivet efter serverns återställning.", sign=True)
    result = cli(anna.data_dir, "sync")
    assert result.returncode == ExitCode.INTEGRITY, result.stderr
    assert "The server is missing changes" in result.stderr
    assert f"{last - 2} to {last}" in result.stderr
    assert "Nothing on this laptop was lost" in result.stderr
    with anna.session() as s:
        assert s.vault.notes.get(kept.id) is not None
        assert any(r.name == "note.create" for r in s.vault.outbox.pending(limit=1000))


def test_sync_status_and_report_on_the_command_line(
    tmp_path: Path,
    sqlite_server_db: ServerDB,
    real_keyring: str,
) -> None:
    db = sqlite_server_db
    team_id = db.team("Öst")
    db.user("eva", team_id)
    server = LiveServer(db.url).start()
    try:
        eva = Laptop(tmp_path / "eva", server.url, db.code("eva"))
        with eva.session() as s:
            case = cases.create_case(s, CaseType.EXIT_SUPPORT, "Ola Berg")
            notes.add_note(s, case.id, "Första samtalet.", sign=True)
        before = cli(eva.data_dir, "--json", "sync", "status")
        assert before.returncode == 0, before.stderr
        state = json.loads(before.stdout)
        assert state["enrolled"] is True and state["pending"] >= 3
        assert state["last_success"] is None

        run = cli(eva.data_dir, "sync")
        assert run.returncode == 0, run.stderr
        assert run.stdout.startswith("Synchronised: ")
        swedish = cli(eva.data_dir, "--lang", "sv", "sync")
        assert swedish.stdout.startswith("Synkroniserat: "), swedish.stdout

        after = json.loads(cli(eva.data_dir, "--json", "sync", "status").stdout)
        assert after["last_success"] is not None
        assert after["needs_attention"] == 0 and after["conflicts"] == 0
        human = cli(eva.data_dir, "sync", "status").stdout
        assert f"Server: {server.url}" in human and "Open conflicts: 0" in human
    finally:
        server.stop()


def test_a_push_too_large_for_the_server_is_sent_in_smaller_batches(
    tmp_path: Path,
    sqlite_server_db: ServerDB,
    real_keyring: str,
) -> None:
    db = sqlite_server_db
    team_id = db.team("Stor")
    db.user("hans", team_id)
    server = LiveServer(db.url, max_body_bytes=40_000).start()
    try:
        hans = Laptop(tmp_path / "hans", server.url, db.code("hans"))
        with hans.session() as s:
            case = cases.create_case(s, CaseType.EXIT_SUPPORT, "Stina Mo")
            for n in range(40):
                notes.add_note(s, case.id, f"Anteckning {n}: " + "långt samtal om läget. " * 90)
        report = hans.sync()
        assert report.pushed >= 40
        with hans.session() as s:
            huge = notes.add_note(s, case.id, "Mycket lång anteckning. " * 3000)
        result = cli(hans.data_dir, "sync")
        assert result.returncode == ExitCode.NETWORK
        assert "too large for the server" in result.stderr
        with hans.session() as s:  # kept, queued, waiting for IT
            assert s.vault.notes.get(huge.id) is not None
            assert any(r.name == "note.create" for r in s.vault.outbox.pending(limit=1000))
    finally:
        server.stop()
    assert int(db.scalar("SELECT count(*) FROM records WHERE record_type = 'note'")) == 40
