"""Assessments of a case: the list with status and re-assessment dates, and the form renderer
(see ``fieldkit.ui.case.form_renderer``) for drafts."""

from __future__ import annotations

from typing import Any

from fieldkit.i18n import _
from fieldkit.ui.context import AppContext
from fieldkit.ui.i18n import fmt_date
from fieldkit.ui.labels import label
from fieldkit.ui.qt import QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget


class AssessmentsTab(QWidget):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.case_id: str | None = None
        self.items: list[Any] = []
        self.table = QTableWidget(0, 4, self)
        self.table.setHorizontalHeaderLabels(
            [_("Form"), _("Status"), _("Submitted"), _("Re-assessment due")]
        )
        self.table.setAccessibleName(_("Assessments"))
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.empty = QLabel(_("No assessments yet."), self)
        self.empty.setObjectName("Hint")
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(self.empty)

    def show_bundle(self, bundle: Any) -> None:
        self.case_id = bundle.view.case.id
        self.items = list(bundle.assessments)
        self.table.setRowCount(len(self.items))
        for r, a in enumerate(self.items):
            for c, text in enumerate(
                [
                    f"{a.form_id} {a.form_version}",
                    label(a.status),
                    fmt_date(a.submitted_at),
                    fmt_date(a.reassessment_due),
                ]
            ):
                self.table.setItem(r, c, QTableWidgetItem(text))
        self.empty.setVisible(not self.items)

    def flush(self) -> None:
        pass
