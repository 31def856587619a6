"""Recording a consent and a disclosure from the case. The rules (what a consent must state,
when a disclosure lacks consent or legal basis) are the services'; the form shows their
warnings before saving and asks for a written justification when one is needed."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fieldkit.errors import FieldkitError
from fieldkit.i18n import _, render
from fieldkit.ui.context import CONSENTS, AppContext
from fieldkit.ui.labels import CONSENT_GIVER, label
from fieldkit.ui.qt import (
    QComboBox,
    QDate,
    QDateEdit,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTimer,
    QWidget,
    Signal,
)

GIVERS = ("person", "guardian", "other")
RECIPIENT_KINDS = ("school", "police", "health", "social_services", "leisure", "other")
BASES = ("consent", "osl_10_18a", "duty", "necessary")


def _record_consent(session: Any, case_id: str, fields: dict[str, Any]) -> Any:
    from fieldkit.services import consents

    return consents.record_consent(session, case_id, **fields)


def _warnings(
    session: Any, case_id: str, recipient: str, kind: str, basis: str | None
) -> list[str]:
    from fieldkit.services import consents

    if not recipient.strip():
        return []
    return list(consents.disclosure_warnings(session, case_id, recipient, kind, basis))


def _record_disclosure(session: Any, case_id: str, fields: dict[str, Any]) -> Any:
    from fieldkit.services import consents

    return consents.record_disclosure(session, case_id, **fields)


def _combo(
    codes: tuple[str, ...],
    parent: QWidget,
    name: str,
    none: str | None = None,
    context: str | None = None,
) -> QComboBox:
    combo = QComboBox(parent)
    combo.setAccessibleName(name)
    if none is not None:
        combo.addItem(none, None)
    for code in codes:
        combo.addItem(label(code, context), code)
    return combo


class _Form(QFrame):
    saved = Signal()

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.case_id: str | None = None
        self.setObjectName("Card")
        self.form = QFormLayout(self)
        self.message = QLabel("", self)
        self.message.setWordWrap(True)
        self.message.setObjectName("ErrorNotice")
        self.message.hide()
        self.save_button = QPushButton(_("Save"), self)
        self.save_button.setObjectName("Primary")
        self.save_button.clicked.connect(self.save)
        self.cancel_button = QPushButton(_("Cancel"), self)
        self.cancel_button.clicked.connect(self.hide)

    def _finish_layout(self) -> None:
        buttons = QHBoxLayout()
        buttons.addWidget(self.message, 1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.save_button)
        self.form.addRow(buttons)

    def save(self) -> None:
        raise NotImplementedError

    def _saved(self, _record: Any) -> None:
        self.save_button.setEnabled(True)
        self.hide()
        self.ctx.wrote.emit()
        self.saved.emit()
        self.ctx.notify(CONSENTS)

    def _failed(self, exc: BaseException) -> None:
        self.save_button.setEnabled(True)
        if not isinstance(exc, FieldkitError):
            self.ctx.taskman.error.emit(exc)
            return
        self.message.setText(render(exc))
        self.message.show()


class ConsentForm(_Form):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.given_by = _combo(GIVERS, self, _("Given by"), context=CONSENT_GIVER)
        self.given_by_name = QLineEdit(self)
        self.given_by_name.setAccessibleName(_("Name of the one who consented"))
        self.recipients = QLineEdit(self)
        self.recipients.setAccessibleName(_("Recipients"))
        self.recipients.setPlaceholderText(
            _("Who may receive the information, separated by commas")
        )
        self.information = QLineEdit(self)
        self.information.setAccessibleName(_("Information"))
        self.purpose = QLineEdit(self)
        self.purpose.setAccessibleName(_("Purpose"))
        self.valid_until = QDateEdit(QDate.currentDate().addMonths(6), self)
        self.valid_until.setCalendarPopup(True)
        self.valid_until.setAccessibleName(_("Valid until"))
        self.form.addRow(_("Given by"), self.given_by)
        self.form.addRow(_("Name"), self.given_by_name)
        self.form.addRow(_("Recipients"), self.recipients)
        self.form.addRow(_("Information"), self.information)
        self.form.addRow(_("Purpose"), self.purpose)
        self.form.addRow(_("Valid until"), self.valid_until)
        self._finish_layout()

    def save(self) -> None:
        if self.case_id is None:
            return
        day = self.valid_until.date()
        fields = {
            "given_by": self.given_by.currentData(),
            "given_by_name": self.given_by_name.text(),
            "recipients": self.recipients.text(),
            "information": self.information.text(),
            "purpose": self.purpose.text(),
            "valid_until": dt.date(day.year(), day.month(), day.day()),
        }
        self.save_button.setEnabled(False)
        self.ctx.call(
            _record_consent, self.case_id, fields, on_done=self._saved, on_error=self._failed
        )


class DisclosureForm(_Form):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.recipient = QLineEdit(self)
        self.recipient.setAccessibleName(_("Recipient"))
        self.kind = _combo(RECIPIENT_KINDS, self, _("Kind of recipient"))
        self.information = QLineEdit(self)
        self.information.setAccessibleName(_("Information disclosed"))
        self.basis = _combo(BASES, self, _("Legal basis"), none=_("No legal basis stated"))
        self.warning = QLabel("", self)
        self.warning.setWordWrap(True)
        self.warning.setObjectName("Notice")
        self.warning.hide()
        self.justification = QLineEdit(self)
        self.justification.setAccessibleName(_("Justification"))
        self.justification.setPlaceholderText(
            _("Needed when there is no consent or legal basis: why the disclosure was made")
        )
        self.form.addRow(_("Recipient"), self.recipient)
        self.form.addRow(_("Kind of recipient"), self.kind)
        self.form.addRow(_("Information disclosed"), self.information)
        self.form.addRow(_("Legal basis"), self.basis)
        self.form.addRow(self.warning)
        self.form.addRow(_("Justification"), self.justification)
        self._finish_layout()
        self._check = QTimer(self)
        self._check.setSingleShot(True)
        self._check.setInterval(300)
        self._check.timeout.connect(self.check)
        self.recipient.textChanged.connect(lambda _t: self._check.start())
        self.kind.currentIndexChanged.connect(lambda _i: self._check.start())
        self.basis.currentIndexChanged.connect(lambda _i: self._check.start())
        self.warnings: list[str] = []

    def check(self) -> None:
        if self.case_id is None:
            return
        self.ctx.call(
            _warnings,
            self.case_id,
            self.recipient.text(),
            self.kind.currentData(),
            self.basis.currentData(),
            on_done=self._show_warnings,
            on_error=lambda _e: None,
        )

    def _show_warnings(self, warnings: list[str]) -> None:
        self.warnings = warnings
        text = " ".join(_(w) for w in warnings)
        if text:
            text += " " + _("Write a justification, or record a consent first.")
        self.warning.setText(text)
        self.warning.setVisible(bool(warnings))

    def save(self) -> None:
        if self.case_id is None:
            return
        fields = {
            "recipient": self.recipient.text(),
            "recipient_kind": self.kind.currentData(),
            "information": self.information.text(),
            "legal_basis": self.basis.currentData(),
            "justification": self.justification.text(),
        }
        self.save_button.setEnabled(False)
        self.ctx.call(
            _record_disclosure, self.case_id, fields, on_done=self._saved, on_error=self._failed
        )
