"""What the worker typed in an assessment and could not save survives the app locking, the window
closing and moving to another case: it is kept inside the real vault (never on screen only) and,
when she opens the assessment again, offered back — restore or discard, by keyboard — before
the saved draft can be edited. Restored answers go back in the editor unsaved, so the form's
rules apply as usual; a successful save removes what was kept. Real widgets, offscreen, real
SQLCipher vault and keyring; every service call off the GUI thread."""

from __future__ import annotations

from typing import Any

from fieldkit.ui.qt import QDate, Qt

from .conftest import Profile, close_window, unlock
from .test_assessment_form import choose, open_new_assessment, wait_saved

TYPED_NOTE = "Elias nämnde en ny kontakt på nätet som han träffar i helgen."


def kept(profile: Profile, assessment_id: str) -> dict[str, Any] | None:
    """What the vault keeps for the assessment (read off the GUI thread, profile locked)."""
    return profile.read(lambda s: s.vault.unsaved.get("assessment", assessment_id))


def stored(profile: Profile, assessment_id: str) -> dict[str, Any]:
    return profile.read(lambda s: dict(s.vault.assessments.get(assessment_id).answers))


def type_refused_answers(qtbot: Any, tab: Any) -> None:
    """A saved draft (F1 'clear', FU1's date), then what she types after it: a note, and a time
    the form cannot hold, so the save is refused."""
    r = tab.renderer
    choose(r.editors["F1"], "clear")
    wait_saved(qtbot, tab)
    fu1 = r.editors["FU1"]
    qtbot.waitUntil(lambda: fu1.isVisibleTo(r), timeout=5000)
    fu1.date.setDate(QDate(2026, 11, 2))
    wait_saved(qtbot, tab)
    r.editors["S3"].text.setPlainText(TYPED_NOTE)
    fu1.time.setText("halv tio")
    qtbot.waitUntil(lambda: "The draft was not saved" in tab.save_state.text(), timeout=5000)


def open_assessment_again(qtbot: Any, win: Any, case_id: str, assessment_id: str) -> Any:
    win.ctx.open_case_requested.emit(case_id)
    case = win.workspace.case
    qtbot.waitUntil(lambda: case.case_id == case_id and case.bundle is not None, timeout=8000)
    qtbot.waitUntil(lambda: case.bundle.view.case.id == case_id, timeout=8000)
    case.tabs.setCurrentWidget(case.assessments)
    tab = case.assessments
    qtbot.waitUntil(lambda: any(a.id == assessment_id for a in tab.items), timeout=5000)
    tab.select(assessment_id)
    qtbot.mouseClick(tab.open_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: tab.detail is not None and tab.detail.assessment.id == assessment_id,
        timeout=5000,
    )
    return tab


def new_window(qtbot: Any, profile: Profile) -> Any:
    from fieldkit.ui.app import build_window

    win = build_window(profile.data_dir, profile.config)
    qtbot.addWidget(win)
    win.resize(1200, 800)
    win.show()
    return win


def test_refused_answers_survive_closing_the_window_and_are_restored_by_keyboard(
    qtbot: Any, window: Any, worker_profile: Profile
) -> None:
    case_id = worker_profile.case_ids["sven"]
    tab = open_new_assessment(qtbot, window, case_id)
    aid = tab.detail.assessment.id
    type_refused_answers(qtbot, tab)

    window.close()  # the worker closes the app: what is on screen is all she has
    qtbot.waitUntil(lambda: window.ctx.taskman.closed and not window.ctx.is_unlocked)
    entry = kept(worker_profile, aid)
    assert entry is not None and entry["case_id"] == case_id
    assert entry["content"]["answers"]["FU1"] == "2026-11-02Thalv tio"
    assert entry["content"]["answers"]["S3"] == TYPED_NOTE
    assert "S3" not in stored(worker_profile, aid)  # the draft is the last good save

    win = new_window(qtbot, worker_profile)
    try:
        unlock(qtbot, win)
        tab = open_assessment_again(qtbot, win, case_id, aid)
        qtbot.waitUntil(lambda: tab.offering, timeout=5000)
        assert "were never saved in the draft" in tab.offer_text.text()
        assert tab.restore_button.hasFocus()
        r = tab.renderer
        assert r.editors["S3"].text.toPlainText() == ""  # the saved draft, shown read-only
        assert not r.editors["S3"].text.isEnabled() and not tab.submit_button.isEnabled()

        qtbot.keyClick(tab.restore_button, Qt.Key.Key_Return)
        assert not tab.offering
        r = tab.renderer
        assert r.editors["S3"].text.toPlainText() == TYPED_NOTE
        assert r.editors["FU1"].time.text() == "halv tio"  # as she typed it
        assert r.editors["FU1"].isVisibleTo(r)  # the section her answers open is shown
        assert r.editors["S3"].text.isEnabled()
        # unsaved, so the form's rules apply as usual: refused again, and kept again
        qtbot.waitUntil(lambda: "The draft was not saved" in tab.save_state.text(), timeout=5000)
        assert tab._dirty

        r.editors["FU1"].time.setText("9.30")
        qtbot.waitUntil(lambda: tab.save_state.text().startswith("Draft saved"), timeout=5000)
        wait_saved(qtbot, tab)
    finally:
        close_window(win)
    answers = stored(worker_profile, aid)
    assert answers["FU1"] == "2026-11-02T09:30" and answers["S3"] == TYPED_NOTE
    assert kept(worker_profile, aid) is None  # saved: nothing kept beside the draft


