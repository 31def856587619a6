"""For team leads: the review queue of submitted assessments, the review panel, the team
overview with overdue re-assessments, and the access-log review."""

from __future__ import annotations

from fieldkit.i18n import _
from fieldkit.ui.context import AppContext
from fieldkit.ui.qt import QLabel, QTabWidget, QVBoxLayout, QWidget


class ReviewPage(QWidget):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        title = QLabel(_("Review"), self)
        title.setObjectName("PageTitle")
        self.tabs = QTabWidget(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 14, 18, 10)
        layout.addWidget(title)
        layout.addWidget(self.tabs, 1)
