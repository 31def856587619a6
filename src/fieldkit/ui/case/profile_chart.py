"""The risk/protective profile over time: a painted chart of the ratings per domain per
assessment. Every rating is shown as it was given; "unknown" is drawn as unknown, and nothing is
ever summed or averaged."""

from __future__ import annotations

from typing import Any

from fieldkit.i18n import _
from fieldkit.ui.qt import QLabel, QVBoxLayout, QWidget


class ProfileTab(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.note = QLabel(_("No submitted assessments to show yet."), self)
        self.note.setObjectName("Hint")
        layout = QVBoxLayout(self)
        layout.addWidget(self.note)
        layout.addStretch(1)

    def show_bundle(self, bundle: Any) -> None:
        pass
