"""What an editor could not save, kept in the vault and offered back when it opens again
(the assessment editor's answers, the journal editor's text): one notice for both.

The notice says when the work was written, and when it was written on an earlier version of
the draft (changed since, here or on another device) it says so, and shows the kept work so it
can be compared before restoring replaces the draft's newer content. When the draft can no
longer be changed (submitted, signed, gone) there is no restore into it: the kept work is shown
read-only, to copy, and goes only by the two-step discard."""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise

from fieldkit.ui.qt import (
    QFrame,
    QGuiApplication,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)


class KeptOffer(QFrame):
    """The notice with Restore (focused first; Enter or Space) and Discard, which asks again
    in place before it goes ahead; with ``details`` the kept work read-only beside a Copy
    button (the details come first in the focus order). Hidden until ``offer``."""

    def __init__(
        self,
        parent: QWidget,
        restore_label: str,
        restore_tip: str,
        on_restore: Callable[[], None],
        on_discard: Callable[[], None],
        discard_tip: str = "",
        *,
        copy_label: str = "",
        copied_label: str = "",
        details_name: str = "",
    ) -> None:
        super().__init__(parent)
        self.setObjectName("Notice")
        self.restore_label = restore_label
        self.copy_label, self.copied_label = copy_label, copied_label
        self.headline = QLabel("", self)  # what she must know first: the draft changed
        self.headline.setWordWrap(True)
        font = self.headline.font()
        font.setBold(True)
        self.headline.setFont(font)
        self.headline.hide()
        self.text = QLabel("", self)
        self.text.setWordWrap(True)
        self.more = QLabel("", self)  # how many more are kept, to be offered after this one
        self.more.setWordWrap(True)
        self.more.hide()
        self.details = QPlainTextEdit(self)
        self.details.setReadOnly(True)
        self.details.setTabChangesFocus(True)  # Tab moves on, as in the rest of the notice
        self.details.setAccessibleName(details_name)
        self.details.setMaximumHeight(160)
        self.details.hide()
        self.copy = QPushButton(copy_label, self)
        self.copy.setAutoDefault(True)
        self.copy.clicked.connect(self.copy_details)
        self.copy.hide()
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
        buttons.addWidget(self.copy)
        buttons.addStretch(1)
        buttons.addWidget(self.discard)
        buttons.addWidget(self.restore)
        layout = QVBoxLayout(self)
        layout.addWidget(self.headline)
        layout.addWidget(self.text)
        layout.addWidget(self.more)
        layout.addWidget(self.details)
        layout.addLayout(buttons)
        self.asked = False
        self.restorable = True
        self.hide()

    @property
    def offering(self) -> bool:
        return not self.isHidden()

    def offer(
        self,
        text: str,
        discard_label: str,
        *,
        details: str = "",
        restorable: bool = True,
        restore_label: str = "",
        headline: str = "",
        more: str = "",
    ) -> None:
        """Show ``text`` (under ``headline`` in bold, when given; ``more`` below it: what else
        is kept, to be offered after) with Discard, and Restore (labelled ``restore_label``
        when given) unless not ``restorable``; with ``details`` the kept work read-only and
        Copy, focused first, otherwise Restore."""
        self.headline.setText(headline)
        self.headline.setVisible(bool(headline))
        self.more.setText(more)
        self.more.setVisible(bool(more))
        self._say(text)
        self.discard.setText(discard_label)
        self.restorable = restorable
        self.restore.setText(restore_label or self.restore_label)
        self.restore.setVisible(restorable)
        self.restore.setEnabled(restorable)
        self.discard.setEnabled(True)
        self.details.setPlainText(details)
        self.details.setVisible(bool(details))
        self.copy.setText(self.copy_label)
        self.copy.setVisible(bool(details) and bool(self.copy_label))
        self.asked = False
        self.show()
        order = [
            w for w in (self.details, self.copy, self.restore, self.discard) if w.isVisibleTo(self)
        ]
        for first, then in pairwise(order):
            QWidget.setTabOrder(first, then)
        order[0].setFocus()

    def copy_details(self) -> None:
        """The kept work onto the clipboard, to paste where it is wanted."""
        QGuiApplication.clipboard().setText(self.details.toPlainText())
        if self.copied_label:
            self.copy.setText(self.copied_label)

    def confirm_discard(self, question: str, confirm_label: str) -> bool:
        """Discard pressed: the first time it asks ``question`` in place and answers False;
        the second time True, with the buttons off while the discarding runs
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
        self.restore.setEnabled(self.restorable)
        self.discard.setEnabled(True)

    def withdraw(self) -> None:
        self.hide()
        self.asked = False
        self.details.clear()  # the kept work is not left in a hidden widget

    def _say(self, text: str) -> None:
        self.text.setText(text)
        headline = self.headline.text() if self.headline.isVisibleTo(self) else ""
        more = self.more.text() if self.more.isVisibleTo(self) else ""
        self.setAccessibleDescription(" ".join(p for p in (headline, text, more) if p))
