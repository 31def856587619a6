"""Settings: every setting from fieldkit.config, those set by the organisation's policy shown
locked with a note, the rest editable by the user."""

from __future__ import annotations

from typing import Any

from fieldkit.errors import FieldkitError
from fieldkit.i18n import _, current_language, render
from fieldkit.ui.context import AppContext
from fieldkit.ui.qt import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)
from fieldkit.ui.style import std_icon


def _load() -> Any:
    from fieldkit.config import load_config

    return load_config()


def _save(name: str, value: Any) -> Any:
    from fieldkit.config import save_user_setting

    return save_user_setting(name, value)


CHOICE_LABELS = {"sv": "Svenska", "en": "English"}


class SettingRow(QWidget):
    def __init__(self, page: SettingsPage, declared: Any, config: Any) -> None:
        super().__init__(page)
        self.page = page
        self.declared = declared
        name = declared.name
        value = config.get(name)
        managed = config.is_managed(name)
        self.managed = managed
        self.editor: QWidget
        if declared.type is bool:
            box = QCheckBox(self)
            box.setChecked(bool(value))
            box.toggled.connect(lambda v: self.page.save(name, v))
            self.editor = box
        elif declared.choices:
            combo = QComboBox(self)
            if declared.nullable:
                combo.addItem(_("Follow the computer"), None)
            for choice in declared.choices:
                combo.addItem(CHOICE_LABELS.get(str(choice), str(choice)), choice)
            combo.setCurrentIndex(max(combo.findData(value), 0))
            combo.activated.connect(lambda _i: self.page.save(name, combo.currentData()))
            self.editor = combo
        else:
            edit = QLineEdit("" if value is None else str(value), self)
            edit.editingFinished.connect(lambda: self._save_text(edit.text()))
            self.editor = edit
        self.editor.setAccessibleName(declared.describe(current_language()))
        self.editor.setEnabled(not managed and declared.user_editable)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.editor, 1)
        self.note = QLabel("", self)
        self.note.setObjectName("Hint")
        if managed:
            lock = QLabel(self)
            lock.setPixmap(std_icon("SP_MessageBoxInformation").pixmap(16, 16))
            layout.addWidget(lock)
            self.note.setText(_("Set by your organisation's policy"))
        elif not declared.user_editable:
            self.note.setText(_("Set by IT at installation"))
        layout.addWidget(self.note)

    def _save_text(self, text: str) -> None:
        try:
            value = self.declared.from_text(text) if text.strip() else None
        except FieldkitError as exc:
            self.page.show_message(render(exc), error=True)
            return
        self.page.save(self.declared.name, value)


class SettingsPage(QWidget):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.rows: dict[str, SettingRow] = {}
        title = QLabel(_("Settings"), self)
        title.setObjectName("PageTitle")
        hint = QLabel(
            _(
                "Settings marked as set by your organisation's policy cannot be changed here. "
                "Ask your IT department if one needs to be different. A new language applies "
                "the next time fieldkit starts."
            ),
            self,
        )
        hint.setWordWrap(True)
        hint.setObjectName("Hint")
        self.message = QLabel("", self)
        self.message.setWordWrap(True)
        self.message.hide()
        self.body = QWidget(self)
        self.form = QFormLayout(self.body)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(self.body)
        refresh = QPushButton(_("Reload settings"), self)
        refresh.clicked.connect(self.reload)
        keys_title = QLabel(_("Passphrase and encryption"), self)
        keys_title.setObjectName("SectionTitle")
        self.change_passphrase_button = QPushButton(_("Change passphrase…"), self)
        self.change_passphrase_button.setToolTip(
            _("Choose a new passphrase for this profile; you need the current one")
        )
        self.change_passphrase_button.clicked.connect(self.change_passphrase)
        self.rotate_key_button = QPushButton(_("New data key…"), self)
        self.rotate_key_button.setToolTip(_("Encrypt the vault on this laptop with a new key"))
        self.rotate_key_button.clicked.connect(self.rotate_key)
        self.key_dialog: Any = None
        keys = QHBoxLayout()
        keys.addWidget(self.change_passphrase_button)
        keys.addWidget(self.rotate_key_button)
        keys.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 14, 18, 10)
        layout.addWidget(title)
        layout.addWidget(hint)
        layout.addWidget(self.message)
        layout.addWidget(scroll, 1)
        layout.addWidget(refresh)
        layout.addWidget(keys_title)
        layout.addLayout(keys)
        self.config: Any = None
        self.reload()

    def change_passphrase(self) -> None:
        from fieldkit.ui.settings.security import ChangePassphraseDialog

        self._open_key_dialog(
            ChangePassphraseDialog(self.ctx, self.window()), _("Passphrase changed.")
        )

    def rotate_key(self) -> None:
        from fieldkit.ui.settings.security import RotateKeyDialog

        self._open_key_dialog(
            RotateKeyDialog(self.ctx, self.window()), _("The vault has a new data key.")
        )

    def _open_key_dialog(self, dialog: Any, done_text: str) -> None:
        self.key_dialog = dialog
        dialog.accepted.connect(lambda: self.show_message(done_text, error=False))
        dialog.open()  # window-modal, the event loop keeps running

    def reload(self) -> None:
        self.ctx.taskman.run(_load, on_done=self.show_config)

    def show_config(self, config: Any) -> None:
        from fieldkit.config import SETTINGS

        self.config = config
        while self.form.rowCount():
            self.form.removeRow(0)
        self.rows.clear()
        language = current_language()
        for name, declared in SETTINGS.items():
            row = SettingRow(self, declared, config)
            text = QLabel(declared.describe(language), self.body)
            text.setWordWrap(True)
            text.setMinimumWidth(360)
            text.setBuddy(row.editor)
            self.form.addRow(text, row)
            self.rows[name] = row

    def save(self, name: str, value: Any) -> None:
        self.ctx.taskman.run(
            _save,
            name,
            value,
            on_done=lambda config: self._saved(name, config),
            on_error=lambda exc: self.show_message(
                render(exc) if isinstance(exc, FieldkitError) else str(type(exc).__name__), True
            ),
        )

    def _saved(self, name: str, config: Any) -> None:
        self.config = config
        self.ctx.config = config
        self.show_message(_("Saved."), error=False)

    def show_message(self, text: str, error: bool) -> None:
        self.message.setObjectName("ErrorNotice" if error else "Hint")
        self.message.setStyleSheet("")
        self.message.setText(text)
        self.message.show()
