"""Accessibility basics a user relies on: every input has a name a screen reader can say, the
whole journey is reachable by keyboard, and states are told in words, not colour alone."""

from __future__ import annotations

from typing import Any

from fieldkit.ui.qt import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QWidget,
)

from .conftest import Profile, unlock

INPUTS = (QLineEdit, QPlainTextEdit, QComboBox, QDateEdit, QAbstractItemView)


def _named(widget: QWidget, labelled: set[int]) -> bool:
    if isinstance(widget, QPushButton | QCheckBox | QRadioButton):
        return bool(widget.text().strip() or widget.accessibleName())
    return bool(widget.accessibleName()) or id(widget) in labelled


def _unnamed_inputs(root: QWidget) -> list[str]:
    labelled = {
        id(label.buddy()) for label in root.findChildren(QLabel) if label.buddy() is not None
    }
    missing = []
    for widget in root.findChildren(QWidget):
        if not widget.isVisibleTo(root):
            continue
        if isinstance(widget, INPUTS) and widget.parent() is not None:
            # the line edit inside a combo box or date edit is named by its owner
            if isinstance(widget.parent(), QComboBox | QDateEdit) or isinstance(
                widget, QHeaderView
            ):
                continue  # named by their owner (a combo box, a date field, a table)
            if not _named(widget, labelled):
                missing.append(f"{type(widget).__name__} in {type(widget.parent()).__name__}")
        elif isinstance(widget, QPushButton | QCheckBox | QRadioButton) and not _named(
            widget, labelled
        ):
            missing.append(f"{type(widget).__name__} without text")
    return missing


def test_every_visible_input_of_the_main_screens_has_a_name(
    qtbot: Any, window: Any, worker_profile: Profile
) -> None:
    assert _unnamed_inputs(window.unlock_screen) == []
    unlock(qtbot, window)
    ws = window.workspace
    assert _unnamed_inputs(ws.caseload) == []
    window.ctx.open_case_requested.emit(worker_profile.case_ids["maria"])
    qtbot.waitUntil(lambda: ws.case.loads == 1)
    for tab in (ws.case.overview, ws.case.journal, ws.case.consents, ws.case.interventions):
        ws.case.tabs.setCurrentWidget(tab)
        assert _unnamed_inputs(ws.case) == [], type(tab).__name__
    for page in (ws.sync_page, ws.knowledge):
        ws.show_page(page)
        assert _unnamed_inputs(page) == [], type(page).__name__


def test_the_journey_works_from_the_keyboard(
    qtbot: Any, window: Any, worker_profile: Profile
) -> None:
    from fieldkit.ui.qt import QKeySequence, Qt

    screen = window.unlock_screen
    assert screen.passphrase.hasFocus()
    qtbot.keyClicks(screen.passphrase, "granen vid sj")  # QTest types ASCII only
    screen.passphrase.insert("ön lyser blått")
    qtbot.keyClick(screen.passphrase, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.ctx.is_unlocked and window.workspace.caseload.loaded)
    ws = window.workspace
    qtbot.keySequence(window, QKeySequence("Ctrl+F"))
    qtbot.keyClicks(ws.caseload.search_box, "Karin")
    qtbot.waitUntil(lambda: ws.caseload.model.total == 1)
    qtbot.keyClick(ws.caseload.search_box, Qt.Key.Key_Tab)  # on to the filters and the table
    ws.caseload.table.setFocus()
    ws.caseload.table.setCurrentIndex(ws.caseload.model.index(0, 0))
    qtbot.keyClick(ws.caseload.table, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: ws.case.loads == 1)
    assert ws.case.header.name.text() == "Karin Holm"
    qtbot.keySequence(window, QKeySequence("Ctrl+N"))
    qtbot.waitUntil(lambda: ws.case.journal.text.hasFocus())
    qtbot.keyClicks(ws.case.journal.text, "Telefonsamtal med Karin om hur hon orkar.")
    qtbot.keySequence(window, QKeySequence("Ctrl+Shift+S"))
    assert ws.case.journal.confirm.isVisible() and ws.case.journal.confirm_yes.hasFocus()
    qtbot.keyClick(ws.case.journal.confirm_yes, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: ws.case.journal.draft_id is None and len(ws.case.journal.notes) == 1)
    assert ws.case.journal.notes[0].state.value == "signed"
    qtbot.keySequence(window, QKeySequence("Ctrl+L"))
    assert not window.ctx.is_unlocked


def test_every_question_of_the_assessment_form_has_a_name(
    qtbot: Any, window: Any, worker_profile: Profile
) -> None:
    from .test_assessment_form import open_new_assessment

    tab = open_new_assessment(qtbot, window, worker_profile.case_ids["sven"])
    assert _unnamed_inputs(tab.renderer) == []
