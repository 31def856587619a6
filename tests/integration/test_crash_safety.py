"""SIGKILL in the middle of a batch of writes, at random instants, many times over: the vault
opens cleanly afterwards and never holds a record without its outbox row, an outbox row without
its record, a half-signed entry, or an audit event the server would not receive."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest

from fieldkit.domain import journal
from fieldkit.domain.enums import AuditAction, Role
from fieldkit.protocol.messages import MutationName
from fieldkit.security import SecurityPolicy
from fieldkit.services import cases
from fieldkit.services.profile import Identity, Session, create_profile, open_session

pytestmark = pytest.mark.keyring

PASS = "korrekt häst batteri häftklammer"
FAST = SecurityPolicy(argon2_target_seconds=0.01)

# Writes until killed: cases, draft notes, signed notes, corrections, searches; prints a line
# after each committed write.
WRITER = textwrap.dedent(
    """
    import sys
    from fieldkit.services.profile import open_session
    from fieldkit.services import cases, notes, search
    from fieldkit.security import SecurityPolicy
    session = open_session(sys.argv[1], sys.argv[2], SecurityPolicy(argon2_target_seconds=0.01))
    case = cases.create_case(session, "exit_support", "Krasch Person")
    print("ready", flush=True)
    i = 0
    while True:
        i += 1
        if i % 17 == 0:
            case = cases.create_case(session, "exit_support", "Krasch Person %d" % i)
        note = notes.add_note(session, case.id, "Anteckning %d " % i + "ord " * 300,
                              sign=i % 2 == 0)
        if i % 3 == 0 and not note.is_signed:
            notes.sign_note(session, note.id)
        if i % 5 == 0:
            signed = notes.add_note(session, case.id, "Signerad %d" % i, sign=True)
            notes.add_linked_note(session, signed.id, "correction", "Rättelse %d" % i)
        if i % 7 == 0:
            search.search(session, "Anteckning")
        print(i, flush=True)
    """
)


def all_cases(session: Session) -> list:  # type: ignore[type-arg]
    return list(cases._all_cases(session))


def check_consistent(session: Session) -> Counter[str]:
    """Every record has its outbox row and every outbox row its record; signed entries verify;
    every audit event has its audit.append row; the chain is intact."""
    vault = session.vault
    rows = list(vault.outbox.pending(limit=10_000_000, max_bytes=10**12))
    ids = [r.id for r in rows]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    by_name: dict[str, list[dict]] = {}  # type: ignore[type-arg]
    for row in rows:
        by_name.setdefault(str(row.name), []).append(row.args)

    case_ids = {c.id for c in all_cases(session)}
    assert {a["case"]["id"] for a in by_name.get(MutationName.CASE_CREATE, [])} == case_ids
    person_ids = {c.person_id for c in all_cases(session)}
    assert {a["person"]["id"] for a in by_name.get(MutationName.CASE_CREATE, [])} == person_ids
    assert all(vault.persons.get(p) is not None for p in person_ids)

    notes = [n for c in case_ids for n in vault.notes.list_for_case(c)]
    created = [a["note"]["id"] for a in by_name.get(MutationName.NOTE_CREATE, [])]
    assert len(created) == len(set(created))
    assert set(created) == {n.id for n in notes}
    signed = {n.id: n for n in notes if n.is_signed}
    sign_rows = {a["note"]["id"]: a["note"] for a in by_name.get(MutationName.NOTE_SIGN, [])}
    assert set(sign_rows) == set(signed)
    for note_id, note in signed.items():
        assert journal.verify_signature(note), note_id
        assert sign_rows[note_id]["content_hash"] == note.content_hash

    events = list(vault.audit.list())
    appended = [e["id"] for a in by_name.get(MutationName.AUDIT_APPEND, []) for e in a["events"]]
    assert appended == [e.id for e in events]
    assert vault.audit.verify() == []
    sign_events = {e.record_id for e in events if e.action is AuditAction.SIGN}
    assert sign_events == set(signed)
    return Counter(
        {
            "cases": len(case_ids),
            "notes": len(notes),
            "signed": len(signed),
            "events": len(events),
            "outbox": len(rows),
        }
    )


@pytest.fixture
def profile(real_keyring: str, data_dir: Path) -> Path:
    create_profile(data_dir, PASS, Identity.local("anna", role=Role.WORKER), FAST).lock()
    return data_dir


def kill_writer_at_random(profile: Path, rng: random.Random, env: dict[str, str]) -> int:
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(profile), PASS],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline().strip()
        assert first == "ready", (first, proc.stderr.read() if proc.stderr else "")
        time.sleep(rng.uniform(0.0, 0.6))
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    return len(proc.stdout.read().split()) if proc.stdout else 0


def test_sigkill_during_writes_never_splits_a_record_from_its_outbox_row(
    profile: Path, tmp_path: Path
) -> None:
    rng = random.Random(int.from_bytes(os.urandom(4), "big"))
    env = dict(os.environ, TMPDIR=str(tmp_path))
    previous: Counter[str] = Counter()
    for _round in range(12):
        kill_writer_at_random(profile, rng, env)
        session = open_session(profile, PASS, FAST)  # opens cleanly after the crash
        try:
            counts = check_consistent(session)
        finally:
            session.lock()
        # nothing committed before is ever lost
        assert all(counts[k] >= previous[k] for k in previous), (counts, previous)
        previous = counts
    assert previous["notes"] > 0 and previous["signed"] > 0


def test_sigkill_of_the_cli_in_a_loop_of_writes(profile: Path, tmp_path: Path) -> None:
    rng = random.Random(int.from_bytes(os.urandom(4), "big"))
    env = dict(
        os.environ,
        TMPDIR=str(tmp_path),
        FIELDKIT_PASSPHRASE=PASS,
        FIELDKIT_LANG="en",
        FIELDKIT_CONFIG_DIR=str(tmp_path / "c"),
        FIELDKIT_POLICY_ROOT=str(tmp_path / "p"),
    )
    session = open_session(profile, PASS, FAST)
    case_id = cases.create_case(session, "exit_support", "CLI Krasch").id
    session.lock()
    rounds = 15
    killed = 0

    def start(i: int) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "fieldkit", "--data-dir", str(profile), "note", "add",
             case_id, "--text", f"CLI-anteckning {i}", "--sign"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

    # How long one whole run (start-up, unlock, write, close) takes on this machine now...
    began = time.monotonic()
    assert start(-1).wait(timeout=120) == 0
    whole = time.monotonic() - began
    # ...so the kill instants can be spread over all of it, with jitter: they land in every
    # phase, and the last rounds may finish first.
    for i in range(rounds):
        proc = start(i)
        time.sleep(whole * (0.2 + 1.1 * (i + rng.random()) / rounds))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed += 1
        proc.wait(timeout=60)
    assert killed > 0
    session = open_session(profile, PASS, FAST)
    try:
        counts = check_consistent(session)
    finally:
        session.lock()
    assert counts["cases"] == 1
    assert counts["notes"] >= 1


ROTATOR = textwrap.dedent(
    """
    import sys
    from fieldkit.services.profile import open_session
    from fieldkit.security import SecurityPolicy
    session = open_session(sys.argv[1], sys.argv[2], SecurityPolicy(argon2_target_seconds=0.01))
    print("ready", flush=True)
    while True:
        session.rotate_data_key(sys.argv[2])
        print("rotated", flush=True)
    """
)


def test_sigkill_during_data_key_rotation_never_loses_the_vault(
    profile: Path, tmp_path: Path
) -> None:
    """Kill a loop of data-key rotations (key slots, PRAGMA rekey, key slots) anywhere: the
    next unlock finishes or redoes the interrupted rotation and everything is still there."""
    from fieldkit.services import notes

    session = open_session(profile, PASS, FAST)
    case = cases.create_case(session, "exit_support", "Rotation Person")
    written = [
        notes.add_note(session, case.id, f"Anteckning {i} " + "ord " * 200, sign=True).id
        for i in range(150)
    ]
    first_key = session.slots.unlock(PASS, FAST).current
    session.lock()
    rng = random.Random(int.from_bytes(os.urandom(4), "big"))
    env = dict(os.environ, TMPDIR=str(tmp_path))
    finished = []
    rotation_seconds = 0.3  # measured below, on this machine, under its current load
    for round_no in range(10):
        proc = subprocess.Popen(
            [sys.executable, "-c", ROTATOR, str(profile), PASS],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            assert proc.stdout is not None
            first = proc.stdout.readline().strip()
            assert first == "ready", (first, proc.stderr.read() if proc.stderr else "")
            done = 0
            if round_no % 2 == 0:  # let one rotation finish, timing it, then kill in the next
                began = time.monotonic()
                assert proc.stdout.readline().strip() == "rotated"
                rotation_seconds = time.monotonic() - began
                done = 1
            time.sleep(rng.uniform(0.0, 1.2 * rotation_seconds))
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        finished.append(done + (proc.stdout.read().count("rotated") if proc.stdout else 0))
        session = open_session(profile, PASS, FAST)
        try:
            assert not session.slots.status().rotation_pending
            assert all(session.vault.notes.get(note_id) is not None for note_id in written)
            check_consistent(session)
        finally:
            session.lock()
    # the rotations really happened: the vault no longer opens with the key it started with
    from fieldkit.storage import Vault, WrongKey

    with pytest.raises(WrongKey):
        Vault.open(profile / "vault.db", first_key)
