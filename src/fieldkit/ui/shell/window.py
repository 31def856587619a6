"""The main window: first-run wizard, unlock screen or the workspace (sidebar + pages), and the
status bar with the sync status. Owns the shortcuts and the auto-lock."""

from __future__ import annotations

from typing import Any

from fieldkit.i18n import _
from fieldkit.ui.context import AppContext
from fieldkit.ui.qt import (
    QAction,
    QApplication,
    QHBoxLayout,
    QKeySequence,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QStackedWidget,
    Qt,
    QTimer,
    QWidget,
)
from fieldkit.ui.shell.heap import freeze_long_lived
from fieldkit.ui.shell.idle import IdleWatcher
from fieldkit.ui.syncpanel.controller import SyncController
from fieldkit.ui.syncpanel.status import SyncStatusBar
from fieldkit.ui.unlock.screen import UnlockScreen

DEFAULT_IDLE_MINUTES = 5
SYNC_START_MS = 2000


def _policy_idle_minutes(config: Any) -> float:
    from fieldkit.ui.settings.access import setting_value

    value = setting_value(config, "auto_lock_minutes")
    try:
        return float(value) if value else DEFAULT_IDLE_MINUTES
    except (TypeError, ValueError):
        return DEFAULT_IDLE_MINUTES


def _warm_up() -> None:
    """Load the forms and the assessment services on the worker right after unlocking, so the
    first case opens without waiting for them."""
    from fieldkit.forms.registry import default_registry
    from fieldkit.services import assessments  # noqa: F401

    default_registry()


class Workspace(QWidget):
    """Sidebar navigation and the pages it shows."""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from fieldkit.ui.case.page import CasePage
        from fieldkit.ui.caseload.page import CaseloadPage
        from fieldkit.ui.knowledge.page import KnowledgePage
        from fieldkit.ui.review.page import ReviewPage
        from fieldkit.ui.settings.page import SettingsPage
        from fieldkit.ui.syncpanel.page import SyncPage

        self.ctx = ctx
        self.sidebar = QListWidget(self)
        self.sidebar.setObjectName("Sidebar")
        self.sidebar.setAccessibleName(_("Navigation"))
        self.sidebar.setFixedWidth(210)
        self.pages = QStackedWidget(self)
        self.caseload = CaseloadPage(ctx, self)
        self.case = CasePage(ctx, self)
        self.review = ReviewPage(ctx, self)
        self.knowledge = KnowledgePage(ctx, self)
        self.sync_page = SyncPage(ctx, self)
        self.settings = SettingsPage(ctx, self)
        self._entries: list[tuple[str, QWidget]] = [
            (_("Caseload"), self.caseload),
            (_("Case"), self.case),
            (_("Review"), self.review),
            (_("Guidance"), self.knowledge),
            (_("Sync"), self.sync_page),
            (_("Settings"), self.settings),
        ]
        for title, page in self._entries:
            self.sidebar.addItem(QListWidgetItem(title))
            self.pages.addWidget(page)
        self.sidebar.currentRowChanged.connect(self.pages.setCurrentIndex)
        self.sidebar.setCurrentRow(0)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.sidebar)
        layout.addWidget(self.pages, 1)
        ctx.open_case_requested.connect(self.open_case)
        ctx.guidance_requested.connect(self.open_guidance)

    def show_page(self, page: QWidget) -> None:
        for row, (_title, widget) in enumerate(self._entries):
            if widget is page:
                self.sidebar.setCurrentRow(row)
                return

    def current_page(self) -> QWidget | None:
        return self.pages.currentWidget()

    def open_case(self, case_id: str) -> None:
        self.case.load(case_id)
        self.show_page(self.case)

    def open_guidance(self, topic: str) -> None:
        self.knowledge.open_topic(topic)
        self.show_page(self.knowledge)

    def set_role(self, role: str) -> None:
        is_lead = role in ("team_lead", "admin")
        self.sidebar.item(2).setHidden(not is_lead)


