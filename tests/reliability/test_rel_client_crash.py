"""Crash loop (issue 11, item 2, the client): a laptop that writes notes, edits a shared case and
syncs against the real server on PostgreSQL is SIGKILLed at random instants, hundreds of times,
and restarted each time. Afterwards: every note the app confirmed as saved is on the laptop and
on the server exactly once, every outbox row reached the server once and in order, and the vault
opened cleanly after every kill."""

from __future__ import annotations

import contextlib
import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from rel_common import Counters, scale
from sync_harness import PASS, REPO, Laptop, LiveServer, ServerDB

from fieldkit.domain.enums import CaseType
from fieldkit.services import cases, notes
from fieldkit.services.sync import sync_now

pytestmark = [pytest.mark.keyring, pytest.mark.postgres]

ZYGOTE = Path(__file__).with_name("crash_zygote.py")


class Zygote:
    """The forking client (crash_zygote.py) and a reader of what its children report."""

    def __init__(self, data_dir: Path, case_id: str, shared_id: str) -> None:
        env = dict(
            os.environ,
            FIELDKIT_PASSPHRASE=PASS,
            FIELDKIT_LANG="en",
            FIELDKIT_SYNC_PUSH_BATCH="5",
            FIELDKIT_SYNC_PULL_LIMIT="10",
        )
        self.proc = subprocess.Popen(
            [sys.executable, str(ZYGOTE), str(data_dir), case_id, shared_id],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            cwd=REPO,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            self.lines.put(raw.decode().rstrip("\n"))

    def go(self, iteration: int, count: int) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"go {iteration} {count}\n".encode())
        self.proc.stdin.flush()

    def next_line(self, timeout: float = 120.0) -> str:
        return self.lines.get(timeout=timeout)

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


def run_child(
    zygote: Zygote, iteration: int, count: int, kill_after: float | None
) -> tuple[bool, list[str], list[str]]:
    """One life of the app. Returns (killed, confirmed note ids, failures)."""
    zygote.go(iteration, count)
    confirmed: list[str] = []
    failures: list[str] = []
    pid = None
    shot = False  # the kill was sent (or the child was already gone)
    started = time.monotonic()
    while True:
        if pid is not None and kill_after is not None and not shot:
            remaining = started + kill_after - time.monotonic()
            if remaining <= 0:
                shot = True
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                continue
            try:
                line = zygote.lines.get(timeout=remaining)
            except queue.Empty:
                continue
        else:
            line = zygote.next_line()
        kind, _, rest = line.partition(" ")
        if kind == "child":
            pid = int(rest)
            started = time.monotonic()
        elif kind == "wrote":
            confirmed.append(rest)
        elif kind == "fail":
            failures.append(rest)
        elif kind == "exit":
            status = int(rest.split()[1])
            landed = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
            if not landed and os.WIFEXITED(status) and os.WEXITSTATUS(status) not in (0, 2, 3):
                failures.append(f"exit status {status}")
            return landed, confirmed, failures


def device_log(db: ServerDB, device_id: str) -> list[tuple[int, str, str]]:
    return [
        (int(r[0]), str(r[1]), str(r[2]))
        for r in db.rows(
            "SELECT mutation_id, name, status FROM mutation_log WHERE device_id = :d "
            "ORDER BY mutation_id",
            d=device_id,
        )
    ]


def server_notes(db: ServerDB, case_id: str) -> list[str]:
    return [
        r[0]
        for r in db.rows(
            "SELECT id FROM records WHERE record_type = 'note' AND case_id = :c", c=case_id
        )
    ]


