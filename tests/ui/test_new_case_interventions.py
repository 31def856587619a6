"""Creating a case from the caseload (the service checks the personnummer; its message is shown
and what was typed is kept) and recording and ending interventions in the case view."""

from __future__ import annotations

from typing import Any

from fieldkit.ui.qt import Qt

from .conftest import Profile, unlock


def test_create_a_case_with_a_wrong_then_a_right_personnummer(
    qtbot: Any, window: Any, worker_profile: Profile
) -> None:
    unlock(qtbot, window)
    caseload = window.workspace.caseload
    before = caseload.model.rowCount()
    qtbot.mouseClick(caseload.new_case_button, Qt.MouseButton.LeftButton)
    dialog = caseload.new_case_dialog
    assert dialog is not None and dialog.isVisible()
    dialog.case_type.setCurrentIndex(dialog.case_type.findData("exit_support"))
    dialog.name.setText("Omar Nilsson")
    dialog.personnummer.setText("19880320-0018")  # wrong check digit
    dialog.protection.setCurrentIndex(dialog.protection.findData("confidentiality_marking"))
    dialog.address.setText("Storgatan 1, Södertälje")
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.message.isVisible(), timeout=10000)
    assert "check digit" in dialog.message.text()
    assert dialog.isVisible() and dialog.name.text() == "Omar Nilsson"  # nothing lost

    dialog.personnummer.setText("19880320-0016")
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.created is not None, timeout=10000)
    assert not dialog.isVisible()
    case_page = window.workspace.case
    qtbot.waitUntil(lambda: case_page.bundle is not None, timeout=10000)
    assert case_page.bundle.view.case.id == dialog.created.id
    assert case_page.header.name.text() == "Omar Nilsson"
    assert case_page.header.protected.isVisibleTo(case_page.header)
    assert case_page.header.address.text() == "Address hidden"
    qtbot.waitUntil(lambda: caseload.model.rowCount() == before + 1, timeout=10000)

    from fieldkit.services import cases

    person = worker_profile.read(lambda s: cases.open_case(s, dialog.created.id).person)
    assert person.personnummer == "19880320-0016"
    assert str(person.protected_identity) == "confidentiality_marking"


def test_record_and_end_an_intervention(qtbot: Any, window: Any, worker_profile: Profile) -> None:
    unlock(qtbot, window)
    window.ctx.open_case_requested.emit(worker_profile.case_ids["sven"])
    page = window.workspace.case
    qtbot.waitUntil(lambda: page.loads == 1, timeout=10000)
    page.tabs.setCurrentWidget(page.interventions)
    tab = page.interventions
    assert tab.table.rowCount() == 0
    qtbot.mouseClick(tab.new_button, Qt.MouseButton.LeftButton)
    form = tab.new_form
    assert form.isVisible()
    form.kind.setCurrentIndex(form.kind.findData("mentor"))
    form.responsible.setText("Fältgruppen Söder")
    form.description.setText("Mentor från idrottsföreningen, träff varje vecka")
    qtbot.mouseClick(form.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.loads == 2 and tab.table.rowCount() == 1, timeout=10000)
    assert not form.isVisible()
    assert tab.table.item(0, 0).text() == "Mentor"
    assert tab.table.item(0, 2).text() == "ongoing"
    assert "Mentor" in page.overview.interventions.text()

    # An end date before the start: the service's message, the form stays open.
    tab.table.selectRow(0)
    assert tab.end_button.isEnabled()
    qtbot.mouseClick(tab.end_button, Qt.MouseButton.LeftButton)
    end = tab.end_form
    assert end.isVisible()
    end.end.setDate(end.end.date().addDays(-30))
    end.outcome.setText("Fortsätter i föreningen på egen hand")
    qtbot.mouseClick(end.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: end.message.isVisible(), timeout=10000)
    assert "before it starts" in end.message.text()
    assert end.outcome.text() == "Fortsätter i föreningen på egen hand"

    end.end.setDate(end.end.date().addDays(30))
    qtbot.mouseClick(end.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.loads == 3, timeout=10000)
    assert tab.table.item(0, 2).text() != "ongoing"
    assert tab.table.item(0, 5).text() == "Fortsätter i föreningen på egen hand"
    tab.table.selectRow(0)
    assert not tab.end_button.isEnabled()  # ended once is ended
    assert page.overview.interventions.text() == "No ongoing interventions"
