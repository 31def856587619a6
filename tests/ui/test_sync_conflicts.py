"""A case detail changed on two laptops while offline surfaces in the sync panel as a conflict;
the user merges the texts by hand, and the merged text is what the case keeps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fieldkit.ui.qt import Qt

from .conftest import PASSPHRASE, close_window, off_gui
from .conftest import SERVER_CONFIG as CONFIG
from .test_team_lead_journey import _enrol, _sync, _window

ANNA = "Träffas varannan vecka på fritidsgården."
LENA = "Skolan vill ha ett nätverksmöte före jul."


def _session(data_dir: Path) -> Any:
    from fieldkit.services import profile

    return profile.open_session(data_dir, PASSPHRASE, CONFIG)


def _anna_creates_and_edits(data_dir: Path, lena_dir: Path) -> str:
    from fieldkit.services import cases, sync

    s = _session(data_dir)
    try:
        case = cases.create_case(s, "individual_at_risk", "Sven Berg", summary="Oro från skolan.")
        sync.sync_now(s)
    finally:
        s.lock()
    lead = _session(lena_dir)
    try:
        sync.sync_now(lead)  # the team lead has the case, as it was
        cases.set_case_fields(lead, case.id, summary=LENA)  # offline edit
    finally:
        lead.lock()
    s = _session(data_dir)
    try:
        cases.set_case_fields(s, case.id, summary=ANNA)
        sync.sync_now(s)  # the worker's change reaches the server first
    finally:
        s.lock()
    return case.id


def test_a_conflict_is_merged_by_hand_in_the_sync_panel(
    qtbot: Any, tmp_path: Path, real_keyring: str, server: Any
) -> None:
    db, live, _users = server
    anna_dir, lena_dir = tmp_path / "anna", tmp_path / "lena"
    off_gui(_enrol, anna_dir, live.url, db.code("anna"))
    off_gui(_enrol, lena_dir, live.url, db.code("lena"))
    case_id = off_gui(_anna_creates_and_edits, anna_dir, lena_dir)

    lena = _window(qtbot, lena_dir)
    lena.unlock_screen.passphrase.setText(PASSPHRASE)
    lena.unlock_screen.submit()
    qtbot.waitUntil(lambda: lena.ctx.is_unlocked and lena.sync.enrolled, timeout=20000)
    # The sync that starts at unlock may surface the conflict before the F5 cycle does, so
    # what counts is the conflict the team lead now has to decide, not which cycle found it.
    _sync(qtbot, lena)
    lena.sync.refresh_status()
    qtbot.waitUntil(lambda: lena.sync.status is not None and lena.sync.status.conflicts == 1)
    page = lena.workspace.sync_page
    qtbot.waitUntil(lambda: len(page.conflicts) == 1, timeout=10000)
    qtbot.waitUntil(lambda: not lena.sync_status.attention.isHidden())
    assert lena.sync_status.attention.text() == "Needs attention: 1"  # text and icon, not colour
    qtbot.mouseClick(lena.sync_status.attention, Qt.MouseButton.LeftButton)
    assert lena.workspace.current_page() is page  # the status bar leads to what needs doing
    row = [page.conflict_table.item(0, c).text() for c in range(3)]
    assert row == ["Summary", LENA, ANNA]  # what, your version, the server's version
    page.conflict_table.selectRow(0)
    qtbot.mouseClick(page.merge_button, Qt.MouseButton.LeftButton)
    assert ANNA in page.merge_text.toPlainText() and LENA in page.merge_text.toPlainText()
    merged = f"{ANNA} {LENA}"
    page.merge_text.setPlainText(merged)
    page.resolve("merged")
    qtbot.waitUntil(lambda: page.conflicts == [], timeout=10000)

    from fieldkit.services import cases, sync

    def stored(s: Any) -> tuple[str, list[Any]]:
        return cases.open_case(s, case_id).case.summary, sync.list_conflicts(
            s, include_resolved=True
        )

    close_window(lena)
    summary, conflicts = off_gui(lambda: _read(lena_dir, stored))
    assert summary == merged
    assert [(c.resolution, c.resolved_value) for c in conflicts] == [("merged", merged)]


def _read(data_dir: Path, fn: Any) -> Any:
    s = _session(data_dir)
    try:
        return fn(s)
    finally:
        s.lock()
