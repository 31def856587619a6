"""The GUI's sync works in smaller pieces than the CLI's (pull pages of 100, push batches of 50)
so no single parse or write holds the interpreter long while the user types; everything still
arrives, in several batches."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fieldkit.ui.syncpanel.controller import GUI_PULL_LIMIT, GUI_PUSH_BATCH

from .conftest import PASSPHRASE, close_window, off_gui
from .conftest import SERVER_CONFIG as CONFIG
from .test_team_lead_journey import _enrol, _sync, _window


def _cases(data_dir: Path, count: int) -> int:
    from fieldkit.services import cases, profile

    s = profile.open_session(data_dir, PASSPHRASE, CONFIG)
    try:
        with s.vault.transaction():
            for i in range(count):
                cases.create_case(s, "consultation", f"Person {i:03d} Exempelsson")
        return int(s.vault.outbox.count())
    finally:
        s.lock()


def test_the_gui_syncs_in_small_batches_and_everything_arrives(
    qtbot: Any, tmp_path: Path, real_keyring: str, server: Any
) -> None:
    db, live, _users = server
    anna_dir = tmp_path / "anna"
    off_gui(_enrol, anna_dir, live.url, db.code("anna"))
    queued = off_gui(_cases, anna_dir, 60)
    assert queued > GUI_PUSH_BATCH * 2  # cases and their audit events

    win = _window(qtbot, anna_dir)
    reports: list[Any] = []
    win.sync.finished.connect(reports.append)
    try:
        win.unlock_screen.passphrase.setText(PASSPHRASE)
        win.unlock_screen.submit()
        qtbot.waitUntil(lambda: win.ctx.is_unlocked and win.sync.enrolled, timeout=20000)
        _sync(qtbot, win)
        engine = win.sync.service.engine
        assert (engine.pull_limit, engine.batch_mutations) == (GUI_PULL_LIMIT, GUI_PUSH_BATCH)
        # Everything queued (and the unlock's own audit events) went up in several batches,
        # by the cycle that starts at unlock or the one F5 asked for, whichever ran first.
        qtbot.waitUntil(lambda: sum(r.pushed for r in reports) >= queued, timeout=20000)
        assert all(r.rejected == 0 for r in reports)
        # and came back over more than one pull page
        assert sum(r.pulled for r in reports) > GUI_PULL_LIMIT
    finally:
        close_window(win)
