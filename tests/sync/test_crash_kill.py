"""SIGKILL of the client (`fieldkit sync` in its own process) at random instants during push and
during pull, many times, then a clean sync: the server holds every note exactly once, the
laptop keeps everything it wrote, and no outbox row is lost or applied twice."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sync_harness import PASS, REPO, Laptop, LiveServer, ServerDB, cli

from fieldkit.domain.enums import CaseType
from fieldkit.services import cases, notes

pytestmark = pytest.mark.keyring

ITERATIONS = int(os.environ.get("FIELDKIT_KILL_ITERATIONS", "20"))


def start_sync(data_dir: Path, **env: str) -> subprocess.Popen[bytes]:
    full_env = dict(os.environ, FIELDKIT_PASSPHRASE=PASS, FIELDKIT_LANG="en", **env)
    return subprocess.Popen(
        [sys.executable, "-m", "fieldkit", "--data-dir", str(data_dir), "sync", "--quiet"],
        env=full_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=REPO,
    )


def timed_run(data_dir: Path, **env: str) -> float:
    start = time.monotonic()
    proc = start_sync(data_dir, **env)
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()
    return time.monotonic() - start


def kill_at_random(data_dir: Path, window: float, rng: random.Random, **env: str) -> bool:
    """Start a sync and SIGKILL it at a random instant within ``window`` seconds. Returns
    whether it was killed (rather than finished first)."""
    proc = start_sync(data_dir, **env)
    time.sleep(rng.uniform(0.0, window))
    killed = proc.poll() is None
    if killed:
        proc.send_signal(signal.SIGKILL)
    _out, err = proc.communicate(timeout=120)
    if not killed:
        assert proc.returncode == 0, err.decode()
    return killed


def kill_mid_push(
    data_dir: Path, db: ServerDB, device_id: str, rng: random.Random, **env: str
) -> bool:
    """Start a sync, wait until the server has applied something new from this device, then
    SIGKILL it a random moment later: the instants between the server's commit and the
    laptop's acknowledgement are the ones that matter."""
    before = len(device_log(db, device_id))
    proc = start_sync(data_dir, **env)
    deadline = time.monotonic() + 30
    while proc.poll() is None and time.monotonic() < deadline:
        if len(device_log(db, device_id)) > before:
            break
        time.sleep(0.002)
    time.sleep(rng.uniform(0.0, 0.05))
    killed = proc.poll() is None
    if killed:
        proc.send_signal(signal.SIGKILL)
    _out, err = proc.communicate(timeout=120)
    if not killed:
        assert proc.returncode == 0, err.decode()
    return killed


def server_notes(db: ServerDB, case_id: str) -> list[str]:
    return sorted(
        r[0]
        for r in db.rows(
            "SELECT id FROM records WHERE record_type = 'note' AND case_id = :c", c=case_id
        )
    )


def device_log(db: ServerDB, device_id: str) -> list[tuple[int, str, str]]:
    return [
        (int(r[0]), str(r[1]), str(r[2]))
        for r in db.rows(
            "SELECT mutation_id, name, status FROM mutation_log WHERE device_id = :d "
            "ORDER BY mutation_id",
            d=device_id,
        )
    ]


