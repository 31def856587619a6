"""Exporting PDFs from the GUI: the user picks the file in the save dialog, may protect it with
a password, the export runs on the worker through fieldkit.services.exports and is audited;
when the policy turns exports off, the actions are disabled with a note."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from fieldkit.ui.qt import QFileDialog, Qt

from .conftest import Profile, close_window, unlock

PASSWORD = "hemligt-lösen-42"


def _draft_assessment(profile: Profile) -> str:
    from fieldkit.services import assessments

    return profile.read(
        lambda s: assessments.create_assessment(s, profile.case_ids["sven"], "fk.vbe.concern").id
    )


def _open_assessments(qtbot: Any, win: Any, case_id: str, assessment_id: str) -> Any:
    unlock(qtbot, win)
    win.ctx.open_case_requested.emit(case_id)
    case = win.workspace.case
    qtbot.waitUntil(lambda: case.loads == 1, timeout=10000)
    case.tabs.setCurrentWidget(case.assessments)
    tab = case.assessments
    tab.select(assessment_id)
    assert tab.selected() is not None
    return case


def _save_dialog_returns(monkeypatch: pytest.MonkeyPatch, target: Path, calls: list[Any]) -> None:
    # The system's save dialog is the OS's, not ours: it answers with the chosen path.
    def fake(*args: Any, **kwargs: Any) -> tuple[str, str]:
        calls.append(args)
        return str(target), "PDF (*.pdf)"

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(fake))


def test_export_an_assessment_with_a_password(
    qtbot: Any,
    window: Any,
    worker_profile: Profile,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assessment_id = _draft_assessment(worker_profile)
    case = _open_assessments(qtbot, window, worker_profile.case_ids["sven"], assessment_id)
    tab = case.assessments
    assert tab.export_button.isEnabled()
    qtbot.mouseClick(tab.export_button, Qt.MouseButton.LeftButton)
    dialog = tab.export_dialog
    assert dialog is not None and dialog.isVisible()
    dialog.language.setCurrentIndex(dialog.language.findData("sv"))

    target = tmp_path / "bedömning"  # no suffix typed: .pdf is added
    calls: list[Any] = []
    _save_dialog_returns(monkeypatch, target, calls)

    # Two different passwords: told so, and the save dialog is not even shown.
    dialog.password.setText(PASSWORD)
    dialog.password_again.setText(PASSWORD + "x")
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    assert "differ" in dialog.message.text()
    assert calls == []

    dialog.password_again.setText(PASSWORD)
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.result_value is not None, timeout=20000)
    written = tmp_path / "bedömning.pdf"
    assert dialog.result_value.path == written
    assert str(written) in dialog.message.text()
    assert "password" in dialog.message.text()
    assert dialog.password.text() == "" and dialog.password_again.text() == ""

    reader = PdfReader(written)
    assert reader.is_encrypted
    assert not reader.decrypt("fel lösenord")
    reader = PdfReader(written)
    assert reader.decrypt(PASSWORD)
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "VBE-2026-0042" in text and "SEKRETESS" in text  # Swedish chosen

    from fieldkit.services import audit

    events = worker_profile.read(lambda s: audit.list_audit(s))
    exports = [e for e in events if str(getattr(e.action, "value", e.action)) == "export"]
    assert [e.record_id for e in exports] == [assessment_id]
    assert list(tmp_path.glob("*.tmp*")) == []  # nothing half-written left beside it


def test_a_too_short_password_is_refused_before_anything_is_written(
    qtbot: Any,
    window: Any,
    worker_profile: Profile,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    unlock(qtbot, window)
    window.ctx.open_case_requested.emit(worker_profile.case_ids["karin"])
    case = window.workspace.case
    qtbot.waitUntil(lambda: case.loads == 1, timeout=10000)
    out = tmp_path / "exports"
    out.mkdir()
    calls: list[Any] = []
    _save_dialog_returns(monkeypatch, out / "j.pdf", calls)
    assert case.header.export_button.isEnabled()
    case.header.journal_export.trigger()  # the menu entry under 'Documents (PDF)'
    dialog = case.header.export_dialog
    dialog.password.setText("kort")
    dialog.password_again.setText("kort")
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    assert "at least" in dialog.message.text()
    assert calls == [] and list(out.iterdir()) == []

    dialog.password.clear()
    dialog.password_again.clear()
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.result_value is not None, timeout=20000)
    assert not PdfReader(out / "j.pdf").is_encrypted
    assert "without a password" in dialog.message.text()


def test_exports_are_disabled_when_the_policy_forbids_them(
    qtbot: Any, worker_profile: Profile
) -> None:
    from fieldkit.ui.app import build_window

    config = {**worker_profile.config, "export_allowed": False}
    win = build_window(worker_profile.data_dir, config)
    qtbot.addWidget(win)
    win.resize(1200, 800)
    win.show()
    try:
        assessment_id = _draft_assessment(worker_profile)
        case = _open_assessments(qtbot, win, worker_profile.case_ids["sven"], assessment_id)
        assert not case.assessments.export_button.isEnabled()
        assert not case.header.export_button.isEnabled()
        assert not case.header.journal_export.isEnabled()
        assert not case.header.subject_export.isEnabled()
        assert case.header.export_locked.isVisible()
        assert "policy" in case.header.export_locked.toolTip()
    finally:
        close_window(win)


def test_subject_access_extract_is_labelled_a_draft_and_exported(
    qtbot: Any,
    window: Any,
    worker_profile: Profile,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    unlock(qtbot, window)
    window.ctx.open_case_requested.emit(worker_profile.case_ids["sven"])
    case = window.workspace.case
    qtbot.waitUntil(lambda: case.loads == 1, timeout=10000)
    _save_dialog_returns(monkeypatch, tmp_path / "registerutdrag.pdf", [])
    case.header.subject_export.trigger()
    dialog = case.header.export_dialog
    assert dialog.intro.text().startswith("DRAFT FOR SECRECY REVIEW")
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.result_value is not None, timeout=20000)
    assert dialog.result_value.document == "subject"
    text = "\n".join(p.extract_text() for p in PdfReader(tmp_path / "registerutdrag.pdf").pages)
    assert "Sven Berg" in text
