"""Recording a consent and a disclosure from the case: the disclosure without a covering
consent is warned about before saving, refused without a justification, and shown flagged."""

from __future__ import annotations

from typing import Any

from fieldkit.ui.qt import Qt

from .conftest import Profile, unlock


def test_record_a_consent_then_a_disclosure_that_needs_a_justification(
    qtbot: Any, window: Any, worker_profile: Profile
) -> None:
    unlock(qtbot, window)
    window.ctx.open_case_requested.emit(worker_profile.case_ids["karin"])
    case = window.workspace.case
    qtbot.waitUntil(lambda: case.loads == 1)
    tab = case.consents
    case.tabs.setCurrentWidget(tab)
    assert tab.consents.rowCount() == 0

    qtbot.mouseClick(tab.new_consent, Qt.MouseButton.LeftButton)
    form = tab.consent_form
    form.given_by_name.setText("Karin Holm")
    form.recipients.setText("Skolan")
    form.information.setText("Hur sonen mår")
    form.purpose.setText("Samordnat stöd")
    qtbot.mouseClick(form.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: case.loads == 2 and tab.consents.rowCount() == 1, timeout=5000)
    assert tab.consents.item(0, 0).text() == "Valid"

    qtbot.mouseClick(tab.new_disclosure, Qt.MouseButton.LeftButton)
    d = tab.disclosure_form
    d.recipient.setText("Polisen")
    d.kind.setCurrentIndex(d.kind.findData("police"))
    d.information.setText("Att familjen har kontakt med fältgruppen")
    d.basis.setCurrentIndex(d.basis.findData("consent"))
    qtbot.waitUntil(lambda: d.warning.isVisible(), timeout=5000)
    assert "no active consent" in d.warning.text()
    qtbot.mouseClick(d.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: d.message.isVisible(), timeout=5000)
    assert "justification" in d.message.text()
    assert tab.disclosures.rowCount() == 0  # refused, nothing stored, the form keeps its text
    assert d.recipient.text() == "Polisen"

    d.justification.setText("Akut fara; polisen kontaktad enligt samverkansrutinen.")
    qtbot.mouseClick(d.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: case.loads == 3 and tab.disclosures.rowCount() == 1, timeout=5000)
    assert tab.disclosures.item(0, 0).text().startswith("Warning:")
    assert tab.warning.isVisible()
