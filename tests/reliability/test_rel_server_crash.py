"""Crash loop (issue 11, item 2, the server): the central service, a separate process on
PostgreSQL, is SIGKILLed at random instants while two laptops push notes as fast as they can,
then restarted on the same port. Afterwards every note both laptops saved is on the server
exactly once, each device's mutation log is 1..n without a gap, and every error the laptops saw
on the way was a retryable network/server error (nothing else)."""

from __future__ import annotations

import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from rel_common import Counters, scale
from sync_harness import REPO, Laptop, ServerDB, free_port, wait_healthy

from fieldkit.domain.enums import CaseType
from fieldkit.services import cases, notes
from fieldkit.services.sync import sync_now
from fieldkit.sync.errors import SyncError

pytestmark = [pytest.mark.keyring, pytest.mark.postgres]


ZYGOTE = Path(__file__).with_name("server_zygote.py")


class ForkedServer:
    """The server as a process forked from a warm parent (server_zygote.py): killable with
    SIGKILL and restarted on the same port in a fraction of a second."""

    def __init__(self, db_url: str) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, str(ZYGOTE), db_url, str(self.port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd=REPO,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.pid: int | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            self.lines.put(raw.decode().strip())

    def start(self) -> ForkedServer:
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"start\n")
        self.proc.stdin.flush()
        while True:
            kind, _, rest = self.lines.get(timeout=60).partition(" ")
            if kind == "child":
                self.pid = int(rest)
                break
        wait_healthy(self.url)
        return self

    def kill(self) -> None:
        if self.pid is None:
            return
        os.kill(self.pid, signal.SIGKILL)
        while True:
            kind, _, rest = self.lines.get(timeout=60).partition(" ")
            if kind == "exit" and int(rest.split()[0]) == self.pid:
                break
        self.pid = None

    def close(self) -> None:
        if self.pid is not None:
            self.kill()
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(30)


class Pusher(threading.Thread):
    """A laptop that writes a few notes and syncs, over and over, until told to stop."""

    def __init__(self, laptop: Laptop, case_id: str, record: Counters, seed: int) -> None:
        super().__init__(daemon=True)
        self.laptop = laptop
        self.case_id = case_id
        self.record = record
        self.rng = random.Random(seed)
        self.stop = threading.Event()
        self.written: list[str] = []
        self.errors: list[BaseException] = []
        self.ok = 0

    def run(self) -> None:
        from sync_harness import FAST, PASS

        from fieldkit.services.profile import open_session

        session = open_session(self.laptop.data_dir, PASS, FAST)
        try:
            n = 0
            while not self.stop.is_set():
                for _ in range(self.rng.randint(1, 5)):
                    n += 1
                    e = notes.add_note(session, self.case_id, f"Anteckning {n}.", sign=n % 2 == 0)
                    self.written.append(e.id)
                try:
                    sync_now(session)
                    self.ok += 1
                except SyncError as exc:
                    if not exc.retryable:
                        self.errors.append(exc)
                    time.sleep(0.05)
                except Exception as exc:
                    self.errors.append(exc)
                    time.sleep(0.05)
        finally:
            session.lock()


def test_server_sigkill_loop_under_push_load(
    tmp_path: Path,
    pg_database: str,
    real_keyring: str,
    record: Counters,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FIELDKIT_SYNC_PUSH_BATCH", "2")
    kills = scale(2, 30)
    rng = random.Random(2026_11)
    db = ServerDB(pg_database)
    server = ForkedServer(pg_database).start()
    pushers: list[Pusher] = []
    try:
        team_id = db.team("Fältgruppen Server")
        db.user("anna", team_id)
        db.user("bo", team_id)
        laptops = [Laptop(tmp_path / name, server.url, db.code(name)) for name in ("anna", "bo")]
        case_ids = []
        for laptop in laptops:
            with laptop.session() as s:
                case_ids.append(cases.create_case(s, CaseType.EXIT_SUPPORT, "Kim Ek").id)
        pushers = [
            Pusher(laptop, case_id, record, seed)
            for seed, (laptop, case_id) in enumerate(zip(laptops, case_ids, strict=True))
        ]
        for p in pushers:
            p.start()
        for _ in range(kills):
            time.sleep(rng.uniform(0.05, 1.5))  # under load: the instant falls anywhere
            server.kill()
            record.faults += 1
            record.iterations += 1
            time.sleep(rng.uniform(0.0, 0.3))  # the laptops meet a dead address for a while
            server.start()
        time.sleep(1.0)
        for p in pushers:
            p.stop.set()
        for p in pushers:
            p.join(120)
        for laptop in laptops:  # a last, clean sync each
            with laptop.session() as s:
                sync_now(s)
    finally:
        for p in pushers:
            p.stop.set()
        server.close()
    try:
        for p, laptop, case_id in zip(pushers, laptops, case_ids, strict=True):
            for exc in p.errors:
                record.wrong(f"{type(exc).__name__}: {getattr(exc, 'code', '')}")
            on_server = [
                r[0]
                for r in db.rows(
                    "SELECT id FROM records WHERE record_type = 'note' AND case_id = :c",
                    c=case_id,
                )
            ]
            record.lost += len(set(p.written) - set(on_server))
            record.duplicated += len(on_server) - len(set(on_server))
            log: list[Any] = db.rows(
                "SELECT mutation_id, name, status FROM mutation_log WHERE device_id = :d "
                "ORDER BY mutation_id",
                d=laptop.device_id,
            )
            applied = [r for r in log if r[1] == "note.create" and r[2] == "applied"]
            record.duplicated += max(0, len(applied) - len(set(on_server)))
            if [int(r[0]) for r in log] != list(range(1, len(log) + 1)):
                record.wrong(f"{laptop.identity.username}: mutation log with a gap or a repeat")
            if any(r[2] == "rejected" for r in log):
                record.wrong(f"{laptop.identity.username}: rejected mutations")
            with laptop.session() as s:
                if s.vault.outbox.count() > 5:  # the last sync's own audit rows may remain
                    record.wrong(f"{laptop.identity.username}: outbox not drained")
            assert p.ok > 0, "the laptop never got a sync through"
    finally:
        db.close()
    print(f"server kills {record.faults}, notes {[len(p.written) for p in pushers]}")
    record.assert_clean()
