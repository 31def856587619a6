"""First run: enrol this laptop with the municipality's server (address preset and locked when
policy manages it, and a one-time code), choose a passphrase with its strength shown and the
rules explained, done. Or, clearly apart, a demo profile with made-up data for trying the app."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fieldkit.errors import N_, FieldkitError
from fieldkit.i18n import _, render
from fieldkit.ui.context import AppContext
from fieldkit.ui.qt import (
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)
from fieldkit.ui.settings.access import setting_value

STRENGTH_TEXT = {
    0: N_("Very weak"),
    1: N_("Weak"),
    2: N_("Fair"),
    3: N_("Good"),
    4: N_("Strong"),
}


def _strength(passphrase: str) -> int:
    from fieldkit.security import passphrase_strength

    return int(passphrase_strength(passphrase))


class StrengthMeter:
    """The passphrase strength bar and its word under a passphrase field, scored on the DB
    worker as the user types (the first-run wizard and the change of passphrase share it)."""

    def __init__(self, ctx: Any, field: QLineEdit, parent: QWidget) -> None:
        self.ctx = ctx
        self.bar = QProgressBar(parent)
        self.bar.setRange(0, 4)
        self.bar.setTextVisible(False)
        self.bar.setMaximumHeight(10)
        self.bar.setAccessibleName(_("Passphrase strength"))
        self.text = QLabel("", parent)
        self.text.setObjectName("Hint")
        field.textChanged.connect(self._changed)

    def add_to(self, form: QFormLayout) -> None:
        form.addRow(_("Strength"), self.bar)
        form.addRow("", self.text)

    def _changed(self, text: str) -> None:
        self.ctx.taskman.run(_strength, text, on_done=self._show)

    def _show(self, score: int) -> None:
        self.bar.setValue(score)
        self.text.setText(_(STRENGTH_TEXT.get(score, "")))


def _check(passphrase: str, config: Any) -> None:
    from fieldkit.security import check_passphrase
    from fieldkit.services.profile import security_policy

    check_passphrase(passphrase, security_policy(config))


def _create_demo(data_dir: Path, passphrase: str, name: str, config: Any) -> Any:
    from fieldkit.services import profile

    identity = profile.Identity.local(
        username="demo", display_name=name or "Demo", role="worker", team_name="Demo"
    )
    return profile.create_profile(data_dir, passphrase, identity, config)


def _enrol(data_dir: Path, server_url: str, code: str, passphrase: str, config: Any) -> Any:
    from fieldkit.services import sync

    return sync.enroll(data_dir, code, passphrase, server_url=server_url or None, config=config)


class FirstRunWizard(QWidget):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.mode = "enrol"
        self.pages = QStackedWidget(self)
        self.pages.addWidget(self._welcome_page())
        self.pages.addWidget(self._server_page())
        self.pages.addWidget(self._passphrase_page())
        card = QFrame(self)
        card.setObjectName("UnlockCard")
        card.setMaximumWidth(640)
        inner = QVBoxLayout(card)
        inner.setContentsMargins(28, 24, 28, 24)
        inner.addWidget(self.pages)
        outer = QVBoxLayout(self)
        outer.addStretch(1)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(card, 4)
        row.addStretch(1)
        outer.addLayout(row)
        outer.addStretch(2)

    # -- pages ---------------------------------------------------------------------------
    def _welcome_page(self) -> QWidget:
        page = QWidget(self)
        title = QLabel(_("Welcome to fieldkit"), page)
        title.setObjectName("PageTitle")
        text = QLabel(
            _(
                "fieldkit keeps your case notes and assessments encrypted on this laptop and "
                "works without a network. To start, connect the laptop to your municipality's "
                "server with the one-time code you got from your team lead or IT."
            ),
            page,
        )
        text.setWordWrap(True)
        self.enrol_button = QPushButton(_("Connect to my organisation"), page)
        self.enrol_button.setObjectName("Primary")
        self.enrol_button.clicked.connect(lambda: self._start("enrol"))
        demo_note = QLabel(
            _(
                "Just looking? A demo profile has made-up people and cases and is not "
                "connected to any organisation. Never write real case information in it."
            ),
            page,
        )
        demo_note.setWordWrap(True)
        demo_note.setObjectName("Hint")
        self.demo_button = QPushButton(_("Try a demo profile"), page)
        self.demo_button.clicked.connect(lambda: self._start("demo"))
        layout = QVBoxLayout(page)
        layout.addWidget(title)
        layout.addWidget(text)
        layout.addWidget(self.enrol_button)
        layout.addSpacing(18)
        layout.addWidget(demo_note)
        layout.addWidget(self.demo_button)
        layout.addStretch(1)
        return page

    def _server_page(self) -> QWidget:
        page = QWidget(self)
        title = QLabel(_("Connect to your organisation"), page)
        title.setObjectName("PageTitle")
        self.server = QLineEdit(page)
        self.server.setAccessibleName(_("Server address"))
        self.server.setPlaceholderText("https://fieldkit.kommun.se")
        preset = setting_value(self.ctx.config, "server_url")
        managed = bool(
            self.ctx.config is not None
            and hasattr(self.ctx.config, "is_managed")
            and self.ctx.config.is_managed("server_url")
        )
        if preset:
            self.server.setText(str(preset))
        self.server_managed = managed
        self.server.setReadOnly(managed)
        self.server.setEnabled(not managed)
        managed_note = QLabel(_("Set by your organisation's policy."), page)
        managed_note.setObjectName("Hint")
        managed_note.setVisible(managed)
        self.code = QLineEdit(page)
        self.code.setAccessibleName(_("One-time code"))
        self.code.setPlaceholderText(_("The code from your team lead or IT"))
        form = QFormLayout()
        form.addRow(_("Server address"), self.server)
        form.addRow("", managed_note)
        form.addRow(_("One-time code"), self.code)
        self.server_message = QLabel("", page)
        self.server_message.setObjectName("ErrorNotice")
        self.server_message.setWordWrap(True)
        self.server_message.hide()
        back = QPushButton(_("Back"), page)
        back.clicked.connect(lambda: self.pages.setCurrentIndex(0))
        nxt = QPushButton(_("Next"), page)
        nxt.setObjectName("Primary")
        nxt.clicked.connect(self._server_next)
        buttons = QHBoxLayout()
        buttons.addWidget(back)
        buttons.addStretch(1)
        buttons.addWidget(nxt)
        layout = QVBoxLayout(page)
        layout.addWidget(title)
        layout.addLayout(form)
        layout.addWidget(self.server_message)
        layout.addStretch(1)
        layout.addLayout(buttons)
        return page

    def _passphrase_page(self) -> QWidget:
        page = QWidget(self)
        self.pass_title = QLabel(_("Choose a passphrase"), page)
        self.pass_title.setObjectName("PageTitle")
        minimum = setting_value(self.ctx.config, "min_passphrase_length", 12) or 12
        rules = QLabel(
            _(
                "The passphrase protects everything on this laptop. Use at least {min} "
                "characters; several unrelated words are easy to remember and hard to guess. "
                "It cannot be recovered if you forget it, and after repeated wrong attempts "
                "the profile is locked."
            ).format(min=minimum),
            page,
        )
        rules.setWordWrap(True)
        self.name = QLineEdit(page)
        self.name.setAccessibleName(_("Your name (demo)"))
        self.name_label = QLabel(_("Your name"), page)
        self.pass1 = QLineEdit(page)
        self.pass1.setEchoMode(QLineEdit.EchoMode.Password)
        self.pass1.setAccessibleName(_("Passphrase"))
        self.pass2 = QLineEdit(page)
        self.pass2.setEchoMode(QLineEdit.EchoMode.Password)
        self.pass2.setAccessibleName(_("Repeat the passphrase"))
        self.strength = StrengthMeter(self.ctx, self.pass1, page)
        self.meter = self.strength.bar
        form = QFormLayout()
        form.addRow(self.name_label, self.name)
        form.addRow(_("Passphrase"), self.pass1)
        self.strength.add_to(form)
        form.addRow(_("Repeat the passphrase"), self.pass2)
        self.pass_message = QLabel("", page)
        self.pass_message.setWordWrap(True)
        self.pass_message.setObjectName("ErrorNotice")
        self.pass_message.hide()
        back = QPushButton(_("Back"), page)
        back.clicked.connect(self._back_from_passphrase)
        self.finish_button = QPushButton(_("Create profile"), page)
        self.finish_button.setObjectName("Primary")
        self.finish_button.clicked.connect(self.finish)
        buttons = QHBoxLayout()
        buttons.addWidget(back)
        buttons.addStretch(1)
        buttons.addWidget(self.finish_button)
        layout = QVBoxLayout(page)
        layout.addWidget(self.pass_title)
        layout.addWidget(rules)
        layout.addLayout(form)
        layout.addWidget(self.pass_message)
        layout.addStretch(1)
        layout.addLayout(buttons)
        return page

    # -- flow ----------------------------------------------------------------------------
    def _start(self, mode: str) -> None:
        self.mode = mode
        demo = mode == "demo"
        self.name.setVisible(demo)
        self.name_label.setVisible(demo)
        self.pass_title.setText(
            _("Demo profile: choose a passphrase") if demo else _("Choose a passphrase")
        )
        self.pages.setCurrentIndex(2 if demo else 1)
        (self.name if demo else self.code).setFocus()

    def _back_from_passphrase(self) -> None:
        self.pages.setCurrentIndex(0 if self.mode == "demo" else 1)

    def _server_next(self) -> None:
        if not self.server.text().strip() or not self.code.text().strip():
            self.server_message.setText(_("Enter the server address and the one-time code."))
            self.server_message.show()
            return
        self.server_message.hide()
        self.pages.setCurrentIndex(2)
        self.pass1.setFocus()

    def finish(self) -> None:
        if self.pass1.text() != self.pass2.text():
            self._error(_("The two passphrases are not the same."))
            return
        self.finish_button.setEnabled(False)
        self.pass_message.setObjectName("Hint")
        self.pass_message.setStyleSheet("")
        self.pass_message.setText(_("Setting up the encrypted profile…"))
        self.pass_message.show()
        if self.mode == "demo":
            self.ctx.taskman.run(
                _create_demo,
                self.ctx.data_dir,
                self.pass1.text(),
                self.name.text().strip(),
                self.ctx.config,
                on_done=self._created,
                on_error=self._failed,
            )
        else:
            self.ctx.taskman.run(
                _enrol,
                self.ctx.data_dir,
                self.server.text().strip(),
                self.code.text().strip(),
                self.pass1.text(),
                self.ctx.config,
                on_done=self._created,
                on_error=self._failed,
            )

    def _created(self, session: Any) -> None:
        self.pass1.clear()
        self.pass2.clear()
        self.ctx.set_session(session)

    def _failed(self, exc: BaseException) -> None:
        self.finish_button.setEnabled(True)
        if isinstance(exc, FieldkitError):
            self._error(render(exc))
        else:
            self._error(_("The profile could not be created: an unexpected error occurred."))
            self.ctx.taskman.error.emit(exc)

    def _error(self, text: str) -> None:
        self.pass_message.setObjectName("ErrorNotice")
        self.pass_message.setStyleSheet("")
        self.pass_message.setText(text)
        self.pass_message.show()
