"""The encrypted local vault: one SQLCipher 4 file per profile. This module is the only code
that opens the file.

Threading: a Vault owns ONE connection, created by the thread that opened it, and SQLite's
``check_same_thread`` stays on, so using it from another thread raises at once instead of
corrupting anything. The application runs all vault work on one DB worker thread (the GUI's
workers post to it); the CLI runs on its main thread.

Key material: the data key is held as a ``bytearray`` (zeroed on close) and turned into the
``x'..'`` pragma string only for the moment of the pragma; Python strings cannot be wiped, so
the string references are dropped at once and left to the allocator.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import hmac
import json
import math
import os
import re
import weakref
from collections.abc import Iterator, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import sqlcipher3

from fieldkit.domain.ids import utcnow
from fieldkit.errors import N_, InvalidInput, Refused
from fieldkit.protocol.messages import RecordType
from fieldkit.storage import errors as E
from fieldkit.storage.errors import (
    DiskFull,
    Fts5Missing,
    NotAVault,
    SchemaTooNew,
    VaultClosed,
    VaultCorrupt,
    VaultError,
    VaultExists,
    VaultMissing,
    VaultTruncated,
    VaultWriteFailed,
    WalMissing,
    WrongKey,
)

PAGE_SIZE = 4096  # SQLCipher 4 default
CACHE_KIB = 32 * 1024
SQLITE_HEADER = b"SQLite format 3\x00"
MIGRATION_RE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

# SQLite primary result codes (sqlite_errorcode carries the extended code)
SQLITE_CORRUPT = 11
SQLITE_FULL = 13
SQLITE_IOERR = 10
SQLITE_READONLY = 8
SQLITE_CANTOPEN = 14
SQLITE_NOTADB = 26
SQLITE_CONSTRAINT = 19

# The messages the triggers raise ("<code>: English for raw-SQL users") -> user errors.
# Refused.code of a write whose reference (a note's case, a case's person...) is not in the
# vault when its transaction commits.
MISSING_REFERENCE = "missing_reference"

TRIGGER_MESSAGES: dict[str, tuple[str, str | None]] = {
    "note_signed": (
        N_("A signed journal entry cannot be changed."),
        N_("Write a correction or a supplement linked to it instead."),
    ),
    "note_signed_delete": (N_("A signed journal entry cannot be deleted."), None),
    "note_link": (
        N_(
            "A correction, supplement or own view must be linked to a signed entry of the same "
            "case."
        ),
        None,
    ),
    "assessment_frozen": (
        N_("A submitted assessment cannot be changed."),
        N_("Ask the team lead to return it, and revise it in a new draft."),
    ),
    "assessment_status": (
        N_("This status change of the assessment is not allowed."),
        N_(
            "An assessment moves only from submitted to approved or returned, and from approved "
            "to superseded."
        ),
    ),
    "assessment_delete": (N_("A submitted assessment cannot be deleted."), None),
    "audit_immutable": (N_("Audit events cannot be changed or deleted."), None),
}


def migrations_available() -> list[tuple[int, str, str]]:
    """(number, name, sql) of every migration shipped in ``storage/migrations``, in order."""
    found = []
    folder = resources.files("fieldkit.storage").joinpath("migrations")
    for entry in folder.iterdir():
        m = MIGRATION_RE.match(entry.name)
        if m:
            found.append((int(m.group(1)), m.group(2), entry.read_text(encoding="utf-8")))
    found.sort()
    numbers = [n for n, _, _ in found]
    if len(set(numbers)) != len(numbers):
        raise RuntimeError(f"duplicate migration numbers in {numbers}")
    return found


def _key_pragma(key: bytes | bytearray, name: str = "key") -> str:
    if len(key) != 32:
        raise ValueError("a vault key is 32 raw bytes")
    return f"PRAGMA {name} = \"x'{bytes(key).hex()}'\""


def _errcode(exc: BaseException) -> int:
    return int(getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF


def _disk_full(path: Path) -> bool:
    """No free space left where the vault lives (what an I/O error there most likely is)."""
    import shutil

    try:
        return shutil.disk_usage(path.parent).free < 64 * 1024
    except OSError:
        return False


def _entropy(data: bytes) -> float:
    if not data:
        return 0.0
    counts = [0] * 256
    for b in data:
        counts[b] += 1
    n = len(data)
    return -sum(c / n * math.log2(c / n) for c in counts if c)


def page_hmac_ok(page: bytes, pgno: int, key: bytes, salt: bytes) -> bool:
    """Check one page's SQLCipher 4 HMAC (HMAC-SHA512 over ciphertext, IV and the page number)
    with a raw key. Used to tell a damaged first page from a wrong key."""
    hmac_key = hashlib.pbkdf2_hmac("sha512", key, bytes(b ^ 0x3A for b in salt), 2, 32)
    body = page[16:] if pgno == 1 else page
    reserve = 80  # 16-byte IV + 64-byte HMAC
    size = len(body) - reserve
    signed = body[: size + 16] + pgno.to_bytes(4, "little")
    expected = body[size + 16 : size + 16 + 64]
    return hmac.compare_digest(hmac.new(hmac_key, signed, hashlib.sha512).digest(), expected)


def page1_decrypts(page1: bytes, key: bytes) -> bool:
    """Whether ``key`` decrypts the first block of page 1 into SQLite's fixed header bytes
    (page size, reserve 80, payload fractions 64/32/32): the key is right even when the page's
    HMAC fails - e.g. a damaged salt, which breaks every page's HMAC at once. A wrong key
    matches these 6 bytes with a chance of 2**-48."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    if len(page1) < PAGE_SIZE:
        return False
    body = page1[16:]
    size = len(body) - 80
    decryptor = Cipher(algorithms.AES(key), modes.CBC(body[size : size + 16])).decryptor()
    plain = decryptor.update(body[:16]) + decryptor.finalize()
    return plain[0:2] == PAGE_SIZE.to_bytes(2, "big") and plain[4:8] == bytes([80, 64, 32, 32])


