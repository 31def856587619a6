"""Tampering (issue 11, item 5): every single-byte flip in a sample of the vault's pages is
detected on read by SQLCipher's HMAC and reported as damage (never a crash, never 'wrong
passphrase'); a changed key-slot file is refused as changed; the audit chain edited, truncated
or reordered - on the laptop with the key in hand, and on the server with direct SQL - is
found by `fieldkit audit verify` / `fieldkit-server audit verify` with the position."""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlcipher3
from rel_common import Counters, is_full, scale
from server_helpers import ServerWorld, migrate_url
from sync_harness import FAST, PASS, REPO, cli

from fieldkit.domain.enums import Role
from fieldkit.errors import ExitCode
from fieldkit.security import KeySlots, SecurityPolicy
from fieldkit.security.errors import KeyringChanged, SlotFileCorrupt, WrongPassphrase
from fieldkit.services import cases, notes, search
from fieldkit.services.profile import Identity, create_profile, read_profile
from fieldkit.storage import NotAVault, Vault, VaultCorrupt, VaultTruncated, WrongKey
from fieldkit.storage.vault import PAGE_SIZE

pytestmark = pytest.mark.keyring


@pytest.fixture
def profile(real_keyring: str, data_dir: Path) -> Path:
    session = create_profile(data_dir, PASS, Identity.local("anna", role=Role.WORKER), FAST)
    for c in range(3):
        case = cases.create_case(session, "exit_support", f"Person {c}", summary="Läget.")
        for i in range(15):
            notes.add_note(session, case.id, f"Anteckning {c}.{i} " + "text " * 150, sign=i % 2)
    search.search(session, "Anteckning")
    session.lock()
    return data_dir


def raw_key(data_dir: Path) -> bytes:
    slots = KeySlots(data_dir / "keyslots.json", read_profile(data_dir).profile_id)
    return slots.unlock(PASS, SecurityPolicy()).current


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def flip_outcome(path: Path, key: bytes, offset: int) -> str:
    """Flip one byte, open and read everything, put the byte back. Returns 'detected' (the
    integrity error), 'undetected' or the wrong thing that happened."""
    with open(path, "r+b") as f:
        f.seek(offset)
        original = f.read(1)[0]
        f.seek(offset)
        f.write(bytes([original ^ (1 << (offset % 8))]))
    try:
        try:
            vault = Vault.open(path, key)
        except (VaultCorrupt, VaultTruncated, NotAVault):
            return "detected"
        except WrongKey:
            return "wrong passphrase"
        try:
            vault.check_integrity()  # reads every page
            for table in ("notes", "cases", "persons", "audit_events", "outbox"):
                vault.query(f"SELECT * FROM {table}")
            return "undetected"
        except (VaultCorrupt, VaultTruncated):
            return "detected"
        finally:
            vault.close()
    except Exception as exc:
        return f"crash {type(exc).__name__}"
    finally:
        with open(path, "r+b") as f:
            f.seek(offset)
            f.write(bytes([original]))


