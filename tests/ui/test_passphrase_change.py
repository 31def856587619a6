"""Changing the passphrase and giving the vault a new data key from Settings, by keyboard only,
on the real profile (SQLCipher vault, key slots, keyring); the work runs on the DB worker (the
thread guard fails any service call on the GUI thread)."""

from __future__ import annotations

from typing import Any

from fieldkit.ui.qt import QApplication, QEvent, Qt, QtGui

from .conftest import PASSPHRASE, unlock

QKeyEvent = QtGui.QKeyEvent
NEW_PASSPHRASE = "tallarna vid ån sjunger lågt i kväll"


def _settings(qtbot: Any, window: Any) -> Any:
    unlock(qtbot, window)
    page = window.workspace.settings
    window.workspace.show_page(page)
    return page


def _press(qtbot: Any, widget: Any, key: Qt.Key) -> None:
    qtbot.keyClick(widget, key)


def _open_by_keyboard(qtbot: Any, button: Any) -> Any:
    button.setFocus()
    _press(qtbot, button, Qt.Key.Key_Space)
    dialog = button.parent().key_dialog
    qtbot.waitUntil(lambda: dialog.isVisible() and dialog.first_field().hasFocus(), timeout=2000)
    return dialog


def _type(widget: Any, text: str) -> None:
    """Key presses with their text, one per character (QTest's own keyClicks asserts on
    characters such as ö that have no key of their own in its table)."""
    for ch in text:
        for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            QApplication.sendEvent(
                widget, QKeyEvent(kind, Qt.Key.Key_unknown, Qt.KeyboardModifier.NoModifier, ch)
            )


def _type_in_focus(qtbot: Any, text: str) -> None:
    """Type into whatever has the keyboard focus, then Tab on (as a user does)."""
    focus = QApplication.focusWidget()
    assert focus is not None
    _type(focus, text)
    _press(qtbot, focus, Qt.Key.Key_Tab)


def _unlock_fails(qtbot: Any, window: Any, passphrase: str) -> str:
    screen = window.unlock_screen
    qtbot.waitUntil(lambda: screen.unlock_button.isEnabled(), timeout=60000)
    screen.passphrase.setText(passphrase)
    screen.submit()
    qtbot.waitUntil(
        lambda: screen.message.isVisible() and "Unlocking" not in screen.message.text(),
        timeout=15000,
    )
    assert not window.ctx.is_unlocked
    return str(screen.message.text())


def _lock(qtbot: Any, window: Any) -> None:
    window.lock_action.trigger()  # Ctrl+L (the shortcut itself is tested with the auto-lock)
    qtbot.waitUntil(lambda: not window.ctx.is_unlocked, timeout=5000)


def test_the_worker_changes_her_passphrase_and_only_the_new_one_unlocks(
    qtbot: Any, window: Any
) -> None:
    page = _settings(qtbot, window)
    dialog = _open_by_keyboard(qtbot, page.change_passphrase_button)
    assert dialog.old.hasFocus()
    _type_in_focus(qtbot, PASSPHRASE)
    assert dialog.new1.hasFocus()
    _type_in_focus(qtbot, NEW_PASSPHRASE)
    qtbot.waitUntil(lambda: dialog.meter.value() == 4, timeout=5000)  # the strength shown
    assert dialog.strength.text.text() == "Strong"
    assert dialog.new2.hasFocus()
    _type(dialog.new2, NEW_PASSPHRASE)
    _press(qtbot, dialog.new2, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=30000)
    assert dialog.done_ok
    assert page.message.text() == "Passphrase changed."

    _lock(qtbot, window)
    assert "wrong" in _unlock_fails(qtbot, window, PASSPHRASE).lower()
    qtbot.waitUntil(lambda: window.unlock_screen.unlock_button.isEnabled(), timeout=60000)
    unlock(qtbot, window, NEW_PASSPHRASE)
    assert window.ctx.is_unlocked


def test_a_wrong_current_passphrase_is_told_and_nothing_changes(qtbot: Any, window: Any) -> None:
    page = _settings(qtbot, window)
    dialog = _open_by_keyboard(qtbot, page.change_passphrase_button)
    _type_in_focus(qtbot, "inte alls min lösenfras")
    _type_in_focus(qtbot, NEW_PASSPHRASE)
    _type(dialog.new2, NEW_PASSPHRASE)
    _press(qtbot, dialog.new2, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: dialog.action_button.isEnabled(), timeout=30000)
    assert dialog.isVisible() and not dialog.done_ok
    assert "The passphrase is wrong" in dialog.message.text()
    assert dialog.old.hasFocus()  # ready for another try, the new passphrase kept
    assert dialog.new1.text() == NEW_PASSPHRASE
    dialog.reject()

    _lock(qtbot, window)
    qtbot.waitUntil(lambda: window.unlock_screen.unlock_button.isEnabled(), timeout=60000)
    unlock(qtbot, window, PASSPHRASE)  # the old passphrase still opens the profile


def test_a_mismatch_or_a_weak_new_passphrase_is_explained_before_anything_changes(
    qtbot: Any, window: Any
) -> None:
    page = _settings(qtbot, window)
    dialog = _open_by_keyboard(qtbot, page.change_passphrase_button)
    dialog.old.setText(PASSPHRASE)
    dialog.new1.setText(NEW_PASSPHRASE)
    dialog.new2.setText(NEW_PASSPHRASE + "x")
    dialog.submit()
    assert dialog.message.text() == "The two new passphrases are not the same."
    assert dialog.new2.hasFocus()

    dialog.new1.setText("kort")
    dialog.new2.setText("kort")
    dialog.submit()
    qtbot.waitUntil(lambda: dialog.action_button.isEnabled(), timeout=30000)
    assert "too short" in dialog.message.text()
    assert dialog.new1.hasFocus()
    dialog.reject()
    _lock(qtbot, window)
    unlock(qtbot, window, PASSPHRASE)


def test_a_new_data_key_keeps_the_passphrase_and_the_caseload(qtbot: Any, window: Any) -> None:
    page = _settings(qtbot, window)
    cases = window.workspace.caseload.model.total
    dialog = _open_by_keyboard(qtbot, page.rotate_key_button)
    assert dialog.passphrase.hasFocus()
    _type(dialog.passphrase, "fel lösenfras för nyckeln")
    _press(qtbot, dialog.passphrase, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: dialog.action_button.isEnabled(), timeout=30000)
    assert "The passphrase is wrong" in dialog.message.text()
    dialog.passphrase.clear()
    _type(dialog.passphrase, PASSPHRASE)
    _press(qtbot, dialog.passphrase, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=60000)
    assert dialog.done_ok
    assert page.message.text() == "The vault has a new data key."

    _lock(qtbot, window)
    qtbot.waitUntil(lambda: window.unlock_screen.unlock_button.isEnabled(), timeout=60000)
    unlock(qtbot, window, PASSPHRASE)
    assert window.workspace.caseload.model.total == cases
