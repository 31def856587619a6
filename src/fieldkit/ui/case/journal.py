"""The journal of a case as a timeline, and the quick-note editor for the field.

Drafts are saved continuously: every change restarts a short timer, and when it fires the draft
is written through the worker (created on the first words, updated after). Signing asks for
confirmation in place, then saves and signs in order on the worker. Signed entries are read-only;
corrections, supplements and the person's own view are new entries linked to them.

What the editor holds and cannot save (a save that fails, or the app locking or closing, or
another case opening first) is kept inside the vault, and offered back — restore or discard —
when the case's journal is shown again (each piece of work on its own, oldest first: keeping one
never replaces another): with a warning and the text to compare when the draft
changed since it was written (saved here, or a newer version from another device), and, when
the draft can no longer be changed (signed meanwhile), read-only to copy or to start a new note
with, going only when she discards it."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from fieldkit.i18n import _
from fieldkit.ui.case.kept import KeptOffer
from fieldkit.ui.context import NOTES, AppContext
from fieldkit.ui.i18n import fmt_datetime
from fieldkit.ui.labels import label
from fieldkit.ui.qt import (
    QComboBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    Qt,
    QTextBrowser,
    QTimer,
    QVBoxLayout,
    QWidget,
)

AUTOSAVE_MS = 400
TIMELINE_PAGE = 100  # entries laid out at once; earlier ones on request
CONTACT_TYPES = ("visit", "phone", "digital", "outreach", "meeting", "other")
LINK_KINDS = ("correction", "supplement", "own_view")


def _value(v: Any) -> str:
    return str(getattr(v, "value", v) or "")


def _new_work() -> str:
    """A name for a new piece of work in the editor (``notes.new_work_id``'s kind, made here:
    it needs no vault, and the editor needs it before anything reaches the worker)."""
    from fieldkit.domain.ids import new_id

    return new_id()


def _create_draft(
    session: Any, case_id: str, fields: dict[str, Any], link: Any, work_id: str
) -> Any:
    from fieldkit.services import notes

    try:
        if link is not None:
            kind, original_id = link
            return notes.add_linked_note(
                session,
                original_id,
                kind,
                fields["text"],
                contact_type=fields["contact_type"],
                place=fields["place"],
                present=fields["present"],
                clears_kept=True,
                work_id=work_id,
            )
        return notes.add_note(session, case_id, **fields, clears_kept=True, work_id=work_id)
    except Exception:
        # not saved: what she wrote is kept inside the vault (the save's error is reported),
        # as this piece of work: beside anything else kept for the case, never over it
        with contextlib.suppress(Exception):
            notes.keep_unsaved_note(session, case_id, fields, link=link, work_id=work_id)
        raise


def _update_draft(
    session: Any,
    case_id: str,
    note_id: str,
    fields: dict[str, Any],
    written_on: Any,
    work_id: str,
) -> Any:
    from fieldkit.services import notes

    try:
        return notes.update_draft(session, note_id, clears_kept=True, work_id=work_id, **fields)
    except Exception:
        with contextlib.suppress(Exception):
            notes.keep_unsaved_note(
                session,
                case_id,
                fields,
                draft_id=note_id,
                written_on=written_on,
                work_id=work_id,
            )
        raise


def _keep(
    session: Any,
    case_id: str,
    fields: dict[str, Any],
    draft_id: str | None,
    link: Any,
    written_on: Any,
    work_id: str,
) -> bool:
    from fieldkit.services import notes

    return notes.keep_unsaved_note(
        session,
        case_id,
        fields,
        draft_id=draft_id,
        link=link,
        written_on=written_on,
        work_id=work_id,
    )


def _reuse(session: Any, case_id: str, work_id: str) -> Any:
    from fieldkit.services import notes

    return notes.reuse_unsaved_note(session, case_id, work_id)


def _kept(session: Any, case_id: str) -> list[Any]:
    from fieldkit.services import notes

    return notes.unsaved_notes(session, case_id)


def _discard(session: Any, case_id: str, work_id: str) -> None:
    from fieldkit.services import notes

    notes.discard_unsaved_note(session, case_id, work_id)


def _sign(session: Any, note_id: str) -> Any:
    from fieldkit.services import notes

    return notes.sign_note(session, note_id)


def _list_notes(session: Any, case_id: str) -> list[Any]:
    from fieldkit.services import notes

    return list(notes.list_notes(session, case_id))


def entry_heading(note: Any, names: dict[str, str]) -> str:
    parts = [fmt_datetime(note.event_time), label(note.contact_type)]
    if note.place:
        parts.append(note.place)
    author = note.author_name or names.get(note.author_id, "")
    if author:
        parts.append(author)
    return " · ".join(p for p in parts if p)


def entry_state(note: Any) -> str:
    if _value(note.state) == "signed":
        return _("Signed {when}").format(when=fmt_datetime(note.signed_at))
    return _("Draft — not signed")


class JournalTab(QWidget):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.case_id: str | None = None
        self.notes: list[Any] = []
        self.names: dict[str, str] = {}
        # the draft in the editor
        self.draft_id: str | None = None
        self.draft_base: Any = None  # the draft as last saved or loaded (what she writes on)
        self.link: tuple[str, str] | None = None  # (kind, original id) for a linked entry
        self.work_id = _new_work()  # names this piece of work where it is kept in the vault
        self._saving = False
        self._dirty = False
        self._after_save: list[Callable[[], None]] = []
        self.saved_count = 0
        self.kept: Any = None  # the text kept in the vault, while it is offered back
        self._items: dict[str, QListWidgetItem] = {}
        self._by_id: dict[str, Any] = {}
        self._links: dict[str, list[Any]] = {}
        self.shown_from = 0  # index in self.notes of the first entry in the timeline

        # -- timeline
        self.timeline = QListWidget(self)
        self.timeline.setAccessibleName(_("Journal timeline"))
        # one line per fact, no wrapping: a long journal lays out fast; the full text shows below
        self.timeline.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.timeline.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.timeline.setObjectName("Timeline")
        self.timeline.setSpacing(2)
        self.timeline.currentItemChanged.connect(self._selected)
        self.detail = QTextBrowser(self)
        self.detail.setAccessibleName(_("Selected journal entry"))
        self.detail.setOpenLinks(False)
        self.link_buttons: dict[str, QPushButton] = {}
        links_row = QHBoxLayout()
        for kind, text in (
            ("correction", _("Write a correction")),
            ("supplement", _("Write a supplement")),
            ("own_view", _("Add the person's view")),
        ):
            button = QPushButton(text, self)
            button.clicked.connect(lambda _c=False, k=kind: self.start_linked(k))
            button.setEnabled(False)
            button.setToolTip(
                _("A new entry linked to the selected signed entry; the original stays as it is.")
            )
            self.link_buttons[kind] = button
            links_row.addWidget(button)
        self.edit_draft_button = QPushButton(_("Continue this draft"), self)
        self.edit_draft_button.clicked.connect(self._edit_selected_draft)
        self.edit_draft_button.hide()
        links_row.addWidget(self.edit_draft_button)
        links_row.addStretch(1)
        left = QWidget(self)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        # A long journal shows its latest entries first; earlier ones on request (laying out
        # hundreds of entries at once made opening a case slow).
        self.earlier_button = QPushButton("", left)
        self.earlier_button.clicked.connect(self.show_earlier)
        self.earlier_button.hide()
        left_layout.addWidget(self.earlier_button)
        left_layout.addWidget(self.timeline, 3)
        left_layout.addWidget(self.detail, 2)
        left_layout.addLayout(links_row)

        # -- quick-note editor
        editor = QFrame(self)
        editor.setObjectName("Card")
        self.editor_title = QLabel(_("New journal note"), editor)
        self.editor_title.setObjectName("SectionTitle")
        self.link_label = QLabel("", editor)
        self.link_label.setObjectName("Notice")
        self.link_label.setWordWrap(True)
        self.link_label.hide()
        self.contact_type = QComboBox(editor)
        self.contact_type.setAccessibleName(_("Contact type"))
        for code in CONTACT_TYPES:
            self.contact_type.addItem(label(code), code)
        self.place = QLineEdit(editor)
        self.place.setAccessibleName(_("Place"))
        self.place.setPlaceholderText(_("Where it happened, e.g. the youth centre"))
        self.present = QLineEdit(editor)
        self.present.setAccessibleName(_("Present"))
        self.present.setPlaceholderText(_("Who was present, separated by commas"))
        self.text = QPlainTextEdit(editor)
        self.text.setAccessibleName(_("Journal text"))
        self.text.setPlaceholderText(_("What happened, what was said, what was agreed."))
        self.save_state = QLabel("", editor)
        self.save_state.setObjectName("Hint")
        self.save_state.setAccessibleName(_("Save status"))
        self.sign_button = QPushButton(_("Sign…"), editor)
        self.sign_button.setObjectName("Primary")
        self.sign_button.setToolTip(_("Sign the note (Ctrl+Enter)"))
        self.sign_button.clicked.connect(self.ask_sign)
        self.new_button = QPushButton(_("New note"), editor)
        self.new_button.setToolTip(_("Start a new note (Ctrl+N)"))
        self.new_button.clicked.connect(self.new_note)
        # in-place confirmation
        self.confirm = QFrame(editor)
        self.confirm.setObjectName("Notice")
        confirm_text = QLabel(
            _(
                "Signing makes the entry final: it can no longer be changed, only corrected "
                "or supplemented by a new entry. Sign now?"
            ),
            self.confirm,
        )
        confirm_text.setWordWrap(True)
        self.confirm_yes = QPushButton(_("Sign the entry"), self.confirm)
        self.confirm_yes.setObjectName("Primary")
        self.confirm_yes.clicked.connect(self.sign_confirmed)
        self.confirm_no = QPushButton(_("Cancel"), self.confirm)
        self.confirm_no.clicked.connect(self.confirm.hide)
        confirm_layout = QVBoxLayout(self.confirm)
        confirm_layout.addWidget(confirm_text)
        confirm_buttons = QHBoxLayout()
        confirm_buttons.addStretch(1)
        confirm_buttons.addWidget(self.confirm_no)
        confirm_buttons.addWidget(self.confirm_yes)
        confirm_layout.addLayout(confirm_buttons)
        self.confirm.hide()
        # what was kept in the vault, offered back
        self.offer = KeptOffer(
            editor,
            _("Restore the text"),
            _("Put the kept text back in the editor; it is saved as you go on writing."),
            self.restore_unsaved,
            self.discard_unsaved,
            copy_label=_("Copy the text"),
            copied_label=_("Copied"),
            details_name=_("The kept text"),
        )
        self.offer.setAccessibleName(_("Unsaved text kept"))
        self.offer_text, self.restore_button, self.discard_button = (
            self.offer.text,
            self.offer.restore,
            self.offer.discard,
        )

        form = QFormLayout()
        form.addRow(_("Contact type"), self.contact_type)
        form.addRow(_("Place"), self.place)
        form.addRow(_("Present"), self.present)
        buttons = QHBoxLayout()
        buttons.addWidget(self.save_state, 1)
        buttons.addWidget(self.new_button)
        buttons.addWidget(self.sign_button)
        editor_layout = QVBoxLayout(editor)
        editor_layout.addWidget(self.editor_title)
        editor_layout.addWidget(self.offer)
        editor_layout.addWidget(self.link_label)
        editor_layout.addLayout(form)
        editor_layout.addWidget(self.text, 1)
        editor_layout.addWidget(self.confirm)
        editor_layout.addLayout(buttons)

        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(left)
        splitter.addWidget(editor)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(splitter)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(AUTOSAVE_MS)
        self._timer.timeout.connect(self.save_now)
        self.text.textChanged.connect(self._changed)
        self.place.textChanged.connect(self._changed)
        self.present.textChanged.connect(self._changed)
        self.contact_type.currentIndexChanged.connect(self._changed)
        self.setTabOrder(self.contact_type, self.place)
        self.setTabOrder(self.place, self.present)
        self.setTabOrder(self.present, self.text)
        self.setTabOrder(self.text, self.sign_button)
        self._loading_editor = False
        self._update_buttons()
        ctx.unlocked.connect(self._resume)

    # -- showing the journal -------------------------------------------------------------
    def show_notes(self, case_id: str, notes: list[Any], names: dict[str, str]) -> None:
        if case_id != self.case_id:
            self.keep_unsaved()  # what the editor holds for the case before goes to the vault
            self._hide_offer()
            self.case_id = case_id
            self._clear_editor()
            self.ctx.call(_kept, case_id, on_done=self._offer)
        self.names = names
        self.notes = list(notes)
        self._index()
        current = self.timeline.currentItem()
        keep = current.data(Qt.ItemDataRole.UserRole) if current is not None else None
        start = max(0, len(self.notes) - TIMELINE_PAGE)
        if keep is not None:
            kept_at = next((i for i, n in enumerate(self.notes) if n.id == keep), None)
            if kept_at is not None:
                start = min(start, kept_at)
        self.timeline.setUpdatesEnabled(False)
        try:
            self.timeline.clear()
            self._items = {}
            self.shown_from = start
            for note in self.notes[start:]:
                self._make_item(note)
        finally:
            self.timeline.setUpdatesEnabled(True)
        self._update_earlier()
        selected = self._items.get(keep) if keep is not None else None
        if selected is not None:
            self.timeline.setCurrentItem(selected)
        if self.timeline.currentItem() is None and self.timeline.count():
            self.timeline.scrollToBottom()

    def show_earlier(self) -> None:
        """Put the next page of earlier entries at the top of the timeline."""
        start = max(0, self.shown_from - TIMELINE_PAGE)
        self.timeline.setUpdatesEnabled(False)
        try:
            for note in reversed(self.notes[start : self.shown_from]):
                self._make_item(note, row=0)
        finally:
            self.timeline.setUpdatesEnabled(True)
        self.shown_from = start
        self._update_earlier()

    def _update_earlier(self) -> None:
        hidden = self.shown_from
        self.earlier_button.setVisible(hidden > 0)
        self.earlier_button.setText(_("Show earlier entries ({count} more)").format(count=hidden))

    def _index(self) -> None:
        self._by_id = {n.id: n for n in self.notes}
        self._links = {}
        for note in self.notes:
            if note.link_to:
                self._links.setdefault(note.link_to, []).append(note)

    def _item_text(self, note: Any) -> str:
        lines = [entry_heading(note, self.names), entry_state(note)]
        if note.link_kind is not None:
            original = self._by_id.get(note.link_to or "")
            lines.append(
                _("{kind} to the entry of {when}").format(
                    kind=label(note.link_kind),
                    when=fmt_datetime(original.event_time) if original else "?",
                )
            )
        linked = self._links.get(note.id, [])
        if linked:
            lines.append(
                _("Has {count} linked entries: {kinds}").format(
                    count=len(linked), kinds=", ".join(label(n.link_kind) for n in linked)
                )
            )
        preview = " ".join(note.text.split())
        lines.append(preview[:150] + ("…" if len(preview) > 150 else ""))
        return "\n".join(lines)

    def _make_item(self, note: Any, row: int | None = None) -> QListWidgetItem:
        item = QListWidgetItem(self._item_text(note))
        item.setData(Qt.ItemDataRole.UserRole, note.id)
        item.setToolTip(" ".join(note.text.split())[:600])
        if row is None:
            self.timeline.addItem(item)
        else:
            self.timeline.insertItem(row, item)
        self._items[note.id] = item
        return item

    def reload(self) -> None:
        if self.case_id is None:
            return
        case_id = self.case_id
        self.ctx.call(
            _list_notes, case_id, on_done=lambda notes: self.show_notes(case_id, notes, self.names)
        )

    def selected_note(self) -> Any:
        item = self.timeline.currentItem()
        if item is None:
            return None
        note_id = item.data(Qt.ItemDataRole.UserRole)
        return next((n for n in self.notes if n.id == note_id), None)

    def _selected(self, *_args: Any) -> None:
        note = self.selected_note()
        if note is None:
            self.detail.clear()
            self._update_buttons()
            return
        head = [entry_heading(note, self.names), entry_state(note)]
        if note.present:
            head.append(_("Present: {names}").format(names=", ".join(note.present)))
        self.detail.setPlainText("\n".join([*head, "", note.text]))
        self._update_buttons()

    def _update_buttons(self) -> None:
        note = self.selected_note()
        signed = note is not None and _value(note.state) == "signed"
        for button in self.link_buttons.values():
            button.setEnabled(signed)
        mine_draft = (
            note is not None
            and not signed
            and self.ctx.is_unlocked
            and note.author_id == self.ctx.identity.user_id
            and note.id != self.draft_id
        )
        self.edit_draft_button.setVisible(bool(mine_draft))
        has_text = bool(self.text.toPlainText().strip())
        self.sign_button.setEnabled(has_text)

    # -- editing -------------------------------------------------------------------------
    def fields(self) -> dict[str, Any]:
        return {
            "text": self.text.toPlainText(),
            "contact_type": self.contact_type.currentData(),
            "place": self.place.text(),
            "present": [p.strip() for p in self.present.text().split(",") if p.strip()],
        }

    def _changed(self, *_args: Any) -> None:
        if self._loading_editor:
            return
        self._dirty = True
        self.save_state.setText(_("Not saved yet…"))
        self.confirm.hide()
        self._update_buttons()
        self._timer.start()

    def save_now(self, then: Callable[[], None] | None = None) -> None:
        """Write the draft now (through the worker); ``then`` runs once it is on disk."""
        self._timer.stop()
        if then is not None:
            self._after_save.append(then)
        if self._saving:
            return  # the running save will look at _dirty and the callbacks when it ends
        if not self._dirty or self.case_id is None or not self.ctx.is_unlocked:
            self._run_after_save()
            return
        fields = self.fields()
        if not fields["text"].strip():
            self._run_after_save()
            return  # nothing to keep yet: a note needs text
        self._dirty = False
        self._saving = True
        if self.draft_id is None:
            self.ctx.call(
                _create_draft,
                self.case_id,
                fields,
                self.link,
                self.work_id,
                on_done=self._saved,
                on_error=self._save_failed,
            )
        else:
            self.ctx.call(
                _update_draft,
                self.case_id,
                self.draft_id,
                fields,
                self.draft_base,
                self.work_id,
                on_done=self._saved,
                on_error=self._save_failed,
            )

    def _saved(self, note: Any) -> None:
        self.ctx.wrote.emit()
        self._saving = False
        self.draft_id = note.id
        self.draft_base = note
        self.saved_count += 1
        self.save_state.setText(_("Draft saved {when}").format(when=fmt_datetime(note.updated_at)))
        self._merge(note)
        if self._dirty:
            self.save_now()
        else:
            self._run_after_save()

    def _save_failed(self, exc: BaseException) -> None:
        self._saving = False
        self._dirty = True  # keep what was typed; it is still in the editor
        self._after_save.clear()
        from fieldkit.errors import FieldkitError
        from fieldkit.i18n import render

        if isinstance(exc, FieldkitError):
            self.save_state.setText(_("Not saved: {reason}").format(reason=render(exc)))
        else:
            self.save_state.setText(_("Not saved: an unexpected error occurred."))
            self.ctx.taskman.error.emit(exc)

    def _run_after_save(self) -> None:
        callbacks, self._after_save = self._after_save, []
        for callback in callbacks:
            callback()

    def _merge(self, note: Any) -> None:
        """Show a saved or signed entry in the timeline without re-reading the journal."""
        # One item changes (typing saves a draft every few hundred ms: re-laying out a long
        # journal each time would make the editor stutter).
        for i, existing in enumerate(self.notes):
            if existing.id == note.id:
                self.notes[i] = note
                break
        else:
            self.notes.append(note)
        self._by_id[note.id] = note
        if note.link_to:
            siblings = self._links.setdefault(note.link_to, [])
            siblings[:] = [n for n in siblings if n.id != note.id] + [note]
        item = self._items.get(note.id)
        if item is None:
            self._make_item(note)
        else:
            item.setText(self._item_text(note))
            item.setToolTip(" ".join(note.text.split())[:600])
        original = self._items.get(note.link_to or "")
        if original is not None:
            target = self._by_id[note.link_to or ""]
            original.setText(self._item_text(target))
        if self.timeline.currentItem() is self._items.get(note.id):
            self._selected()

    def flush(self, then: Callable[[], None] | None = None) -> None:
        self.save_now(then)

    # -- text kept in the vault ----------------------------------------------------------
    def keep_unsaved(self) -> None:
        """What the editor holds and has not saved goes into the vault now, on the worker,
        ahead of whatever is queued after (the lock that closes the vault, the app's shutdown).
        A save that then succeeds removes it again. At lock, at close, when the case changes."""
        if not self._dirty or self.case_id is None or not self.ctx.is_unlocked:
            return
        self.ctx.call(
            _keep,
            self.case_id,
            self.fields(),
            self.draft_id,
            self.link,
            self.draft_base,
            self.work_id,
            on_error=lambda _exc: None,  # the save queued after reports the problem
        )

    def _resume(self) -> None:
        """Unlocked again with text still unsaved in the editor: save it as usual."""
        if self._dirty and self.case_id is not None:
            self._timer.start()

    @property
    def offering(self) -> bool:
        return self.offer.offering

    def _offer_waiting(self) -> None:
        """The editor is free again (a note signed or begun, kept text discarded): what else
        is kept for the case is offered now."""
        if self.case_id is not None and self.ctx.is_unlocked and not self.offering:
            self.ctx.call(_kept, self.case_id, on_done=self._offer)

    def _offer(self, found: Any) -> None:
        """Offer the kept text back, the oldest piece of work first and one at a time, unless
        she has started writing meanwhile (then it stays kept, beside what she writes, and is
        offered once the editor is free again or the next time the case opens)."""
        pending = [k for k in (found or ()) if k.case_id == self.case_id]
        if (
            not pending
            or self.offering
            or self._dirty
            or self.draft_id is not None
            or self.text.toPlainText().strip()
        ):
            return
        kept = pending[0]
        self.kept = kept
        when = fmt_datetime(kept.kept_at) if kept.kept_at else "?"
        restore_label, details, headline = "", "", ""
        if not kept.restorable:
            if kept.draft_state == "signed":
                headline = _(
                    "The note has been signed since you wrote this text: it can no longer be "
                    "changed."
                )
                text = _(
                    "Text you wrote in a draft journal note of this case ({when}) was never "
                    "saved, and the note has since been signed ({signed}). A signed entry can "
                    "no longer be changed, so the text cannot be put back into it. It is kept "
                    "in the encrypted vault and shown below: copy it, or start a new note with "
                    "it. Discard it when you no longer need it."
                ).format(when=when, signed=fmt_datetime(kept.signed_at))
            else:
                headline = _(
                    "The draft can no longer be changed here: your text cannot be restored into it."
                )
                text = _(
                    "Text you wrote in a draft journal note of this case ({when}) was never "
                    "saved, and that draft can no longer be changed here (it is no longer on "
                    "this laptop, or it is not yours). The text is kept in the encrypted vault "
                    "and shown below: copy it, or start a new note with it. Discard it when you "
                    "no longer need it."
                ).format(when=when)
            restore_label, details = _("Start a new note with this text"), kept.text
        elif kept.changed_at is not None:
            headline = _("The draft has been changed since you wrote this text ({changed}).")
            headline = headline.format(changed=fmt_datetime(kept.changed_at))
            text = _(
                "Text you wrote in a draft journal note of this case ({when}) was never saved. "
                "It was written on an earlier version of the draft, and the draft has been "
                "changed since ({changed}), on this laptop or on another device. Restoring "
                "replaces the draft's current text with yours. Your text is shown below: "
                "compare it with the draft in the journal before you choose."
            ).format(when=when, changed=fmt_datetime(kept.changed_at))
            details = kept.text
        else:
            text = _(
                "Text you wrote in a journal note of this case ({when}) was never saved: the app "
                "locked or closed first, or the note could not be saved. It has been kept in the "
                "encrypted vault. Restore it to go on where you left off, or discard it."
            ).format(when=when)
        more = ""
        if len(pending) > 1:
            more = _(
                "{count} unsaved texts are kept for this case. This is the oldest; the others "
                "are offered after it, one at a time."
            ).format(count=len(pending))
            details = details or kept.text  # which of them this is: the text tells
        self.offer.offer(
            text,
            _("Discard it…"),
            details=details,
            restore_label=restore_label,
            headline=headline,
            more=more,
        )
        self._set_editing(False)

    def _set_editing(self, enabled: bool) -> None:
        for widget in (self.contact_type, self.place, self.present, self.text, self.new_button):
            widget.setEnabled(enabled)
        self._update_buttons()
        if not enabled:
            self.sign_button.setEnabled(False)

    def _hide_offer(self) -> None:
        if self.offering:
            self.offer.withdraw()
            self._set_editing(True)
        self.kept = None

    def restore_unsaved(self) -> None:
        """Put the kept text back in the editor, unsaved: it is saved as if just typed. Text
        whose draft can no longer be changed becomes the kept text of a new note first (on the
        worker, so nothing is lost on the way) and goes into the editor as a new note."""
        kept = self.kept
        if kept is None or not self.offering:
            return
        if not kept.restorable:
            case_id = kept.case_id
            self.offer.restore.setEnabled(False)
            self.ctx.call(
                _reuse,
                case_id,
                kept.work_id,
                on_done=lambda found: self._reused(case_id, found),
                on_error=self._discard_failed,
            )
            return
        self._hide_offer()
        self._clear_editor()
        self._loading_editor = True
        self.work_id = kept.work_id  # the same piece of work: kept again, it replaces itself
        self.draft_id = kept.draft_id
        self.draft_base = None  # the draft as stored now: she chose to replace it
        self.link = kept.link
        self.text.setPlainText(kept.text)
        self.place.setText(kept.place)
        self.present.setText(", ".join(kept.present))
        index = self.contact_type.findData(kept.contact_type)
        self.contact_type.setCurrentIndex(max(index, 0))
        if kept.draft_id is not None:
            self.editor_title.setText(_("Draft"))
        elif kept.link is not None:
            kind, original_id = kept.link
            original = self._by_id.get(original_id)
            self.editor_title.setText(label(kind))
            self.link_label.setText(
                _("{kind} to the signed entry of {when}. The original stays as it is.").format(
                    kind=label(kind),
                    when=fmt_datetime(original.event_time) if original is not None else "?",
                )
            )
            self.link_label.show()
        self._loading_editor = False
        self._changed()
        self.text.setFocus()

    def _reused(self, case_id: str, found: Any) -> None:
        if case_id != self.case_id or not self.offering or found is None or not found.restorable:
            self.offer.failed()
            return
        self.kept = found
        self.restore_unsaved()

    def discard_unsaved(self) -> None:
        """Two steps (the first asks again, in place): the kept text leaves the vault."""
        if self.kept is None or not self.offering:
            return
        if not self.offer.confirm_discard(
            _("Discard the kept text for good? It cannot be brought back afterwards."),
            _("Yes, discard it"),
        ):
            return
        case_id = self.kept.case_id
        self.ctx.call(
            _discard,
            case_id,
            self.kept.work_id,
            on_done=lambda _r: self._discarded(case_id),
            on_error=self._discard_failed,
        )

    def _discarded(self, case_id: str) -> None:
        if case_id != self.case_id:
            return
        self._hide_offer()
        self.save_state.setText(_("The kept text was discarded."))
        self.text.setFocus()
        self._offer_waiting()

    def _discard_failed(self, exc: BaseException) -> None:
        from fieldkit.errors import FieldkitError
        from fieldkit.i18n import render

        self.offer.failed()
        if isinstance(exc, FieldkitError):
            self.save_state.setText(render(exc))
        else:
            self.save_state.setText(_("Not saved: an unexpected error occurred."))
            self.ctx.taskman.error.emit(exc)

    # -- signing -------------------------------------------------------------------------
    def ask_sign(self) -> None:
        if not self.text.toPlainText().strip():
            return
        self.confirm.show()
        self.confirm_yes.setFocus()

    def sign_confirmed(self) -> None:
        self.confirm.hide()
        self.save_now(then=self._sign_saved_draft)

    def _sign_saved_draft(self) -> None:
        if self.draft_id is None:
            return
        self.ctx.call(_sign, self.draft_id, on_done=self._signed, on_error=self._save_failed)

    def _signed(self, note: Any) -> None:
        self.ctx.wrote.emit()
        self._merge(note)
        self._clear_editor()
        self.save_state.setText(_("Signed {when}").format(when=fmt_datetime(note.signed_at)))
        self.ctx.notify(NOTES)
        self._offer_waiting()

    # -- starting notes ------------------------------------------------------------------
    def _clear_editor(self) -> None:
        self._timer.stop()
        self._loading_editor = True
        self.work_id = _new_work()  # a new piece of work: kept beside, never over, another
        self.draft_id = None
        self.draft_base = None
        self.link = None
        self._dirty = False
        self.text.clear()
        self.place.clear()
        self.present.clear()
        self.contact_type.setCurrentIndex(0)
        self.editor_title.setText(_("New journal note"))
        self.link_label.hide()
        self.save_state.clear()
        self.confirm.hide()
        self._loading_editor = False
        self._update_buttons()

    def new_note(self) -> None:
        """Start a fresh note (the current draft is saved first and stays a draft)."""
        self.save_now(then=self._fresh)

    def _fresh(self) -> None:
        self._clear_editor()
        self.text.setFocus()
        self._offer_waiting()

    def start_linked(self, kind: str) -> None:
        original = self.selected_note()
        if original is None:
            return

        def begin() -> None:
            self._clear_editor()
            self.link = (kind, original.id)
            self.editor_title.setText(label(kind))
            self.link_label.setText(
                _("{kind} to the signed entry of {when}. The original stays as it is.").format(
                    kind=label(kind), when=fmt_datetime(original.event_time)
                )
            )
            self.link_label.show()
            self._loading_editor = True
            index = self.contact_type.findData(_value(original.contact_type))
            self.contact_type.setCurrentIndex(max(index, 0))
            self._loading_editor = False
            self.text.setFocus()

        self.save_now(then=begin)

    def _edit_selected_draft(self) -> None:
        note = self.selected_note()
        if note is None:
            return

        def load() -> None:
            self._clear_editor()
            self._loading_editor = True
            self.draft_id = note.id
            self.draft_base = note
            self.text.setPlainText(note.text)
            self.place.setText(note.place)
            self.present.setText(", ".join(note.present))
            index = self.contact_type.findData(_value(note.contact_type))
            self.contact_type.setCurrentIndex(max(index, 0))
            self.editor_title.setText(_("Draft"))
            self._loading_editor = False
            self._update_buttons()
            self.text.setFocus()

        self.save_now(then=load)
