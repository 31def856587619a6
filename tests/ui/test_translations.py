"""Every string the desktop app shows has a Swedish translation with the same placeholders, and
the app really switches language (gettext for our texts, Qt's catalogue for its dialogs)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from babel.messages.extract import extract_from_dir

from fieldkit import i18n

SRC = Path(__file__).resolve().parents[2] / "src" / "fieldkit"
PLACEHOLDER = re.compile(r"\{(\w*)\}")


def ui_messages() -> set[str]:
    found = set()
    for root, pattern in ((SRC / "ui", "**.py"), (SRC / "cli", "gui.py")):
        for _file, _line, msg, _comments, _ctx in extract_from_dir(
            str(root), method_map=[(pattern, "python")], keywords={"_": None, "N_": None}
        ):
            found.add(msg)
    return found


def test_every_ui_string_has_a_swedish_translation_with_the_same_placeholders() -> None:
    catalogue = i18n.read_catalogue("sv")
    messages = ui_messages()
    assert len(messages) > 250
    missing, broken = [], []
    for msgid in sorted(messages):
        entry = catalogue.get(msgid)
        if entry is None or not entry.string:
            missing.append(msgid)
        elif set(PLACEHOLDER.findall(msgid)) != set(PLACEHOLDER.findall(str(entry.string))):
            broken.append(msgid)
    assert missing == []
    assert broken == []


def test_swedish_applies_to_our_texts_dates_and_qt_dialogs(qtbot: Any) -> None:
    import datetime as dt

    from fieldkit.ui.i18n import apply_language, fmt_date
    from fieldkit.ui.qt import QApplication, QCoreApplication

    i18n.compile_language("sv")
    i18n.translation.cache_clear()
    app = QApplication.instance()
    try:
        apply_language(app, "sv")
        assert i18n._("Unlock") == "Lås upp"
        assert fmt_date(dt.date(2026, 3, 9)) == "2026-03-09"
        assert QCoreApplication.translate("QPlatformTheme", "Cancel") == "Avbryt"
    finally:
        apply_language(app, "en")
    assert i18n._("Unlock") == "Unlock"
    assert QCoreApplication.translate("QPlatformTheme", "Cancel") == "Cancel"
