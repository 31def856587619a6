"""Disk faults (issue 11, item 4), on a real profile whose data folder is a small tmpfs mounted
by the test (RLIMIT_FSIZE where mounting is refused is covered by tests/integration/
test_vault_crash.py): the disk fills during a write and during a pull page; the data folder
turns read-only; the database file is replaced by garbage. Each gets a clear error of its own
kind, nothing written before is lost, and the app works again once the cause is gone."""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from rel_common import Counters, scale
from sync_harness import FAST, PASS, Laptop, LiveServer, ServerDB, cli

from fieldkit.domain.enums import CaseType
from fieldkit.errors import ExitCode, FieldkitError
from fieldkit.services import cases, notes
from fieldkit.services.profile import VaultKeyMismatch, open_session
from fieldkit.storage import DiskFull, NotAVault, VaultWriteFailed

pytestmark = pytest.mark.keyring


@contextlib.contextmanager
def small_disk(where: Path, size: str) -> Iterator[Path]:
    where.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
        capture_output=True,
        check=False,
    )
    assert done.returncode == 0, (
        f"mounting a small tmpfs was refused ({done.stderr!r}); the suite runs as root "
        "under tests/env/with-services.sh"
    )
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def remount(where: Path, mode: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{mode}", str(where)], check=True)


def fill(where: Path) -> Path:
    """Take every free byte of the filesystem."""
    filler = where / "filler"
    with open(filler, "wb") as f, contextlib.suppress(OSError):
        while True:
            f.write(b"\0" * 65536)
            f.flush()
    return filler


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def world(tmp_path: Path, real_keyring: str) -> Iterator[tuple[ServerDB, LiveServer, str]]:
    db = ServerDB(f"sqlite:///{tmp_path / 'server.db'}")
    server = LiveServer(db.url).start()
    team_id = db.team("Fältgruppen Disk")
    db.user("anna", team_id)
    bo_id = db.user("bo", team_id)
    yield db, server, bo_id
    server.stop()
    db.close()


def test_disk_full_during_writes_and_pulls_readonly_and_garbage(
    tmp_path: Path, world: tuple[ServerDB, LiveServer, str], record: Counters
) -> None:
    db, server, _bo = world
    episodes = scale(2, 6)
    with small_disk(tmp_path / "small", "6m") as mnt:
        anna = Laptop(mnt / "anna", server.url, db.code("anna"))
        bo = Laptop(tmp_path / "bo", server.url, db.code("bo"))
        with bo.session() as s:
            shared = cases.create_case(s, CaseType.EXIT_SUPPORT, "Kim Ek")
            cases.assign_case(s, shared.id, [anna.identity.user_id])
        bo.sync()
        saved: dict[str, str] = {}
        with anna.session() as s:
            case_id = cases.create_case(s, CaseType.INDIVIDUAL_AT_RISK, "Alex Berg").id
        for episode in range(episodes):
            # --- the disk fills during a write
            record.iterations += 1
            s = open_session(anna.data_dir, PASS, FAST)
            try:
                filler = fill(mnt)
                try:
                    for n in range(200):
                        text = f"Anteckning {episode}.{n} " + "ord " * 400
                        saved[notes.add_note(s, case_id, text, sign=True).id] = text
                    record.wrong("the disk never filled")
                except (DiskFull, VaultWriteFailed) as exc:
                    record.faults += 1
                    if not isinstance(exc, DiskFull):
                        record.wrong(f"write: {type(exc).__name__} instead of DiskFull")
                except Exception as exc:
                    record.wrong(f"write: {type(exc).__name__}: {exc}")
            finally:
                # locking on a full disk: the lock's audit event may not fit, but the vault
                # must close and forget its key all the same
                with contextlib.suppress(DiskFull):
                    s.lock()
                if not s.locked:
                    record.wrong("the profile stayed unlocked on a full disk")
            # opening the app while the disk is full: the full disk, said plainly
            record.faults += 1
            try:
                open_session(anna.data_dir, PASS, FAST).lock()
            except DiskFull:
                pass
            except Exception as exc:
                record.wrong(f"open on a full disk: {type(exc).__name__}: {exc}")
            filler.unlink()  # space returns: the app goes on
            with anna.session() as s:
                note = notes.add_note(s, case_id, f"Efter rensning {episode}.")
                saved[note.id] = note.text
                local = {n.id: n.text for n in s.vault.notes.list_for_case(case_id)}
            record.lost += sum(1 for k, v in saved.items() if local.get(k) != v)
            anna.sync()

            # --- the disk fills during a pull page
            with bo.session() as s:
                for n in range(40):
                    notes.add_note(s, shared.id, f"Bo {episode}.{n} " + "text " * 300, sign=True)
            bo.sync()
            filler = fill(mnt)
            record.iterations += 1
            result = cli(anna.data_dir, "--json", "sync", env={"FIELDKIT_SYNC_PULL_LIMIT": "5"})
            if result.returncode == 0:
                record.wrong("the pull fitted on a full disk")
            else:
                record.faults += 1
                if '"disk_full"' not in result.stdout or "Traceback" in result.stderr:
                    record.wrong(f"pull: {result.stdout.strip()[:200]} {result.stderr[-200:]}")
            filler.unlink()
            anna.sync()
            with anna.session() as s:
                pulled = {n.id for n in s.vault.notes.list_for_case(shared.id)}
                local = {n.id: n.text for n in s.vault.notes.list_for_case(case_id)}
            expected = {
                r[0]
                for r in db.rows(
                    "SELECT id FROM records WHERE record_type = 'note' AND case_id = :c",
                    c=shared.id,
                )
            }
            record.lost += len(expected - pulled)
            record.lost += sum(1 for k, v in saved.items() if local.get(k) != v)

        # --- the data folder turns read-only (a failing disk remounted, a locked-down share)
        remount(mnt, "ro")
        record.iterations += 1
        record.faults += 1
        try:
            result = cli(anna.data_dir, "--json", "note", "add", case_id, "--text", "Skrivskydd.")
            if result.returncode == 0 or "Traceback" in result.stderr:
                record.wrong(f"read-only: {result.returncode} {result.stderr[-300:]}")
            elif '"vault_write_failed"' not in result.stdout or "read-only" not in result.stdout:
                # not 'damaged', not 'wrong passphrase': the folder cannot be written
                record.wrong(f"read-only: {result.stdout.strip()[:200]}")
        finally:
            remount(mnt, "rw")
        with anna.session() as s:
            local = {n.id: n.text for n in s.vault.notes.list_for_case(case_id)}
        record.lost += sum(1 for k, v in saved.items() if local.get(k) != v)

        # --- the database file replaced by garbage
        vault = anna.data_dir / "vault.db"
        kept = vault.read_bytes()
        for name in ("vault.db-wal", "vault.db-shm"):
            (anna.data_dir / name).unlink(missing_ok=True)
        vault.write_bytes(os.urandom(len(kept)))
        before = sha(vault)
        record.iterations += 1
        record.faults += 1
        try:
            open_session(anna.data_dir, PASS, FAST)
            record.wrong("garbage opened as a vault")
        except (NotAVault, VaultKeyMismatch) as exc:
            # random bytes look exactly like a vault encrypted with another key: either way an
            # integrity error that leaves the file alone, never 'wrong passphrase'
            assert exc.exit_code == ExitCode.INTEGRITY
        except FieldkitError as exc:
            record.wrong(f"garbage: {type(exc).__name__} ({exc.code})")
        result = cli(anna.data_dir, "check")
        if result.returncode != ExitCode.INTEGRITY or "Traceback" in result.stderr:
            record.wrong(f"garbage via the CLI: {result.returncode} {result.stderr[-200:]}")
        if sha(vault) != before:
            record.wrong("the garbage file was changed by the failed open")
        vault.write_bytes(kept)  # the backup put back: everything is there
        with anna.session() as s:
            local = {n.id: n.text for n in s.vault.notes.list_for_case(case_id)}
        record.lost += sum(1 for k, v in saved.items() if local.get(k) != v)
    print(record.as_dict())
    record.assert_clean()
