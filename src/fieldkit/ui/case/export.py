"""Exporting PDF documents from the GUI: the same three actions as ``fieldkit export`` (an
assessment report, a journal extract, a subject-access extract), calling
``fieldkit.services.exports`` on the DB worker.

The user chooses where the file goes (the system's save dialog; nothing is written to a temp
folder), may protect it with a password (AES-256, typed twice), and gets a clear message that
says where the document went or what went wrong. When the organisation's policy turns exports
off, the actions are disabled with a note saying so.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fieldkit.errors import FieldkitError
from fieldkit.i18n import _, current_language, render
from fieldkit.ui.context import AppContext
from fieldkit.ui.qt import (
    QCheckBox,
    QComboBox,
    QDate,
    QDateEdit,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)
from fieldkit.ui.settings.access import setting_value

ASSESSMENT = "assessment"
JOURNAL = "journal"
SUBJECT = "subject"
KINDS = (ASSESSMENT, JOURNAL, SUBJECT)


def export_allowed(config: Any) -> bool:
    """Whether the organisation's policy lets documents leave fieldkit (``export_allowed``)."""
    return bool(setting_value(config, "export_allowed", True))


def policy_note() -> str:
    return _("Exporting documents is turned off by your organisation's policy.")


@dataclass(frozen=True)
class ExportRequest:
    kind: str
    record_id: str
    target: Path
    password: str | None = None
    language: str | None = None
    start: dt.date | None = None
    end: dt.date | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def run_export(session: Any, request: ExportRequest) -> Any:
    """On the worker: the export service for the request's kind. The user confirmed replacing
    an existing file in the save dialog, so the service may overwrite it."""
    from fieldkit.services import exports

    common: dict[str, Any] = {
        "password": request.password,
        "language": request.language,
        "overwrite": True,
    }
    if request.kind == ASSESSMENT:
        return exports.export_assessment(session, request.record_id, request.target, **common)
    if request.kind == JOURNAL:
        return exports.export_journal(
            session,
            request.record_id,
            request.target,
            start=request.start,
            end=request.end,
            **common,
        )
    if request.kind == SUBJECT:
        return exports.export_subject(session, request.record_id, request.target, **common)
    raise ValueError(f"unknown export kind {request.kind!r}")


def _pydate(value: QDate) -> dt.date:
    return dt.date(value.year(), value.month(), value.day())


def _min_password() -> int:
    from fieldkit.services.exports import MIN_PASSWORD

    return int(MIN_PASSWORD)


def _titles() -> dict[str, str]:
    return {
        ASSESSMENT: _("Print / export the assessment as PDF"),
        JOURNAL: _("Journal extract (PDF)"),
        SUBJECT: _("Subject-access extract (PDF)"),
    }


def _default_names() -> dict[str, str]:
    return {
        ASSESSMENT: _("assessment"),
        JOURNAL: _("journal-extract"),
        SUBJECT: _("subject-access-extract"),
    }


