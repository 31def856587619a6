"""Sync in sight: status, a "Sync now" button with progress, and the list of what needs the
user's attention (rejected changes and conflicts) with their resolution."""

from __future__ import annotations

from fieldkit.i18n import _
from fieldkit.ui.context import AppContext
from fieldkit.ui.qt import QLabel, QPushButton, QVBoxLayout, QWidget


class SyncPage(QWidget):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        title = QLabel(_("Sync"), self)
        title.setObjectName("PageTitle")
        self.sync_button = QPushButton(_("Sync now"), self)
        self.sync_button.setToolTip(_("Sync now (F5)"))
        self.sync_button.clicked.connect(self.sync_now)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 14, 18, 10)
        layout.addWidget(title)
        layout.addWidget(self.sync_button)
        layout.addStretch(1)

    def sync_now(self) -> None:
        pass
