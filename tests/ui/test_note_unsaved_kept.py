"""A journal note the app cannot save (here: a pasted text over the entry's limit) survives the
window closing: it is kept inside the real vault and offered back when the case's journal opens
again — restore or discard, by keyboard. Restored text is unsaved, so the usual rules apply;
once it is saved, nothing is kept beside it. A note that saves as usual leaves nothing to offer
after a lock. Real widgets offscreen, real vault and keyring, services off the GUI thread."""

from __future__ import annotations

from typing import Any

from fieldkit.domain.journal import MAX_TEXT
from fieldkit.ui.qt import Qt

from .conftest import Profile, close_window, unlock
from .test_assessment_unsaved_kept import new_window

OPENING = "Sven ringde från skolan och berättade om helgen. "
PASTED = OPENING + "ord " * (MAX_TEXT // 4)  # longer than an entry may be


def kept(profile: Profile, case_id: str) -> dict[str, Any] | None:
    """The oldest entry kept for the case's journal editor, or None."""
    found = profile.read(lambda s: s.vault.unsaved.beside("note", case_id))
    return found[0][1] if found else None


def texts(profile: Profile, case_id: str) -> list[str]:
    from fieldkit.services import notes

    return profile.read(lambda s: [n.text for n in notes.list_notes(s, case_id)])


def open_journal(qtbot: Any, win: Any, case_id: str) -> Any:
    win.ctx.open_case_requested.emit(case_id)
    case = win.workspace.case
    qtbot.waitUntil(lambda: case.bundle is not None and case.bundle.view.case.id == case_id)
    case.tabs.setCurrentWidget(case.journal)
    return case.journal


def test_a_note_that_cannot_be_saved_survives_closing_and_is_restored_by_keyboard(
    qtbot: Any, window: Any, worker_profile: Profile
) -> None:
    case_id = worker_profile.case_ids["karin"]
    unlock(qtbot, window)
    journal = open_journal(qtbot, window, case_id)
    journal.place.setText("Skolan")
    journal.text.setPlainText(PASTED)
    qtbot.waitUntil(lambda: "too long" in journal.save_state.text(), timeout=8000)
    assert journal.draft_id is None

    window.close()
    qtbot.waitUntil(lambda: window.ctx.taskman.closed and not window.ctx.is_unlocked)
    entry = kept(worker_profile, case_id)
    assert entry is not None and entry["content"]["text"] == PASTED
    assert entry["content"]["place"] == "Skolan"
    assert texts(worker_profile, case_id) == []

    win = new_window(qtbot, worker_profile)
    try:
        unlock(qtbot, win)
        journal = open_journal(qtbot, win, case_id)
        qtbot.waitUntil(lambda: journal.offering, timeout=5000)
        assert "was never saved" in journal.offer_text.text()
        assert not journal.text.isEnabled()  # nothing typed over it before she decides
        assert journal.restore_button.hasFocus()
        qtbot.keyClick(journal.restore_button, Qt.Key.Key_Return)
        assert not journal.offering and journal.text.isEnabled()
        assert journal.text.toPlainText() == PASTED and journal.place.text() == "Skolan"
        qtbot.waitUntil(lambda: "too long" in journal.save_state.text(), timeout=8000)

        journal.text.setPlainText(OPENING + "Resten skriver jag i en egen anteckning.")
        qtbot.waitUntil(lambda: journal.save_state.text().startswith("Draft saved"), timeout=8000)
        qtbot.waitUntil(lambda: not journal._dirty and not journal._saving, timeout=5000)
    finally:
        close_window(win)
    assert texts(worker_profile, case_id) == [OPENING + "Resten skriver jag i en egen anteckning."]
    assert kept(worker_profile, case_id) is None


def test_discarding_asks_first_and_removes_the_kept_text(
    qtbot: Any, window: Any, worker_profile: Profile
) -> None:
    case_id = worker_profile.case_ids["karin"]
    other = worker_profile.case_ids["sven"]
    unlock(qtbot, window)
    journal = open_journal(qtbot, window, case_id)
    journal.text.setPlainText(PASTED)
    qtbot.waitUntil(lambda: "too long" in journal.save_state.text(), timeout=8000)
    journal = open_journal(qtbot, window, other)  # she moves on to another case
    assert kept(worker_profile, case_id) is not None
    assert not journal.offering  # nothing kept for that case

    journal = open_journal(qtbot, window, case_id)
    qtbot.waitUntil(lambda: journal.offering, timeout=5000)
    qtbot.keyClick(journal.restore_button, Qt.Key.Key_Tab)
    assert journal.discard_button.hasFocus()
    qtbot.keyClick(journal.discard_button, Qt.Key.Key_Space)
    assert journal.offering and "for good" in journal.offer_text.text()
    assert kept(worker_profile, case_id) is not None
    qtbot.keyClick(journal.discard_button, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not journal.offering, timeout=5000)
    assert "discarded" in journal.save_state.text()
    assert journal.text.toPlainText() == "" and journal.text.isEnabled()
    assert kept(worker_profile, case_id) is None


def test_a_note_saved_at_the_lock_leaves_nothing_to_offer(
    qtbot: Any, window: Any, worker_profile: Profile
) -> None:
    case_id = worker_profile.case_ids["karin"]
    unlock(qtbot, window)
    journal = open_journal(qtbot, window, case_id)
    journal.text.setPlainText("Påbörjad anteckning före låsningen.")
    qtbot.keyClick(window, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)  # at once
    assert not window.ctx.is_unlocked
    qtbot.waitUntil(lambda: not window.ctx.taskman._pending, timeout=5000)
    assert kept(worker_profile, case_id) is None  # kept, then saved: nothing beside the draft
    assert texts(worker_profile, case_id) == ["Påbörjad anteckning före låsningen."]
    unlock(qtbot, window)
    assert journal.text.toPlainText() == "Påbörjad anteckning före låsningen."
    assert not journal.offering
