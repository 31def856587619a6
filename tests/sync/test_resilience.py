"""Sync against a real server through bad networks and bad days: connections dropped, cut and
delayed by a proxy; the server killed mid-push and restarted; 5xx and garbage answers; an
access token that runs out mid-cycle; a revoked laptop; an address that is no fieldkit server."""

from __future__ import annotations

import logging
import random
import threading
import time
from pathlib import Path
from typing import Any

import keyring
import pytest
from sync_harness import (
    DbThread,
    Laptop,
    LiveServer,
    ServerDB,
    ServerProcess,
    cli,
)
from sync_oddpeers import captive_portal, odd_peer, url_of
from sync_proxy import CUT, DELAY, DROP, FORWARD, GARBAGE, HTTP_503, ChaosProxy

from fieldkit.domain.enums import CaseType
from fieldkit.errors import ExitCode
from fieldkit.services import cases, notes
from fieldkit.services.sync import SyncService
from fieldkit.sync.backoff import Backoff
from fieldkit.sync.errors import DeviceRevoked, NotAFieldkitServer, ServerTrouble, SyncError

pytestmark = pytest.mark.keyring

WAIT = 90.0


def eventually(condition: Any, timeout: float = WAIT) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return bool(condition())


def retarget(laptop: Laptop, url: str) -> None:
    """Point an enrolled laptop at another address of the same server (through the proxy)."""
    with laptop.session() as s, s.vault.transaction():
        server = s.vault.meta.get("sync.server")
        s.vault.meta.set("sync.server", {**server, "url": url})


def write_notes(laptop: Laptop, count: int, label: str) -> tuple[str, dict[str, str]]:
    written = {}
    with laptop.session() as s:
        case_id = cases.create_case(s, CaseType.INDIVIDUAL_AT_RISK, f"Person {label}").id
        for n in range(count):
            text = f"{label} {n}: samtal om boende och sysselsättning."
            written[notes.add_note(s, case_id, text, sign=n % 3 == 0).id] = text
    return case_id, written


def server_note_ids(db: ServerDB, case_id: str) -> list[str]:
    return sorted(
        r[0]
        for r in db.rows(
            "SELECT id FROM records WHERE record_type = 'note' AND case_id = :c", c=case_id
        )
    )


def contiguous_log(db: ServerDB, device_id: str) -> bool:
    ids = [
        int(r[0])
        for r in db.rows(
            "SELECT mutation_id FROM mutation_log WHERE device_id = :d ORDER BY mutation_id",
            d=device_id,
        )
    ]
    return ids == list(range(1, len(ids) + 1))


