"""Crash safety and a full disk: a record and its outbox row (and its audit event) are written
together or not at all; a full disk loses nothing that was saved."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from fieldkit.domain.enums import AuditAction, CaseType
from fieldkit.domain.records import Case, JournalEntry, Person
from fieldkit.protocol.messages import MutationName
from fieldkit.storage import DiskFull, Vault

SRC = str(Path(__file__).resolve().parents[2] / "src")
BATCH = 5

CHILD_BATCHES = textwrap.dedent(
    f"""
    import sys
    sys.path.insert(0, sys.argv[2])
    from pathlib import Path
    from fieldkit.domain.enums import AuditAction
    from fieldkit.domain.records import JournalEntry
    from fieldkit.protocol.messages import MutationName
    from fieldkit.storage import Vault
    key = bytes.fromhex(sys.stdin.readline().strip())
    vault = Vault.open(Path(sys.argv[1]), key)
    case_id = vault.cases.list()[0].id
    n = 0
    while True:
        with vault.transaction():
            for _ in range({BATCH}):
                note = JournalEntry(case_id=case_id, author_id="u1", text="Anteckning " * 60)
                vault.notes.put(note)
                vault.outbox.append(MutationName.NOTE_CREATE, {{"note": note}})
                vault.audit.append("u1", AuditAction.SIGN, "dev1", "note", note.id, case_id)
        n += 1
        if n == 1:
            print("writing", flush=True)
    """
)


def make_vault(path: Path, key: bytes) -> str:
    vault = Vault.create(path, key)
    person = Person(name="Test Testsson")
    case = Case(person_id=person.id, case_type=CaseType.EXIT_SUPPORT, team_id="t", owner_id="u1")
    with vault.transaction():
        vault.persons.put(person)
        vault.cases.put(case)
    vault.close()
    return case.id


def check_consistent(vault: Vault, batch: int = BATCH) -> int:
    notes = {r[0] for r in vault.query("SELECT id FROM notes")}
    outbox = [r[0] for r in vault.query("SELECT json_extract(args, '$.note.id') FROM outbox")]
    audited = [r[0] for r in vault.query("SELECT record_id FROM audit_events")]
    assert len(outbox) == len(set(outbox)) == len(notes)
    assert set(outbox) == notes, "a record without its outbox row, or the reverse"
    assert set(audited) == notes and len(audited) == len(notes)
    assert len(notes) % batch == 0, "half a batch was committed"
    assert vault.audit.verify() == []
    return len(notes)


def test_sigkill_mid_batch_never_splits_record_and_outbox(tmp_path: Path) -> None:
    key = os.urandom(32)
    db = tmp_path / "vault.db"
    make_vault(db, key)
    rng = random.Random(1234)
    previous = 0
    for _ in range(30):
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD_BATCHES, str(db), SRC],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdin and child.stdout
        child.stdin.write(key.hex() + "\n")
        child.stdin.flush()
        assert child.stdout.readline().strip() == "writing"
        if rng.random() < 0.7:
            import time

            time.sleep(rng.uniform(0, 0.08))
        child.send_signal(signal.SIGKILL)
        child.wait()
        vault = Vault.open(db, key)
        try:
            count = check_consistent(vault)
        finally:
            vault.close()
        assert count >= previous + BATCH  # every child committed at least its first batch
        previous = count


# ------------------------------------------------------------------------------ disk full


def _fill_until_full(vault: Vault, case_id: str) -> tuple[int, JournalEntry]:
    saved = 0
    while True:
        note = JournalEntry(case_id=case_id, author_id="u1", text=os.urandom(8000).hex())
        try:
            with vault.transaction():
                vault.notes.put(note)
                vault.outbox.append(MutationName.NOTE_CREATE, {"note": note})
                vault.audit.append("u1", AuditAction.SIGN, "dev1", "note", note.id, case_id)
        except DiskFull:
            return saved, note
        saved += 1
        assert saved < 10_000, "the disk never filled"


def _mount_small_tmpfs(where: Path) -> bool:
    where.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(where)],
        capture_output=True,
        check=False,
    )
    return done.returncode == 0


def test_disk_full_rolls_back_and_loses_nothing(tmp_path: Path) -> None:
    mnt = tmp_path / "small"
    if not _mount_small_tmpfs(mnt):
        _disk_full_with_rlimit(tmp_path)
        return
    try:
        key = os.urandom(32)
        db = mnt / "vault.db"
        case_id = make_vault(db, key)
        filler = mnt / "filler"
        filler.write_bytes(b"\0" * 300_000)
        vault = Vault.open(db, key)
        try:
            saved, lost = _fill_until_full(vault, case_id)
            assert saved > 0
            assert not vault.in_transaction
            assert vault.notes.get(lost.id) is None
            assert check_consistent(vault, 1) == saved
            # free some space: the vault goes on working
            filler.unlink()
            note = JournalEntry(case_id=case_id, author_id="u1", text="efter")
            with vault.transaction():
                vault.notes.put(note)
                vault.outbox.append(MutationName.NOTE_CREATE, {"note": note})
                vault.audit.append("u1", AuditAction.SIGN, "dev1", "note", note.id, case_id)
        finally:
            vault.close()
        vault = Vault.open(db, key)
        try:
            assert check_consistent(vault, 1) == saved + 1
        finally:
            vault.close()
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


CHILD_RLIMIT = textwrap.dedent(
    """
    import os, resource, signal, sys
    sys.path.insert(0, sys.argv[2])
    from pathlib import Path
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    from fieldkit.storage import Vault, DiskFull, VaultWriteFailed
    from fieldkit.domain.records import JournalEntry
    from fieldkit.protocol.messages import MutationName
    key = bytes.fromhex(sys.stdin.readline().strip())
    vault = Vault.open(Path(sys.argv[1]), key)
    case_id = vault.cases.list()[0].id
    resource.setrlimit(resource.RLIMIT_FSIZE, (600_000, 600_000))
    saved = 0
    try:
        while True:
            note = JournalEntry(case_id=case_id, author_id="u1", text=os.urandom(8000).hex())
            with vault.transaction():
                vault.notes.put(note)
                vault.outbox.append(MutationName.NOTE_CREATE, {"note": note})
            saved += 1
    except (DiskFull, VaultWriteFailed) as exc:
        print(type(exc).__name__, saved, vault.notes.count(), vault.outbox.count(), flush=True)
    """
)


def _disk_full_with_rlimit(tmp_path: Path) -> None:
    key = os.urandom(32)
    db = tmp_path / "vault.db"
    make_vault(db, key)
    done = subprocess.run(
        [sys.executable, "-c", CHILD_RLIMIT, str(db), SRC],
        input=key.hex() + "\n",
        capture_output=True,
        text=True,
        check=True,
    )
    kind, saved, notes, outbox = done.stdout.split()
    assert kind == "DiskFull"
    assert int(saved) == int(notes) == int(outbox) > 0
    vault = Vault.open(db, key)
    try:
        assert vault.notes.count() == int(saved)
    finally:
        vault.close()


def test_disk_full_fallback_with_rlimit_also_holds(tmp_path: Path) -> None:
    """The fallback used where mounting is not permitted, exercised here too."""
    _disk_full_with_rlimit(tmp_path)
