"""The unlock screen: passphrase in, session out. Wrong passphrases are slowed down and, after
the policy's limit, the profile is locked out; both are shown honestly, with a countdown."""

from __future__ import annotations

import math
from typing import Any

from fieldkit.errors import FieldkitError
from fieldkit.i18n import _, render
from fieldkit.ui.context import AppContext
from fieldkit.ui.qt import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    Qt,
    QTimer,
    QVBoxLayout,
    QWidget,
)


def _who(data_dir: Any) -> str:
    """Whose profile this is (profile.json is not secret), for the unlock screen."""
    from fieldkit.services import profile

    info = profile.read_profile(data_dir)
    parts = [info.identity.display_name, info.identity.team_name]
    return " · ".join(p for p in parts if p)


def _open_session(data_dir: Any, passphrase: str, config: Any) -> Any:
    from fieldkit.services import profile

    return profile.open_session(data_dir, passphrase, config)


class UnlockScreen(QWidget):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self._retry_left = 0
        self._base_text = ""
        self._countdown = QTimer(self)
        self._countdown.setInterval(1000)
        self._countdown.timeout.connect(self._tick)

        card = QFrame(self)
        card.setObjectName("UnlockCard")
        card.setMaximumWidth(520)
        title = QLabel(_("fieldkit is locked"), card)
        title.setObjectName("PageTitle")
        self.who = QLabel("", card)
        self.who.setObjectName("Hint")
        explain = QLabel(
            _(
                "Enter your passphrase to open your case files. Everything on this laptop "
                "is kept encrypted."
            ),
            card,
        )
        explain.setWordWrap(True)
        self.passphrase = QLineEdit(card)
        self.passphrase.setEchoMode(QLineEdit.EchoMode.Password)
        self.passphrase.setPlaceholderText(_("Passphrase"))
        self.passphrase.setAccessibleName(_("Passphrase"))
        self.passphrase.returnPressed.connect(self.submit)
        self.unlock_button = QPushButton(_("Unlock"), card)
        self.unlock_button.setObjectName("Primary")
        self.unlock_button.setDefault(True)
        self.unlock_button.setAccessibleName(_("Unlock"))
        self.unlock_button.clicked.connect(self.submit)
        self.message = QLabel("", card)
        self.message.setWordWrap(True)
        self.message.setAccessibleName(_("Unlock message"))
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.hide()

        row = QHBoxLayout()
        row.addWidget(self.passphrase, 1)
        row.addWidget(self.unlock_button)
        inner = QVBoxLayout(card)
        inner.setContentsMargins(28, 24, 28, 24)
        inner.setSpacing(10)
        inner.addWidget(title)
        inner.addWidget(self.who)
        inner.addWidget(explain)
        inner.addLayout(row)
        inner.addWidget(self.message)

        outer = QVBoxLayout(self)
        outer.addStretch(1)
        center = QHBoxLayout()
        center.addStretch(1)
        center.addWidget(card, 3)
        center.addStretch(1)
        outer.addLayout(center)
        outer.addStretch(2)
        self.setTabOrder(self.passphrase, self.unlock_button)

    # -- behaviour -----------------------------------------------------------------------
    def prepare(self, who: str = "") -> None:
        """Show the screen fresh: empty field, focus in it."""
        self.who.setText(who)
        self.who.setVisible(bool(who))
        self.passphrase.clear()
        if not who:
            self.ctx.taskman.run(
                _who, self.ctx.data_dir, on_done=self._show_who, on_error=lambda _e: None
            )
        if not self._countdown.isActive():
            self._set_enabled(True)
        self.passphrase.setFocus()

    def _show_who(self, who: str) -> None:
        self.who.setText(who)
        self.who.setVisible(bool(who))

    def submit(self) -> None:
        text = self.passphrase.text()
        if not text or not self.unlock_button.isEnabled():
            return
        self._set_enabled(False)
        self._show(_("Unlocking…"), error=False)
        self.ctx.taskman.run(
            _open_session,
            self.ctx.data_dir,
            text,
            self.ctx.config,
            on_done=self._unlocked,
            on_error=self._failed,
        )
        self.passphrase.clear()

    def _unlocked(self, session: Any) -> None:
        self.message.hide()
        self._set_enabled(True)
        self.ctx.set_session(session)

    def _failed(self, exc: BaseException) -> None:
        if not isinstance(exc, FieldkitError):
            self._show(_("The profile could not be opened: an unexpected error occurred."), True)
            self._set_enabled(True)
            self.ctx.taskman.error.emit(exc)
            return
        retry_after = exc.params.get("retry_after")
        name = type(exc).__name__
        text = render(exc)
        attempts_left = exc.params.get("attempts_left")
        if name == "WrongPassphrase" and attempts_left is not None:
            text = _(
                "Wrong passphrase. {count} attempts left before the profile is locked."
            ).format(count=attempts_left)
        if name == "LockedOut":
            self._show(text, error=True)
            self.passphrase.setEnabled(False)
            self.unlock_button.setEnabled(False)
            return
        if retry_after:
            self._base_text = text
            self._retry_left = math.ceil(float(retry_after))
            self._tick_text()
            self._countdown.start()
        else:
            self._show(text, error=True)
            self._set_enabled(True)
            self.passphrase.setFocus()

    def _tick(self) -> None:
        self._retry_left -= 1
        if self._retry_left <= 0:
            self._countdown.stop()
            self._show(self._base_text, error=True)
            self._set_enabled(True)
            self.passphrase.setFocus()
            return
        self._tick_text()

    def _tick_text(self) -> None:
        self._set_enabled(False)
        wait = _("You can try again in {seconds} s.").format(seconds=self._retry_left)
        self._show(f"{self._base_text}\n{wait}", error=True)

    def _set_enabled(self, enabled: bool) -> None:
        self.passphrase.setEnabled(enabled)
        self.unlock_button.setEnabled(enabled)

    def _show(self, text: str, error: bool) -> None:
        self.message.setObjectName("ErrorNotice" if error else "Hint")
        self.message.setStyleSheet("")  # re-polish with the new object name
        self.message.setText(text)
        self.message.show()

    @property
    def counting_down(self) -> bool:
        return self._countdown.isActive()
