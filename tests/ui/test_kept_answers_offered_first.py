"""Why the assessment editor needs no more than one kept entry per assessment, unlike the
journal: the answers kept for an assessment are read together with it and offered in the same
step that puts it in the editor, and the form stays read-only until she restores or discards
them. So no newer answers for it can be typed, and kept by a failed save or a lock, while the
older ones wait to be offered; what is kept again afterwards is the same work (restored and
continued). Real widgets offscreen, real SQLCipher vault and keyring."""

from __future__ import annotations

from typing import Any

from fieldkit.ui.qt import Qt

from .conftest import Profile, close_window, unlock
from .test_assessment_unsaved_kept import new_window, open_assessment_again

MINE = "Elias berättade om den nya kontakten; jag bedömer oron som måttlig."


def seed(profile: Profile) -> tuple[str, str]:
    from fieldkit.services import assessments

    case_id = profile.case_ids["sven"]

    def run(s: Any) -> str:
        a = assessments.create_assessment(s, case_id, "fk.vbe.concern")
        assessments.save_draft(s, a.id, {"A1": "initial"})
        assessments.keep_unsaved(s, a.id, {"A1": "initial", "S3": MINE})
        return a.id

    return case_id, profile.read(run)


def kept_answers(profile: Profile, aid: str) -> Any:
    found = profile.read(lambda s: s.vault.unsaved.beside("assessment", aid))
    return [entry["content"]["answers"] for _ref, entry in found]


def test_kept_answers_are_offered_as_the_assessment_opens_and_nothing_is_typed_over_them(
    qtbot: Any, window: Any, worker_profile: Profile
) -> None:
    case_id, aid = seed(worker_profile)
    unlock(qtbot, window)
    tab = window.workspace.case.assessments
    seen: list[tuple[bool, bool]] = []
    shown = tab.show_detail

    def show_and_look(opened: Any) -> None:
        shown(opened)  # the moment the assessment is in the editor, before anything else runs
        seen.append((tab.offering, tab.renderer.editors["S3"].text.isEnabled()))

    tab.show_detail = show_and_look
    tab = open_assessment_again(qtbot, window, case_id, aid)
    assert seen and seen[0] == (True, False)  # offered at once; the form not editable
    qtbot.keyClicks(tab.renderer.editors["S3"].text, "Något nytt")
    assert not tab._dirty
    qtbot.keyClick(window, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)  # lock now
    qtbot.waitUntil(lambda: not window.ctx.taskman._pending, timeout=5000)
    assert kept_answers(worker_profile, aid) == [{"A1": "initial", "S3": MINE}]
    close_window(window)

    win = new_window(qtbot, worker_profile)
    try:
        unlock(qtbot, win)
        tab = open_assessment_again(qtbot, win, case_id, aid)
        assert tab.offering  # still hers to restore or discard
        qtbot.keyClick(tab.restore_button, Qt.Key.Key_Return)
        assert tab.renderer.editors["S3"].text.toPlainText() == MINE
    finally:
        close_window(win)