def header_page_count(page1: bytes, key: bytes) -> int | None:
    """The database size (in pages) from the encrypted header of page 1, or None if the page
    does not authenticate with ``key``. SQLCipher 4: AES-256-CBC, the IV after the content."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    if len(page1) < PAGE_SIZE or not page_hmac_ok(page1, 1, key, page1[:16]):
        return None
    body = page1[16:]
    size = len(body) - 80
    decryptor = Cipher(algorithms.AES(key), modes.CBC(body[size : size + 16])).decryptor()
    plain = decryptor.update(body[:size]) + decryptor.finalize()
    # plaintext starts at file offset 16; the in-header database size is at offset 28
    return int.from_bytes(plain[12:16], "big")


def _wal_frames_in_shm(shm: Path) -> int | None:
    """mxFrame from the (unencrypted) WAL-index header, or None if unreadable."""
    try:
        with shm.open("rb") as fh:
            header = fh.read(48)
    except OSError:
        return None
    if len(header) < 48:
        return None
    return int.from_bytes(header[16:20], "little")


_quiet = False


def _quiet_sqlcipher() -> None:
    """SQLCipher logs HMAC failures to stderr; our errors say it better (global setting)."""
    global _quiet
    if not _quiet:
        probe = sqlcipher3.connect(":memory:")
        try:
            probe.execute("PRAGMA cipher_log_level = NONE")
        finally:
            probe.close()
        _quiet = True


class Vault:
    """An open vault. Build with :meth:`create` or :meth:`open`."""

    def __init__(self, path: Path, conn: Any, key: bytes, key_index: int) -> None:
        self.path = path
        self._conn: Any = conn
        self._key = bytearray(key)
        self.key_index = key_index
        self._depth = 0
        # A process that ends without close() still checkpoints and marks a clean close,
        # so its next start does not take SQLite's own clean shutdown for a lost log.
        ref = weakref.ref(self)

        def close_at_exit() -> None:
            vault = ref()
            if vault is not None:
                with contextlib.suppress(Exception):
                    vault.close()

        self._at_exit = close_at_exit
        atexit.register(close_at_exit)
        from fieldkit.storage.repos import build_repositories

        build_repositories(self)

    # ------------------------------------------------------------------ opening and closing

    @property
    def marker_path(self) -> Path:
        return self.path.with_name(self.path.name + ".open")

    @property
    def wal_path(self) -> Path:
        return self.path.with_name(self.path.name + "-wal")

    @classmethod
    def create(cls, path: Path, key: bytes) -> Vault:
        """Create a new, empty vault (owner-only permissions) and apply every migration."""
        path = Path(path)
        if path.exists() or path.with_name(path.name + "-wal").exists():
            raise VaultExists(E.MSG_EXISTS, E.REM_EXISTS, path=str(path))
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        os.close(fd)
        conn = cls._connect(path, key)
        if conn is None:  # cannot happen for an empty file; keep the invariant explicit
            raise WrongKey(E.MSG_WRONG_KEY, E.REM_WRONG_KEY)
        vault = cls._finish_open(path, conn, key, 0)
        return vault

    @classmethod
    def open(
        cls, path: Path, keys: bytes | Sequence[bytes], *, accept_missing_wal: bool = False
    ) -> Vault:
        """Open an existing vault with the first of ``keys`` that fits (current key, then the
        pending rotation key); ``key_index`` says which. Nothing on any failure path writes to
        the file. ``accept_missing_wal`` is for IT after a :class:`WalMissing`, once they have
        decided to go on without the lost log."""
        path = Path(path)
        key_list = [keys] if isinstance(keys, bytes | bytearray) else list(keys)
        if not key_list:
            raise ValueError("no key given")
        cls._precheck(path, accept_missing_wal)
        for index, key in enumerate(key_list):
            try:
                conn = cls._connect(path, key)
            except sqlcipher3.DatabaseError as exc:
                raise cls._corrupt_from(path, key, exc) from None
            if conn is not None:
                return cls._finish_open(path, conn, key, index)
        cls._diagnose_unopenable(path, key_list)
        raise WrongKey(E.MSG_WRONG_KEY, E.REM_WRONG_KEY)

    @staticmethod
    def _precheck(path: Path, accept_missing_wal: bool) -> None:
        if not path.is_file():
            raise VaultMissing(E.MSG_MISSING, E.REM_MISSING, path=str(path))
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(PAGE_SIZE)
        if head.startswith(SQLITE_HEADER):
            raise NotAVault(E.MSG_PLAIN_SQLITE, E.REM_PLAIN_SQLITE, path=str(path))
        wal = path.with_name(path.name + "-wal")
        wal_has_frames = wal.exists() and wal.stat().st_size > 32
        # A checkpoint cut short (a full disk at close) can leave a partial last page; the
        # log still holds every page then, and SQLite replays it.
        if size == 0 or (size % PAGE_SIZE and not (wal_has_frames and size > PAGE_SIZE)):
            expected = max(PAGE_SIZE, (size // PAGE_SIZE + 1) * PAGE_SIZE)
            if size >= PAGE_SIZE and _entropy(head) < 7.0:
                raise NotAVault(E.MSG_NOT_A_VAULT, E.REM_NOT_A_VAULT, path=str(path))
            if size < PAGE_SIZE and size and _entropy(head) < 6.0:
                raise NotAVault(E.MSG_NOT_A_VAULT, E.REM_NOT_A_VAULT, path=str(path))
            raise VaultTruncated(
                E.MSG_TRUNCATED, E.REM_KEEP_FILE, path=str(path), size=size, expected=expected
            )
        # an encrypted page is indistinguishable from random bytes; text, images, zip... are not
        if _entropy(head) < 7.0:
            raise NotAVault(E.MSG_NOT_A_VAULT, E.REM_NOT_A_VAULT, path=str(path))
        marker = path.with_name(path.name + ".open")
        if marker.exists() and not wal.exists() and not accept_missing_wal:
            try:
                state = json.loads(marker.read_text(encoding="utf-8")).get("state")
            except (OSError, ValueError, AttributeError):
                state = "open"
            frames = _wal_frames_in_shm(path.with_name(path.name + "-shm"))
            if state != "closed" and frames != 0:
                raise WalMissing(E.MSG_WAL_MISSING, E.REM_WAL_MISSING, path=str(path), wal=str(wal))

    @staticmethod
    def _connect(path: Path, key: bytes) -> Any:
        """Key, compatibility, proving read. Returns None for a wrong key."""
        _quiet_sqlcipher()
        conn = sqlcipher3.connect(str(path), isolation_level=None, check_same_thread=True)
        try:
            pragma = _key_pragma(key)
            conn.execute(pragma)
            del pragma
            conn.execute("PRAGMA cipher_compatibility = 4")
            try:
                conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            except sqlcipher3.DatabaseError as exc:
                if _errcode(exc) == SQLITE_NOTADB:
                    conn.close()
                    return None
                raise
            version = conn.execute("PRAGMA cipher_version").fetchone()
            if not version or not version[0]:
                raise VaultError(E.MSG_NO_CIPHER, E.REM_NO_CIPHER)
            return conn
        except BaseException:
            conn.close()
            raise

    @classmethod
    def _finish_open(cls, path: Path, conn: Any, key: bytes, index: int) -> Vault:
        try:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise VaultWriteFailed(
                    E.MSG_WRITE_FAILED, E.REM_WRITE_FAILED, detail=f"journal mode {mode}"
                )
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA secure_delete = ON")
            conn.execute("PRAGMA temp_store = MEMORY")
            # decrypted pages stay in memory (the process holds the key anyway): 32 MB
            conn.execute(f"PRAGMA cache_size = {-CACHE_KIB}")
            options = {row[0] for row in conn.execute("PRAGMA compile_options")}
            if "ENABLE_FTS5" not in options:
                raise Fts5Missing(E.MSG_FTS5_MISSING, E.REM_FTS5_MISSING)
            cls._check_size(path, conn)
            cls._check_schema(conn)
        except sqlcipher3.DatabaseError as exc:
            conn.close()
            raise cls._corrupt_from(path, key, exc) from None
        except BaseException:
            conn.close()
            raise
        vault = cls(path, conn, key, index)
        try:
            vault._write_marker("open")
            vault._migrate()
            # committed state never holds a purge guard; one left by a raw edit is removed
            if vault.query("SELECT 1 FROM purge_guard LIMIT 1"):
                vault.execute("DELETE FROM purge_guard")
        except BaseException as exc:
            # a page the migrations read may be damaged: say so (the connection is still
            # open for the page check), and leave no "open" marker behind that would make
            # the next attempt report a lost write-ahead log instead
            error = vault._translate(exc) if isinstance(exc, sqlcipher3.DatabaseError) else exc
            with contextlib.suppress(Exception):
                vault._conn.close()  # the last connection: SQLite checkpoints, drops the log
            vault._conn = None
            if not vault.wal_path.exists():
                with contextlib.suppress(OSError):
                    vault.marker_path.unlink()
            if error is not exc:
                raise error from None
            raise
        return vault

    @staticmethod
    def _check_size(path: Path, conn: Any) -> None:
        wal = path.with_name(path.name + "-wal")
        if wal.exists() and wal.stat().st_size > 0:
            return  # pages may legitimately live only in the log
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        size = path.stat().st_size
        if pages * PAGE_SIZE > size:
            raise VaultTruncated(
                E.MSG_TRUNCATED,
                E.REM_KEEP_FILE,
                path=str(path),
                size=size,
                expected=pages * PAGE_SIZE,
            )

    @staticmethod
    def _check_schema(conn: Any) -> None:
        found = conn.execute("PRAGMA user_version").fetchone()[0]
        known = max(n for n, _, _ in migrations_available())
        if found > known:
            raise SchemaTooNew(E.MSG_SCHEMA_TOO_NEW, E.REM_SCHEMA_TOO_NEW, found=found, known=known)

    @classmethod
    def _diagnose_unopenable(cls, path: Path, keys: list[bytes]) -> None:
        """No key proved. A wrong key fails the first page's HMAC; so does a damaged first
        page. If a key verifies other pages, the key is right and page 1 is damaged."""
        with path.open("rb") as fh:
            first = fh.read(PAGE_SIZE)
            others = [fh.read(PAGE_SIZE) for _ in range(7)]
        salt = first[:16]
        for key in keys:
            checks = [
                page_hmac_ok(p, n, key, salt)
                for n, p in enumerate(others, start=2)
                if len(p) == PAGE_SIZE
            ]
            if any(checks) or page1_decrypts(first, key):
                raise VaultCorrupt(
                    E.MSG_CORRUPT,
                    E.REM_KEEP_FILE,
                    pages=(1,),
                    path=str(path),
                    count=1,
                    page_list="1",
                )

    @classmethod
    def _corrupt_from(cls, path: Path, key: bytes, exc: BaseException) -> VaultError:
        """A damaged file that the key did open: truncated (the header says more pages than
        the file holds) or damaged. An I/O error on a disk without free space is the full
        disk (SQLite needs room for its shared-memory index to read a WAL database)."""
        code = _errcode(exc)
        if code == SQLITE_FULL or (code == SQLITE_IOERR and _disk_full(path)):
            return DiskFull(E.MSG_DISK_FULL, E.REM_DISK_FULL)
        if code in (SQLITE_CANTOPEN, SQLITE_READONLY, SQLITE_IOERR) and not os.access(
            path.parent, os.W_OK
        ):  # a read-only folder (or file system): SQLite cannot make its WAL index there
            return VaultWriteFailed(
                E.MSG_WRITE_FAILED, E.REM_WRITE_FAILED, detail=f"{path.parent} is read-only"
            )
        with path.open("rb") as fh:
            first = fh.read(PAGE_SIZE)
        size = path.stat().st_size
        pages = header_page_count(first, key)
        wal = path.with_name(path.name + "-wal")
        wal_empty = not wal.exists() or wal.stat().st_size == 0
        if pages and wal_empty and pages * PAGE_SIZE > size:
            return VaultTruncated(
                E.MSG_TRUNCATED,
                E.REM_KEEP_FILE,
                path=str(path),
                size=size,
                expected=pages * PAGE_SIZE,
            )
        return VaultCorrupt(E.MSG_CORRUPT_GENERIC, E.REM_KEEP_FILE, path=str(path), detail=str(exc))

    def _write_marker(self, state: str) -> None:
        """The non-secret ``<db>.open`` marker: "open" while in use, "closed" once the log
        is checkpointed. A full disk must not stop the vault from opening, so a marker that
        cannot be written is skipped (an existing "open" one is already right)."""
        data = json.dumps({"state": state, "pid": os.getpid()})
        tmp = self.marker_path.with_name(self.marker_path.name + ".tmp")
        try:
            with tmp.open("w", encoding="utf-8") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.marker_path)
        except OSError:
            with contextlib.suppress(OSError):
                tmp.unlink()
            if state == "closed":
                raise

    @property
    def closed(self) -> bool:
        return self._conn is None

    def close(self) -> None:
        """Checkpoint the log into the file, close, drop key material. Idempotent.

        If the checkpoint cannot run (a full disk), the log is kept beside the file with the
        ``.open`` marker, and the next open replays it."""
        conn = self._conn
        if conn is None:
            return
        atexit.unregister(self._at_exit)
        try:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            busy, _log, _done = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if busy == 0:
                self._write_marker("closed")
        except (sqlcipher3.Error, OSError):
            pass  # the log stays; the marker stays "open"; nothing is lost
        finally:
            conn.close()
            self._conn = None
            for i in range(len(self._key)):
                self._key[i] = 0
            self._key = bytearray()
        if not self.wal_path.exists():
            with contextlib.suppress(FileNotFoundError):
                self.marker_path.unlink()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()

    def __enter__(self) -> Vault:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def rekey(self, new_key: bytes) -> None:
        """Re-encrypt every page with ``new_key`` (data-key rotation)."""
        conn = self._live()
        if conn.in_transaction:
            raise RuntimeError("rekey inside a transaction")
        pragma = _key_pragma(new_key, "rekey")
        try:
            conn.execute(pragma)
        except sqlcipher3.Error as exc:
            raise self._translate(exc) from None
        finally:
            del pragma
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        self._key = bytearray(new_key)

    # ------------------------------------------------------------------ schema

    @property
    def schema_version(self) -> int:
        return int(self._live().execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        conn = self._live()
        if self._needs_bootstrap():
            conn.execute(
                "CREATE TABLE schema_migrations ("
                "number INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
            )
        applied = {row[0] for row in conn.execute("SELECT number FROM schema_migrations")}
        current = self.schema_version
        for number, name, sql in migrations_available():
            if number in applied:
                continue
            current = max(current, number)
            script = (
                "BEGIN IMMEDIATE;\n" + sql + "\n;\n"  # noqa: S608
                f"INSERT INTO schema_migrations VALUES ({number}, '{name}', "
                f"'{utcnow().isoformat()}');\n"
                f"PRAGMA user_version = {current};\nCOMMIT;"
            )
            try:
                conn.executescript(script)
            except sqlcipher3.Error as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise self._translate(exc) from None

    def _needs_bootstrap(self) -> bool:
        row = (
            self._live()
            .execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='schema_migrations'")
            .fetchone()
        )
        return row is None

    # ------------------------------------------------------------------ SQL access

    def _live(self) -> Any:
        if self._conn is None:
            raise VaultClosed(E.MSG_CLOSED, E.REM_CLOSED)
        return self._conn

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        """Run one statement (for the repositories); sqlite errors become vault errors."""
        try:
            return self._live().execute(sql, params)
        except sqlcipher3.Error as exc:
            raise self._translate(exc) from None

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> Any:
        """One statement for many rows (batch apply); errors become vault errors."""
        try:
            return self._live().executemany(sql, rows)
        except sqlcipher3.Error as exc:
            raise self._translate(exc) from None

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[Any]:
        try:
            return self._live().execute(sql, params).fetchall()
        except sqlcipher3.Error as exc:
            raise self._translate(exc) from None

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """BEGIN IMMEDIATE .. COMMIT; a nested call is a savepoint. An exception rolls back."""
        conn = self._live()
        self._depth += 1
        name = f"fk_sp{self._depth}"
        outer = self._depth == 1
        try:
            self.execute("BEGIN IMMEDIATE" if outer else f"SAVEPOINT {name}")
        except BaseException:
            self._depth -= 1
            raise
        try:
            try:
                yield
            except BaseException:
                self._rollback(conn, outer, name)
                raise
            try:
                self.execute("COMMIT" if outer else f"RELEASE {name}")
            except BaseException:
                self._rollback(conn, outer, name)
                raise
        finally:
            self._depth -= 1

    @staticmethod
    def _rollback(conn: Any, outer: bool, name: str) -> None:
        if not conn.in_transaction:
            return  # SQLite already rolled back (e.g. after SQLITE_FULL)
        with contextlib.suppress(sqlcipher3.Error):
            if outer:
                conn.execute("ROLLBACK")
            else:
                conn.execute(f"ROLLBACK TO {name}")
                conn.execute(f"RELEASE {name}")

    @property
    def in_transaction(self) -> bool:
        return self._conn is not None and self._conn.in_transaction

    def _translate(self, exc: BaseException) -> BaseException:
        code = _errcode(exc)
        text = str(exc)
        if code == SQLITE_CONSTRAINT or isinstance(exc, sqlcipher3.IntegrityError):
            prefix = text.split(":", 1)[0].strip()
            if prefix in TRIGGER_MESSAGES:
                msg, remedy = TRIGGER_MESSAGES[prefix]
                return Refused(msg, remedy, code=prefix)
            if "FOREIGN KEY" in text:
                return Refused(
                    N_("The record refers to a case, person or entry that is not in the vault."),
                    code=MISSING_REFERENCE,
                )
            return Refused(N_("The vault refused this change ({detail})."), detail=text)
        if code == SQLITE_FULL:
            return DiskFull(E.MSG_DISK_FULL, E.REM_DISK_FULL)
        if code == SQLITE_IOERR and self._no_room():
            return DiskFull(E.MSG_DISK_FULL, E.REM_DISK_FULL)
        if code == SQLITE_IOERR:
            return VaultWriteFailed(E.MSG_WRITE_FAILED, E.REM_WRITE_FAILED, detail=text)
        if code in (SQLITE_CORRUPT, SQLITE_NOTADB):
            pages = self.integrity_problems() if self._conn is not None else []
            if pages:
                return VaultCorrupt(
                    E.MSG_CORRUPT,
                    E.REM_KEEP_FILE,
                    pages=tuple(pages),
                    path=str(self.path),
                    count=len(pages),
                    page_list=", ".join(map(str, pages)),
                )
            return VaultCorrupt(
                E.MSG_CORRUPT_GENERIC, E.REM_KEEP_FILE, path=str(self.path), detail=text
            )
        if isinstance(exc, sqlcipher3.OperationalError) and "fts5" in text.lower():
            return InvalidInput(N_("The search could not be understood."))
        return exc

    def _no_room(self) -> bool:
        """After a write error: is it because the file cannot grow (no free space, or the
        process's file-size limit), which SQLite reports as an I/O error, not SQLITE_FULL?"""
        import resource
        import shutil

        try:
            if shutil.disk_usage(self.path.parent).free < 4 * 1024 * 1024:
                return True
            soft, _hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        except (OSError, ValueError):
            return False
        if soft == resource.RLIM_INFINITY:
            return False
        sizes = [p.stat().st_size for p in (self.path, self.wal_path) if p.exists()]
        return max(sizes, default=0) + 1024 * 1024 > soft

    def integrity_problems(self) -> list[int]:
        """Page numbers that fail SQLCipher's HMAC check (``PRAGMA cipher_integrity_check``);
        empty when every page authenticates. Reads every page: not for the open path."""
        pages: list[int] = []
        try:
            rows = self._live().execute("PRAGMA cipher_integrity_check").fetchall()
        except sqlcipher3.Error:
            return pages
        for (line,) in rows:
            m = re.search(r"page (\d+)", str(line))
            if m:
                pages.append(int(m.group(1)))
        return sorted(set(pages))

    def check_integrity(self) -> None:
        """Raise VaultCorrupt if any page fails its HMAC or SQLite's structure check."""
        pages = self.integrity_problems()
        if pages:
            raise VaultCorrupt(
                E.MSG_CORRUPT,
                E.REM_KEEP_FILE,
                pages=tuple(pages),
                path=str(self.path),
                count=len(pages),
                page_list=", ".join(map(str, pages)),
            )
        rows = self.query("PRAGMA quick_check")
        if rows != [("ok",)]:
            raise VaultCorrupt(
                E.MSG_CORRUPT_GENERIC,
                E.REM_KEEP_FILE,
                path=str(self.path),
                detail="; ".join(str(r[0]) for r in rows[:5]),
            )

    # ------------------------------------------------------------------ sync entry points

    def apply_remote(self, record_type: RecordType, data: dict[str, Any], version: int) -> bool:
        """Upsert a server copy if it is newer than ours; False for an older/equal version."""
        from fieldkit.storage.repos import apply_remote

        with self.transaction():
            return apply_remote(self, RecordType(record_type), data, version)

    def apply_remote_many(
        self, changes: Sequence[tuple[RecordType, dict[str, Any], int]]
    ) -> list[bool]:
        """``apply_remote`` for a run of server copies ``(record_type, data, version)`` in
        order, in one transaction (a savepoint inside the caller's); whether each was applied.
        The same rules: older/equal versions ignored, signed entries and submitted assessments
        keep their content, case field versions stored."""
        from fieldkit.storage.repos import apply_remote_many

        with self.transaction():
            return apply_remote_many(self, changes)

    def purge_record(self, record_type: RecordType, record_id: str) -> bool:
        """Remove one record (tombstone); returns whether it was here."""
        from fieldkit.storage.repos import purge_record

        with self.transaction():
            return purge_record(self, RecordType(record_type), record_id)

    def purge_case(self, case_id: str) -> bool:
        """Remove a case and everything of it, including its search index entries."""
        from fieldkit.storage.repos import purge_case

        with self.transaction():
            return purge_case(self, case_id)

    # repositories, set by build_repositories
    persons: Any
    cases: Any
    notes: Any
    assessments: Any
    reviews: Any
    consents: Any
    disclosures: Any
    interventions: Any
    users: Any
    documents: Any
    audit: Any
    outbox: Any
    meta: Any
    unsaved: Any
    search: Any
