"""The profile's keys from the GUI: change the passphrase, and give the vault a new data key.

Both run on the DB worker through ``fieldkit.services.profile.Session`` (as ``fieldkit vault
passwd`` and ``rotate-key`` do): key derivation takes about a second and a rotation rewrites
the whole vault, never on the GUI thread. The new passphrase gets the first-run wizard's
strength meter and rules; a wrong old passphrase counts as a failed attempt like at the unlock
screen, and the service's message says so, with the attempts left."""

from __future__ import annotations

from typing import Any

from fieldkit.errors import FieldkitError, InvalidInput
from fieldkit.i18n import _, render
from fieldkit.ui.context import AppContext
from fieldkit.ui.firstrun.wizard import StrengthMeter
from fieldkit.ui.qt import (
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)
from fieldkit.ui.settings.access import setting_value


def _change_passphrase(session: Any, old: str, new: str) -> None:
    session.change_passphrase(old, new)


def _rotate_data_key(session: Any, passphrase: str) -> None:
    session.rotate_data_key(passphrase)


def _password_field(parent: QWidget, name: str) -> QLineEdit:
    field = QLineEdit(parent)
    field.setEchoMode(QLineEdit.EchoMode.Password)
    field.setAccessibleName(name)
    return field


class _KeyDialog(QDialog):
    """A small window-modal dialog: fields, a message line, Cancel and one action."""

    def __init__(self, ctx: AppContext, title: str, parent: QWidget | None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle(title)
        self.setModal(True)
        self.done_ok = False
        self.message = QLabel("", self)
        self.message.setWordWrap(True)
        self.message.hide()
        self.busy = QProgressBar(self)
        self.busy.setRange(0, 0)  # busy: no steps to count
        self.busy.setMaximumHeight(8)
        self.busy.setAccessibleName(_("Working"))
        self.busy.hide()
        self.cancel_button = QPushButton(_("Cancel"), self)
        self.cancel_button.clicked.connect(self.reject)
        self.action_button = QPushButton("", self)
        self.action_button.setObjectName("Primary")
        self.action_button.setDefault(True)
        self.action_button.clicked.connect(self.submit)
        self.buttons = QHBoxLayout()
        self.buttons.addStretch(1)
        self.buttons.addWidget(self.cancel_button)
        self.buttons.addWidget(self.action_button)

    def first_field(self) -> QLineEdit:
        raise NotImplementedError

    def submit(self) -> None:
        raise NotImplementedError

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        self.activateWindow()
        self.first_field().setFocus()

    def _working(self, text: str) -> None:
        self.action_button.setEnabled(False)
        self.cancel_button.setEnabled(False)
        self.busy.show()
        self._say(text, error=False)

    def _say(self, text: str, error: bool) -> None:
        self.message.setObjectName("ErrorNotice" if error else "Hint")
        self.message.setStyleSheet("")  # re-apply the style for the new object name
        self.message.setText(text)
        self.message.show()

    def _failed(self, exc: BaseException, focus: QLineEdit) -> None:
        self.busy.hide()
        self.action_button.setEnabled(True)
        self.cancel_button.setEnabled(True)
        if isinstance(exc, FieldkitError):
            self._say(render(exc), error=True)
        else:
            self._say(_("Nothing was changed: an unexpected error occurred."), error=True)
            self.ctx.taskman.error.emit(exc)
        focus.selectAll()
        focus.setFocus()

    def reject(self) -> None:
        if self.busy.isVisible():
            return  # the work is under way on the worker; it finishes, then the dialog closes
        super().reject()


class ChangePassphraseDialog(_KeyDialog):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, _("Change passphrase"), parent)
        minimum = setting_value(ctx.config, "min_passphrase_length", 12) or 12
        rules = QLabel(
            _(
                "The passphrase protects everything on this laptop. Use at least {min} "
                "characters; several unrelated words are easy to remember and hard to guess. "
                "It cannot be recovered if you forget it, and after repeated wrong attempts "
                "the profile is locked."
            ).format(min=minimum),
            self,
        )
        rules.setWordWrap(True)
        self.old = _password_field(self, _("Current passphrase"))
        self.new1 = _password_field(self, _("New passphrase"))
        self.new2 = _password_field(self, _("Repeat the new passphrase"))
        self.strength = StrengthMeter(self.ctx, self.new1, self)
        self.meter = self.strength.bar
        form = QFormLayout()
        for text, field in (
            (_("&Current passphrase"), self.old),
            (_("&New passphrase"), self.new1),
        ):
            label = QLabel(text, self)
            label.setBuddy(field)
            form.addRow(label, field)
        self.strength.add_to(form)
        repeat = QLabel(_("&Repeat the new passphrase"), self)
        repeat.setBuddy(self.new2)
        form.addRow(repeat, self.new2)
        self.action_button.setText(_("Change passphrase"))
        for field in (self.old, self.new1, self.new2):
            field.returnPressed.connect(self.submit)
        layout = QVBoxLayout(self)
        layout.addWidget(rules)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(self.busy)
        layout.addLayout(self.buttons)
        self.setTabOrder(self.old, self.new1)
        self.setTabOrder(self.new1, self.new2)
        self.setTabOrder(self.new2, self.action_button)
        self.setTabOrder(self.action_button, self.cancel_button)

    def first_field(self) -> QLineEdit:
        return self.old

    def submit(self) -> None:
        if not self.action_button.isEnabled():
            return
        if not self.old.text():
            self._say(_("Enter your current passphrase."), error=True)
            self.old.setFocus()
            return
        if self.new1.text() != self.new2.text():
            self._say(_("The two new passphrases are not the same."), error=True)
            self.new2.selectAll()
            self.new2.setFocus()
            return
        self._working(_("Changing the passphrase…"))
        started = self.ctx.call(
            _change_passphrase,
            self.old.text(),
            self.new1.text(),
            on_done=lambda _r: self._changed(),
            on_error=self._change_failed,
        )
        if started is None:  # locked meanwhile
            self.reject()

    def _change_failed(self, exc: BaseException) -> None:
        weak = getattr(exc, "code", "") == "weak_passphrase" or isinstance(exc, InvalidInput)
        self._failed(exc, self.new1 if weak else self.old)

    def _changed(self) -> None:
        for field in (self.old, self.new1, self.new2):
            field.clear()
        self.busy.hide()
        self.done_ok = True
        self.accept()


