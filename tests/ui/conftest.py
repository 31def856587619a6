"""GUI tests drive the real widgets offscreen (QT_QPA_PLATFORM=offscreen, set by
tests/env/with-services.sh) over real profiles: real SQLCipher vault, real keyring.

Every test runs with the thread guard installed: any call into fieldkit.services, storage or
sync made on the GUI thread fails the test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fieldkit import i18n
from fieldkit.ui.taskman import ThreadGuard, install_thread_guard


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    before = i18n.current_language()
    i18n.set_language("en")
    yield
    i18n.set_language(before)


@pytest.fixture(autouse=True)
def thread_guard() -> Iterator[ThreadGuard]:
    guard = install_thread_guard()
    try:
        yield guard
    finally:
        guard.uninstall()
    assert guard.violations == [], f"called on the GUI thread: {guard.violations}\n" + "\n".join(
        guard.stacks
    )


# --- real profiles, made off the GUI thread ------------------------------------------------

import datetime as dt  # noqa: E402
from collections.abc import Callable  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, TypeVar  # noqa: E402

T = TypeVar("T")

PASSPHRASE = "granen vid sjön lyser blått"
# Fast key derivation for tests (the real calibration target is about half a second).
TEST_CONFIG: dict[str, Any] = {"argon2_target_seconds": 0.05, "auto_lock_minutes": 5}


def off_gui(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a service call for the test's own setup or checks on a thread that is not the GUI
    thread (the guard would rightly refuse it on the GUI thread)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn, *args, **kwargs).result()


@dataclass
class Profile:
    data_dir: Path
    passphrase: str
    config: dict[str, Any]
    case_ids: dict[str, str]
    user_id: str

    def read(self, fn: Callable[[Any], T]) -> T:
        """Open the profile off the GUI thread, apply ``fn`` to the session, lock it again."""
        from fieldkit.services import profile

        def run() -> T:
            session = profile.open_session(self.data_dir, self.passphrase, self.config)
            try:
                return fn(session)
            finally:
                session.lock()

        return off_gui(run)


def _seed(data_dir: Path, role: str = "worker") -> tuple[dict[str, str], str]:
    from fieldkit.services import cases, consents, notes, profile

    identity = profile.Identity.local(
        "anna", "Anna Lindqvist", role=role, team_name="Fältgruppen Söder"
    )
    session = profile.create_profile(data_dir, PASSPHRASE, identity, TEST_CONFIG)
    ids: dict[str, str] = {}
    try:
        sven = cases.create_case(
            session,
            "individual_at_risk",
            "Sven Berg",
            reference="VBE-2026-0042",
            summary="Oro från skolan om radikalisering på nätet.",
        )
        ids["sven"] = sven.id
        notes.add_note(
            session,
            sven.id,
            "Träffade Sven på fritidsgården. Han berättade om nya vänner på nätet.",
            place="Fritidsgården",
            sign=True,
        )
        consents.record_consent(
            session,
            sven.id,
            given_by="person",
            given_by_name="Sven Berg",
            recipients="Skolan",
            information="Närvaro och mående",
            purpose="Samordnat stöd",
            valid_until=dt.date.today() + dt.timedelta(days=180),
        )
        maria = cases.create_case(
            session,
            "exit_support",
            "Maria Ek",
            protected_identity="protected_registration",
            address="Hemlig gatan 7, Stockholm",
            reference="VBE-2026-0043",
        )
        ids["maria"] = maria.id
        ids["karin"] = cases.create_case(
            session, "relative_support", "Karin Holm", reference="VBE-2026-0044"
        ).id
    finally:
        session.lock()
    return ids, identity.user_id


@pytest.fixture
def worker_profile(data_dir: Path, real_keyring: str) -> Profile:
    ids, user_id = off_gui(_seed, data_dir)
    return Profile(data_dir, PASSPHRASE, dict(TEST_CONFIG), ids, user_id)


@pytest.fixture
def window(qtbot: Any, worker_profile: Profile) -> Any:
    """The app's main window on the worker's profile, showing the unlock screen."""
    from fieldkit.ui.app import build_window

    win = build_window(worker_profile.data_dir, worker_profile.config)
    qtbot.addWidget(win)
    win.resize(1200, 800)
    win.show()
    yield win
    close_window(win)


def close_window(win: Any) -> None:
    win.sync.stop()
    win.sync.wait_stopped()
    if win.ctx.is_unlocked:
        win.ctx.lock()
    win.ctx.taskman.shutdown(wait=True)


def unlock(qtbot: Any, win: Any, passphrase: str = PASSPHRASE) -> None:
    win.unlock_screen.passphrase.setText(passphrase)
    win.unlock_screen.submit()
    qtbot.waitUntil(lambda: win.ctx.is_unlocked and win.workspace is not None, timeout=15000)
    qtbot.waitUntil(lambda: win.workspace.caseload.loaded, timeout=10000)


# --- a real central service on loopback (embedded SQLite), with a worker and a team lead ---

SERVER_CONFIG = {**TEST_CONFIG, "allow_http_loopback": True}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[Any, Any, dict[str, str]]]:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sync"))
    from sync_harness import LiveServer, ServerDB

    from fieldkit.domain.enums import Role

    db = ServerDB(f"sqlite:///{tmp_path / 'server.db'}")
    team = db.team("Fältgruppen Söder")
    users = {
        "anna": db.user("anna", team, Role.WORKER),
        "lena": db.user("lena", team, Role.TEAM_LEAD),
    }
    live = off_gui(LiveServer(db.url).start)  # its health probe is network: not on the GUI thread
    yield db, live, users
    live.stop()
    db.close()
