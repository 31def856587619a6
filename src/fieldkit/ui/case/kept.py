"""What an editor could not save, kept in the vault and offered back when it opens again
(the assessment editor's answers, the journal editor's text): one notice for both.

The notice says when the work was written, and when it was written on an earlier version of
the draft (changed since, here or on another device) it says so, and shows the kept work so it
can be compared before restoring replaces the draft's newer content. When the draft can no
longer be changed (submitted, signed, gone) there is no restore into it: the kept work is shown
read-only, to copy, and goes only by the two-step discard.

What no editor can offer (answers of an assessment no longer on this laptop, kept work that
cannot be read back) is offered on the case page, above its tabs (``KeptElsewhere``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from fieldkit.ui.qt import (
    QFrame,
    QGuiApplication,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    Qt,
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
        focus: bool = True,
    ) -> None:
        """Show ``text`` (under ``headline`` in bold, when given; ``more`` below it: what else
        is kept, to be offered after) with Discard, and Restore (labelled ``restore_label``
        when given) unless not ``restorable``; with ``details`` the kept work read-only and
        Copy, focused first, otherwise Restore (unless not ``focus``: shown beside what she
        is doing, it waits for her there)."""
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
        if focus:
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


# --- kept work of the case that no editor can offer ------------------------------------------


@dataclass(frozen=True)
class Elsewhere:
    """One piece of kept work the case page offers (``load_elsewhere``): answers of an
    assessment no longer on this laptop (``unreadable`` False), or an entry that cannot be
    read back. ``text`` is what she can read and copy; ``startable``: a new assessment can
    be started with the answers (their form version is in use)."""

    work_id: str
    kind: str  # "note" or "assessment"
    kept_at: dt.datetime | None
    text: str
    unreadable: bool = False
    startable: bool = False
    form_title: str = ""


def load_elsewhere(session: Any, case_id: str, language: str) -> list[Elsewhere]:
    """On the worker: the case's kept work no editor offers, oldest first, as text."""
    from fieldkit.services import assessments, kept

    found: list[Elsewhere] = []
    for stray in assessments.stray_answers(session, case_id):
        form = assessments.known_form(stray.form_id, stray.form_version)
        title = ""
        if form is not None:
            title = f"{form.title.get(language) or next(iter(form.title.values()))}"
            title += f" ({form.version})"
        found.append(
            Elsewhere(
                stray.assessment_id,
                "assessment",
                stray.kept_at,
                assessments.kept_answers_text(form, stray.answers, stray.overrides, language),
                startable=stray.startable,
                form_title=title,
            )
        )
    for bad in kept.unreadable(session, case_id):
        found.append(Elsewhere(bad.work_id, bad.kind, bad.kept_at, bad.text, unreadable=True))
    return found


def _start(session: Any, case_id: str, work_id: str) -> Any:
    from fieldkit.services import assessments

    return assessments.start_from_stray(session, case_id, work_id)


def _discard(session: Any, case_id: str, work_id: str) -> Any:
    from fieldkit.services import kept

    return kept.discard_kept(session, case_id, work_id)


