"""Sync in sight: where sync stands, "Sync now" with a progress bar, and what needs the user:
changes the server refused (with its reason; nothing is thrown away) and conflicts, each with
its decision — keep mine, keep theirs, or merge the text by hand."""

from __future__ import annotations

from typing import Any

from fieldkit.errors import N_, FieldkitError
from fieldkit.i18n import _, render
from fieldkit.ui.context import SYNC, AppContext
from fieldkit.ui.i18n import fmt_datetime
from fieldkit.ui.qt import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
from fieldkit.ui.syncpanel.controller import SyncController

MUTATION_LABELS = {
    "note.create": N_("Journal entry"),
    "note.sign": N_("Signature of a journal entry"),
    "note.update_draft": N_("Journal draft"),
    "assessment.save_draft": N_("Assessment draft"),
    "assessment.submit": N_("Submitted assessment"),
    "assessment.review": N_("Review"),
    "case.set_fields": N_("Case details"),
    "case.create": N_("New case"),
    "consent.record": N_("Consent"),
    "disclosure.record": N_("Disclosure"),
    "intervention.record": N_("Intervention"),
    "audit.append": N_("Access log"),
}
FIELD_LABELS = {
    "summary": N_("Summary"),
    "district": N_("District"),
    "referral_source": N_("Referred by"),
    "next_contact": N_("Next contact"),
}


def _attention(session: Any) -> tuple[list[Any], list[Any]]:
    from fieldkit.services import sync

    return list(sync.list_needs_attention(session)), list(sync.list_conflicts(session))


def _dismiss(session: Any, mutation_id: int) -> None:
    from fieldkit.services import sync

    sync.dismiss_needs_attention(session, mutation_id)


def _resolve(session: Any, conflict_id: str, resolution: str, merged: Any) -> Any:
    from fieldkit.services import sync

    return sync.resolve_conflict(session, conflict_id, resolution, merged)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


