"""What an editor could not save, kept in the vault and offered back when it opens again
(the assessment editor's answers, the journal editor's text): one notice for both."""

from __future__ import annotations

from collections.abc import Callable

from fieldkit.ui.qt import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget


class KeptOffer(QFrame):
    """The notice with Restore (focused first; Enter or Space) and Discard, which asks again
    in place before it goes ahead. Hidden until ``offer``."""

    def __init__(
        self,
        parent: QWidget,
        restore_label: str,
        restore_tip: str,
        on_restore: Callable[[], None],
        on_discard: Callable[[], None],
        discard_tip: str = "",
    ) -> None:
        super().__init__(parent)
        self.setObjectName("Notice")
        self.text = QLabel("", self)
        self.text.setWordWrap(True)
        self.restore = QPushButton(restore_label, self)
        self.restore.setObjectName("Primary")
        self.restore.setAutoDefault(True)  # Enter, as well as Space, when it has focus
        self.restore.setToolTip(restore_tip)
        self.restore.clicked.connect(on_restore)
        self.discard = QPushButton("", self)
        self.discard.setAutoDefault(True)
        if discard_tip:
            self.discard.setToolTip(discard_tip)
        self.discard.clicked.connect(on_discard)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.discard)
        buttons.addWidget(self.restore)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addLayout(buttons)
        self.asked = False
        self.hide()

    @property
    def offering(self) -> bool:
        return not self.isHidden()

    def offer(self, text: str, discard_label: str) -> None:
        """Show ``text`` with both buttons, Restore focused."""
        self._say(text)
        self.discard.setText(discard_label)
        self.restore.setEnabled(True)
        self.discard.setEnabled(True)
        self.asked = False
        self.show()
        QWidget.setTabOrder(self.restore, self.discard)
        self.restore.setFocus()

    def confirm_discard(self, question: str, confirm_label: str) -> bool:
        """Discard pressed: the first time it asks ``question`` in place and answers False;
        the second time True, with both buttons off while the discarding runs
        (``failed`` turns them on again)."""
        if not self.asked:
            self.asked = True
            self._say(question)
            self.discard.setText(confirm_label)
            self.discard.setFocus()
            return False
        self.restore.setEnabled(False)
        self.discard.setEnabled(False)
        return True

    def failed(self) -> None:
        self.restore.setEnabled(True)
        self.discard.setEnabled(True)

    def withdraw(self) -> None:
        self.hide()
        self.asked = False

    def _say(self, text: str) -> None:
        self.text.setText(text)
        self.setAccessibleDescription(text)