class KeptElsewhere(QWidget):
    """On the case page, above the tabs: kept work of the case that no editor can offer, one
    piece at a time (oldest first, with how many more there are). Answers of an assessment no
    longer on this laptop: read-only, Copy, Start a new assessment with them (when their form
    version is in use), and the two-step Discard. An entry that cannot be read back: what text
    it holds read-only with Copy, and the two-step Discard. Every vault call runs on the
    worker; ``on_started(assessment)`` is called with a new assessment to open."""

    def __init__(
        self, ctx: Any, parent: QWidget, on_started: Callable[[Any], None] | None = None
    ) -> None:
        super().__init__(parent)
        from fieldkit.i18n import _

        self.ctx = ctx
        self.on_started = on_started
        self.case_id: str | None = None
        self.items: list[Elsewhere] = []
        self.offer = KeptOffer(
            self,
            _("Start a new assessment with these answers"),
            _(
                "A new draft of the same form version; the answers go into it, or are offered "
                "to restore in it when the form does not accept them as they are."
            ),
            self.start,
            self.discard,
            discard_tip=_("Remove this kept work from the vault, for good"),
            copy_label=_("Copy the text"),
            copied_label=_("Copied"),
            details_name=_("The kept work"),
        )
        self.offer.setAccessibleName(_("Kept work that cannot be opened in an editor"))
        self.offer.details.setMaximumHeight(110)  # the case's tabs stay in view below it
        self.message = QLabel("", self)
        self.message.setObjectName("Hint")
        self.message.setWordWrap(True)
        self.message.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # where focus rests after
        self.message.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 0, 18, 4)
        layout.addWidget(self.offer)
        layout.addWidget(self.message)
        self.hide()

    @property
    def current(self) -> Elsewhere | None:
        return self.items[0] if self.items and self.offer.offering else None

    def show_items(self, case_id: str, items: list[Elsewhere]) -> None:
        if case_id != self.case_id:
            self.message.hide()
        self.case_id = case_id
        self.items = list(items)
        self._next(focus=False)

    def clear(self) -> None:
        self.items = []
        self.case_id = None
        self.offer.withdraw()
        self.message.hide()
        self.hide()

    def _next(self, *, focus: bool = True) -> None:
        from fieldkit.i18n import _
        from fieldkit.ui.i18n import fmt_datetime

        if not self.items:
            self.offer.withdraw()
            self.setVisible(self.message.isVisibleTo(self))
            return
        item = self.items[0]
        kept = _("kept {when}").format(when=fmt_datetime(item.kept_at)) if item.kept_at else ""
        more = ""
        if len(self.items) > 1:
            more = _("{count} more kept item(s) are shown after this one.").format(
                count=len(self.items) - 1
            )
        if item.unreadable:
            what = _("assessment answers") if item.kind == "assessment" else _("journal text")
            what = f"{what}, {kept}" if kept else what
            headline = _("A piece of kept work could not be read.")
            if item.text:
                text = _(
                    "Work kept in the encrypted vault ({what}) can no longer be read as it "
                    "was saved, so it cannot be restored. The text that could be recovered "
                    "from it is shown below: copy what you need. Discard it when you no "
                    "longer need it."
                ).format(what=what)
            else:
                text = _(
                    "Work kept in the encrypted vault ({what}) can no longer be read, and no "
                    "text could be recovered from it. Discard it to remove it."
                ).format(what=what)
        else:
            headline = _("Answers kept from an assessment that is no longer on this laptop.")
            form = item.form_title or _("a form version not on this laptop")
            text = _(
                "Answers you wrote in an assessment ({form}) were never saved, and the "
                "assessment has since been removed from this laptop, for example by a sync. "
                "The answers are kept in the encrypted vault and shown below."
            ).format(form=f"{form}, {kept}" if kept else form)
            if item.startable:
                text += " " + _(
                    "Start a new assessment with them, or copy what you need. Discard them "
                    "when you no longer need them."
                )
            else:
                text += " " + _(
                    "The form version they were written with is not in use, so no new "
                    "assessment can be started with them: copy what you need into a new "
                    "assessment. Discard them when you no longer need them."
                )
        self.offer.offer(
            text,
            _("Discard…"),
            details=item.text,
            restorable=item.startable and not item.unreadable,
            headline=headline,
            more=more,
            focus=focus,
        )
        self.show()

    def start(self) -> None:
        item = self.current
        if item is None or not item.startable or item.unreadable or self.case_id is None:
            return
        self.offer.restore.setEnabled(False)
        self.offer.discard.setEnabled(False)
        case_id = self.case_id
        self.ctx.call(
            _start,
            case_id,
            item.work_id,
            on_done=lambda a: self._started(case_id, item, a),
            on_error=lambda exc: self._failed(exc, case_id, None),
        )

    def _started(self, case_id: str, item: Elsewhere, assessment: Any) -> None:
        from fieldkit.i18n import _

        message = _("A new assessment was started with the kept answers.")
        self._done(case_id, item, message, focus=False)  # she goes on in the new assessment
        if self.on_started is not None:
            self.on_started(assessment)

    def discard(self) -> None:
        from fieldkit.i18n import _

        item = self.current
        if item is None or self.case_id is None:
            return
        if not self.offer.confirm_discard(
            _("Discard this kept work for good? It cannot be brought back afterwards."),
            _("Yes, discard it"),
        ):
            return
        case_id = self.case_id
        self.ctx.call(
            _discard,
            case_id,
            item.work_id,
            on_done=lambda _r: self._done(case_id, item, _("The kept work was discarded.")),
            on_error=lambda exc: self._failed(exc, case_id, item),
        )

    def _done(self, case_id: str, item: Elsewhere, message: str, *, focus: bool = True) -> None:
        if case_id != self.case_id:
            return
        self.items = [i for i in self.items if i.work_id != item.work_id]
        self.message.setText(message)
        self.message.show()
        self._next(focus=focus)
        if not self.items and focus:
            self.message.setFocus()

    def _failed(self, exc: BaseException, case_id: str, discarding: Elsewhere | None) -> None:
        """A call failed: said in place, the buttons on again; a discard of what is no longer
        kept (discarded elsewhere meanwhile) is done all the same."""
        from fieldkit.errors import FieldkitError
        from fieldkit.i18n import _, render
        from fieldkit.services.kept import NothingKept

        item = discarding
        if isinstance(exc, NothingKept) and item is not None and case_id == self.case_id:
            gone = _("This kept work is no longer in the vault (discarded elsewhere).")
            self._done(case_id, item, gone)
            return
        self.offer.failed()
        if isinstance(exc, FieldkitError):
            self.message.setText(render(exc))
        else:
            self.message.setText(_("An unexpected error occurred; nothing was lost."))
            self.ctx.taskman.error.emit(exc)
        self.message.show()
