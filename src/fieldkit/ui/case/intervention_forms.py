"""Recording an intervention and ending one, from the case's interventions tab. The rules (an
intervention cannot end before it starts, or end twice) are the services'; the form shows their
message and keeps what was typed."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fieldkit.i18n import _
from fieldkit.ui.case.consent_forms import _Form
from fieldkit.ui.context import INTERVENTIONS, AppContext
from fieldkit.ui.labels import label
from fieldkit.ui.qt import QComboBox, QDate, QDateEdit, QLabel, QLineEdit, QWidget

KINDS = (
    "coordinated",
    "exit",
    "relatives",
    "mentor",
    "sspf",
    "school_work",
    "leisure",
    "health",
    "report_child",
    "police",
    "cve",
    "other",
)


def _record(session: Any, case_id: str, fields: dict[str, Any]) -> Any:
    from fieldkit.services import interventions

    return interventions.record_intervention(session, case_id, **fields)


def _end(session: Any, intervention_id: str, end_date: dt.date, outcome: str) -> Any:
    from fieldkit.services import interventions

    return interventions.end_intervention(session, intervention_id, end_date, outcome)


def _day(edit: QDateEdit) -> dt.date:
    d = edit.date()
    return dt.date(d.year(), d.month(), d.day())


class _InterventionForm(_Form):
    def _saved(self, _record: Any) -> None:
        self.save_button.setEnabled(True)
        self.message.hide()
        self.hide()
        self.ctx.wrote.emit()
        self.saved.emit()
        self.ctx.notify(INTERVENTIONS)


class InterventionForm(_InterventionForm):
    """A new intervention: kind, start date, who is responsible, what it is."""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.kind = QComboBox(self)
        self.kind.setAccessibleName(_("Kind of intervention"))
        for code in KINDS:
            self.kind.addItem(label(code), code)
        self.start = QDateEdit(QDate.currentDate(), self)
        self.start.setCalendarPopup(True)
        self.start.setAccessibleName(_("Start date"))
        self.responsible = QLineEdit(self)
        self.responsible.setAccessibleName(_("Responsible"))
        self.responsible.setPlaceholderText(_("Who carries out the intervention"))
        self.description = QLineEdit(self)
        self.description.setAccessibleName(_("Description"))
        self.form.addRow(_("Intervention"), self.kind)
        self.form.addRow(_("Start"), self.start)
        self.form.addRow(_("Responsible"), self.responsible)
        self.form.addRow(_("Description"), self.description)
        self._finish_layout()

    def save(self) -> None:
        if self.case_id is None:
            return
        fields = {
            "kind": self.kind.currentData(),
            "start_date": _day(self.start),
            "responsible": self.responsible.text(),
            "description": self.description.text(),
        }
        self.save_button.setEnabled(False)
        self.ctx.call(_record, self.case_id, fields, on_done=self._saved, on_error=self._failed)


class EndInterventionForm(_InterventionForm):
    """Ending an ongoing intervention: the end date and its result."""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.intervention_id: str | None = None
        self.what = QLabel("", self)
        self.what.setObjectName("SectionTitle")
        self.end = QDateEdit(QDate.currentDate(), self)
        self.end.setCalendarPopup(True)
        self.end.setAccessibleName(_("End date"))
        self.outcome = QLineEdit(self)
        self.outcome.setAccessibleName(_("Result"))
        self.outcome.setPlaceholderText(_("What the intervention led to"))
        self.form.addRow(self.what)
        self.form.addRow(_("End"), self.end)
        self.form.addRow(_("Result"), self.outcome)
        self.save_button.setText(_("End the intervention"))
        self._finish_layout()

    def for_intervention(self, intervention: Any) -> None:
        self.intervention_id = intervention.id
        self.what.setText(label(intervention.kind))
        self.end.setDate(QDate.currentDate())
        self.outcome.clear()
        self.message.hide()
        self.show()
        self.outcome.setFocus()

    def save(self) -> None:
        if self.intervention_id is None:
            return
        self.save_button.setEnabled(False)
        self.ctx.call(
            _end,
            self.intervention_id,
            _day(self.end),
            self.outcome.text(),
            on_done=self._saved,
            on_error=self._failed,
        )
