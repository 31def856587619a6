"""A long journal opens with its latest entries laid out; earlier ones come on request, and a
link between entries still shows when the original is among the earlier ones."""

from __future__ import annotations

from typing import Any

from fieldkit.ui.case.journal import TIMELINE_PAGE
from fieldkit.ui.qt import Qt

from .conftest import Profile, unlock


def test_a_long_journal_shows_the_latest_and_earlier_on_request(
    qtbot: Any, window: Any, worker_profile: Profile
) -> None:
    from fieldkit.services import notes

    karin = worker_profile.case_ids["karin"]
    extra = 30

    def seed(session: Any) -> None:
        with session.vault.transaction():
            first = notes.add_note(session, karin, "Första anteckningen.", sign=True)
            for i in range(TIMELINE_PAGE + extra - 2):
                notes.add_note(session, karin, f"Anteckning {i}.", sign=True)
            notes.add_linked_note(session, first.id, "supplement", "Komplettering av den första.")

    worker_profile.read(seed)
    unlock(qtbot, window)
    window.ctx.open_case_requested.emit(karin)
    page = window.workspace.case
    qtbot.waitUntil(lambda: page.loads == 1, timeout=15000)
    journal = page.journal
    total = TIMELINE_PAGE + extra
    assert len(journal.notes) == total
    assert journal.timeline.count() == TIMELINE_PAGE
    assert journal.earlier_button.isVisibleTo(journal)
    assert str(extra) in journal.earlier_button.text()
    # the newest entry (the supplement) names the original even though it is not laid out yet
    newest = journal.timeline.item(journal.timeline.count() - 1).text()
    assert "Supplement to the entry of" in newest and "?" not in newest.split("\n")[2]

    qtbot.mouseClick(journal.earlier_button, Qt.MouseButton.LeftButton)
    assert journal.timeline.count() == total
    assert not journal.earlier_button.isVisibleTo(journal)
    oldest = journal.timeline.item(0).text()
    assert "Första anteckningen." in oldest and "Has 1 linked entries" in oldest
