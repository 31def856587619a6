"""The vault file itself: open sequence, errors on damaged or foreign files, and that no error
path ever changes the file. Real SQLCipher files in tmp dirs."""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
import sqlcipher3

from fieldkit.domain.enums import CaseType
from fieldkit.domain.records import Case, JournalEntry, Person
from fieldkit.errors import ExitCode
from fieldkit.storage import (
    NotAVault,
    SchemaTooNew,
    Vault,
    VaultCorrupt,
    VaultExists,
    VaultMissing,
    VaultTruncated,
    WalMissing,
    WrongKey,
)
from fieldkit.storage.vault import PAGE_SIZE, migrations_available

SRC = str(Path(__file__).resolve().parents[2] / "src")


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def seed(vault: Vault, notes: int = 3, text: str = "Besök i hemmet") -> Case:
    person = Person(name="Åsa Öberg")
    case = Case(person_id=person.id, case_type=CaseType.EXIT_SUPPORT, team_id="t1", owner_id="u1")
    with vault.transaction():
        vault.persons.put(person)
        vault.cases.put(case)
        for i in range(notes):
            vault.notes.put(JournalEntry(case_id=case.id, author_id="u1", text=f"{text} {i}"))
    return case


@pytest.fixture
def key() -> bytes:
    return os.urandom(32)


@pytest.fixture
def db(tmp_path: Path, key: bytes) -> Path:
    path = tmp_path / "vault.db"
    vault = Vault.create(path, key)
    seed(vault, notes=40, text="Samtal om skolan och fritiden " * 10)
    vault.close()
    return path


def test_create_applies_schema_and_pragmas(tmp_path: Path, key: bytes) -> None:
    vault = Vault.create(tmp_path / "vault.db", key)
    try:
        q = vault.query
        assert q("PRAGMA cipher_version")[0][0]
        assert q("PRAGMA journal_mode")[0][0] == "wal"
        assert q("PRAGMA synchronous")[0][0] == 2  # FULL
        assert q("PRAGMA foreign_keys")[0][0] == 1
        assert q("PRAGMA secure_delete")[0][0] == 1
        assert q("PRAGMA temp_store")[0][0] == 2  # MEMORY
        assert vault.schema_version == max(n for n, _, _ in migrations_available())
        tables = {r[0] for r in q("SELECT name FROM sqlite_master WHERE type='table'")}
        for table in (
            "persons",
            "cases",
            "notes",
            "assessments",
            "reviews",
            "consents",
            "disclosures",
            "interventions",
            "users",
            "documents",
            "audit_events",
            "outbox",
            "meta",
            "notes_fts",
            "cases_fts",
        ):
            assert table in tables
        assert vault.marker_path.exists()
    finally:
        vault.close()
    assert not vault.marker_path.exists()
    assert not (tmp_path / "vault.db-wal").exists()
    assert (os.stat(tmp_path / "vault.db").st_mode & 0o777) == 0o600


def test_open_sequence_order(db: Path, key: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    """DESIGN.md section 3: key first, then compatibility 4, then the proving read, then
    cipher_version, then the pragmas."""
    import fieldkit.storage.vault as vault_module

    statements: list[str] = []
    real_connect = sqlcipher3.connect

    def traced(*args: object, **kwargs: object) -> sqlcipher3.Connection:
        conn = real_connect(*args, **kwargs)
        conn.set_trace_callback(statements.append)
        return conn

    monkeypatch.setattr(vault_module.sqlcipher3, "connect", traced)
    Vault.open(db, key).close()
    wanted = [
        "PRAGMA key",
        "PRAGMA cipher_compatibility = 4",
        "SELECT count(*) FROM sqlite_master",
        "PRAGMA cipher_version",
        "PRAGMA journal_mode = WAL",
        "PRAGMA synchronous = FULL",
        "PRAGMA foreign_keys = ON",
        "PRAGMA secure_delete = ON",
        "PRAGMA temp_store = MEMORY",
    ]
    seen = [next(i for i, s in enumerate(statements) if s.startswith(w)) for w in wanted]
    assert seen == sorted(seen) and seen[0] == 0
    assert statements[-1].startswith("PRAGMA wal_checkpoint(TRUNCATE)")


def test_create_refuses_an_existing_file(db: Path, key: bytes) -> None:
    before = sha(db)
    with pytest.raises(VaultExists):
        Vault.create(db, key)
    assert sha(db) == before


def test_missing_file(tmp_path: Path, key: bytes) -> None:
    with pytest.raises(VaultMissing):
        Vault.open(tmp_path / "nothing.db", key)
    assert not (tmp_path / "nothing.db").exists()


def test_open_tries_each_key_and_records_which(db: Path, key: bytes) -> None:
    vault = Vault.open(db, [os.urandom(32), key])
    assert vault.key_index == 1
    vault.close()
    vault = Vault.open(db, key)
    assert vault.key_index == 0
    vault.close()


def test_wrong_key_is_auth_error_and_leaves_file(db: Path) -> None:
    before = sha(db)
    with pytest.raises(WrongKey) as err:
        Vault.open(db, [os.urandom(32), os.urandom(32)])
    assert err.value.exit_code == ExitCode.AUTH
    assert sha(db) == before
    assert not db.with_name("vault.db.open").exists()


def test_plain_sqlite_file_is_not_a_vault(tmp_path: Path, key: bytes) -> None:
    path = tmp_path / "plain.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE notes (text TEXT)")
    con.execute("INSERT INTO notes VALUES ('hemligt')")
    con.commit()
    con.close()
    before = sha(path)
    with pytest.raises(NotAVault) as err:
        Vault.open(path, key)
    assert "unencrypted" in str(err.value)
    assert err.value.exit_code == ExitCode.INTEGRITY
    assert sha(path) == before