def test_a_proxy_that_drops_cuts_and_delays_connections_cannot_stop_convergence(
    tmp_path: Path,
    server_db: ServerDB,
    live_server: LiveServer,
    team: dict[str, str],
    real_keyring: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FIELDKIT_SYNC_PUSH_BATCH", "5")
    monkeypatch.setenv("FIELDKIT_SYNC_PULL_LIMIT", "10")
    rng = random.Random(42)
    choices = [FORWARD, FORWARD, DELAY, DROP, CUT, CUT, HTTP_503, GARBAGE]
    proxy = ChaosProxy(live_server.port, lambda: rng.choice(choices), max_lifetime=0.5).start()
    anna = Laptop(tmp_path / "anna", live_server.url, server_db.code("anna"))
    retarget(anna, proxy.url)
    case_id, written = write_notes(anna, 25, "Anna")

    db = DbThread()
    errors: list[BaseException] = []
    successes: list[Any] = []
    db.open(anna)
    service = SyncService(db.session, run_on_db=db.run)
    try:
        service.start_scheduler(
            pull_interval=0.05,
            backoff=Backoff(base=0.02, cap=0.2),
            on_error=errors.append,
            on_result=successes.append,
        )

        def troubled_connections() -> int:
            return sum(n for mode, n in proxy.connections.items() if mode != FORWARD)

        # the proxy counts a connection when its handler ends, which can be just after the
        # client has seen the error: wait for both sides
        converged = eventually(
            lambda: len(successes) >= 3 and len(errors) >= 3 and troubled_connections() >= 3
        )
    finally:
        service.close()
        db.close()
        proxy.stop()
    assert converged, f"no convergence: {proxy.connections}, {len(successes)} ok, {errors[:3]}"

    assert all(isinstance(e, SyncError) and e.retryable for e in errors), errors
    troubled = sum(n for mode, n in proxy.connections.items() if mode != FORWARD)
    assert troubled >= 3, proxy.connections
    # Everything arrived, exactly once, in order; and the laptop still has all it wrote.
    retarget(anna, live_server.url)
    anna.sync()
    assert server_note_ids(server_db, case_id) == sorted(written)
    assert contiguous_log(server_db, anna.device_id)
    with anna.session() as s:
        assert {n.id: n.text for n in s.vault.notes.list_for_case(case_id)} == written


def test_server_killed_mid_push_then_restarted(
    tmp_path: Path,
    server_db: ServerDB,
    team: dict[str, str],
    real_keyring: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FIELDKIT_SYNC_PUSH_BATCH", "1")
    server = ServerProcess(server_db.url).start()
    try:
        anna = Laptop(tmp_path / "anna", server.url, server_db.code("anna"))
        case_id, written = write_notes(anna, 40, "Anna")
        outcome: list[BaseException | Any] = []

        def run() -> None:
            try:
                outcome.append(anna.sync())
            except BaseException as exc:
                outcome.append(exc)

        worker = threading.Thread(target=run)
        worker.start()

        def applied() -> int:
            return int(
                server_db.scalar(
                    "SELECT count(*) FROM mutation_log WHERE device_id = :d", d=anna.device_id
                )
                or 0
            )

        deadline = time.monotonic() + 120
        while worker.is_alive() and applied() < 5 and time.monotonic() < deadline:
            time.sleep(0.1)  # gently: the server's SQLite file is shared with this reader
        assert worker.is_alive(), f"the sync ended before the server was killed: {outcome}"
        server.kill()
        worker.join(120)
        assert len(outcome) == 1 and isinstance(outcome[0], SyncError), outcome
        assert outcome[0].retryable
        with anna.session() as s:
            assert s.vault.outbox.count() > 0  # what the server did not acknowledge is kept

        server = ServerProcess(server_db.url, port=server.port).start()
        anna.sync()
    finally:
        server.kill()
    assert server_note_ids(server_db, case_id) == sorted(written)
    assert contiguous_log(server_db, anna.device_id)


def test_5xx_and_garbage_answers_back_off_and_lose_nothing(
    tmp_path: Path,
    server_db: ServerDB,
    live_server: LiveServer,
    team: dict[str, str],
    real_keyring: str,
) -> None:
    proxy = ChaosProxy(live_server.port, FORWARD).start()
    anna = Laptop(tmp_path / "anna", live_server.url, server_db.code("anna"))
    retarget(anna, proxy.url)
    case_id, written = write_notes(anna, 5, "Anna")
    db = DbThread()
    errors: list[BaseException] = []
    successes: list[Any] = []
    db.open(anna)
    service = SyncService(db.session, run_on_db=db.run)
    try:
        pending_before = db.run(lambda: db.session.vault.outbox.count())
        proxy.set_mode(HTTP_503)
        scheduler = service.start_scheduler(
            pull_interval=3600,
            backoff=Backoff(base=0.05, cap=0.3),
            on_error=errors.append,
            on_result=successes.append,
        )
        assert eventually(lambda: len(errors) >= 3)
        proxy.set_mode(GARBAGE)
        assert eventually(lambda: any(isinstance(e, NotAFieldkitServer) for e in errors))
        assert successes == []
        assert scheduler.backoff.failures >= 3  # it backed off, it did not give up
        assert scheduler.paused_reason is None
        assert service.status().last_error in ("server_trouble", "not_a_fieldkit_server")
        assert db.run(lambda: db.session.vault.outbox.count()) >= pending_before  # nothing lost
        assert any(isinstance(e, ServerTrouble) and e.retryable for e in errors)

        proxy.set_mode(FORWARD)
        scheduler.sync_now()
        assert eventually(lambda: len(successes) >= 1)
        status = service.status()
        assert status.online is True and status.last_error is None
        assert scheduler.backoff.failures == 0
    finally:
        service.close()
        db.close()
        proxy.stop()
    assert server_note_ids(server_db, case_id) == sorted(written)


def test_an_access_token_that_runs_out_mid_cycle_is_renewed_transparently(
    tmp_path: Path,
    server_db: ServerDB,
    team: dict[str, str],
    real_keyring: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="fieldkit.sync.transport")
    # A token lives between ttl and ttl + 1 seconds (its expiry is a whole second).
    server = LiveServer(server_db.url, token_ttl=2).start()
    try:
        anna = Laptop(tmp_path / "anna", server.url, server_db.code("anna"))
        case_id, written = write_notes(anna, 3, "Anna")
        with anna.session() as s:
            service = SyncService(s)
            service.run_cycle()
            transport = service.engine.transport
            before = transport.token_renewals
            caplog.clear()
            # A laptop that slept: the monotonic clock stood still, the server's did not.
            transport._token_deadline = time.monotonic() + 3600
            time.sleep(3.2)
            notes.add_note(s, case_id, "Skrivet efter vilan.")
            report = service.run_cycle()
            assert transport.token_renewals > before
            assert "access token expired mid-cycle; renewing" in caplog.text
            assert report.pushed >= 1
            service.close()
    finally:
        server.stop()
    assert len(server_note_ids(server_db, case_id)) == len(written) + 1


def test_a_revoked_laptop_is_wiped_and_told_why(
    tmp_path: Path,
    server_db: ServerDB,
    live_server: LiveServer,
    team: dict[str, str],
    real_keyring: str,
) -> None:
    anna = Laptop(tmp_path / "anna", live_server.url, server_db.code("anna"))
    write_notes(anna, 2, "Anna")
    anna.sync()
    from fieldkit.services.profile import read_profile

    profile_id = read_profile(anna.data_dir).profile_id
    assert keyring.get_password("fieldkit", f"device-secret:{profile_id}") is not None
    server_db.revoke(anna.device_id)

    result = cli(anna.data_dir, "sync")
    assert result.returncode == ExitCode.NETWORK
    assert "revoked by your organisation" in result.stderr
    assert "wiped" in result.stderr
    assert "Traceback" not in result.stderr
    leftovers = sorted(p.name for p in anna.data_dir.iterdir())
    assert not {"vault.db", "vault.db-wal", "keyslots.json", "profile.json"} & set(leftovers)
    assert keyring.get_password("fieldkit", f"device-secret:{profile_id}") is None


def test_revocation_seen_by_the_service_wipes_and_raises(
    tmp_path: Path,
    sqlite_server_db: ServerDB,
    real_keyring: str,
) -> None:
    db = sqlite_server_db
    team_id = db.team("Norr")
    db.user("cleo", team_id)
    server = LiveServer(db.url).start()
    try:
        laptop = Laptop(tmp_path / "cleo", server.url, db.code("cleo"))
        db.revoke(laptop.device_id)
        told: list[DeviceRevoked] = []
        with laptop.session() as s:
            service = SyncService(s, on_revoked=told.append)
            with pytest.raises(DeviceRevoked):
                service.run_cycle()
            assert s.locked
        assert len(told) == 1
        assert not (laptop.data_dir / "vault.db").exists()
        swedish = cli(laptop.data_dir, "sync", env={"FIELDKIT_LANG": "sv"})
        assert swedish.returncode != 0  # nothing left to open
    finally:
        server.stop()


def test_an_address_that_is_not_a_fieldkit_server_gets_a_clear_message(
    tmp_path: Path,
    real_keyring: str,
) -> None:
    folder = tmp_path / "profile"
    with odd_peer(captive_portal) as portal:
        result = cli(
            folder,
            "enroll",
            "--server",
            url_of(portal),
            "--code",
            "ABCD-EFGH",
            "--allow-http-loopback",
        )
        sv = cli(
            folder,
            "--lang",
            "sv",
            "enroll",
            "--server",
            url_of(portal),
            "--code",
            "ABCD-EFGH",
            "--allow-http-loopback",
        )
    assert result.returncode == ExitCode.NETWORK
    assert "did not answer as a fieldkit server" in result.stderr
    assert "log in to it in a web browser" in result.stderr
    assert "svarade inte som en fieldkit-server" in sv.stderr
    assert not (folder / "profile.json").exists()  # nothing was created, no code was spent

    insecure = cli(folder, "enroll", "--server", "http://fieldkit.example.se", "--code", "X1Y2")
    assert insecure.returncode == ExitCode.USAGE
    assert "not encrypted" in insecure.stderr


def test_a_used_enrolment_code_is_refused_clearly(
    tmp_path: Path,
    sqlite_server_db: ServerDB,
    real_keyring: str,
) -> None:
    db = sqlite_server_db
    team_id = db.team("Väster")
    db.user("dana", team_id)
    server = LiveServer(db.url).start()
    try:
        code = db.code("dana")
        Laptop(tmp_path / "first", server.url, code)
        again = cli(
            tmp_path / "second",
            "enroll",
            "--server",
            server.url,
            "--code",
            code,
            "--allow-http-loopback",
        )
    finally:
        server.stop()
    assert again.returncode == ExitCode.AUTH, again.stderr
    assert "enrolment code was not accepted" in again.stderr
    assert not (tmp_path / "second" / "profile.json").exists()
