"""No plaintext on disk: case content written through the real command (and by a process killed
with its vault open, so the write-ahead log is full) appears in no file under the data folder,
the temp folder or the log folder, nor in the debug log output, in UTF-8 or UTF-16."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.keyring

PASS = "korrekt häst batteri häftklammer"


def encodings(token: str) -> dict[str, bytes]:
    return {
        "utf-8": token.encode("utf-8"),
        "utf-16-le": token.encode("utf-16-le"),
        "utf-16-be": token.encode("utf-16-be"),
    }


def find(marker: str, blobs: dict[str, bytes]) -> list[str]:
    """(where, encoding) of every occurrence of the marker's ASCII core or the whole marker."""
    core = marker.split("-")[0]
    hits = []
    for where, blob in blobs.items():
        for token in (core, marker):
            for name, pattern in encodings(token).items():
                if pattern in blob:
                    hits.append(f"{where} ({name}: {token})")
    return hits


def files_under(*roots: Path) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file():
                found[str(path)] = path.read_bytes()
    return found


def read_with_independent_implementation(data: Path, marker: str, note_id: str) -> None:
    import sqlite3

    import apsw

    from fieldkit.security import KeySlots, SecurityPolicy
    from fieldkit.services.profile import read_profile

    slots = KeySlots(data / "keyslots.json", read_profile(data).profile_id)
    key = slots.unlock(PASS, SecurityPolicy()).current
    con = apsw.Connection(str(data / "vault.db"), flags=apsw.SQLITE_OPEN_READONLY)
    try:
        con.execute("PRAGMA cipher='sqlcipher'")
        con.execute("PRAGMA legacy=4")
        con.execute(f"PRAGMA key=\"x'{key.hex()}'\"")
        texts = dict(con.execute("SELECT id, text FROM notes").fetchall())
        names = [row[0] for row in con.execute("SELECT name FROM persons").fetchall()]
    finally:
        con.close()
    assert marker in texts[note_id]
    assert names == [f"Person {marker}"]
    plain = sqlite3.connect(f"file:{data / 'vault.db'}?mode=ro", uri=True)
    try:
        with pytest.raises(sqlite3.DatabaseError):
            plain.execute("SELECT count(*) FROM sqlite_master").fetchall()
    finally:
        plain.close()


KILLED_WRITER = textwrap.dedent(
    """
    import sys, time
    from fieldkit.services.profile import open_session
    from fieldkit.services import cases, notes
    session = open_session(sys.argv[1], sys.argv[2])
    case = cases.create_case(session, "exit_support", "Namn " + sys.argv[3],
                             address="Adress " + sys.argv[3])
    for i in range(20):
        notes.add_note(session, case.id, "Text %d %s" % (i, sys.argv[3]), sign=i % 2 == 0)
    print("written", flush=True)
    time.sleep(600)
    """
)


def test_marker_is_nowhere_on_disk_or_in_logs(real_keyring: str, tmp_path: Path) -> None:
    marker = f"zqxmark{secrets.token_hex(8)}-ÅÄÖ-åäö"
    data = tmp_path / "profile"
    tmp = tmp_path / "tmp"
    logs = tmp_path / "logs"
    config = tmp_path / "config"
    for d in (tmp, logs, config):
        d.mkdir()
    env = dict(os.environ)
    env.pop("FIELDKIT_DATA_DIR", None)
    env.update(
        FIELDKIT_PASSPHRASE=PASS,
        FIELDKIT_LANG="en",
        TMPDIR=str(tmp),
        FIELDKIT_LOG_DIR=str(logs),
        FIELDKIT_CONFIG_DIR=str(config),
        FIELDKIT_POLICY_ROOT=str(tmp_path / "policy"),
        PYTHONDONTWRITEBYTECODE="1",
    )
    stderr: list[str] = []

    def cli(*args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "fieldkit", "-v", "--data-dir", str(data), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        stderr.append(result.stderr)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    cli("init", "--user", "anna", "--display-name", "Anna")
    case_id = cli(
        "case",
        "add",
        "--type",
        "individual_at_risk",
        "--name",
        f"Person {marker}",
        "--personnummer",
        "880320-0016",
        "--address",
        f"Gatan {marker}",
        "--summary",
        f"Sammanfattning {marker}",
        "--protected",
        "protected_registration",
    )
    note_id = cli(
        "note",
        "add",
        case_id,
        "--text",
        f"Anteckning {marker} " * 20,
        "--sign",
        "--place",
        f"Plats {marker}",
        "--present",
        f"Närvarande {marker}",
    )
    draft_id = cli("note", "add", case_id, "--text", f"Utkast {marker}")
    cli("note", "edit", draft_id, "--text", f"Ändrat utkast {marker}")
    cli("note", "correct", note_id, "--text", f"Rättelse {marker}", "--sign")
    assert marker in cli("note", "list", case_id)  # it is there, behind the passphrase
    assert marker in cli("case", "show", case_id, "--unmask")
    assert note_id in cli("--json", "search", marker.split("-")[0])
    cli("case", "list")
    cli("audit", "list")

    # The content is there, encrypted as a standard SQLCipher 4 file: an independent
    # implementation (SQLite3 Multiple Ciphers) reads it with the raw data key from the key
    # slots; plain SQLite reads nothing.
    read_with_independent_implementation(data, marker, note_id)

    # a writer killed with the vault open leaves a full write-ahead log behind
    writer = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(data), PASS, marker],
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
        if writer.stderr is not None:
            stderr.append(writer.stderr.read())
    wal = data / "vault.db-wal"
    assert wal.exists() and wal.stat().st_size > 0, "expected a write-ahead log to scan"

    on_disk = files_under(data, tmp, logs, config)
    assert {"vault.db", "vault.db-wal", "keyslots.json", "profile.json"} <= {
        Path(p).name for p in on_disk
    }
    blobs = dict(on_disk)
    blobs.update({f"stderr #{i}": s.encode("utf-8") for i, s in enumerate(stderr)})
    assert any(" INFO fieldkit.services" in s for s in stderr), "debug logging was not on"
    assert find(marker, blobs) == []
    # the scan itself is able to find the marker
    assert find(marker, {"probe": f"x {marker} y".encode("utf-16-le")})