class MainWindow(QMainWindow):
    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.setWindowTitle("fieldkit")
        self.resize(1200, 780)
        self.stack = QStackedWidget(self)
        self.setCentralWidget(self.stack)
        self.unlock_screen = UnlockScreen(ctx, self)
        self.stack.addWidget(self.unlock_screen)
        self.workspace: Workspace | None = None
        self.wizard: QWidget | None = None
        self._return_to: QWidget | None = None
        self._return_focus: QWidget | None = None
        self.last_error = ""
        self._freeze_heap = False

        self.sync_status = SyncStatusBar(self)
        self.user_label = QLabel("", self)
        status = self.statusBar()
        status.addWidget(self.sync_status, 1)
        status.addPermanentWidget(self.user_label)
        self.sync_status.hide()  # shown once unlocked

        # Sync starts once the caseload is on screen (or after SYNC_START_MS at the latest):
        # its first cycle would otherwise compete with the caseload query for the interpreter.
        self.sync = SyncController(ctx, start_on_unlock=False)
        self._sync_start = QTimer(self)
        self._sync_start.setSingleShot(True)
        self._sync_start.setInterval(SYNC_START_MS)
        self._sync_start.timeout.connect(self._start_sync)
        self.sync.status_changed.connect(self.sync_status.show_status)
        self.sync.progress.connect(self._sync_progress)
        self.sync.finished.connect(lambda _r: self.sync_status.hide_progress())
        self.sync.failed.connect(lambda _e: self.sync_status.hide_progress())
        self.sync.revoked.connect(self._revoked)
        self.sync_status.attention.clicked.connect(self._show_sync_page)

        self.idle = IdleWatcher(int(_policy_idle_minutes(ctx.config) * 60_000), self)
        self.idle.idle.connect(self.lock)
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self.idle)  # every key and click restarts the countdown
        self._make_actions()

        ctx.unlocked.connect(self._on_unlocked)
        ctx.locked.connect(self._on_locked)
        ctx.taskman.error.connect(self._on_task_error)

    # -- actions -------------------------------------------------------------------------
    def _make_actions(self) -> None:
        def action(text: str, keys: list[Any], slot: Any) -> QAction:
            act = QAction(text, self)
            act.setShortcuts([QKeySequence(k) for k in keys])
            act.triggered.connect(slot)
            self.addAction(act)
            return act

        self.lock_action = action(_("Lock"), ["Ctrl+L"], self.lock)
        self.sync_action = action(_("Sync now"), ["F5"], self.sync_now)
        self.search_action = action(_("Search"), [QKeySequence.StandardKey.Find], self.focus_search)
        self.new_note_action = action(_("New journal note"), ["Ctrl+N"], self.new_note)
        self.sign_action = action(
            _("Sign"), ["Ctrl+Return", "Ctrl+Enter", "Ctrl+Shift+S"], self.sign
        )

    def _unlocked_workspace(self) -> Workspace | None:
        return self.workspace if self.ctx.is_unlocked else None

    def lock(self) -> None:
        ws = self._unlocked_workspace()
        if ws is None:
            return
        self._return_to = ws.current_page()
        focus = self.focusWidget()
        self._return_focus = focus if focus is not None and ws.isAncestorOf(focus) else None
        ws.case.flush_drafts()
        self.sync.stop()
        self.ctx.lock()

    def sync_now(self) -> None:
        ws = self._unlocked_workspace()
        if ws is not None:
            ws.sync_page.sync_now()

    def _show_sync_page(self) -> None:
        ws = self._unlocked_workspace()
        if ws is not None:
            ws.show_page(ws.sync_page)

    def _sync_progress(self, progress: Any) -> None:
        phase = getattr(progress.phase, "value", str(progress.phase))
        self.sync_status.show_progress(progress.done, progress.total or 0, phase)

    def _revoked(self, exc: BaseException) -> None:
        self.ctx.session = None
        self._on_task_error(exc)
        self.show_first_run()

    def focus_search(self) -> None:
        ws = self._unlocked_workspace()
        if ws is not None:
            ws.show_page(ws.caseload)
            ws.caseload.focus_search()

    def new_note(self) -> None:
        ws = self._unlocked_workspace()
        if ws is not None and ws.case.case_id:
            ws.show_page(ws.case)
            ws.case.new_note()

    def sign(self) -> None:
        ws = self._unlocked_workspace()
        if ws is not None and ws.current_page() is ws.case:
            ws.case.sign_current()

    # -- screens -------------------------------------------------------------------------
    def show_first_run(self) -> None:
        from fieldkit.ui.firstrun.wizard import FirstRunWizard

        self.wizard = FirstRunWizard(self.ctx, self)
        self.stack.addWidget(self.wizard)
        self.stack.setCurrentWidget(self.wizard)

    def show_unlock(self) -> None:
        self.stack.setCurrentWidget(self.unlock_screen)
        self.unlock_screen.prepare()

    def _on_unlocked(self) -> None:
        identity = self.ctx.identity
        if self.workspace is None:
            self.workspace = Workspace(self.ctx, self)
            self.workspace.sync_page.attach(self.sync)
            self.workspace.caseload.shown.connect(self._caseload_shown)
            self.stack.addWidget(self.workspace)
        self._freeze_heap = True
        self.workspace.set_role(str(getattr(identity, "role", "worker")))
        self.user_label.setText(
            f"{identity.display_name} · {getattr(identity, 'team_name', '')}".strip(" ·")
        )
        self.stack.setCurrentWidget(self.workspace)
        if self._return_to is not None:
            self.workspace.show_page(self._return_to)
        self.ctx.notify()
        if self._return_focus is not None:
            self._return_focus.setFocus()
        self._return_to = self._return_focus = None
        self.idle.start()
        self._sync_start.start()
        self.sync_status.show()
        self.ctx.taskman.run(_warm_up)
        if self.wizard is not None:
            self.stack.removeWidget(self.wizard)
            self.wizard.deleteLater()
            self.wizard = None

    def _caseload_shown(self) -> None:
        # The session's long-lived objects are in place now: out of the collector's way
        # (see shell/heap.py), once per unlock.
        if self._freeze_heap:
            self._freeze_heap = False
            freeze_long_lived()
        self._start_sync()

    def _start_sync(self) -> None:
        self._sync_start.stop()
        if self.ctx.is_unlocked:
            self.sync.start()

    def _on_locked(self) -> None:
        self.idle.stop()
        self._sync_start.stop()
        self.user_label.clear()
        self.sync_status.hide()
        self.show_unlock()

    def _on_task_error(self, exc: BaseException) -> None:
        from fieldkit.errors import FieldkitError
        from fieldkit.i18n import render

        if isinstance(exc, FieldkitError):
            text = render(exc)
        else:
            text = _(
                "Something went wrong inside fieldkit. Nothing you saved was lost. ({kind})"
            ).format(kind=type(exc).__name__)
        self.last_error = text
        box = QMessageBox(
            QMessageBox.Icon.Warning, _("fieldkit"), text, QMessageBox.StandardButton.Ok, self
        )
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()  # window-modal, never blocks the event loop

    def closeEvent(self, event: Any) -> None:
        if self.workspace is not None and self.ctx.is_unlocked:
            self.workspace.case.flush_drafts()
        if not self.ctx.taskman.closed:  # not already closed by its owner
            self.sync.stop()
            self.sync.wait_stopped()
            self.ctx.lock()
            self.ctx.taskman.shutdown(wait=True)
        super().closeEvent(event)
