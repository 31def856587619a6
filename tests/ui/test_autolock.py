"""Auto-lock after the policy's idle time and on request (Ctrl+L): the vault is closed, the
unlock screen shows, and after unlocking the worker is back where they were, draft kept."""

from __future__ import annotations

from typing import Any

from fieldkit.ui.qt import QKeySequence, Qt

from .conftest import Profile, unlock


def test_idle_time_locks_and_unlock_returns_to_the_case(
    qtbot: Any, window: Any, worker_profile: Profile
) -> None:
    unlock(qtbot, window)
    ws = window.workspace
    window.ctx.open_case_requested.emit(worker_profile.case_ids["sven"])
    qtbot.waitUntil(lambda: ws.case.loads == 1)
    ws.case.tabs.setCurrentWidget(ws.case.journal)
    ws.case.journal.text.insertPlainText("Påbörjad anteckning före paus.")
    session = window.ctx.session

    window.idle.set_timeout(300)
    window.idle.start()
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.unlock_screen, timeout=5000)
    assert not window.ctx.is_unlocked
    window.idle.set_timeout(30 * 60 * 1000)  # unlocked again, no second lock mid-test
    qtbot.waitUntil(lambda: session.locked, timeout=5000)  # the vault itself is closed

    unlock(qtbot, window)
    assert ws.current_page() is ws.case
    assert ws.case.tabs.currentWidget() is ws.case.journal
    assert ws.case.journal.text.toPlainText() == "Påbörjad anteckning före paus."
    # the draft was written before the lock
    from fieldkit.services import notes

    texts = worker_profile.read(lambda s: [n.text for n in notes.list_notes(s, ws.case.case_id)])
    assert "Påbörjad anteckning före paus." in texts


def test_user_input_postpones_the_auto_lock(qtbot: Any, window: Any) -> None:
    unlock(qtbot, window)
    window.idle.set_timeout(600)
    window.idle.start()
    search = window.workspace.caseload.search_box
    for _ in range(6):  # keep typing for longer than the idle time
        qtbot.wait(200)
        qtbot.keyClick(search, Qt.Key.Key_A)
    assert window.ctx.is_unlocked
    qtbot.waitUntil(lambda: not window.ctx.is_unlocked, timeout=5000)


def test_ctrl_l_locks_at_once(qtbot: Any, window: Any) -> None:
    unlock(qtbot, window)
    qtbot.keySequence(window, QKeySequence("Ctrl+L"))
    assert window.stack.currentWidget() is window.unlock_screen
    assert not window.ctx.is_unlocked
    assert window.unlock_screen.passphrase.hasFocus()


def test_the_policy_sets_the_idle_time(qtbot: Any, worker_profile: Profile) -> None:
    from fieldkit.ui.app import build_window

    win = build_window(worker_profile.data_dir, {**worker_profile.config, "auto_lock_minutes": 2})
    qtbot.addWidget(win)
    assert win.idle.timeout_ms == 120_000
    win.ctx.taskman.shutdown()
