"""What goes wrong with a vault on a real laptop, through the real command: a wrong passphrase,
a deleted keyring entry, a truncated file, a flipped byte, a deleted write-ahead log. Each gets
its own message and exit code, and the file is left exactly as it was, for recovery."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from fieldkit.domain.enums import Role
from fieldkit.errors import ExitCode
from fieldkit.security import SecurityPolicy
from fieldkit.services import cases, notes
from fieldkit.services.profile import Identity, create_profile, read_profile

pytestmark = pytest.mark.keyring

PASS = "korrekt häst batteri häftklammer"
PAGE = 4096

# Opens the profile, writes, reports, then waits to be killed with the vault open (so the
# write-ahead log holds the newest pages and the vault is marked as open).
WRITER = textwrap.dedent(
    """
    import sys, time
    from fieldkit.services.profile import open_session
    from fieldkit.services import cases, notes
    from fieldkit.security import SecurityPolicy
    session = open_session(sys.argv[1], sys.argv[2], SecurityPolicy(argon2_target_seconds=0.01))
    case = cases.create_case(session, "exit_support", "Skrivare Person")
    for i in range(int(sys.argv[3])):
        notes.add_note(session, case.id, "Anteckning %d" % i, sign=True)
    print("written", flush=True)
    time.sleep(600)
    """
)


def cli(env: dict[str, str], data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fieldkit", "--data-dir", str(data_dir), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def digest(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


def fingerprint(data_dir: Path) -> dict[str, str | None]:
    return {name: digest(data_dir / name) for name in ("vault.db", "vault.db-wal")}


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    e = dict(os.environ)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    e.update(
        FIELDKIT_PASSPHRASE=PASS,
        FIELDKIT_LANG="en",
        TMPDIR=str(tmp),
        FIELDKIT_CONFIG_DIR=str(tmp_path / "config"),
        FIELDKIT_POLICY_ROOT=str(tmp_path / "policy"),
    )
    e.pop("FIELDKIT_DATA_DIR", None)
    return e


@pytest.fixture
def profile(real_keyring: str, data_dir: Path) -> Path:
    session = create_profile(
        data_dir,
        PASS,
        Identity.local("anna", role=Role.WORKER),
        SecurityPolicy(argon2_target_seconds=0.01),
    )
    case = cases.create_case(session, "exit_support", "Testperson Fel")
    for i in range(40):  # enough pages that the file has a body worth damaging
        notes.add_note(session, case.id, f"Anteckning nummer {i} " + "text " * 200, sign=True)
    session.lock()
    return data_dir


ERROR_CODES: dict[str, str] = {}  # what scripts see with --json, per failure


def fail(env: dict[str, str], data_dir: Path) -> subprocess.CompletedProcess[str]:
    before = fingerprint(data_dir)
    as_json = cli(env, data_dir, "--json", "check")
    result = cli(env, data_dir, "check")
    assert fingerprint(data_dir) == before, "the failed open changed the vault files"
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("fieldkit: ")
    assert as_json.returncode == result.returncode
    error = json.loads(as_json.stdout)["error"]
    assert error["message"]
    ERROR_CODES[result.stderr] = error["code"]
    return result


def test_each_failure_has_its_own_message_and_code(
    profile: Path, env: dict[str, str], tmp_path: Path
) -> None:
    import keyring

    messages: dict[str, str] = {}

    assert cli(env, profile, "check").returncode == 0  # the intact baseline

    wrong = dict(env, FIELDKIT_PASSPHRASE="helt fel lösenfras här")
    result = fail(wrong, profile)
    assert result.returncode == ExitCode.AUTH
    assert "passphrase is wrong" in result.stderr
    messages["wrong passphrase"] = result.stderr

    # a deleted keyring entry (profile copied to another machine, or the entry removed)
    profile_id = read_profile(profile).profile_id
    username = f"device-secret:{profile_id}"
    saved = keyring.get_password("fieldkit", username)
    assert saved is not None
    keyring.delete_password("fieldkit", username)
    try:
        result = fail(env, profile)
        assert result.returncode == ExitCode.AUTH
        assert "device secret is missing" in result.stderr
        messages["keyring entry deleted"] = result.stderr
        # a changed keyring entry (another device secret of the right form): the key file's
        # seal no longer verifies, so fieldkit refuses, touches nothing and says it is the
        # keyring entry (not the key file) that changed
        keyring.set_password("fieldkit", username, base64.b64encode(os.urandom(32)).decode())
        result = fail(env, profile)
        assert result.returncode == ExitCode.INTEGRITY
        assert "keyring entry was replaced" in result.stderr
        messages["keyring entry changed"] = result.stderr
    finally:
        keyring.set_password("fieldkit", username, saved)
    assert cli(env, profile, "check").returncode == 0

    vault = profile / "vault.db"
    original = vault.read_bytes()
    assert len(original) >= 8 * PAGE

    # truncated in the middle of a page
    vault.write_bytes(original[: len(original) - PAGE - 100])
    result = fail(env, profile)
    assert result.returncode == ExitCode.INTEGRITY
    assert "truncated" in result.stderr
    messages["truncated"] = result.stderr

    # truncated at a page boundary: the file lost whole pages
    vault.write_bytes(original[: len(original) - 2 * PAGE])
    result = fail(env, profile)
    assert result.returncode == ExitCode.INTEGRITY
    assert "truncated" in result.stderr

    # one flipped bit in the first page (its HMAC fails; the other pages prove the key)
    damaged = bytearray(original)
    damaged[PAGE // 2] ^= 0x01
    vault.write_bytes(bytes(damaged))
    result = fail(env, profile)
    assert result.returncode == ExitCode.INTEGRITY
    assert "damaged" in result.stderr
    messages["flipped byte"] = result.stderr

    # one flipped bit in a page in the body, found by `fieldkit check` (it reads every page)
    damaged = bytearray(original)
    damaged[len(original) - 3 * PAGE + 1000] ^= 0x01
    vault.write_bytes(bytes(damaged))
    result = fail(env, profile)
    assert result.returncode == ExitCode.INTEGRITY, result.stderr
    assert "damaged" in result.stderr

    vault.write_bytes(original)
    assert cli(env, profile, "check").returncode == 0

    # the write-ahead log deleted after a crash
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(profile), PASS, "5"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "written"
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=30)
    wal = profile / "vault.db-wal"
    assert wal.exists() and wal.stat().st_size > 0
    kept = tmp_path / "kept-wal"
    wal.rename(kept)
    result = fail(env, profile)
    assert result.returncode == ExitCode.INTEGRITY
    assert "write-ahead log" in result.stderr
    messages["wal deleted"] = result.stderr
    # putting the log back recovers everything
    kept.rename(wal)
    result = cli(env, profile, "check")
    assert result.returncode == 0, result.stderr

    assert len(set(messages.values())) == len(messages), messages
    codes = {name: ERROR_CODES[text] for name, text in messages.items()}
    assert codes == {
        "wrong passphrase": "wrong_passphrase",
        "keyring entry deleted": "device_secret_missing",
        "keyring entry changed": "device_secret_mismatch",
        "truncated": "vault_truncated",
        "flipped byte": "vault_corrupt",
        "wal deleted": "wal_missing",
    }


def test_tampered_audit_log_is_reported_with_where(profile: Path, env: dict[str, str]) -> None:
    """A key holder who drops the guards and edits the log is found by `audit verify`."""
    import sqlcipher3

    from fieldkit.security import KeySlots

    key = (
        KeySlots(profile / "keyslots.json", read_profile(profile).profile_id)
        .unlock(PASS, SecurityPolicy())
        .current
    )
    con = sqlcipher3.connect(str(profile / "vault.db"), isolation_level=None)
    con.execute(f"PRAGMA key = \"x'{key.hex()}'\"")
    con.execute("DROP TRIGGER audit_no_update")
    con.execute("UPDATE audit_events SET actor_id = 'someone else' WHERE seq = 3")
    con.close()
    result = cli(env, profile, "audit", "verify")
    assert result.returncode == ExitCode.INTEGRITY
    assert "tampered" in result.stderr and "an altered event at position 3" in result.stderr
    assert "Traceback" not in result.stderr
    result = cli(dict(env, FIELDKIT_LANG="sv"), profile, "audit", "verify")
    assert "en ändrad händelse på position 3" in result.stderr