class SyncPage(QWidget):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.controller: SyncController | None = None
        self.rejected: list[Any] = []
        self.conflicts: list[Any] = []
        title = QLabel(_("Sync"), self)
        title.setObjectName("PageTitle")
        self.state = QLabel("", self)
        self.state.setWordWrap(True)
        self.error = QLabel("", self)
        self.error.setObjectName("ErrorNotice")
        self.error.setWordWrap(True)
        self.error.hide()
        self.sync_button = QPushButton(_("Sync now"), self)
        self.sync_button.setObjectName("Primary")
        self.sync_button.setToolTip(_("Sync now (F5)"))
        self.sync_button.clicked.connect(self.sync_now)
        self.progress = QProgressBar(self)
        self.progress.setAccessibleName(_("Sync progress"))
        self.progress.hide()
        self.phase = QLabel("", self)
        self.phase.setObjectName("Hint")
        top = QHBoxLayout()
        top.addWidget(self.sync_button)
        top.addWidget(self.progress, 1)
        top.addWidget(self.phase)
        top.addStretch(1)
        self.state.setObjectName("Card")
        self.state.setMargin(10)

        rejected_title = QLabel(_("Changes the server refused"), self)
        rejected_title.setObjectName("SectionTitle")
        rejected_hint = QLabel(
            _(
                "Nothing is thrown away: the refused change is kept on this laptop. Read the "
                "reason, put it right in the case, then mark it as dealt with."
            ),
            self,
        )
        rejected_hint.setWordWrap(True)
        rejected_hint.setObjectName("Hint")
        self.rejected_hint = rejected_hint
        self.rejected_table = QTableWidget(0, 3, self)
        self.rejected_table.setHorizontalHeaderLabels([_("Change"), _("Made"), _("Reason")])
        self.rejected_table.setAccessibleName(_("Changes the server refused"))
        self._table_setup(self.rejected_table)
        self.rejected_empty = QLabel(_("The server has accepted every change."), self)
        self.rejected_empty.setObjectName("Hint")
        self.conflicts_empty = QLabel(_("No conflicts to decide."), self)
        self.conflicts_empty.setObjectName("Hint")
        self.dismiss_button = QPushButton(_("Mark as dealt with"), self)
        self.dismiss_button.clicked.connect(self.dismiss_selected)

        conflicts_title = QLabel(_("Conflicts to decide"), self)
        conflicts_title.setObjectName("SectionTitle")
        self.conflict_table = QTableWidget(0, 3, self)
        self.conflict_table.setHorizontalHeaderLabels(
            [_("What"), _("Your version"), _("Server version")]
        )
        self.conflict_table.setAccessibleName(_("Conflicts to decide"))
        self._table_setup(self.conflict_table)
        self.conflict_table.itemSelectionChanged.connect(self._conflict_selected)
        self.keep_mine = QPushButton(_("Keep mine"), self)
        self.keep_mine.clicked.connect(lambda: self.resolve("mine"))
        self.keep_theirs = QPushButton(_("Keep theirs"), self)
        self.keep_theirs.clicked.connect(lambda: self.resolve("theirs"))
        self.merge_button = QPushButton(_("Merge by hand"), self)
        self.merge_button.clicked.connect(self._start_merge)
        self.merge_box = QFrame(self)
        self.merge_box.setObjectName("Card")
        self.merge_text = QPlainTextEdit(self.merge_box)
        self.merge_text.setAccessibleName(_("Merged text"))
        save_merge = QPushButton(_("Save the merged text"), self.merge_box)
        save_merge.setObjectName("Primary")
        save_merge.clicked.connect(lambda: self.resolve("merged"))
        merge_layout = QVBoxLayout(self.merge_box)
        merge_layout.addWidget(QLabel(_("Write the text as it should be:"), self.merge_box))
        merge_layout.addWidget(self.merge_text)
        merge_layout.addWidget(save_merge)
        self.merge_box.hide()
        decisions = QHBoxLayout()
        decisions.addWidget(self.keep_mine)
        decisions.addWidget(self.keep_theirs)
        decisions.addWidget(self.merge_button)
        decisions.addStretch(1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 14, 18, 10)
        layout.addWidget(title)
        layout.addWidget(self.state)
        layout.addWidget(self.error)
        layout.addLayout(top)
        layout.addWidget(rejected_title)
        layout.addWidget(rejected_hint)
        layout.addWidget(self.rejected_empty)
        layout.addWidget(self.rejected_table, 1)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.dismiss_button)
        layout.addLayout(row)
        layout.addWidget(conflicts_title)
        layout.addWidget(self.conflicts_empty)
        layout.addWidget(self.conflict_table, 1)
        layout.addLayout(decisions)
        layout.addWidget(self.merge_box)
        layout.addStretch(1)
        self._conflict_selected()
        ctx.changed.connect(lambda kinds: self.reload() if SYNC in kinds else None)
        ctx.unlocked.connect(self.reload)

    @staticmethod
    def _table_setup(table: QTableWidget) -> None:
        table.verticalHeader().hide()
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        table.setWordWrap(True)
        table.horizontalHeader().setStretchLastSection(True)

    def attach(self, controller: SyncController) -> None:
        self.controller = controller
        controller.status_changed.connect(self.show_status)
        controller.progress.connect(self.show_progress)
        controller.finished.connect(self._finished)
        controller.failed.connect(self._failed)

    # -- status and progress -------------------------------------------------------------
    def show_status(self, status: Any) -> None:
        if not status.enrolled:
            self.state.setText(
                _("This profile is not connected to a server: everything stays on this laptop.")
            )
            return
        online = (
            _("Online")
            if status.online
            else _("Offline")
            if status.online is False
            else _("Not tried yet")
        )
        lines = [
            _("Server: {url}").format(url=status.server_url or "—"),
            _("Connection: {state}").format(state=online),
            _("{count} changes waiting to sync").format(count=status.pending),
            _("Last sync: {when}").format(when=fmt_datetime(status.last_success))
            if status.last_success
            else _("Not synced yet"),
        ]
        self.state.setText("\n".join(lines))
        message = getattr(status, "last_error_message", None)
        self.error.setText(message or "")
        self.error.setVisible(bool(message))

    def show_progress(self, progress: Any) -> None:
        self.progress.show()
        total = progress.total or 0
        self.progress.setMaximum(total)
        self.progress.setValue(progress.done if total else 0)
        phases = {
            "connect": _("Connecting…"),
            "push": _("Sending changes…"),
            "pull": _("Receiving changes…"),
            "integrity": _("Checking…"),
            "done": _("Done"),
            "failed": _("Failed"),
        }
        phase = getattr(progress.phase, "value", str(progress.phase))
        self.phase.setText(phases.get(phase, phase))
        self.sync_button.setEnabled(False)

    def _finished(self, report: Any) -> None:
        self.progress.hide()
        self.sync_button.setEnabled(True)
        self.phase.setText(
            _("Sent {pushed}, received {pulled}.").format(
                pushed=report.pushed, pulled=report.pulled
            )
        )
        self.error.hide()
        self.reload()

    def _failed(self, exc: BaseException) -> None:
        self.progress.hide()
        self.sync_button.setEnabled(True)
        self.phase.clear()
        self.error.setText(
            render(exc)
            if isinstance(exc, FieldkitError)
            else _("Sync failed unexpectedly; nothing was lost.")
        )
        self.error.show()

    def sync_now(self) -> None:
        if self.controller is not None:
            self.error.hide()
            self.phase.setText(_("Connecting…"))
            self.controller.sync_now()

    # -- needs attention -----------------------------------------------------------------
    def reload(self) -> None:
        self.ctx.call(_attention, on_done=self._show_attention)

    def _show_attention(self, result: tuple[list[Any], list[Any]]) -> None:
        self.rejected, self.conflicts = result
        self.rejected_table.setRowCount(len(self.rejected))
        for r, item in enumerate(self.rejected):
            what = _(MUTATION_LABELS.get(item.name, item.name))
            for c, text in enumerate(
                [
                    what,
                    _text(item.created_at)[:16].replace("T", " "),
                    item.reason or item.reason_code or "",
                ]
            ):
                self.rejected_table.setItem(r, c, QTableWidgetItem(text))
        self.rejected_table.resizeRowsToContents()
        self.dismiss_button.setEnabled(bool(self.rejected))
        self.dismiss_button.setVisible(bool(self.rejected))
        self.rejected_table.setVisible(bool(self.rejected))
        self.rejected_empty.setVisible(not self.rejected)
        self.rejected_hint.setVisible(bool(self.rejected))
        open_conflicts = [c for c in self.conflicts if c.is_open]
        self.conflicts = open_conflicts
        self.conflict_table.setRowCount(len(open_conflicts))
        for r, conflict in enumerate(open_conflicts):
            what = (
                _(FIELD_LABELS.get(conflict.field, conflict.field))
                if conflict.record_type == "case"
                else (_("Assessment (your copy is kept as a draft)"))
            )
            for c, text in enumerate(
                [what, _text(conflict.local_value), _text(conflict.server_value)]
            ):
                self.conflict_table.setItem(r, c, QTableWidgetItem(text))
        self.conflict_table.resizeRowsToContents()
        self.conflict_table.setVisible(bool(open_conflicts))
        self.conflicts_empty.setVisible(not open_conflicts)
        for button in (self.keep_mine, self.keep_theirs, self.merge_button):
            button.setVisible(bool(open_conflicts))
        self._conflict_selected()

    def dismiss_selected(self) -> None:
        rows = self.rejected_table.selectionModel().selectedRows()
        if not rows:
            return
        item = self.rejected[rows[0].row()]
        self.ctx.call(_dismiss, item.mutation_id, on_done=lambda _r: self.reload())

    # -- conflicts -----------------------------------------------------------------------
    def selected_conflict(self) -> Any:
        rows = self.conflict_table.selectionModel().selectedRows()
        return self.conflicts[rows[0].row()] if rows else None

    def _conflict_selected(self) -> None:
        chosen = self.selected_conflict() is not None
        for button in (self.keep_mine, self.keep_theirs, self.merge_button):
            button.setEnabled(chosen)
        if not chosen:
            self.merge_box.hide()

    def _start_merge(self) -> None:
        conflict = self.selected_conflict()
        if conflict is None:
            return
        self.merge_text.setPlainText(
            f"{_text(conflict.server_value)}\n\n{_text(conflict.local_value)}".strip()
        )
        self.merge_box.show()
        self.merge_text.setFocus()

    def resolve(self, resolution: str) -> None:
        conflict = self.selected_conflict()
        if conflict is None:
            return
        merged = self.merge_text.toPlainText() if resolution == "merged" else None
        self.ctx.call(
            _resolve,
            conflict.id,
            resolution,
            merged,
            on_done=self._resolved,
            on_error=self._failed,
        )

    def _resolved(self, _conflict: Any) -> None:
        self.merge_box.hide()
        self.ctx.wrote.emit()
        self.ctx.notify(SYNC)
