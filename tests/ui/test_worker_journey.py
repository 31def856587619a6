"""The outreach worker's day (DESIGN.md §1), driven through the real widgets: unlock, find the
person's case, write and sign a journal entry; the protected address only after a logged unmask."""

from __future__ import annotations

from typing import Any

from fieldkit.ui.qt import QKeySequence, Qt

from .conftest import Profile, unlock


def _case_row(win: Any, case_id: str) -> int:
    model = win.workspace.caseload.model
    for row in range(model.rowCount()):
        if model.data(model.index(row, 0), Qt.ItemDataRole.UserRole) == case_id:
            return row
    raise AssertionError("case not in the table")


def test_wrong_passphrase_is_told_honestly_and_the_right_one_opens_the_caseload(
    qtbot: Any, window: Any
) -> None:
    screen = window.unlock_screen
    screen.passphrase.setText("fel lösenfras helt och hållet")
    screen.submit()
    qtbot.waitUntil(lambda: screen.message.isVisible() and "Unlocking" not in screen.message.text())
    assert "wrong" in screen.message.text().lower() or "passphrase" in screen.message.text().lower()
    assert not window.ctx.is_unlocked
    qtbot.waitUntil(lambda: screen.unlock_button.isEnabled(), timeout=60000)  # after the delay
    unlock(qtbot, window)
    caseload = window.workspace.caseload
    assert window.workspace.current_page() is caseload
    assert caseload.model.total == 3
    assert "3" in caseload.count_label.text()


def test_find_a_case_write_and_sign_a_note(
    qtbot: Any, window: Any, worker_profile: Profile
) -> None:
    unlock(qtbot, window)
    ws = window.workspace
    # find: Ctrl+F goes to the search box; typing filters the table
    qtbot.keySequence(window, QKeySequence("Ctrl+F"))
    assert ws.caseload.search_box.hasFocus()
    qtbot.keyClicks(ws.caseload.search_box, "Sven")
    qtbot.waitUntil(lambda: ws.caseload.model.total == 1, timeout=5000)
    ws.caseload.open_row(0)
    qtbot.waitUntil(lambda: ws.case.loads == 1, timeout=5000)
    assert ws.current_page() is ws.case
    assert ws.case.header.name.text() == "Sven Berg"
    assert not ws.case.header.protected.isVisible()

    # write: Ctrl+N starts a note; the draft is saved while typing
    qtbot.keySequence(window, QKeySequence("Ctrl+N"))
    journal = ws.case.journal
    qtbot.waitUntil(lambda: journal.text.hasFocus())
    journal.place.setText("Skolan")
    qtbot.keyClicks(journal.text, "Samtal med Sven och mentorn ")  # QTest types ASCII only
    journal.text.insertPlainText("om närvaron.")
    qtbot.waitUntil(lambda: journal.draft_id is not None and not journal._dirty, timeout=5000)

    from fieldkit.services import notes

    def stored() -> list[Any]:
        return worker_profile.read(lambda s: notes.list_notes(s, worker_profile.case_ids["sven"]))

    # sign: Ctrl+Enter asks first, in place
    qtbot.keySequence(window, QKeySequence("Ctrl+Return"))
    assert journal.confirm.isVisible()
    qtbot.mouseClick(journal.confirm_yes, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: journal.draft_id is None and "Signed" in journal.save_state.text())
    texts = {n.text: n.state.value for n in stored()}
    assert texts["Samtal med Sven och mentorn om närvaron."] == "signed"
    # the signed entry is read-only: correction/supplement/own view offered for it
    journal.timeline.setCurrentRow(journal.timeline.count() - 1)
    assert journal.selected_note().text == "Samtal med Sven och mentorn om närvaron."
    assert journal.link_buttons["correction"].isEnabled()
    assert not journal.edit_draft_button.isVisible()


def test_a_correction_is_a_new_entry_linked_to_the_signed_one(
    qtbot: Any, window: Any, worker_profile: Profile
) -> None:
    unlock(qtbot, window)
    window.ctx.open_case_requested.emit(worker_profile.case_ids["sven"])
    journal = window.workspace.case.journal
    qtbot.waitUntil(lambda: window.workspace.case.loads == 1)
    journal.timeline.setCurrentRow(0)
    original = journal.selected_note()
    qtbot.mouseClick(journal.link_buttons["correction"], Qt.MouseButton.LeftButton)
    assert journal.link == ("correction", original.id)
    journal.text.insertPlainText("Rättelse: det var fritidsgården i Farsta.")
    journal.ask_sign()
    journal.sign_confirmed()
    qtbot.waitUntil(lambda: journal.draft_id is None and len(journal.notes) == 2, timeout=5000)
    correction = next(n for n in journal.notes if n.id != original.id)
    assert correction.link_to == original.id and correction.link_kind.value == "correction"
    assert next(n for n in journal.notes if n.id == original.id).text == original.text


def test_protected_identity_is_marked_and_the_address_needs_a_logged_unmask(
    qtbot: Any, window: Any, worker_profile: Profile
) -> None:
    unlock(qtbot, window)
    ws = window.workspace
    ws.caseload.protected_only.setChecked(True)
    qtbot.waitUntil(lambda: ws.caseload.model.total == 1)
    model = ws.caseload.model
    assert model.data(model.index(0, 1)) == "Protected registration"  # text, not colour alone
    assert model.data(model.index(0, 1), Qt.ItemDataRole.DecorationRole) is not None
    ws.caseload.open_row(0)
    qtbot.waitUntil(lambda: ws.case.loads == 1)
    header = ws.case.header
    assert header.protected.isVisible() and "PROTECTED IDENTITY" in header.protected.text()
    assert "Hemlig" not in header.address.text()
    qtbot.mouseClick(header.unmask_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Hemlig gatan 7" in header.address.text())

    from fieldkit.services import audit

    events = worker_profile.read(audit.list_audit)
    assert sum(1 for e in events if e.action.value == "unmask") == 1


def test_full_text_search_shows_snippets_and_opens_the_case(
    qtbot: Any, window: Any, worker_profile: Profile
) -> None:
    unlock(qtbot, window)
    page = window.workspace.caseload
    page.search_box.setText("fritidsgården")
    page.full_text_search()
    qtbot.waitUntil(lambda: page.hits.count() >= 1 and page.hits_box.isVisible())
    item = page.hits.item(0)
    assert "fritidsgården" in item.text().lower()
    page._hit_activated(item)
    qtbot.waitUntil(lambda: window.workspace.case.loads == 1)
    assert window.workspace.case.case_id == worker_profile.case_ids["sven"]
