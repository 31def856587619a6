"""Kept work offered back when the draft changed since it was written, or can no longer be
changed. Draft changed (a newer version pulled from another device, or a save elsewhere): the
notice says so, with when, and shows the kept work to compare before Restore replaces the
draft's newer content; restore still works. Draft submitted or signed meanwhile: no restore
into it; the kept work is shown read-only, can be copied (a note's can start a new note), and
goes only by the two-step discard. All by keyboard; real widgets offscreen, real SQLCipher vault
and keyring, services off the GUI thread."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fieldkit.ui.qt import QGuiApplication, Qt

from .conftest import Profile, close_window, unlock
from .test_assessment_form import wait_saved
from .test_assessment_unsaved_kept import new_window, open_assessment_again
from .test_note_unsaved_kept import open_journal

MINE = "Elias berättade själv om den nya kontakten; jag bedömer oron som måttlig."
THEIRS = "Kollegans text från en annan dator: skolan har inte sett några förändringar."
LATER = dt.timedelta(minutes=42)


def pull(s: Any, record_type: Any, record: Any, version: int) -> None:
    """A newer copy of the record, applied as the sync's pull applies it."""
    from fieldkit.domain.codec import to_dict

    assert s.vault.apply_remote(record_type, to_dict(record), version) is True


def kept_entry(profile: Profile, kind: str, ref: str) -> Any:
    """The oldest entry kept for ``ref`` (each piece of work has its own), or None."""
    found = profile.read(lambda s: s.vault.unsaved.beside(kind, ref))
    return found[0][1] if found else None


def seed_assessment(profile: Profile, *, submitted: bool) -> tuple[str, str, dt.datetime]:
    """Her answers kept for a draft; then a newer version of the draft from another device
    (submitted there, with ``submitted``). The case, the assessment, the draft's new time."""
    from fieldkit.domain.enums import AssessmentStatus
    from fieldkit.domain.records import replace
    from fieldkit.protocol.messages import RecordType
    from fieldkit.services import assessments

    case_id = profile.case_ids["sven"]

    def seed(s: Any) -> tuple[str, dt.datetime]:
        a = assessments.create_assessment(s, case_id, "fk.vbe.concern")
        a = assessments.save_draft(s, a.id, {"A1": "initial"})
        assessments.keep_unsaved(s, a.id, {"A1": "initial", "S3": MINE})
        when = a.updated_at + LATER
        newer = replace(a, answers={"A1": "initial", "S3": THEIRS}, updated_at=when)
        if submitted:
            newer = replace(
                newer,
                status=AssessmentStatus.SUBMITTED,
                submitted_at=when,
                submitted_by=a.author_id,
            )
        pull(s, RecordType.ASSESSMENT, newer, a.version + 2)
        return a.id, when

    aid, when = profile.read(seed)
    return case_id, aid, when


def test_answers_written_on_an_earlier_draft_warn_and_can_still_be_restored(
    qtbot: Any, window: Any, worker_profile: Profile
) -> None:
    from fieldkit.ui.i18n import fmt_datetime

    case_id, aid, changed = seed_assessment(worker_profile, submitted=False)
    unlock(qtbot, window)
    tab = open_assessment_again(qtbot, window, case_id, aid)
    qtbot.waitUntil(lambda: tab.offering, timeout=5000)
    headline, notice = tab.offer.headline.text(), tab.offer_text.text()
    assert tab.offer.headline.isVisible() and tab.offer.headline.font().bold()
    assert headline.startswith("The draft has been changed since you wrote these answers")
    assert fmt_datetime(changed) in headline  # when it changed
    assert "earlier version of the draft" in notice
    assert "replaces the draft's current answers" in notice
    assert tab.offer.accessibleDescription() == f"{headline} {notice}"  # read out as well
    # the draft as it is now (the colleague's) behind the notice, read-only; hers to compare
    assert tab.renderer.editors["S3"].text.toPlainText() == THEIRS
    assert not tab.renderer.editors["S3"].text.isEnabled()
    assert MINE in tab.offer.details.toPlainText() and tab.offer.details.isVisible()
    assert tab.offer.details.hasFocus()  # she reads first; Restore is not one Enter away
    assert tab.offer.details.isReadOnly()

    qtbot.keyClick(tab.offer.details, Qt.Key.Key_Tab)
    assert tab.offer.copy.hasFocus()
    qtbot.keyClick(tab.offer.copy, Qt.Key.Key_Tab)
    assert tab.restore_button.hasFocus() and tab.restore_button.isVisible()
    qtbot.keyClick(tab.restore_button, Qt.Key.Key_Return)  # she chooses hers
    assert not tab.offering
    assert tab.renderer.editors["S3"].text.toPlainText() == MINE
    qtbot.waitUntil(lambda: tab.save_state.text().startswith("Draft saved"), timeout=5000)
    wait_saved(qtbot, tab)
    stored = worker_profile.read(lambda s: dict(s.vault.assessments.get(aid).answers))
    assert stored["S3"] == MINE
    assert kept_entry(worker_profile, "assessment", aid) is None  # saved: nothing beside it