class ExportDialog(QDialog):
    """Options for one export, then the save dialog, then the result."""

    def __init__(
        self,
        ctx: AppContext,
        kind: str,
        record_id: str,
        reference: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        if kind not in KINDS:
            raise ValueError(kind)
        self.ctx = ctx
        self.kind = kind
        self.record_id = record_id
        self.reference = reference
        self.result_value: Any = None
        self.running = False
        self.setWindowTitle(_titles()[kind])
        self.setModal(True)

        intro = QLabel(self)
        intro.setWordWrap(True)
        if kind == ASSESSMENT:
            intro.setText(
                _(
                    "The assessment report with every answered item, the judgement, the review "
                    "and the risk/protective profile over time."
                )
            )
        elif kind == JOURNAL:
            intro.setText(
                _(
                    "The case's signed journal entries in order, with their corrections, "
                    "supplements and the person's own views."
                )
            )
        else:
            intro.setObjectName("Notice")
            intro.setText(
                _(
                    "DRAFT FOR SECRECY REVIEW: everything held about the person on this laptop. "
                    "Check it against the secrecy rules before anything is released to the "
                    "person."
                )
            )
        self.intro = intro

        form = QFormLayout()
        self.language = QComboBox(self)
        self.language.setAccessibleName(_("Language of the document"))
        self.language.addItem(_("Swedish"), "sv")
        self.language.addItem(_("English"), "en")
        self.language.setCurrentIndex(0 if current_language() == "sv" else 1)
        if kind == ASSESSMENT:
            form.addRow(_("Language"), self.language)
        else:
            self.language.hide()

        self.use_period = QCheckBox(_("Only a period"), self)
        today = QDate.currentDate()
        self.start = QDateEdit(today.addMonths(-6), self)
        self.start.setCalendarPopup(True)
        self.start.setAccessibleName(_("First day of the period"))
        self.end = QDateEdit(today, self)
        self.end.setCalendarPopup(True)
        self.end.setAccessibleName(_("Last day of the period"))
        self.use_period.toggled.connect(self._period_toggled)
        self._period_toggled(False)
        if kind == JOURNAL:
            period = QHBoxLayout()
            period.addWidget(self.use_period)
            period.addWidget(self.start)
            period.addWidget(QLabel("–", self))
            period.addWidget(self.end)
            period.addStretch(1)
            form.addRow(_("Period"), period)
        else:
            for w in (self.use_period, self.start, self.end):
                w.hide()

        self.password = QLineEdit(self)
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setAccessibleName(_("Password for the document (optional)"))
        self.password_again = QLineEdit(self)
        self.password_again.setEchoMode(QLineEdit.EchoMode.Password)
        self.password_again.setAccessibleName(_("The password again"))
        form.addRow(_("Password (optional)"), self.password)
        form.addRow(_("Password again"), self.password_again)
        hint = QLabel(
            _(
                "With a password the PDF is encrypted (AES-256) and opens only with it. Give "
                "the password to the recipient another way than the document."
            ),
            self,
        )
        hint.setObjectName("Hint")
        hint.setWordWrap(True)

        self.message = QLabel("", self)
        self.message.setWordWrap(True)
        self.message.hide()

        self.export_button = QPushButton(_("Choose where to save…"), self)
        self.export_button.setObjectName("Primary")
        self.export_button.setDefault(True)
        self.export_button.clicked.connect(self.choose_and_export)
        self.close_button = QPushButton(_("Close"), self)
        self.close_button.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.close_button)
        buttons.addWidget(self.export_button)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(hint)
        layout.addWidget(self.message)
        layout.addLayout(buttons)
        self.resize(560, self.sizeHint().height())

    def _period_toggled(self, on: bool) -> None:
        self.start.setEnabled(on)
        self.end.setEnabled(on)

    def _show(self, text: str, error: bool) -> None:
        self.message.setObjectName("ErrorNotice" if error else "Notice")
        self.message.style().unpolish(self.message)
        self.message.style().polish(self.message)
        self.message.setText(text)
        self.message.show()

    def _checked_password(self) -> str | bool | None:
        """The password, None for none, or False when what was typed cannot be used."""
        first, again = self.password.text(), self.password_again.text()
        if not first and not again:
            return None
        if first != again:
            self._show(_("The two passwords differ. Type the same password twice."), True)
            return False
        minimum = _min_password()
        if len(first) < minimum:
            self._show(
                _("A password for the document needs at least {minimum} characters.").format(
                    minimum=minimum
                ),
                True,
            )
            return False
        return first

    def _suggested_name(self) -> str:
        name = _default_names()[self.kind]
        if self.reference:
            name = f"{name}-{self.reference}"
        return str(Path.home() / f"{name}.pdf")

    def choose_and_export(self) -> None:
        if self.running:
            return
        if not export_allowed(self.ctx.config):
            self._show(policy_note(), True)
            return
        password = self._checked_password()
        if password is False:
            return
        if self.use_period.isChecked() and self.start.date() > self.end.date():
            self._show(_("The period starts after it ends. Check the dates."), True)
            return
        chosen, _filter = QFileDialog.getSaveFileName(
            self, _titles()[self.kind], self._suggested_name(), _("PDF documents (*.pdf)")
        )
        if not chosen:
            return  # the user cancelled the save dialog: nothing happens
        target = Path(chosen)
        if target.suffix.lower() != ".pdf":
            target = target.with_name(target.name + ".pdf")
        period = self.use_period.isChecked() and self.kind == JOURNAL
        request = ExportRequest(
            kind=self.kind,
            record_id=self.record_id,
            target=target,
            password=password if isinstance(password, str) else None,
            language=self.language.currentData() if self.kind == ASSESSMENT else None,
            start=_pydate(self.start.date()) if period else None,
            end=_pydate(self.end.date()) if period else None,
        )
        self.running = True
        self.export_button.setEnabled(False)
        self._show(_("Exporting…"), False)
        self.ctx.call(run_export, request, on_done=self._done, on_error=self._failed)

    def _done(self, result: Any) -> None:
        self.running = False
        self.export_button.setEnabled(True)
        self.result_value = result
        self.password.clear()
        self.password_again.clear()
        pages = int(getattr(result, "pages", 0))
        if getattr(result, "encrypted", False):
            text = _(
                "Saved to {path} (pages: {pages}), protected with the password. The export "
                "is recorded in the access log."
            )
        else:
            text = _(
                "Saved to {path} (pages: {pages}), without a password. The export is "
                "recorded in the access log."
            )
        self._show(text.format(path=str(result.path), pages=pages), False)

    def _failed(self, exc: BaseException) -> None:
        self.running = False
        self.export_button.setEnabled(True)
        if isinstance(exc, FieldkitError):
            text = render(exc)
        else:
            text = _("The document could not be exported ({error}). Nothing was saved.").format(
                error=type(exc).__name__
            )
        self._show(text, True)


def open_export(
    ctx: AppContext, kind: str, record_id: str, reference: str, parent: QWidget
) -> ExportDialog:
    """Open the export dialog (window-modal, not blocking the event loop)."""
    dialog = ExportDialog(ctx, kind, record_id, reference, parent)
    dialog.open()
    return dialog
