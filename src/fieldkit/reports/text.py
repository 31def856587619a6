"""The words and dates of a document, in the document's language (not the app's).

Every text a document prints is an English message id marked with ``tr(...)``; its Swedish
translation lives in ``resources/locale/sv/reports.po`` under the message context ``report``,
so the documents' wording never collides with another area's translation of the same English
word. The catalogue is read from the .po sources (Babel), so a document never prints a stale
compiled translation. Statute references (e.g. in the Swedish confidentiality marking)
are translation data, never code.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_date

CONTEXT = "report"
LANGUAGES = ("sv", "en")
BABEL_LOCALE = {"sv": "sv_SE", "en": "en_GB"}
DEFAULT_TIMEZONE = "Europe/Stockholm"


def N_(message: str) -> str:
    """Mark a document text for translation where it is declared (translated when printed)."""
    return message


@lru_cache(maxsize=4)
def _catalogue(language: str) -> Mapping[str, str]:
    """The document texts of a language: message id -> translation (context ``report``)."""
    if language == "en":
        return {}
    from fieldkit.i18n import read_catalogue

    found: dict[str, str] = {}
    for message in read_catalogue(language):
        if message.context == CONTEXT and isinstance(message.id, str) and message.string:
            found[message.id] = str(message.string)
    return found


def _zone(name: str) -> dt.tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        local = dt.datetime.now().astimezone().tzinfo
        return local if local is not None else dt.UTC


@dataclass(frozen=True)
class Text:
    """Translation and date formatting for one document."""

    language: str = "sv"
    timezone: str = DEFAULT_TIMEZONE

    def __post_init__(self) -> None:
        if self.language not in LANGUAGES:
            raise ValueError(f"unsupported document language {self.language!r}")

    def tr(self, message: str, **params: object) -> str:
        text = _catalogue(self.language).get(message, message)
        return text.format(**params) if params else text

    def enum(self, value: Enum | None) -> str:
        """The label of a vocabulary value (see ``labels.ENUM_LABELS``)."""
        from fieldkit.reports.labels import ENUM_LABELS

        if value is None:
            return "–"
        message = ENUM_LABELS.get((type(value), str(value.value)))
        return self.tr(message) if message is not None else str(value.value)

    # --- dates -----------------------------------------------------------------------------

    @property
    def tz(self) -> dt.tzinfo:
        return _zone(self.timezone)

    def date(self, value: dt.date | dt.datetime | None) -> str:
        """A date as the locale writes it in a table: 2026-11-28 / 28 Nov 2026."""
        if value is None:
            return "–"
        if isinstance(value, dt.datetime):
            value = self.local(value).date()
        if self.language == "sv":
            return value.isoformat()
        return format_date(value, "medium", locale=BABEL_LOCALE[self.language])

    def long_date(self, value: dt.date | dt.datetime | None) -> str:
        """A date in words: 28 november 2026 / 28 November 2026."""
        if value is None:
            return "–"
        if isinstance(value, dt.datetime):
            value = self.local(value).date()
        return format_date(value, "long", locale=BABEL_LOCALE[self.language])

    def local(self, value: dt.datetime) -> dt.datetime:
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(self.tz)

    def datetime(self, value: dt.datetime | None) -> str:
        """A time in the document's time zone: 2026-11-28 14:05 / 28 Nov 2026 14:05."""
        if value is None:
            return "–"
        local = self.local(value)
        return f"{self.date(local.date())} {local:%H:%M}"

    def iso_date(self, text: object) -> str:
        """A stored ``YYYY-MM-DD`` answer in the locale's format (or the text as it is)."""
        if isinstance(text, str):
            try:
                return self.date(dt.date.fromisoformat(text))
            except ValueError:
                pass
            try:
                moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                return text
            if moment.tzinfo is None:  # wall-clock time as the worker wrote it
                moment = moment.replace(tzinfo=self.tz)
            return self.datetime(moment)
        return str(text)
