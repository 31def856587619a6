"""The case page offers kept work that no editor can: answers of an assessment that is no
longer on this laptop (read-only, Copy, start a new assessment with them, two-step Discard)
and kept work that cannot be read back (its recovered text read-only with Copy, two-step
Discard), one at a time, by keyboard. Opening the case does not take the focus; every vault
call runs off the GUI thread. Real widgets offscreen, real SQLCipher vault and keyring."""

from __future__ import annotations

import os
from typing import Any

from fieldkit.ui.qt import QGuiApplication, Qt

from .conftest import Profile, off_gui, unlock

TYPED = "Sven berättade om en ny vän på nätet som han ska träffa i helgen."
DAMAGED = "Mamman ringde och var orolig över att Sven inte kommer hem på nätterna."
SHOTS = os.environ.get("FIELDKIT_SHOTS", "/tmp")


def seed(profile: Profile, *, form: bool = True) -> tuple[str, str]:
    """Answers kept for an assessment a sync removed while she wrote (``form``: kept by this
    release, with their form version; else by an earlier one), and a journal entry whose
    content was cut off in the vault."""
    from fieldkit.protocol.messages import RecordType
    from fieldkit.services import assessments, notes

    case_id = profile.case_ids["sven"]

    def run(s: Any) -> tuple[str, str]:
        a = assessments.create_assessment(s, case_id, "fk.vbe.concern")
        s.vault.purge_record(RecordType.ASSESSMENT, a.id)
        if form:
            assessments.keep_unsaved(s, a.id, {"S3": TYPED}, written_on=a)
        else:
            with s.vault.transaction():
                s.vault.unsaved.keep("assessment", a.id, case_id, {"answers": {"S3": TYPED}})
        bad = notes.new_work_id()
        with s.vault.transaction():
            s.vault.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?)",
                (
                    f"unsaved.note.{case_id}.{bad}",
                    '{"case_id":"' + case_id + '","kept_at":"2026-11-28T09:15:00+00:00",'
                    '"content":{"text":"' + DAMAGED,
                ),
            )
        return a.id, bad

    return profile.read(run)


def open_case(qtbot: Any, win: Any, case_id: str) -> Any:
    unlock(qtbot, win)
    win.ctx.open_case_requested.emit(case_id)
    case = win.workspace.case
    qtbot.waitUntil(lambda: case.loads == 1, timeout=8000)
    return case


def kept_refs(profile: Profile) -> list[str]:
    """Every entry kept in the vault, readable or not."""
    return profile.read(
        lambda s: [
            ref for kind in ("note", "assessment") for ref, _v in s.vault.unsaved.stored(kind)
        ]
    )


def press(qtbot: Any, widget: Any) -> None:
    widget.setFocus()
    qtbot.keyClick(widget, Qt.Key.Key_Space)


def test_answers_of_a_removed_assessment_start_a_new_one_by_keyboard(
    qtbot: Any, window: Any, worker_profile: Profile
) -> None:
    gone, bad = seed(worker_profile)
    case = open_case(qtbot, window, worker_profile.case_ids["sven"])
    panel = case.kept
    assert panel.isVisible() and panel.offer.offering
    assert not panel.offer.details.hasFocus()  # opening the case does not move her focus
    offer = panel.offer
    assert "no longer on this laptop" in offer.headline.text()
    assert TYPED in offer.details.toPlainText() and offer.details.isReadOnly()
    assert offer.restore.isVisible() and offer.restore.isEnabled()
    assert "1 more kept item" in offer.more.text()
    panel.grab().save(f"{SHOTS}/kept_reach_answers.png")

    press(qtbot, offer.copy)
    assert TYPED in QGuiApplication.clipboard().text()

    press(qtbot, offer.restore)  # Start a new assessment with these answers
    tab = case.assessments
    qtbot.waitUntil(
        lambda: tab.detail is not None and tab.detail.assessment.id != gone, timeout=8000
    )
    assert case.tabs.currentWidget() is tab
    assert tab.renderer is not None and tab.renderer.answers().get("S3") == TYPED
    qtbot.waitUntil(lambda: any(a.id == tab.detail.assessment.id for a in tab.items), timeout=5000)
    assert gone not in kept_refs(worker_profile)

    # the unreadable journal text is next: recovered text to copy, two-step discard
    qtbot.waitUntil(lambda: panel.current is not None and panel.current.unreadable)
    assert "could not be read" in offer.headline.text()
    assert DAMAGED in offer.details.toPlainText()
    assert not offer.restore.isVisible()
    panel.grab().save(f"{SHOTS}/kept_reach_unreadable.png")
    press(qtbot, offer.discard)
    assert "for good" in offer.text.text() and offer.discard.hasFocus()
    assert any(bad in ref for ref in kept_refs(worker_profile))  # asked, not yet discarded
    press(qtbot, offer.discard)
    qtbot.waitUntil(lambda: not offer.offering, timeout=5000)
    assert "discarded" in panel.message.text()
    assert kept_refs(worker_profile) == []


