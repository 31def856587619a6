"""Language and locale for the GUI: one translation system (gettext via ``fieldkit.i18n``),
Qt's own catalogue for its standard dialogs, and dates/numbers in the user's locale."""

from __future__ import annotations

import datetime as dt
import re

from fieldkit import i18n
from fieldkit.ui.qt import QApplication, QDate, QLibraryInfo, QLocale, QTime, QTranslator

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
    _locale.clear()
    _patterns.clear()
    if language == "sv":
        QLocale.setDefault(QLocale(QLocale.Language.Swedish, QLocale.Country.Sweden))
        qt_dir = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
        translator = QTranslator(app)
        if translator.load("qtbase_sv", qt_dir):
            app.installTranslator(translator)
            _translators.append(translator)
    else:
        QLocale.setDefault(QLocale(QLocale.Language.English, QLocale.Country.UnitedKingdom))


_locale: list[QLocale] = []  # the default locale, made once (constructing one is not free)


def _qlocale() -> QLocale:
    if not _locale:
        _locale.append(QLocale())
    return _locale[0]


def _local(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone()


def fmt_date(value: dt.date | dt.datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = _local(value).date()
    return _qlocale().toString(
        QDate(value.year, value.month, value.day), QLocale.FormatType.ShortFormat
    )


_QT_TO_STRFTIME = (("yyyy", "%Y"), ("MM", "%m"), ("dd", "%d"), ("HH", "%H"), ("mm", "%M"))
_patterns: dict[str, str | None] = {}


def _strftime_pattern() -> str | None:
    """The locale's short date-time pattern as a strftime pattern, when it only uses the plain
    numeric fields (it does for sv and en-GB); None otherwise (Qt formats then)."""
    key = _qlocale().name()
    if key not in _patterns:
        locale = _qlocale()
        pattern = (
            f"{locale.dateFormat(QLocale.FormatType.ShortFormat)} "
            f"{locale.timeFormat(QLocale.FormatType.ShortFormat)}"
        )
        for qt, py in _QT_TO_STRFTIME:
            pattern = pattern.replace(qt, py)
        plain = not any(c.isalpha() for c in re.sub(r"%[YmdHM]", "", pattern))
        _patterns[key] = pattern if plain else None
    return _patterns[key]


def fmt_datetime(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    local = _local(value)
    pattern = _strftime_pattern()
    if pattern is not None:
        return local.strftime(pattern)  # fast: a journal shows hundreds of these
    locale = _qlocale()
    day = locale.toString(QDate(local.year, local.month, local.day), QLocale.FormatType.ShortFormat)
    clock = locale.toString(QTime(local.hour, local.minute), QLocale.FormatType.ShortFormat)
    return f"{day} {clock}"


def fmt_number(value: int | float) -> str:
    return _qlocale().toString(value)