def test_every_byte_flip_in_sampled_pages_is_detected(profile: Path, record: Counters) -> None:
    key = raw_key(profile)
    path = profile / "vault.db"
    for name in ("vault.db-wal", "vault.db-shm"):
        assert not (profile / name).exists() or (profile / name).stat().st_size == 0
    pages = path.stat().st_size // PAGE_SIZE
    before = sha(path)
    rng = random.Random(5)
    sample = sorted({1, 2, pages // 2, pages, *rng.sample(range(3, pages), 2)})
    sample = sample if is_full() else [1, rng.randrange(2, pages + 1)]
    # page 1 (salt, header, schema) byte by byte at the full scale; the others every 13th byte
    # (every 61st at the reduced scale), which still reaches content, IV and HMAC of each
    outcomes: dict[str, int] = {}
    for page in sample:
        stride = 1 if is_full() and page == 1 else (13 if is_full() else 61)
        for offset in range((page - 1) * PAGE_SIZE, page * PAGE_SIZE, stride):
            outcome = flip_outcome(path, key, offset)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
            record.iterations += 1
            record.faults += 1
            if outcome != "detected":
                record.wrong(f"page {page} byte {offset % PAGE_SIZE}: {outcome}")
    if sha(path) != before:
        record.wrong("the vault file changed over the flips")
    record.notes.append(f"pages {sample} of {pages}: {outcomes}")
    with pytest.raises(Exception):  # noqa: B017 - the probe: an unflipped file is not 'corrupt'
        raise VaultCorrupt("probe")
    vault = Vault.open(path, key)
    vault.check_integrity()
    vault.close()
    record.assert_clean()


def test_an_altered_key_slot_file_is_refused_as_changed(profile: Path, record: Counters) -> None:
    slot_path = profile / "keyslots.json"
    original = slot_path.read_bytes()
    profile_id = read_profile(profile).profile_id
    positions = list(range(len(original)))
    rng = random.Random(9)
    sample = positions if is_full() else sorted(rng.sample(positions, 40))
    outcomes: dict[str, int] = {}
    for pos in sample:
        char = original[pos : pos + 1]
        replacement = b"A" if char != b"A" else b"B"
        if char in b'{}[]":,' or char.isspace():
            replacement = b"x"
        slot_path.write_bytes(original[:pos] + replacement + original[pos + 1 :])
        try:
            KeySlots(slot_path, profile_id).unlock(PASS, FAST)
            outcome = "accepted"
        except (SlotFileCorrupt, KeyringChanged):
            # KeyringChanged: the recorded keyring backend was edited - refused as a change
            outcome = "detected"
        except WrongPassphrase:
            outcome = "wrong passphrase"
        except Exception as exc:
            outcome = f"{type(exc).__name__}"
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        record.iterations += 1
        record.faults += 1
        if outcome == "accepted":
            # a change that means nothing (e.g. in a counter) may be accepted if the slot
            # still opens with the right key; anything that would unlock wrongly may not
            record.notes.append(f"byte {pos} ({char!r}) changed, still opens")
        elif outcome != "detected":
            record.wrong(f"byte {pos} ({char!r}): {outcome}")
        slot_path.write_bytes(original)
    record.notes.insert(0, f"{len(sample)} of {len(original)} bytes: {outcomes}")
    KeySlots(slot_path, profile_id).unlock(PASS, FAST)
    record.assert_clean()


def audit_verify(data_dir: Path, *, command: bool = True) -> tuple[int, Any]:
    """`fieldkit --json audit verify` (exit code, report); ``command=False`` asks the same
    service in this process (the short run's speed; the command itself is checked once)."""
    if not command:
        from fieldkit.services.audit import verify_audit
        from fieldkit.services.profile import open_session

        session = open_session(data_dir, PASS, FAST)
        try:
            problems = verify_audit(session)
        finally:
            session.lock()
        listed = [{"position": p.position, "kind": p.kind} for p in problems]
        return (ExitCode.INTEGRITY if problems else 0), {"problems": listed}
    result = cli(data_dir, "--json", "audit", "verify")
    assert "Traceback" not in result.stderr, result.stderr
    # a script reads ONE JSON document: the report, and the error when the chain is broken
    data = json.loads(result.stdout)
    assert data["intact"] is (result.returncode == 0), data
    if result.returncode:
        assert data["error"]["code"] == "audit_broken", data
    return result.returncode, data | {"stderr": result.stderr}


def test_local_audit_chain_edit_truncate_reorder_is_found_with_position(
    profile: Path, record: Counters
) -> None:
    key = raw_key(profile)
    path = profile / "vault.db"
    pristine = path.read_bytes()
    code, report = audit_verify(profile)
    assert code == 0, report

    def sql(*statements: str) -> None:
        con = sqlcipher3.connect(str(path), isolation_level=None)
        con.execute(f"PRAGMA key = \"x'{key.hex()}'\"")
        con.execute("DROP TRIGGER IF EXISTS audit_no_update")
        con.execute("DROP TRIGGER IF EXISTS audit_no_delete")
        for s in statements:
            con.execute(s)
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        con.close()

    con = sqlcipher3.connect(str(path))
    con.execute(f"PRAGMA key = \"x'{key.hex()}'\"")
    top = int(con.execute("SELECT max(seq) FROM audit_events").fetchone()[0])
    con.close()
    cols = "id, device_id, seq, actor_id, action, record_type, record_id, case_id, details, at, "
    cols += "prev_hash, hash"
    attacks = {
        "edited": (["UPDATE audit_events SET action = 'search' WHERE seq = 5"], (5,)),
        "deleted in the middle": (["DELETE FROM audit_events WHERE seq = 7"], (7,)),
        "reordered": (
            [
                "CREATE TEMP TABLE t AS SELECT * FROM audit_events WHERE seq IN (4, 5)",
                "DELETE FROM audit_events WHERE seq IN (4, 5)",
                f"INSERT INTO audit_events ({cols}) SELECT {cols} FROM t WHERE seq = 5",
                f"INSERT INTO audit_events ({cols}) SELECT {cols} FROM t WHERE seq = 4",
            ],
            (4, 5),
        ),
        "head truncated": (["DELETE FROM audit_events WHERE seq <= 3"], (1,)),
        "link rewritten": (["UPDATE audit_events SET prev_hash = hash WHERE seq = 9"], (9,)),
        "tail truncated": ([f"DELETE FROM audit_events WHERE seq >= {top - 2}"], (top - 2,)),
    }
    rounds = scale(1, 2)
    for _ in range(rounds):
        for name, (statements, positions) in attacks.items():
            for leftover in ("vault.db-wal", "vault.db-shm", "vault.db.open"):
                (profile / leftover).unlink(missing_ok=True)
            path.write_bytes(pristine)
            sql(*statements)
            code, report = audit_verify(profile, command=is_full() or record.iterations == 0)
            record.iterations += 1
            record.faults += 1
            text = report.get("raw") or json.dumps(report)
            if code != ExitCode.INTEGRITY:
                record.wrong(f"{name}: exit {code}, {text[:200]}")
            elif not any(f'"position": {p}' in text for p in positions):
                record.wrong(f"{name}: position {positions} not named: {text[:300]}")
    record.assert_clean()


def server_cli(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fieldkit.server.cli", *args, "--db", db_url],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env=dict(os.environ, FIELDKIT_LANG="en"),
        check=False,
    )


def test_server_audit_chain_edit_truncate_reorder_is_found_with_position(
    pg_database: str, record: Counters
) -> None:
    migrate_url(pg_database)
    world = ServerWorld(pg_database)
    try:
        team = world.team("T")
        anna = world.device("anna", "worker", team)
        anna.push_one("audit.append", events=anna.audit_events(12))
    finally:
        world.close()
    import psycopg

    plain = pg_database.replace("postgresql+psycopg", "postgresql")

    def sql(*statements: str) -> None:
        with psycopg.connect(plain, autocommit=False) as conn:
            for s in statements:
                conn.execute(s)
            conn.commit()

    snapshot = "CREATE TABLE audit_backup AS SELECT * FROM audit_events"
    restore = ["DELETE FROM audit_events", "INSERT INTO audit_events SELECT * FROM audit_backup"]
    sql(snapshot)
    clean = server_cli(pg_database, "audit", "verify", "--json")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    attacks = {
        "edited": (["UPDATE audit_events SET action = 'export' WHERE seq = 6"], 6),
        "deleted in the middle": (["DELETE FROM audit_events WHERE seq = 8"], 8),
        "reordered": (
            [
                "UPDATE audit_events SET seq = -3 WHERE seq = 3",
                "UPDATE audit_events SET seq = 3 WHERE seq = 4",
                "UPDATE audit_events SET seq = 4 WHERE seq = -3",
            ],
            3,
        ),
        "head truncated": (["DELETE FROM audit_events WHERE seq <= 2"], 1),
        "tail truncated": (["DELETE FROM audit_events WHERE seq >= 10"], 10),
    }
    for name, (statements, position) in attacks.items():
        sql(*restore, *statements)
        result = server_cli(pg_database, "audit", "verify", "--json")
        record.iterations += 1
        record.faults += 1
        if result.returncode != ExitCode.INTEGRITY or "Traceback" in result.stderr:
            record.wrong(f"{name}: exit {result.returncode} {result.stdout[:200]}")
            continue
        problems = [p for d in json.loads(result.stdout)["devices"] for p in d["problems"]]
        if not any(p["position"] == position for p in problems):
            record.wrong(f"{name}: position {position} not named: {problems[:3]}")
    record.assert_clean()
