"""Language and locale for the GUI: one translation system (gettext via ``fieldkit.i18n``),
Qt's own catalogue for its standard dialogs, and dates/numbers in the user's locale."""

from __future__ import annotations

import datetime as dt

from fieldkit import i18n
from fieldkit.ui.qt import QApplication, QDate, QDateTime, QLibraryInfo, QLocale, QTime, QTranslator

_translators: list[QTranslator] = []


def choose_language(setting: str | None = None) -> str:
    """The setting when the user (or policy) chose one, else the system locale."""
    if setting in i18n.LANGUAGES:
        return setting  # type: ignore[return-value]
    return i18n.system_language()


def apply_language(app: QApplication, language: str) -> None:
    """Switch gettext, Qt's standard dialogs and the locale (dates, numbers) to ``language``."""
    i18n.set_language(language)
    for translator in _translators:
        app.removeTranslator(translator)
    _translators.clear()
    if language == "sv":
        QLocale.setDefault(QLocale(QLocale.Language.Swedish, QLocale.Country.Sweden))
        qt_dir = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
        translator = QTranslator(app)
        if translator.load("qtbase_sv", qt_dir):
            app.installTranslator(translator)
            _translators.append(translator)
    else:
        QLocale.setDefault(QLocale(QLocale.Language.English, QLocale.Country.UnitedKingdom))


def _local(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone()


def fmt_date(value: dt.date | dt.datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = _local(value).date()
    return QLocale().toString(
        QDate(value.year, value.month, value.day), QLocale.FormatType.ShortFormat
    )


def fmt_datetime(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    local = _local(value)
    qdt = QDateTime(QDate(local.year, local.month, local.day), QTime(local.hour, local.minute))
    return QLocale().toString(qdt, QLocale.FormatType.ShortFormat)


def fmt_number(value: int | float) -> str:
    return QLocale().toString(value)