def test_client_sigkill_loop_writes_and_sync(
    tmp_path: Path, pg_database: str, real_keyring: str, record: Counters
) -> None:
    iterations = scale(10, 500)
    rng = random.Random(11_2026)
    db = ServerDB(pg_database)
    server = LiveServer(pg_database).start()
    zygote = None
    try:
        team_id = db.team("Fältgruppen Crash")
        db.user("anna", team_id)
        bo_id = db.user("bo", team_id)
        anna = Laptop(tmp_path / "anna", server.url, db.code("anna"))
        bo = Laptop(tmp_path / "bo", server.url, db.code("bo"))
        with anna.session() as s:
            case_id = cases.create_case(s, CaseType.EXIT_SUPPORT, "Alex Berg").id
            shared_id = cases.create_case(s, CaseType.INDIVIDUAL_AT_RISK, "Robin Lind").id
            cases.assign_case(s, shared_id, [bo_id])
        anna.sync()
        bo.sync()

        zygote = Zygote(anna.data_dir, case_id, shared_id)
        confirmed: list[str] = []
        bo_notes: list[str] = []
        # one whole, uninterrupted life sets the window the kills fall into
        t0 = time.monotonic()
        landed, ids, failures = run_child(zygote, 0, 3, None)
        window = (time.monotonic() - t0) * 1.15
        confirmed += ids
        for f in failures:
            record.wrong(f"first run: {f}")
        with bo.session() as bs:
            for iteration in range(1, iterations + 1):
                if rng.random() < 0.2:  # the colleague writes on the shared case: pulls to do
                    for n in range(rng.randint(1, 4)):
                        e = notes.add_note(bs, shared_id, f"Bo {iteration}.{n}: samtal.", sign=True)
                        bo_notes.append(e.id)
                    sync_now(bs)
                began = time.monotonic()
                landed, ids, failures = run_child(
                    zygote, iteration, rng.randint(0, 4), rng.uniform(0.0, window)
                )
                if not landed:  # a whole life: the window follows the lives' real length
                    window = max(window * 0.9, (time.monotonic() - began) * 1.1)
                record.iterations += 1
                record.faults += landed
                confirmed += ids
                for f in failures:
                    record.wrong(f"iteration {iteration}: {f}")
        zygote.close()
        zygote = None

        # the app once more, uninterrupted: it must open and sync cleanly
        with anna.session() as s:
            report = sync_now(s)
            local = {n.id for n in s.vault.notes.list_for_case(case_id)}
            shared_local = {n.id for n in s.vault.notes.list_for_case(shared_id)}
            last_local = s.vault.outbox.last_id()
            offset = s.vault.meta.get("sync.id_offset") or 0
            remaining = [r.id - offset for r in s.vault.outbox.pending(limit=10_000)]
        print(f"window {window:.2f}s, kills landed {record.faults}/{iterations}, {report}")

        on_server = server_notes(db, case_id)
        # lost: confirmed on the laptop but gone there or never on the server
        record.lost += len(set(confirmed) - local)
        record.lost += len(local - set(on_server))
        record.lost += len(set(bo_notes) - shared_local)
        # duplicated: a note twice on the server, or applied twice
        log = device_log(db, anna.device_id)
        creates = [m for m, name, status in log if name == "note.create" and status == "applied"]
        record.duplicated += len(on_server) - len(set(on_server))
        record.duplicated += max(0, len(creates) - len(set(on_server)))
        record.duplicated += len(set(on_server) - local)  # a note the laptop does not know
        # every outbox row accounted for: 1..n on the server, n+1..last still queued
        ids_on_server = [m for m, _n, _s in log]
        if ids_on_server != list(range(1, len(ids_on_server) + 1)):
            record.wrong("the device's mutation log has a gap or a repeat")
        if remaining != list(range(len(ids_on_server) + 1, last_local - offset + 1)):
            record.wrong(f"outbox rows unaccounted: {remaining[:5]} after {len(ids_on_server)}")
        rejected = [(m, n) for m, n, status in log if status == "rejected"]
        if rejected:
            record.wrong(f"rejected mutations: {rejected[:5]}")
    finally:
        if zygote is not None:
            zygote.close()
        server.stop()
        db.close()
    assert record.faults >= max(1, iterations // 4), "most lives should be cut short"
    record.assert_clean()