@pytest.mark.parametrize("content", [b"%PDF-1.7\n" + b"x" * 9000, b"hello world\n" * 1024])
def test_other_files_are_not_a_vault(tmp_path: Path, key: bytes, content: bytes) -> None:
    path = tmp_path / "vault.db"
    path.write_bytes(content)
    with pytest.raises(NotAVault):
        Vault.open(path, key)
    assert path.read_bytes() == content


def test_truncated_mid_page(db: Path, key: bytes) -> None:
    data = db.read_bytes()
    db.write_bytes(data[: len(data) - 1000])
    before = sha(db)
    with pytest.raises(VaultTruncated) as err:
        Vault.open(db, key)
    assert err.value.exit_code == ExitCode.INTEGRITY
    assert sha(db) == before


def test_truncated_on_a_page_boundary(db: Path, key: bytes) -> None:
    data = db.read_bytes()
    assert len(data) // PAGE_SIZE > 6
    db.write_bytes(data[: 4 * PAGE_SIZE])
    before = sha(db)
    with pytest.raises(VaultTruncated) as err:
        Vault.open(db, key)
    assert f"should be {len(data)}" in str(err.value)
    assert sha(db) == before


def test_empty_file_is_truncated_not_a_new_vault(tmp_path: Path, key: bytes) -> None:
    path = tmp_path / "vault.db"
    path.write_bytes(b"")
    with pytest.raises(VaultTruncated):
        Vault.open(path, key)
    assert path.read_bytes() == b""


def test_flipped_byte_in_first_page_is_corruption_not_wrong_key(db: Path, key: bytes) -> None:
    data = bytearray(db.read_bytes())
    data[200] ^= 0x01
    db.write_bytes(bytes(data))
    before = sha(db)
    with pytest.raises(VaultCorrupt) as err:
        Vault.open(db, key)
    assert err.value.pages == (1,)
    assert "page 1" in str(err.value)
    assert err.value.exit_code == ExitCode.INTEGRITY
    assert sha(db) == before


def test_flipped_byte_in_a_data_page_is_reported_with_its_page(tmp_path: Path, key: bytes) -> None:
    path = tmp_path / "vault.db"
    vault = Vault.create(path, key)
    case = seed(vault, notes=0)
    vault.close()
    base_pages = path.stat().st_size // PAGE_SIZE
    vault = Vault.open(path, key)
    big = JournalEntry(case_id=case.id, author_id="u1", text="ord " * 60_000)  # overflow pages
    vault.notes.put(big)
    vault.close()
    target = base_pages + 20  # well inside the note's overflow chain
    data = bytearray(path.read_bytes())
    data[(target - 1) * PAGE_SIZE + 500] ^= 0x40
    path.write_bytes(bytes(data))
    before = sha(path)

    vault = Vault.open(path, key)  # the first pages are fine: opening works
    try:
        with pytest.raises(VaultCorrupt) as err:
            vault.notes.get(big.id)
        assert target in err.value.pages
        assert f"page {target}" in str(err.value)
        with pytest.raises(VaultCorrupt):
            vault.check_integrity()
    finally:
        vault.close()
    assert sha(path) == before


def test_schema_newer_than_the_code(db: Path, key: bytes) -> None:
    con = sqlcipher3.connect(str(db))
    con.execute(f"PRAGMA key = \"x'{key.hex()}'\"")
    con.execute("PRAGMA user_version = 9999")
    con.commit()
    con.close()
    before = sha(db)
    with pytest.raises(SchemaTooNew) as err:
        Vault.open(db, key)
    assert "9999" in str(err.value)
    assert sha(db) == before


