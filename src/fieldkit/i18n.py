"""Translations for everything outside Qt's own widgets: one gettext catalogue per language.

Sources are ``resources/locale/<lang>/*.po``, one file per area of the code (so work on one
area never edits another's catalogue); ``python -m fieldkit.i18n compile`` (run by the build)
merges them into ``resources/locale/<lang>/LC_MESSAGES/fieldkit.mo``. The GUI uses the same
catalogue through ``fieldkit.ui.i18n`` so there is one system of translation, and loads Qt's own
``qtbase_*.qm`` for Qt's standard dialogs.
"""

from __future__ import annotations

import gettext
import locale
import os
import sys
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from fieldkit.errors import FieldkitError

DOMAIN = "fieldkit"
LANGUAGES = ("sv", "en")


def resources_dir() -> Path:
    """The resources folder: beside the package in a checkout, inside the bundle when frozen."""
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen) / "resources"
    here = Path(__file__).resolve().parent
    for candidate in (here / "resources", here.parent.parent / "resources"):
        if candidate.is_dir():
            return candidate
    return here.parent.parent / "resources"


def locale_dir() -> Path:
    return resources_dir() / "locale"


def system_language() -> str:
    """'sv' when the user's locale is Swedish, otherwise 'en'."""
    for var in ("FIELDKIT_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var)
        if value:
            return "sv" if value.lower().startswith("sv") else "en"
    try:
        lang = locale.getlocale()[0] or ""
    except ValueError:
        lang = ""
    return "sv" if lang.lower().startswith("sv") else "en"


@lru_cache(maxsize=8)
def translation(language: str) -> gettext.NullTranslations:
    if language == "en":
        return gettext.NullTranslations()
    mo = locale_dir() / language / "LC_MESSAGES" / f"{DOMAIN}.mo"
    if not mo.exists() and (locale_dir() / language).is_dir():
        compile_language(language)
    try:
        return gettext.translation(DOMAIN, localedir=str(locale_dir()), languages=[language])
    except OSError:
        return gettext.NullTranslations()


_current = system_language()


def set_language(language: str) -> None:
    global _current
    if language not in LANGUAGES:
        raise ValueError(f"unsupported language {language!r}")
    _current = language


def current_language() -> str:
    return _current


def gettext_for(language: str | None = None) -> Callable[[str], str]:
    return translation(language or _current).gettext


def _(message: str) -> str:
    """Translate into the current language."""
    return translation(_current).gettext(message)


def render(error: FieldkitError, language: str | None = None) -> str:
    """A user error as a sentence in the user's language, with its remedy."""
    return error.render(gettext_for(language))


def read_catalogue(language: str):  # type: ignore[no-untyped-def]
    """All of a language's .po parts merged into one Babel catalogue."""
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import read_po

    merged = Catalog(locale=language, domain=DOMAIN)
    for po in sorted((locale_dir() / language).glob("*.po")):
        with po.open("rb") as fh:
            part = read_po(fh, locale=language)
        for message in part:
            if message.id and message.string:
                merged.add(message.id, message.string, context=message.context)
    return merged


def compile_language(language: str) -> Path:
    """Compile a language's .po parts to one .mo (Babel's compiler; no external tools)."""
    from babel.messages.mofile import write_mo

    catalog = read_catalogue(language)
    mo = locale_dir() / language / "LC_MESSAGES" / f"{DOMAIN}.mo"
    mo.parent.mkdir(parents=True, exist_ok=True)
    with mo.open("wb") as fh:
        write_mo(fh, catalog)
    return mo


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] != ["compile"]:
        print("usage: python -m fieldkit.i18n compile", file=sys.stderr)
        return 2
    for language in LANGUAGES:
        if language != "en" and (locale_dir() / language).is_dir():
            print(f"compiled {compile_language(language)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