def test_sigkill_during_push_loses_and_duplicates_nothing(
    tmp_path: Path,
    server_db: ServerDB,
    live_server: LiveServer,
    team: dict[str, str],
    real_keyring: str,
) -> None:
    rng = random.Random(20261128)
    anna = Laptop(tmp_path / "anna", live_server.url, server_db.code("anna"))
    with anna.session() as s:
        case_id = cases.create_case(s, CaseType.EXIT_SUPPORT, "Alex Berg").id
    written: dict[str, str] = {}
    small = {"FIELDKIT_SYNC_PUSH_BATCH": "3"}
    window = None
    killed = 0
    for iteration in range(ITERATIONS):
        with anna.session() as s:
            for n in range(4):
                text = f"Anteckning {iteration}.{n}: samtal om skolgång och fritid."
                entry = notes.add_note(s, case_id, text, sign=n % 2 == 0)
                written[entry.id] = text
        if window is None:
            window = timed_run(anna.data_dir, **small) * 1.2  # a first, whole run sets the window
            continue
        if iteration % 2:
            killed += kill_mid_push(anna.data_dir, server_db, anna.device_id, rng, **small)
        else:
            killed += kill_at_random(anna.data_dir, window, rng, **small)
    assert killed >= ITERATIONS // 3, "most runs should have been interrupted"

    final = cli(anna.data_dir, "--json", "sync")  # a clean sync at the end
    assert final.returncode == 0, final.stderr
    replayed = json.loads(final.stdout)["duplicates"]
    print(f"window {window:.2f}s, killed {killed}/{ITERATIONS - 1}, replayed {replayed}")
    with anna.session() as s:
        local = {n.id: n.text for n in s.vault.notes.list_for_case(case_id)}
        last_local = s.vault.outbox.last_id()
        offset = s.vault.meta.get("sync.id_offset")
        remaining = s.vault.outbox.pending(limit=1000)
    # The laptop keeps everything it wrote.
    assert {k: local[k] for k in written} == written
    # The server holds every note exactly once.
    assert server_notes(server_db, case_id) == sorted(written)
    # Every outbox row reached the server exactly once, in order, with no gap: the device's
    # mutation log is 1..n without holes, and what the laptop still holds starts at n + 1.
    log = device_log(server_db, anna.device_id)
    ids = [m for m, _name, _status in log]
    assert ids == list(range(1, len(ids) + 1))
    assert all(status != "rejected" for _m, _n, status in log)
    assert [r.id - offset for r in remaining] == list(range(len(ids) + 1, last_local - offset + 1))
    creates = [m for m, name, _s in log if name == "note.create"]
    assert len(creates) == len(written)


def test_sigkill_during_pull_loses_and_duplicates_nothing(
    tmp_path: Path,
    server_db: ServerDB,
    live_server: LiveServer,
    team: dict[str, str],
    real_keyring: str,
) -> None:
    rng = random.Random(7)
    anna = Laptop(tmp_path / "anna", live_server.url, server_db.code("anna"))
    bo = Laptop(tmp_path / "bo", live_server.url, server_db.code("bo"))
    with anna.session() as s:
        case = cases.create_case(s, CaseType.INDIVIDUAL_AT_RISK, "Robin Lind")
        cases.assign_case(s, case.id, [team["bo"]])
        for n in range(60):
            notes.add_note(s, case.id, f"Anteckning {n}: uppföljning med kontaktperson.", sign=True)
    anna.sync()
    with bo.session() as s:  # bo's own work, not yet sent, must survive everything
        bo_case = cases.create_case(s, CaseType.RELATIVE_SUPPORT, "Kim Ek")
        mine = notes.add_note(s, bo_case.id, "Bos utkast, ännu inte skickat.")
    small = {"FIELDKIT_SYNC_PULL_LIMIT": "7", "FIELDKIT_SYNC_PUSH_BATCH": "2"}
    window = 2.0
    for _ in range(ITERATIONS):
        kill_at_random(bo.data_dir, window, rng, **small)
    timed_run(bo.data_dir)
    with bo.session() as s:
        pulled = sorted(n.id for n in s.vault.notes.list_for_case(case.id))
        own = s.vault.notes.get(mine.id)
    assert pulled == server_notes(server_db, case.id)
    assert len(pulled) == 60
    assert own is not None and own.text == "Bos utkast, ännu inte skickat."
    assert server_notes(server_db, bo_case.id) == [mine.id]
    log = device_log(server_db, bo.device_id)
    assert [m for m, _n, _s in log] == list(range(1, len(log) + 1))