class RotateKeyDialog(_KeyDialog):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, _("New data key"), parent)
        text = QLabel(
            _(
                "The vault on this laptop is encrypted again with a new, random key. Do it "
                "when IT asks you to, or if you fear someone got hold of the old key. With a "
                "large caseload it can take a few minutes; keep fieldkit open until it is done. "
                "Your passphrase stays the same."
            ),
            self,
        )
        text.setWordWrap(True)
        self.passphrase = _password_field(self, _("Your passphrase"))
        self.passphrase.returnPressed.connect(self.submit)
        label = QLabel(_("&Your passphrase"), self)
        label.setBuddy(self.passphrase)
        form = QFormLayout()
        form.addRow(label, self.passphrase)
        self.action_button.setText(_("Encrypt with a new key"))
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(self.busy)
        layout.addLayout(self.buttons)
        self.setTabOrder(self.passphrase, self.action_button)
        self.setTabOrder(self.action_button, self.cancel_button)

    def first_field(self) -> QLineEdit:
        return self.passphrase

    def submit(self) -> None:
        if not self.action_button.isEnabled():
            return
        if not self.passphrase.text():
            self._say(_("Enter your passphrase."), error=True)
            return
        self._working(_("Encrypting the vault with a new key… This can take a few minutes."))
        started = self.ctx.call(
            _rotate_data_key,
            self.passphrase.text(),
            on_done=lambda _r: self._rotated(),
            on_error=lambda exc: self._failed(exc, self.passphrase),
        )
        if started is None:
            self.reject()

    def _rotated(self) -> None:
        self.passphrase.clear()
        self.busy.hide()
        self.done_ok = True
        self.accept()