def test_rekey(db: Path, key: bytes) -> None:
    new = os.urandom(32)
    vault = Vault.open(db, key)
    count = vault.notes.count()
    vault.rekey(new)
    vault.close()
    with pytest.raises(WrongKey):
        Vault.open(db, key)
    vault = Vault.open(db, [key, new])
    assert vault.key_index == 1
    assert vault.notes.count() == count
    vault.close()


def test_close_drops_key_and_refuses_use(db: Path, key: bytes) -> None:
    vault = Vault.open(db, key)
    vault.close()
    assert vault.closed
    assert not any(vault._key)
    from fieldkit.storage import VaultClosed

    with pytest.raises(VaultClosed):
        vault.notes.count()
    vault.close()  # idempotent


def test_connection_belongs_to_the_opening_thread(db: Path, key: bytes) -> None:
    vault = Vault.open(db, key)
    errors: list[BaseException] = []

    def other() -> None:
        try:
            vault.notes.count()
        except BaseException as exc:
            errors.append(exc)

    t = threading.Thread(target=other)
    t.start()
    t.join()
    vault.close()
    assert errors and isinstance(errors[0], sqlcipher3.ProgrammingError)


def test_independent_implementation_reads_the_file(db: Path, key: bytes) -> None:
    """SQLite3 Multiple Ciphers opens it as a standard SQLCipher 4 file with the raw key;
    Python's plain sqlite3 cannot read it at all."""
    import apsw

    con = apsw.Connection(str(db), flags=apsw.SQLITE_OPEN_READONLY)
    con.execute("PRAGMA cipher='sqlcipher'")
    con.execute("PRAGMA legacy=4")
    con.execute(f"PRAGMA key=\"x'{key.hex()}'\"")
    rows = con.execute("SELECT text FROM notes ORDER BY rowid").fetchall()
    assert len(rows) == 40
    assert rows[0][0].startswith("Samtal om skolan")
    con.close()

    plain = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    with pytest.raises(sqlite3.DatabaseError):
        plain.execute("SELECT count(*) FROM sqlite_master").fetchall()
    plain.close()
    assert b"Samtal" not in db.read_bytes()


# --------------------------------------------------------------------- a -wal lost after a crash

CHILD_WRITES = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, sys.argv[2])
    from pathlib import Path
    from fieldkit.storage import Vault
    from fieldkit.domain.records import JournalEntry
    key = bytes.fromhex(sys.stdin.readline().strip())
    vault = Vault.open(Path(sys.argv[1]), key)
    case_id = vault.cases.list()[0].id
    for i in range(5):
        with vault.transaction():
            vault.notes.put(JournalEntry(case_id=case_id, author_id="u1", text=f"sent {i}"))
    print("written", flush=True)
    time.sleep(60)
    """
)


def kill_after_writes(db: Path, key: bytes) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD_WRITES, str(db), SRC],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdin and child.stdout
    child.stdin.write(key.hex() + "\n")
    child.stdin.flush()
    assert child.stdout.readline().strip() == "written"
    child.send_signal(signal.SIGKILL)
    child.wait()


def test_deleted_wal_after_unclean_shutdown_is_refused(db: Path, key: bytes) -> None:
    kill_after_writes(db, key)
    wal = db.with_name("vault.db-wal")
    assert wal.exists() and wal.stat().st_size > 0
    saved = wal.read_bytes()
    wal.unlink()
    before = sha(db)

    with pytest.raises(WalMissing) as err:
        Vault.open(db, key)
    assert err.value.exit_code == ExitCode.INTEGRITY
    assert "may be missing" in str(err.value)
    assert sha(db) == before
    assert not wal.exists()

    # the log found again: everything is there
    wal.write_bytes(saved)
    vault = Vault.open(db, key)
    assert vault.notes.count() == 45
    vault.close()
    assert not db.with_name("vault.db.open").exists()


def test_unclean_shutdown_with_the_wal_present_recovers(db: Path, key: bytes) -> None:
    kill_after_writes(db, key)
    vault = Vault.open(db, key)
    assert vault.notes.count() == 45
    vault.close()


def test_missing_wal_can_be_accepted_explicitly(db: Path, key: bytes) -> None:
    kill_after_writes(db, key)
    db.with_name("vault.db-wal").unlink()
    vault = Vault.open(db, key, accept_missing_wal=True)
    assert vault.notes.count() == 40  # the five in the lost log are gone, as warned
    vault.close()
