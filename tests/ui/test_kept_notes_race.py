"""The race that lost typed text: older journal text is kept for the case (here as the
previous release kept it) and waits to be offered, but she starts typing before the offer
reaches the editor (it is then not shown). A failed save or a lock used to keep her new text
over the older one, and saving the new note used to remove it. Now both stay, and both are
offered, one at a time, oldest first, as soon as the editor is free. Real widgets offscreen,
real SQLCipher vault and keyring, services off the GUI thread."""

from __future__ import annotations

from typing import Any

from fieldkit.domain.journal import MAX_TEXT
from fieldkit.ui.qt import Qt

from .conftest import Profile, close_window, unlock
from .test_assessment_unsaved_kept import new_window
from .test_note_unsaved_kept import open_journal, texts

OLDER = "Elias berättade i går att han har slutat gå till träningen och sover dåligt."
PASTED = "Mamma ringde i dag om helgen. " + "ord " * (MAX_TEXT // 4)  # too long to save
SHORT = "Mamma ringde i dag: Elias har inte kommit hem sedan i fredags."


def kept_as_before(profile: Profile, case_id: str, text: str) -> None:
    """Text kept as the previous release kept it: one entry per case, under the case's key."""
    from fieldkit.domain.ids import utcnow

    content = {
        "text": text,
        "contact_type": "visit",
        "place": "",
        "present": [],
        "draft_id": None,
        "link": None,
    }

    def seed(s: Any) -> None:
        with s.vault.transaction():
            s.vault.meta.set(
                f"unsaved.note.{case_id}",
                {"case_id": case_id, "kept_at": utcnow().isoformat(), "content": content},
            )

    profile.read(seed)


def kept_texts(profile: Profile, case_id: str) -> list[str]:
    """The texts kept for the case in the vault's meta table, as stored (oldest first)."""

    def read(s: Any) -> list[str]:
        entries = [
            (e.get("first_kept_at") or e["kept_at"], key, e["content"]["text"])
            for key, e in s.vault.meta.items("unsaved.note.")
            if key == f"unsaved.note.{case_id}" or key.startswith(f"unsaved.note.{case_id}.")
        ]
        return [text for _when, _key, text in sorted(entries)]

    return profile.read(read)


def type_as_it_opens(journal: Any, text: str) -> None:
    """She types the moment the journal is first shown, before the offer (read on the
    worker) is back: the journal's own showing, then her text, in the same turn of the event
    loop (once: later showings are the journal's own)."""
    shown = journal.show_notes

    def show_and_type(*args: Any) -> None:
        del journal.show_notes
        shown(*args)
        journal.text.setPlainText(text)

    journal.show_notes = show_and_type


def settle(qtbot: Any, win: Any) -> None:
    qtbot.waitUntil(lambda: not win.ctx.taskman._pending, timeout=8000)


def test_refused_text_typed_before_the_offer_is_kept_beside_the_older_text(
    qtbot: Any, window: Any, worker_profile: Profile
) -> None:
    case_id = worker_profile.case_ids["karin"]
    kept_as_before(worker_profile, case_id, OLDER)
    unlock(qtbot, window)
    type_as_it_opens(window.workspace.case.journal, PASTED)
    journal = open_journal(qtbot, window, case_id)
    qtbot.waitUntil(lambda: "too long" in journal.save_state.text(), timeout=8000)
    settle(qtbot, window)
    assert not journal.offering  # she was writing: the older text was not offered
    assert kept_texts(worker_profile, case_id) == [OLDER, PASTED]  # kept beside, not over
    window.close()
    qtbot.waitUntil(lambda: window.ctx.taskman.closed and not window.ctx.is_unlocked)
    assert kept_texts(worker_profile, case_id) == [OLDER, PASTED]

    win = new_window(qtbot, worker_profile)
    try:
        unlock(qtbot, win)
        journal = open_journal(qtbot, win, case_id)
        qtbot.waitUntil(lambda: journal.offering, timeout=5000)
        offer = journal.offer
        assert journal.kept.text == OLDER  # the oldest first
        assert offer.more.isVisible()
        assert offer.more.text().startswith("2 unsaved texts are kept for this case")
        assert offer.more.text() in offer.accessibleDescription()
        assert offer.details.toPlainText() == OLDER  # which of the two this is
        assert not journal.text.isEnabled()
        journal.window().resize(1200, 800)
        offer.grab().save("/tmp/kept2.png")

        qtbot.keyClick(offer.details, Qt.Key.Key_Tab)
        qtbot.keyClick(offer.copy, Qt.Key.Key_Tab)
        assert journal.restore_button.hasFocus()
        qtbot.keyClick(journal.restore_button, Qt.Key.Key_Return)
        assert not journal.offering and journal.text.toPlainText() == OLDER
        qtbot.waitUntil(lambda: journal.save_state.text().startswith("Draft saved"), timeout=8000)
        qtbot.waitUntil(lambda: not journal._dirty and not journal._saving, timeout=5000)
        settle(qtbot, win)
        assert kept_texts(worker_profile, case_id) == [PASTED]  # saved: only its own went
        assert not journal.offering  # the editor holds her note: nothing over it

        qtbot.keyClick(journal.new_button, Qt.Key.Key_Space)  # a new note: the editor is free
        qtbot.waitUntil(lambda: journal.offering, timeout=5000)
        assert journal.kept.text == PASTED and not journal.offer.more.isVisible()
        qtbot.keyClick(journal.restore_button, Qt.Key.Key_Tab)
        qtbot.keyClick(journal.discard_button, Qt.Key.Key_Space)
        assert journal.offering and "for good" in journal.offer_text.text()
        qtbot.keyClick(journal.discard_button, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: not journal.offering, timeout=5000)
        settle(qtbot, win)
    finally:
        close_window(win)
    assert kept_texts(worker_profile, case_id) == []
    assert texts(worker_profile, case_id) == [OLDER]


def test_a_lock_right_after_typing_before_the_offer_keeps_the_older_text(
    qtbot: Any, window: Any, worker_profile: Profile
) -> None:
    case_id = worker_profile.case_ids["karin"]
    kept_as_before(worker_profile, case_id, OLDER)
    unlock(qtbot, window)
    type_as_it_opens(window.workspace.case.journal, SHORT)
    journal = open_journal(qtbot, window, case_id)
    qtbot.keyClick(window, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)  # at once
    assert not window.ctx.is_unlocked
    settle(qtbot, window)
    assert texts(worker_profile, case_id) == [SHORT]  # her new note saved at the lock
    assert kept_texts(worker_profile, case_id) == [OLDER]  # and the older text still kept

    unlock(qtbot, window)
    assert journal.text.toPlainText() == SHORT and not journal.offering
    qtbot.keyClick(journal.new_button, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: journal.offering, timeout=5000)
    assert journal.kept.text == OLDER and not journal.offer.more.isVisible()
    qtbot.keyClick(journal.restore_button, Qt.Key.Key_Return)
    assert journal.text.toPlainText() == OLDER and journal.draft_id is None
    qtbot.waitUntil(lambda: journal.save_state.text().startswith("Draft saved"), timeout=8000)
    qtbot.waitUntil(lambda: not journal._dirty and not journal._saving, timeout=5000)
    settle(qtbot, window)
    assert sorted(texts(worker_profile, case_id)) == sorted([SHORT, OLDER])
    assert kept_texts(worker_profile, case_id) == []


def test_the_count_of_kept_texts_speaks_swedish(qtbot: Any, worker_profile: Profile) -> None:
    from fieldkit import i18n
    from fieldkit.services import notes

    case_id = worker_profile.case_ids["karin"]
    kept_as_before(worker_profile, case_id, OLDER)
    worker_profile.read(
        lambda s: notes.keep_unsaved_note(s, case_id, {"text": SHORT, "contact_type": "phone"})
    )
    i18n.compile_language("sv")
    i18n.translation.cache_clear()
    i18n.set_language("sv")
    win = new_window(qtbot, worker_profile)
    try:
        unlock(qtbot, win)
        journal = open_journal(qtbot, win, case_id)
        qtbot.waitUntil(lambda: journal.offering, timeout=5000)
        assert journal.offer.more.text() == (
            "2 osparade texter har bevarats för det här ärendet. Det här är den äldsta; "
            "de andra visas efter den, en i taget."
        )
    finally:
        close_window(win)
        i18n.set_language("en")
        i18n.translation.cache_clear()
