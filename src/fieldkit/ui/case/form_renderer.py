"""The assessment form, rendered from the forms engine's UI-neutral model
(``fieldkit.forms.model.FormView``). This module holds no form logic: it builds one editor per
item from the first view, and after every edit it shows the next view it is given — which
sections and items are visible, which are required now, the messages per item, the warnings
that need a written justification, suggested defaults. Nothing here decides any of that."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fieldkit.i18n import _
from fieldkit.ui.qt import (
    QCheckBox,
    QComboBox,
    QDate,
    QDateEdit,
    QFormLayout,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSize,
    Qt,
    QVBoxLayout,
    QWidget,
    Signal,
)
from fieldkit.ui.style import std_icon

NO_DATE = QDate(1900, 1, 1)


def _combo(options: Any, parent: QWidget, blank: str) -> QComboBox:
    combo = QComboBox(parent)
    combo.addItem(blank, None)
    for option in options:
        combo.addItem(option.label, option.code)
    return combo


def _set_combo(combo: QComboBox, code: Any) -> None:
    combo.setCurrentIndex(max(combo.findData(code), 0) if code is not None else 0)


def _date_edit(parent: QWidget) -> QDateEdit:
    edit = QDateEdit(parent)
    edit.setCalendarPopup(True)
    edit.setMinimumDate(NO_DATE)
    edit.setSpecialValueText(_("not set"))
    edit.setDate(NO_DATE)
    return edit


def _clock(text: str) -> str:
    """A time as the form holds it (``hh:mm``) from the ways it is written by hand: "9.30",
    "9:30", "0930", "930", "9". Anything else is returned as typed (the draft's check names
    it; nothing typed is thrown away)."""
    raw = text.strip()
    digits = raw.replace(".", ":").replace(" ", "")
    if ":" in digits:
        hours, _sep, minutes = digits.partition(":")
    elif digits.isdigit() and len(digits) in (3, 4):
        hours, minutes = digits[:-2], digits[-2:]
    else:
        hours, minutes = digits, "00"
    if (
        hours.isdigit()
        and minutes.isdigit()
        and len(hours) <= 2
        and len(minutes) == 2
        and int(hours) < 24
        and int(minutes) < 60
    ):
        return f"{int(hours):02d}:{minutes}"
    return raw


def _date_value(edit: QDateEdit) -> str | None:
    date = edit.date()
    if date == NO_DATE:
        return None
    return dt.date(date.year(), date.month(), date.day()).isoformat()


def _set_date(edit: QDateEdit, value: Any) -> None:
    if isinstance(value, str) and len(value) >= 10:
        try:
            day = dt.date.fromisoformat(value[:10])
        except ValueError:
            edit.setDate(NO_DATE)
            return
        edit.setDate(QDate(day.year, day.month, day.day))
    else:
        edit.setDate(NO_DATE)


class Choices(QWidget):
    """A multiselect as checkboxes (keyboard: Tab and Space)."""

    changed = Signal()

    def _emit(self, *_args: Any) -> None:
        self.changed.emit()

    def __init__(self, options: Any, parent: QWidget, columns: int = 2) -> None:
        super().__init__(parent)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        self.boxes: dict[str, QCheckBox] = {}
        for i, option in enumerate(options):
            box = QCheckBox(option.label, self)
            box.toggled.connect(self._emit)
            grid.addWidget(box, i // columns, i % columns)
            self.boxes[option.code] = box

    def value(self) -> list[str]:
        return [code for code, box in self.boxes.items() if box.isChecked()]

    def set_value(self, codes: Any) -> None:
        chosen = set(codes or [])
        for code, box in self.boxes.items():
            box.blockSignals(True)
            box.setChecked(code in chosen)
            box.blockSignals(False)


class ItemEditor(QFrame):
    """One item: its label, its input, and the messages about it."""

    changed = Signal()

    def _emit(self, *_args: Any) -> None:
        self.changed.emit()

    def __init__(self, view: Any, parent: QWidget) -> None:
        super().__init__(parent)
        self.item_id = view.id
        self.type = view.type
        self.view = view
        self.suggestion: str | None = None
        self.read_only = False
        self.label = QLabel("", self)
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.help = QLabel(view.help or "", self)
        self.help.setObjectName("Hint")
        self.help.setWordWrap(True)
        self.help.setVisible(bool(view.help))
        self.messages = QLabel("", self)
        self.messages.setWordWrap(True)
        self.messages.setObjectName("ErrorNotice")
        self.messages.hide()
        self.warning = QLabel("", self)
        self.warning.setWordWrap(True)
        self.warning.setObjectName("Notice")
        self.warning.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 6, 0, 6)
        layout.addWidget(self.label)
        layout.addWidget(self.help)
        self.body = QVBoxLayout()
        layout.addLayout(self.body)
        layout.addWidget(self.warning)
        layout.addWidget(self.messages)
        self._build(view)
        self._set_label(view)

    # -- building ------------------------------------------------------------------------
    def _build(self, view: Any) -> None:
        t = view.type
        blank = _("— choose —")
        if t == "rating":
            self.rating = _combo(view.options, self, blank)
            self.rating.setAccessibleName(view.label)
            self.rating.currentIndexChanged.connect(self._emit)
            row = QHBoxLayout()
            row.addWidget(self.rating, 2)
            self.trend: QComboBox | None = None
            if view.trend_options:
                self.trend = _combo(view.trend_options, self, _("Trend: not stated"))
                self.trend.setAccessibleName(_("Trend"))
                self.trend.currentIndexChanged.connect(self._emit)
                row.addWidget(self.trend, 1)
            self.key_factor: QCheckBox | None = None
            if view.key_factor:
                self.key_factor = QCheckBox(_("Key factor"), self)
                self.key_factor.toggled.connect(self._emit)
                row.addWidget(self.key_factor)
            self.body.addLayout(row)
            self.sources: Choices | None = None
            self.observed: QDateEdit | None = None
            self.note: QPlainTextEdit | None = None
            if view.evidence is not None:
                evidence = QFormLayout()
                if view.evidence.sources:
                    self.sources = Choices(view.evidence.sources, self, columns=2)
                    self.sources.changed.connect(self._emit)
                    evidence.addRow(_("Sources"), self.sources)
                if view.evidence.observed_on:
                    self.observed = _date_edit(self)
                    self.observed.setAccessibleName(_("Observed on"))
                    self.observed.dateChanged.connect(self._emit)
                    evidence.addRow(_("Observed on"), self.observed)
                self.note = QPlainTextEdit(self)
                self.note.setAccessibleName(_("Basis for the rating"))
                self.note.setFixedHeight(56)
                self.note.textChanged.connect(self._emit)
                self.note_label = QLabel(_("Basis"), self)
                evidence.addRow(self.note_label, self.note)
                self.body.addLayout(evidence)
        elif t in ("singleselect", "yes_no_unknown"):
            self.combo = _combo(view.options, self, blank)
            self.combo.setAccessibleName(view.label)
            self.combo.currentIndexChanged.connect(self._emit)
            self.body.addWidget(self.combo)
        elif t == "multiselect":
            self.choices = Choices(view.options, self)
            self.choices.changed.connect(self._emit)
            self.body.addWidget(self.choices)
        elif t == "text":
            self.text = QPlainTextEdit(self)
            self.text.setAccessibleName(view.label)
            self.text.setFixedHeight(90 if view.min_length or view.max_length > 500 else 60)
            self.text.textChanged.connect(self._emit)
            self.body.addWidget(self.text)
            self.counter = QLabel("", self)
            self.counter.setObjectName("Hint")
            self.counter.setVisible(bool(view.min_length))
            self.text.textChanged.connect(self._count)
            self.body.addWidget(self.counter)
            self._count()
        elif t in ("date", "datetime"):
            row = QHBoxLayout()
            self.date = _date_edit(self)
            self.date.setAccessibleName(view.label)
            self.date.dateChanged.connect(self._emit)
            row.addWidget(self.date)
            self.time: QLineEdit | None = None
            if t == "datetime":
                self.time = QLineEdit(self)
                self.time.setPlaceholderText(_("hh:mm"))
                self.time.setAccessibleName(_("Time"))
                self.time.setMaximumWidth(90)
                self.time.textChanged.connect(self._emit)
                row.addWidget(self.time)
            self.use_suggestion = QPushButton("", self)
            self.use_suggestion.clicked.connect(self._apply_suggestion)
            self.use_suggestion.hide()
            row.addWidget(self.use_suggestion)
            row.addStretch(1)
            self.body.addLayout(row)
        elif t == "repeat":
            self.entries: list[dict[str, QWidget]] = []
            self.entries_box = QVBoxLayout()
            self.body.addLayout(self.entries_box)
            self.add_button = QPushButton(_("Add"), self)
            self.add_button.clicked.connect(self._add_clicked)
            self.body.addWidget(self.add_button, 0, Qt.AlignmentFlag.AlignLeft)
        else:
            self.unknown = QLabel(
                _("This kind of question cannot be shown ({type}).").format(type=t)
            )
            self.body.addWidget(self.unknown)

    def _add_clicked(self) -> None:
        self._add_entry({})
        self.changed.emit()

    def _add_entry(self, value: dict[str, Any]) -> None:
        box = QFrame(self)
        box.setObjectName("Card")
        form = QFormLayout(box)
        widgets: dict[str, QWidget] = {}
        for field in self.view.fields:
            if field.type == "singleselect":
                combo = _combo(field.options, box, _("— choose —"))
                _set_combo(combo, value.get(field.id))
                combo.currentIndexChanged.connect(self._emit)
                widgets[field.id] = combo
            else:
                edit = QLineEdit(str(value.get(field.id) or ""), box)
                edit.textChanged.connect(self._emit)
                widgets[field.id] = edit
            widgets[field.id].setAccessibleName(field.label)
            form.addRow(field.label, widgets[field.id])
        remove = QPushButton(_("Remove"), box)
        remove.clicked.connect(lambda: self._remove_entry(box, widgets))
        form.addRow("", remove)
        self.entries.append(widgets)
        self.entries_box.addWidget(box)
        widgets["_box"] = box

    def _remove_entry(self, box: QFrame, widgets: dict[str, QWidget]) -> None:
        self.entries.remove(widgets)
        box.deleteLater()
        self.changed.emit()

    def _count(self) -> None:
        if self.view.min_length:
            self.counter.setText(
                _("{count} characters (at least {min})").format(
                    count=len(self.text.toPlainText().strip()), min=self.view.min_length
                )
            )

    def _apply_suggestion(self) -> None:
        if self.suggestion:
            _set_date(self.date, self.suggestion)

    # -- values --------------------------------------------------------------------------
    def value(self) -> Any:
        t = self.type
        if t == "rating":
            code = self.rating.currentData()
            parts: dict[str, Any] = {}
            if code is not None:
                parts["rating"] = code
            if self.trend is not None and self.trend.currentData() is not None:
                parts["trend"] = self.trend.currentData()
            if self.key_factor is not None and self.key_factor.isChecked():
                parts["key_factor"] = True
            if self.sources is not None and self.sources.value():
                parts["sources"] = self.sources.value()
            if self.observed is not None and _date_value(self.observed):
                parts["observed_on"] = _date_value(self.observed)
            if self.note is not None and self.note.toPlainText().strip():
                parts["note"] = self.note.toPlainText()
            return parts or None
        if t in ("singleselect", "yes_no_unknown"):
            return self.combo.currentData()
        if t == "multiselect":
            return self.choices.value() or None
        if t == "text":
            return self.text.toPlainText() or None
        if t == "date":
            return _date_value(self.date)
        if t == "datetime":
            day = _date_value(self.date)
            clock = _clock(self.time.text() if self.time else "") or "00:00"
            return f"{day}T{clock}" if day else None
        if t == "repeat":
            out = []
            for widgets in self.entries:
                entry: dict[str, Any] = {}
                for field_id, widget in widgets.items():
                    if field_id == "_box":
                        continue
                    if isinstance(widget, QComboBox):
                        entry[field_id] = widget.currentData()
                    elif isinstance(widget, QLineEdit):
                        entry[field_id] = widget.text()
                out.append(entry)
            return out or None
        return self.view.value

    def set_value(self, value: Any) -> None:
        self.blockSignals(True)
        try:
            t = self.type
            if t == "rating":
                parts = value if isinstance(value, dict) else ({"rating": value} if value else {})
                _set_combo(self.rating, parts.get("rating"))
                if self.trend is not None:
                    _set_combo(self.trend, parts.get("trend"))
                if self.key_factor is not None:
                    self.key_factor.setChecked(bool(parts.get("key_factor")))
                if self.sources is not None:
                    self.sources.set_value(parts.get("sources"))
                if self.observed is not None:
                    _set_date(self.observed, parts.get("observed_on"))
                if self.note is not None:
                    self.note.setPlainText(parts.get("note") or "")
            elif t in ("singleselect", "yes_no_unknown"):
                _set_combo(self.combo, value)
            elif t == "multiselect":
                self.choices.set_value(value)
            elif t == "text":
                self.text.setPlainText(value or "")
            elif t in ("date", "datetime"):
                _set_date(self.date, value)
                if self.time is not None and isinstance(value, str) and "T" in value:
                    clock = value.split("T", 1)[1]
                    # hh:mm of a stored time; a time kept as typed ("halv tio") stays whole
                    self.time.setText(clock[:5] if _clock(clock[:5]) == clock[:5] else clock)
            elif t == "repeat":
                for entry in list(value or []):
                    self._add_entry(entry if isinstance(entry, dict) else {})
        finally:
            self.blockSignals(False)

    # -- showing a view ------------------------------------------------------------------
    def _set_label(self, view: Any) -> None:
        text = view.label
        if view.required and not self.read_only:
            text += "  " + _("(required)")
        self.label.setText(text)
        font = self.label.font()
        font.setBold(True)
        self.label.setFont(font)

    def apply(self, view: Any, show_errors: bool) -> None:
        self.view = view
        self.setVisible(view.visible)
        self._set_label(view)
        if self.type == "rating" and view.evidence is not None and self.note is not None:
            self.note_label.setText(
                _("Basis (required)") if view.evidence.note_required else _("Basis")
            )
        if self.type in ("date", "datetime"):
            self.suggestion = view.suggestion
            if view.suggestion and _date_value(self.date) != view.suggestion[:10]:
                self.use_suggestion.setText(
                    _("Use the suggested date {date}").format(date=view.suggestion[:10])
                )
                self.use_suggestion.show()
            else:
                self.use_suggestion.hide()
        errors = list(view.errors) if show_errors else []
        self.messages.setText("\n".join(errors))
        self.messages.setVisible(bool(errors))
        self.warning.setText("\n".join(view.warnings))
        self.warning.setVisible(bool(view.warnings))

    def set_read_only(self, read_only: bool) -> None:
        self.read_only = read_only
        self._set_label(self.view)
        for child in self.findChildren(QWidget):
            if isinstance(child, QLabel):
                continue
            child.setEnabled(not read_only)


class FormRenderer(QWidget):
    """Sections and items of one form; emits ``changed`` on every edit."""

    changed = Signal()

    def _emit(self, *_args: Any) -> None:
        self.changed.emit()

    def __init__(
        self,
        view: Any,
        answers: dict[str, Any],
        overrides: dict[str, str],
        parent: QWidget | None = None,
        section_links: dict[str, list[tuple[str, Any]]] | None = None,
    ) -> None:
        super().__init__(parent)
        self.form_id = view.form_id
        self.version = view.version
        self.show_errors = False
        self.editors: dict[str, ItemEditor] = {}
        self.sections: dict[str, QGroupBox] = {}
        self.override_edits: dict[str, QLineEdit] = {}
        self._overrides = dict(overrides)

        title = QLabel(f"{view.title} ({view.version})", self)
        title.setObjectName("SectionTitle")
        disclaimer = QLabel(view.disclaimer or "", self)
        disclaimer.setObjectName("Hint")
        disclaimer.setWordWrap(True)
        disclaimer.setVisible(bool(view.disclaimer))
        self.form_messages = QLabel("", self)
        self.form_messages.setObjectName("ErrorNotice")
        self.form_messages.setWordWrap(True)
        self.form_messages.hide()
        self.warnings_box = QGroupBox(_("Warnings that need a written justification"), self)
        self.warnings_layout = QFormLayout(self.warnings_box)
        self.warnings_box.hide()

        content = QWidget(self)
        column = QVBoxLayout(content)
        column.addWidget(disclaimer)
        for section in view.sections:
            box = QGroupBox(section.title, content)
            box.setAccessibleName(section.title)
            inner = QVBoxLayout(box)
            if section.help:
                hint = QLabel(section.help, box)
                hint.setObjectName("Hint")
                hint.setWordWrap(True)
                inner.addWidget(hint)
            for text, action in (section_links or {}).get(section.id, []):
                link = QPushButton(text, box)
                link.setIcon(std_icon("SP_FileDialogInfoView"))
                link.clicked.connect(action)
                inner.addWidget(link, 0, Qt.AlignmentFlag.AlignLeft)
            for item in section.items:
                editor = ItemEditor(item, box)
                editor.set_value(answers.get(item.id))
                editor.changed.connect(self._emit)
                inner.addWidget(editor)
                self.editors[item.id] = editor
            self.sections[section.id] = box
            column.addWidget(box)
        column.addStretch(1)
        self.scroll_area = QScrollArea(self)
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setWidget(content)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(title)
        layout.addWidget(self.form_messages)
        layout.addWidget(self.warnings_box)
        layout.addWidget(self.scroll_area, 1)
        self.apply(view)

    def answers(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for item_id, editor in self.editors.items():
            value = editor.value()
            if value is not None:
                out[item_id] = value
        return out

    def overrides(self) -> dict[str, str]:
        for check_id, edit in self.override_edits.items():
            if edit.text().strip():
                self._overrides[check_id] = edit.text()
            else:
                self._overrides.pop(check_id, None)
        return dict(self._overrides)

    def apply(self, view: Any) -> None:
        """Show a new view of the same form: visibility, required, messages, warnings."""
        for section in view.sections:
            box = self.sections.get(section.id)
            if box is not None:
                box.setVisible(section.visible)
            for item in section.items:
                editor = self.editors.get(item.id)
                if editor is not None:
                    editor.apply(item, self.show_errors)
        form_errors = list(view.errors) if self.show_errors else []
        self.form_messages.setText("\n".join(form_errors))
        self.form_messages.setVisible(bool(form_errors))
        self._show_warnings(view)

    def _show_warnings(self, view: Any) -> None:
        result = view.result
        checks: dict[str, str] = {}
        for issue in result.warnings:
            if issue.check_id:
                checks[issue.check_id] = ""
        texts: dict[str, str] = {}
        for section in view.sections:
            for item in section.items:
                for warning in item.warnings:
                    texts.setdefault(item.id, warning)
        for warning in view.warnings:
            texts.setdefault("", warning)
        messages = {}
        for issue in result.warnings:
            if issue.check_id:
                messages[issue.check_id] = texts.get(issue.base_item or "", "") or issue.check_id
        for check_id in list(self.override_edits):
            if check_id not in checks:
                row = self.override_edits.pop(check_id)
                self.warnings_layout.removeRow(row)
        for check_id in checks:
            if check_id in self.override_edits:
                continue
            edit = QLineEdit(self._overrides.get(check_id, ""), self.warnings_box)
            edit.setAccessibleName(_("Justification for {check}").format(check=check_id))
            edit.setPlaceholderText(_("Write why the assessment stands despite the warning"))
            edit.textChanged.connect(self._emit)
            label = QLabel(messages.get(check_id, check_id), self.warnings_box)
            label.setWordWrap(True)
            label.setMaximumWidth(420)
            icon = QLabel(self.warnings_box)
            icon.setPixmap(std_icon("SP_MessageBoxWarning").pixmap(QSize(16, 16)))
            row_label = QWidget(self.warnings_box)
            row_layout = QHBoxLayout(row_label)
            row_layout.setContentsMargins(0, 0, 0, 0)
            row_layout.addWidget(icon)
            row_layout.addWidget(label, 1)
            self.warnings_layout.addRow(row_label, edit)
            self.override_edits[check_id] = edit
        self.warnings_box.setVisible(bool(self.override_edits))

    def first_problem(self) -> ItemEditor | None:
        for editor in self.editors.values():
            if editor.isVisibleTo(self) and editor.messages.text():
                return editor
        return None

    def scroll_to(self, editor: QWidget) -> None:
        self.scroll_area.ensureWidgetVisible(editor)

    def set_read_only(self, read_only: bool) -> None:
        for editor in self.editors.values():
            editor.set_read_only(read_only)
        for edit in self.override_edits.values():
            edit.setReadOnly(read_only)