def test_answers_without_their_form_are_copy_only_and_discarded_in_two_steps(
    qtbot: Any, window: Any, worker_profile: Profile
) -> None:
    gone, _bad = seed(worker_profile, form=False)
    case = open_case(qtbot, window, worker_profile.case_ids["sven"])
    offer = case.kept.offer
    assert offer.offering and not offer.restore.isVisible()
    assert f"S3: {TYPED}" in offer.details.toPlainText()
    assert "not in use" in offer.text.text()
    press(qtbot, offer.discard)
    assert gone in kept_refs(worker_profile)
    press(qtbot, offer.discard)
    qtbot.waitUntil(lambda: case.kept.current is not None and case.kept.current.unreadable)
    assert gone not in kept_refs(worker_profile)


def test_the_panel_speaks_swedish(qtbot: Any, window: Any, worker_profile: Profile) -> None:
    from fieldkit import i18n

    seed(worker_profile)
    i18n.set_language("sv")
    from fieldkit.ui.case.kept import KeptElsewhere

    case = open_case(qtbot, window, worker_profile.case_ids["sven"])
    panel = KeptElsewhere(window.ctx, case)  # built in Swedish, fed what the page loaded
    panel.show_items(case.case_id, case.bundle.kept_elsewhere)
    panel.resize(1100, 360)
    offer = panel.offer
    assert offer.restore.text() == "Starta en ny bedömning med de här svaren"
    assert "inte längre finns på den här datorn" in offer.headline.text()
    assert off_gui(lambda: True)
    panel.grab().save(f"{SHOTS}/kept_reach_answers_sv.png")


def test_an_assessment_removed_while_she_writes_keeps_her_answers_for_the_case(
    qtbot: Any, window: Any, worker_profile: Profile
) -> None:
    from fieldkit.protocol.messages import RecordType

    from .test_assessment_form import open_new_assessment, wait_saved

    tab = open_new_assessment(qtbot, window, worker_profile.case_ids["sven"])
    aid = tab.detail.assessment.id
    tab.renderer.editors["S3"].text.setPlainText("Första raden.")
    wait_saved(qtbot, tab)
    worker_profile.read(lambda s: s.vault.purge_record(RecordType.ASSESSMENT, aid))  # a sync
    tab.renderer.editors["S3"].text.setPlainText(TYPED)  # she goes on writing

    qtbot.waitUntil(lambda: "no longer on this laptop" in tab.status.text(), timeout=8000)
    assert not tab.editable and not tab.submit_button.isVisible()
    panel = window.workspace.case.kept
    qtbot.waitUntil(lambda: panel.current is not None, timeout=5000)
    assert panel.current.work_id == aid and TYPED in panel.offer.details.toPlainText()
    assert panel.offer.restore.isVisible()  # a new assessment can be started with them
    window.workspace.case.grab().save(f"{SHOTS}/kept_reach_removed_while_writing.png")


def test_work_discarded_elsewhere_meanwhile_leaves_the_panel_without_an_error(
    qtbot: Any, window: Any, worker_profile: Profile
) -> None:
    from fieldkit.services import kept

    gone, _bad = seed(worker_profile)
    case_id = worker_profile.case_ids["sven"]
    case = open_case(qtbot, window, case_id)
    panel = case.kept
    assert panel.current is not None and panel.current.work_id == gone
    worker_profile.read(lambda s: kept.discard_kept(s, case_id, gone))  # `fieldkit case kept`
    press(qtbot, panel.offer.discard)
    press(qtbot, panel.offer.discard)
    qtbot.waitUntil(lambda: "no longer in the vault" in panel.message.text(), timeout=5000)
    assert panel.current is not None and panel.current.unreadable  # the next one is offered
