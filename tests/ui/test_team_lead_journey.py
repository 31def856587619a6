"""Worker and team lead on two laptops against a real server on loopback (embedded SQLite):
the worker enrols through the first-run wizard, submits an assessment and syncs (F5); the team
lead syncs, reviews it in the review panel and returns it with a comment, syncs; the worker
syncs and sees the return and the comment, and can go on in a new draft."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fieldkit.ui.qt import QKeySequence, Qt

from .conftest import PASSPHRASE, close_window, off_gui
from .conftest import SERVER_CONFIG as CONFIG
from .test_assessment_form import FORM, fill_concern_form


def _window(qtbot: Any, data_dir: Path) -> Any:
    from fieldkit.ui.app import build_window

    win = build_window(data_dir, dict(CONFIG))
    # Automatic pushes only when asked (F5), so each step syncs exactly when the test says.
    win.sync.push_delay = 3600.0
    qtbot.addWidget(win)
    win.resize(1200, 800)
    win.show()
    return win


def _sync(qtbot: Any, win: Any) -> Any:
    before = win.sync.last_report
    qtbot.keySequence(win, QKeySequence("F5"))
    qtbot.waitUntil(
        lambda: win.sync.last_report is not before or win.sync.last_error is not None, timeout=20000
    )
    assert win.sync.last_error is None, win.sync.last_error
    return win.sync.last_report


def _new_case(data_dir: Path) -> str:
    from fieldkit.services import cases, profile

    session = profile.open_session(data_dir, PASSPHRASE, CONFIG)
    try:
        return cases.create_case(
            session, "individual_at_risk", "Sven Berg", reference="VBE-2026-0042"
        ).id
    finally:
        session.lock()


def _enrol(data_dir: Path, url: str, code: str) -> None:
    from fieldkit.services import sync

    sync.enroll(data_dir, code, PASSPHRASE, server_url=url, config=CONFIG).lock()


def test_review_and_return_reaches_the_worker_after_sync(
    qtbot: Any, tmp_path: Path, real_keyring: str, server: Any
) -> None:
    db, live, _users = server
    anna_dir, lena_dir = tmp_path / "anna", tmp_path / "lena"

    # -- the worker enrols through the first-run wizard
    anna = _window(qtbot, anna_dir)
    qtbot.waitUntil(lambda: anna.wizard is not None)  # no profile yet: the first-run wizard
    wizard = anna.wizard
    qtbot.mouseClick(wizard.enrol_button, Qt.MouseButton.LeftButton)
    wizard.server.setText(live.url)
    wizard.code.setText(db.code("anna"))
    wizard._server_next()
    wizard.pass1.setText(PASSPHRASE)
    wizard.pass2.setText(PASSPHRASE)
    qtbot.waitUntil(lambda: wizard.meter.value() >= 3)  # a long passphrase scores well
    qtbot.mouseClick(wizard.finish_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: anna.ctx.is_unlocked, timeout=20000)
    assert anna.ctx.identity.username == "anna"
    qtbot.waitUntil(lambda: anna.sync.enrolled)
    close_window(anna)

    case_id = off_gui(_new_case, anna_dir)

    # -- the worker submits an assessment and syncs
    anna = _window(qtbot, anna_dir)
    anna.unlock_screen.passphrase.setText(PASSPHRASE)
    anna.unlock_screen.submit()
    qtbot.waitUntil(lambda: anna.ctx.is_unlocked and anna.sync.enrolled, timeout=20000)
    anna.ctx.open_case_requested.emit(case_id)
    case = anna.workspace.case
    qtbot.waitUntil(lambda: case.loads >= 1)
    tab = case.assessments
    case.tabs.setCurrentWidget(tab)
    qtbot.waitUntil(lambda: tab.form_choice.count() > 0)
    tab.form_choice.setCurrentIndex(tab.form_choice.findData(FORM))
    tab.new_assessment()
    qtbot.waitUntil(lambda: tab.renderer is not None)
    fill_concern_form(qtbot, tab)
    tab.submit()
    qtbot.waitUntil(
        lambda: tab.detail is not None and tab.detail.assessment.status.value == "submitted",
        timeout=10000,
    )
    report = _sync(qtbot, anna)
    assert report.pushed > 0
    qtbot.waitUntil(
        lambda: anna.sync.status is not None and anna.sync.status.last_success is not None
    )
    shown = anna.sync_status
    assert shown.pending.text() == f"{anna.sync.status.pending} changes waiting to sync"
    assert shown.online.text() == "Online" and shown.last.text().startswith("Last sync:")
    close_window(anna)

    # -- the team lead syncs, reviews and returns it
    off_gui(_enrol, lena_dir, live.url, db.code("lena"))
    lena = _window(qtbot, lena_dir)
    lena.unlock_screen.passphrase.setText(PASSPHRASE)
    lena.unlock_screen.submit()
    qtbot.waitUntil(lambda: lena.ctx.is_unlocked and lena.sync.enrolled, timeout=20000)
    assert not lena.workspace.sidebar.item(2).isHidden()  # the team lead's page
    _sync(qtbot, lena)
    queue = lena.workspace.review.queue
    qtbot.waitUntil(lambda: len(queue.rows) == 1, timeout=10000)
    assert queue.rows[0].person_name == "Sven Berg"
    queue.select_row(0)
    qtbot.waitUntil(lambda: queue.detail is not None)
    assert queue.renderer is not None and not queue.renderer.editors["S3"].text.isEnabled()
    history = queue.history.chart  # the case's profile over time, beside the assessment
    qtbot.waitUntil(lambda: len(history.series.columns) == 1)
    assert history.series.statuses == ["submitted"]
    queue.partly.setChecked(True)
    qtbot.mouseClick(queue.return_button, Qt.MouseButton.LeftButton)
    assert "comment" in queue.message.text()  # returning needs a comment
    queue.comment.setPlainText("Beskriv skolans iakttagelser närmare i underlaget.")
    qtbot.mouseClick(queue.return_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: queue.reviews_done == 1, timeout=10000)
    qtbot.waitUntil(lambda: queue.rows == [])
    _sync(qtbot, lena)
    close_window(lena)

    # -- the municipality publishes a routine; it reaches the laptop with the next sync
    from fieldkit.server import admin

    with db.factory() as session, session.begin():
        admin.publish_document(
            session,
            "Rutin: orosanmälan",
            "# Rutin: orosanmälan\n\nInformera teamledaren **samma dag**.",
            ["orosanmälan"],
            "rutin-orosanmalan",
        )

    # -- the worker syncs and sees the return
    anna = _window(qtbot, anna_dir)
    anna.unlock_screen.passphrase.setText(PASSPHRASE)
    anna.unlock_screen.submit()
    qtbot.waitUntil(lambda: anna.ctx.is_unlocked and anna.sync.enrolled, timeout=20000)
    # The return is on the server before Anna unlocks, so the sync that starts at unlock may
    # already bring it and the F5 cycle then pulls nothing: what counts is what she sees.
    _sync(qtbot, anna)
    qtbot.waitUntil(
        lambda: anna.sync.status is not None and anna.sync.status.last_success is not None
    )
    anna.ctx.open_case_requested.emit(case_id)
    case = anna.workspace.case
    qtbot.waitUntil(lambda: case.loads >= 1 and bool(case.assessments.items))
    tab = case.assessments
    case.tabs.setCurrentWidget(tab)
    assert [a.status.value for a in tab.items] == ["returned"]
    tab.select(tab.items[0].id)
    assert tab.revise_button.isVisible()
    tab.open_selected()
    qtbot.waitUntil(lambda: tab.detail is not None)
    assert "Beskriv skolans iakttagelser" in tab.reviews.text()
    assert "Partly agree" in tab.reviews.text()

    # -- guidance, readable offline, from the case
    qtbot.mouseClick(case.header.guidance_button, Qt.MouseButton.LeftButton)
    guidance = anna.workspace.knowledge
    assert anna.workspace.current_page() is guidance
    qtbot.waitUntil(lambda: guidance.list.count() == 1)
    assert "Informera teamledaren samma dag." in guidance.reader.toPlainText()
    close_window(anna)