def test_answers_for_an_assessment_submitted_meanwhile_can_be_read_copied_and_discarded(
    qtbot: Any, window: Any, worker_profile: Profile
) -> None:
    case_id, aid, _changed = seed_assessment(worker_profile, submitted=True)
    unlock(qtbot, window)
    tab = open_assessment_again(qtbot, window, case_id, aid)
    qtbot.waitUntil(lambda: tab.offering, timeout=5000)
    assert "cannot be restored" in tab.offer.headline.text()
    assert "can no longer be changed" in tab.offer_text.text()
    assert "Submitted" in tab.offer_text.text()
    assert not tab.restore_button.isVisible()  # no restore into a submitted assessment
    assert MINE in tab.offer.details.toPlainText() and tab.offer.details.hasFocus()
    assert tab.renderer.editors["S3"].text.toPlainText() == THEIRS  # the submitted answers

    qtbot.keyClick(tab.offer.details, Qt.Key.Key_Tab)
    assert tab.offer.copy.hasFocus()
    qtbot.keyClick(tab.offer.copy, Qt.Key.Key_Space)
    assert MINE in QGuiApplication.clipboard().text()
    assert tab.offer.copy.text() == "Copied"
    qtbot.keyClick(tab.offer.copy, Qt.Key.Key_Tab)
    assert tab.discard_button.hasFocus()
    qtbot.keyClick(tab.discard_button, Qt.Key.Key_Space)
    assert tab.offering and "for good" in tab.offer_text.text()  # asked again, in place
    qtbot.waitUntil(lambda: not window.ctx.taskman._pending, timeout=5000)
    assert kept_entry(worker_profile, "assessment", aid) is not None  # one press: still kept
    qtbot.keyClick(tab.discard_button, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not tab.offering, timeout=5000)
    assert kept_entry(worker_profile, "assessment", aid) is None
    assert tab.offer.details.toPlainText() == ""  # not left in a hidden widget


def seed_note(profile: Profile, *, then: str) -> tuple[str, str, Any]:
    """Her text kept for a draft note; then the draft saved elsewhere ("edited") or signed."""
    from fieldkit.services import notes

    case_id = profile.case_ids["karin"]

    def seed(s: Any) -> tuple[str, Any]:
        draft = notes.add_note(s, case_id, "Första versionen.", contact_type="phone")
        notes.keep_unsaved_note(
            s, case_id, {"text": MINE, "contact_type": "phone"}, draft_id=draft.id
        )
        if then == "edited":
            return draft.id, notes.update_draft(s, draft.id, text=THEIRS)
        return draft.id, notes.sign_note(s, draft.id)

    draft_id, after = profile.read(seed)
    return case_id, draft_id, after


def test_text_written_on_an_earlier_draft_note_warns_and_can_still_be_restored(
    qtbot: Any, window: Any, worker_profile: Profile
) -> None:
    from fieldkit.ui.i18n import fmt_datetime

    case_id, draft_id, edited = seed_note(worker_profile, then="edited")
    unlock(qtbot, window)
    journal = open_journal(qtbot, window, case_id)
    qtbot.waitUntil(lambda: journal.offering, timeout=5000)
    notice = journal.offer_text.text()
    assert "earlier version of the draft" in notice
    assert fmt_datetime(edited.updated_at) in journal.offer.headline.text()
    assert journal.offer.details.toPlainText() == MINE and journal.offer.details.hasFocus()
    assert not journal.text.isEnabled()
    qtbot.keyClick(journal.offer.details, Qt.Key.Key_Tab)
    qtbot.keyClick(journal.offer.copy, Qt.Key.Key_Tab)
    assert journal.restore_button.hasFocus()
    qtbot.keyClick(journal.restore_button, Qt.Key.Key_Return)
    assert not journal.offering and journal.text.toPlainText() == MINE
    assert journal.draft_id == draft_id
    qtbot.waitUntil(lambda: journal.save_state.text().startswith("Draft saved"), timeout=8000)
    qtbot.waitUntil(lambda: not journal._dirty and not journal._saving, timeout=5000)
    text = worker_profile.read(lambda s: s.vault.notes.get(draft_id).text)
    assert text == MINE
    assert kept_entry(worker_profile, "note", case_id) is None


