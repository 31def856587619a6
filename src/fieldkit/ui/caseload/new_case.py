"""A new case from the caseload: case type, the person's name, personnummer (checked by the
service, whose clear message is shown beside the form, keeping what was typed), protected
identity level and address. The new case opens when it is saved."""

from __future__ import annotations

from typing import Any

from fieldkit.errors import FieldkitError
from fieldkit.i18n import _, render
from fieldkit.ui.context import CASES, AppContext
from fieldkit.ui.labels import label
from fieldkit.ui.qt import (
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

CASE_TYPES = ("individual_at_risk", "exit_support", "relative_support", "consultation")
PROTECTION_LEVELS = (
    "none",
    "confidentiality_marking",
    "protected_registration",
    "fictitious_identity",
)


def _create(session: Any, fields: dict[str, Any]) -> Any:
    from fieldkit.services import cases

    return cases.create_case(session, **fields)


class NewCaseDialog(QDialog):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.created: Any = None
        self.setWindowTitle(_("New case"))
        self.setModal(True)
        self.case_type = QComboBox(self)
        self.case_type.setAccessibleName(_("Case type"))
        for code in CASE_TYPES:
            self.case_type.addItem(label(code), code)
        self.name = QLineEdit(self)
        self.name.setAccessibleName(_("The person's name"))
        self.personnummer = QLineEdit(self)
        self.personnummer.setAccessibleName(_("Personnummer"))
        self.personnummer.setPlaceholderText(_("YYYYMMDD-NNNN (optional)"))
        self.protection = QComboBox(self)
        self.protection.setAccessibleName(_("Protected identity"))
        for code in PROTECTION_LEVELS:
            self.protection.addItem(label(code), code)
        self.address = QLineEdit(self)
        self.address.setAccessibleName(_("Address"))
        self.address.setPlaceholderText(_("Optional; hidden in the case until shown (logged)"))
        self.reference = QLineEdit(self)
        self.reference.setAccessibleName(_("Case number"))
        self.reference.setPlaceholderText(
            _("Optional: the case number in the municipality's system")
        )
        self.summary = QPlainTextEdit(self)
        self.summary.setAccessibleName(_("Summary"))
        self.summary.setTabChangesFocus(True)
        self.summary.setFixedHeight(70)
        form = QFormLayout()
        form.addRow(_("Case type"), self.case_type)
        form.addRow(_("Name"), self.name)
        form.addRow(_("Personnummer"), self.personnummer)
        form.addRow(_("Protected identity"), self.protection)
        form.addRow(_("Address"), self.address)
        form.addRow(_("Case number"), self.reference)
        form.addRow(_("Summary"), self.summary)
        self.message = QLabel("", self)
        self.message.setObjectName("ErrorNotice")
        self.message.setWordWrap(True)
        self.message.hide()
        self.save_button = QPushButton(_("Create the case"), self)
        self.save_button.setObjectName("Primary")
        self.save_button.setDefault(True)
        self.save_button.clicked.connect(self.save)
        cancel = QPushButton(_("Cancel"), self)
        cancel.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(cancel)
        buttons.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addLayout(buttons)
        self.resize(520, self.sizeHint().height())
        self.name.setFocus()

    def fields(self) -> dict[str, Any]:
        return {
            "case_type": self.case_type.currentData(),
            "person_name": self.name.text(),
            "personnummer": self.personnummer.text().strip() or None,
            "protected_identity": self.protection.currentData(),
            "address": self.address.text().strip() or None,
            "reference": self.reference.text().strip() or None,
            "summary": self.summary.toPlainText().strip(),
        }

    def save(self) -> None:
        if not self.save_button.isEnabled():
            return
        self.save_button.setEnabled(False)
        self.message.hide()
        self.ctx.call(_create, self.fields(), on_done=self._created, on_error=self._failed)

    def _created(self, case: Any) -> None:
        self.save_button.setEnabled(True)
        self.created = case
        self.ctx.wrote.emit()
        self.ctx.notify(CASES)
        self.accept()
        self.ctx.open_case_requested.emit(case.id)

    def _failed(self, exc: BaseException) -> None:
        self.save_button.setEnabled(True)
        if not isinstance(exc, FieldkitError):
            self.ctx.taskman.error.emit(exc)
            return
        self.message.setText(render(exc))
        self.message.show()