def test_the_idle_lock_keeps_them_in_the_vault_and_unlocking_goes_on(
    qtbot: Any, window: Any, worker_profile: Profile
) -> None:
    case_id = worker_profile.case_ids["sven"]
    tab = open_new_assessment(qtbot, window, case_id)
    aid = tab.detail.assessment.id
    type_refused_answers(qtbot, tab)
    tab.renderer.editors["A1"].combo.setCurrentIndex(1)  # typed just before the lock

    window.idle.set_timeout(200)
    window.idle.start()
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.unlock_screen, timeout=5000)
    # unlocked again, the app must not lock a second time 200 ms later, in the middle of the
    # rest of the test (a loaded machine can take longer than that to reopen the case)
    window.idle.set_timeout(30 * 60 * 1000)
    qtbot.waitUntil(lambda: not window.ctx.taskman._pending, timeout=5000)
    entry = kept(worker_profile, aid)  # read while the app is locked
    assert entry is not None
    answers = entry["content"]["answers"]
    assert answers["FU1"] == "2026-11-02Thalv tio" and answers["S3"] == TYPED_NOTE
    assert answers["A1"] == tab.renderer.editors["A1"].combo.currentData()

    unlock(qtbot, window)
    tab.renderer.editors["FU1"].time.setText("09:30")
    qtbot.waitUntil(lambda: tab.save_state.text().startswith("Draft saved"), timeout=5000)
    wait_saved(qtbot, tab)
    assert stored(worker_profile, aid)["S3"] == TYPED_NOTE
    assert kept(worker_profile, aid) is None


def test_moving_to_another_case_keeps_them_and_discarding_asks_first(
    qtbot: Any, window: Any, worker_profile: Profile
) -> None:
    sven = worker_profile.case_ids["sven"]
    tab = open_new_assessment(qtbot, window, sven)
    aid = tab.detail.assessment.id
    r = tab.renderer
    choose(r.editors["F1"], "clear")
    wait_saved(qtbot, tab)
    r.editors["S3"].text.setPlainText(TYPED_NOTE)  # not saved yet when she moves on
    assert tab._dirty
    window.ctx.open_case_requested.emit(worker_profile.case_ids["karin"])
    case = window.workspace.case
    qtbot.waitUntil(lambda: case.bundle is not None and case.bundle.view.case.id != sven)
    assert tab.renderer is None  # the editor closed with the case ...
    qtbot.waitUntil(lambda: not window.ctx.taskman._pending, timeout=5000)
    assert stored(worker_profile, aid)["S3"] == TYPED_NOTE  # ... after saving what she typed
    assert kept(worker_profile, aid) is None

    # the same again with answers the form refuses: they can only be kept
    tab = open_assessment_again(qtbot, window, sven, aid)
    assert not tab.offering
    fu1 = tab.renderer.editors["FU1"]
    fu1.date.setDate(QDate(2026, 11, 2))
    wait_saved(qtbot, tab)
    fu1.time.setText("halv tio")
    qtbot.waitUntil(lambda: "The draft was not saved" in tab.save_state.text(), timeout=5000)
    window.ctx.open_case_requested.emit(worker_profile.case_ids["karin"])
    qtbot.waitUntil(lambda: case.bundle is not None and case.bundle.view.case.id != sven)

    tab = open_assessment_again(qtbot, window, sven, aid)
    qtbot.waitUntil(lambda: tab.offering, timeout=5000)
    qtbot.keyClick(tab.window(), Qt.Key.Key_Tab)  # focus moves from Restore to Discard
    assert tab.discard_button.hasFocus()
    qtbot.keyClick(tab.discard_button, Qt.Key.Key_Space)
    assert tab.offering and "for good" in tab.offer_text.text()  # asked again, in place
    assert kept(worker_profile, aid) is not None
    qtbot.keyClick(tab.discard_button, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not tab.offering, timeout=5000)
    assert "discarded" in tab.save_state.text()
    assert kept(worker_profile, aid) is None
    fu1 = tab.renderer.editors["FU1"]
    assert fu1.time.text() == "00:00" and fu1.time.isEnabled()  # the saved draft, editable


def test_the_offers_speak_swedish(qtbot: Any, worker_profile: Profile) -> None:
    from fieldkit import i18n
    from fieldkit.services import assessments, notes

    case_id = worker_profile.case_ids["sven"]

    def seed(s: Any) -> str:
        a = assessments.create_assessment(s, case_id, "fk.vbe.concern")
        assessments.keep_unsaved(s, a.id, {"A1": "initial", "FU1": "2026-11-02Thalv tio"})
        notes.keep_unsaved_note(s, case_id, {"text": TYPED_NOTE, "contact_type": "phone"})
        return a.id

    aid = worker_profile.read(seed)
    i18n.compile_language("sv")  # the catalogue as the .po parts are now
    i18n.translation.cache_clear()
    i18n.set_language("sv")  # the autouse fixture puts English back
    win = new_window(qtbot, worker_profile)
    try:
        unlock(qtbot, win)
        tab = open_assessment_again(qtbot, win, case_id, aid)
        qtbot.waitUntil(lambda: tab.offering, timeout=5000)
        assert "sparades aldrig i utkastet" in tab.offer_text.text()
        assert tab.restore_button.text() == "Återställ mina svar"
        journal = win.workspace.case.journal
        qtbot.waitUntil(lambda: journal.offering, timeout=5000)
        assert "Text som du skrev i en journalanteckning" in journal.offer_text.text()
        assert journal.restore_button.text() == "Återställ texten"
        qtbot.keyClick(tab.restore_button, Qt.Key.Key_Space)
        assert tab.renderer.editors["FU1"].time.text() == "halv tio"
    finally:
        close_window(win)
        i18n.set_language("en")
        i18n.translation.cache_clear()