def test_text_for_a_note_signed_meanwhile_is_read_only_and_discarded_in_two_steps(
    qtbot: Any, window: Any, worker_profile: Profile
) -> None:
    case_id, _draft_id, _signed = seed_note(worker_profile, then="signed")
    unlock(qtbot, window)
    journal = open_journal(qtbot, window, case_id)
    qtbot.waitUntil(lambda: journal.offering, timeout=5000)
    assert "has been signed since" in journal.offer.headline.text()
    assert "has since been signed" in journal.offer_text.text()
    assert journal.restore_button.text() == "Start a new note with this text"
    assert journal.offer.details.toPlainText() == MINE and journal.offer.details.isReadOnly()
    qtbot.keyClick(journal.offer.details, Qt.Key.Key_Tab)
    qtbot.keyClick(journal.offer.copy, Qt.Key.Key_Return)
    assert QGuiApplication.clipboard().text() == MINE
    qtbot.keyClick(journal.offer.copy, Qt.Key.Key_Tab)
    qtbot.keyClick(journal.restore_button, Qt.Key.Key_Tab)
    assert journal.discard_button.hasFocus()
    qtbot.keyClick(journal.discard_button, Qt.Key.Key_Space)
    assert journal.offering and "for good" in journal.offer_text.text()
    qtbot.waitUntil(lambda: not window.ctx.taskman._pending, timeout=5000)
    assert kept_entry(worker_profile, "note", case_id) is not None
    qtbot.keyClick(journal.discard_button, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not journal.offering, timeout=5000)
    assert kept_entry(worker_profile, "note", case_id) is None


def test_text_for_a_note_signed_meanwhile_starts_a_new_note(
    qtbot: Any, window: Any, worker_profile: Profile
) -> None:
    case_id, draft_id, signed = seed_note(worker_profile, then="signed")
    unlock(qtbot, window)
    journal = open_journal(qtbot, window, case_id)
    qtbot.waitUntil(lambda: journal.offering, timeout=5000)
    journal.restore_button.setFocus()
    qtbot.keyClick(journal.restore_button, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: not journal.offering, timeout=5000)
    assert journal.text.toPlainText() == MINE and journal.draft_id is None
    assert journal.text.isEnabled()
    qtbot.waitUntil(lambda: journal.save_state.text().startswith("Draft saved"), timeout=8000)
    qtbot.waitUntil(lambda: not journal._dirty and not journal._saving, timeout=5000)
    new_id = journal.draft_id
    assert new_id is not None and new_id != draft_id

    def check(s: Any) -> tuple[str, str, Any]:
        return (
            s.vault.notes.get(new_id).text,
            s.vault.notes.get(draft_id).text,
            s.vault.unsaved.beside("note", case_id),
        )

    new_text, signed_text, entry = worker_profile.read(check)
    assert new_text == MINE and signed_text == signed.text  # the signed entry is untouched
    assert entry == []  # saved as a new note: nothing kept beside it


def test_the_warnings_speak_swedish(qtbot: Any, worker_profile: Profile) -> None:
    from fieldkit import i18n

    case_id, aid, _changed = seed_assessment(worker_profile, submitted=True)
    seed_note(worker_profile, then="edited")
    i18n.compile_language("sv")
    i18n.translation.cache_clear()
    i18n.set_language("sv")
    win = new_window(qtbot, worker_profile)
    try:
        unlock(qtbot, win)
        tab = open_assessment_again(qtbot, win, case_id, aid)
        qtbot.waitUntil(lambda: tab.offering, timeout=5000)
        assert "kan inte längre ändras" in tab.offer_text.text()
        assert tab.offer.copy.text() == "Kopiera svaren"
        journal = open_journal(qtbot, win, worker_profile.case_ids["karin"])
        qtbot.waitUntil(lambda: journal.offering, timeout=5000)
        assert "tidigare version av utkastet" in journal.offer_text.text()
        assert journal.offer.headline.text().startswith("Utkastet har ändrats sedan")
        assert journal.restore_button.text() == "Återställ texten"
    finally:
        close_window(win)
        i18n.set_language("en")
        i18n.translation.cache_clear()
