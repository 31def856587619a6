"""Every user-facing message has correct Swedish: the catalogue covers every marked string, a
translation keeps the placeholders of its English original, and errors render in Swedish."""

from __future__ import annotations

import ast
import re
import string
from collections import defaultdict
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from fieldkit import i18n
from fieldkit.domain import personnummer
from fieldkit.errors import InvalidInput

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "fieldkit"
SV = i18n.locale_dir() / "sv"


def marked_messages() -> dict[str, list[str]]:
    """Every literal passed to N_() or _() in the package: msgid -> where it is."""
    found: dict[str, list[str]] = defaultdict(list)
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("N_", "_")
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                found[node.args[0].value].append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def po_files() -> list[Path]:
    return sorted(SV.glob("*.po"))


def test_each_area_has_a_well_formed_catalogue() -> None:
    assert {p.name for p in po_files()} >= {"core.po", "config.po"}
    for po in po_files():
        with po.open("rb") as fh:
            catalogue = read_po(fh, locale="sv")
        assert str(catalogue.locale) == "sv", po.name
        assert len(catalogue) > 0, f"{po.name} is empty"


def test_no_two_catalogues_translate_one_message_differently() -> None:
    seen: dict[tuple[str | None, str], tuple[str, str]] = {}
    conflicts = []
    for po in po_files():
        with po.open("rb") as fh:
            for message in read_po(fh, locale="sv"):
                if not message.id or not message.string:
                    continue
                # A message context (msgctxt) makes a different message in gettext.
                key = (message.context, message.id)
                earlier = seen.setdefault(key, (po.name, message.string))
                if earlier[1] != message.string:
                    conflicts.append(f"{message.id!r}: {earlier[0]} and {po.name}")
    assert conflicts == []


def test_translations_keep_the_placeholders_of_the_original() -> None:
    wrong = [
        f"{message.id!r} -> {message.string!r}"
        for message in i18n.read_catalogue("sv")
        if message.id
        and message.string
        and placeholders(str(message.id)) != placeholders(str(message.string))
    ]
    assert wrong == []


def test_core_and_configuration_messages_are_all_in_swedish() -> None:
    """Errors, domain rules and configuration: the messages this area owns."""
    have = {m.id for m in i18n.read_catalogue("sv") if m.id and m.string}
    missing = [
        f"{msgid!r} ({where[0]})"
        for msgid, where in marked_messages().items()
        if any(re.match(r"src/fieldkit/(domain|config|errors)", w) for w in where)
        and msgid not in have
    ]
    assert missing == []


def test_every_marked_message_in_the_package_has_a_swedish_translation() -> None:
    """TEAM.md: every user-facing string needs a Swedish translation, in the area's own .po."""
    have = {m.id for m in i18n.read_catalogue("sv") if m.id and m.string}
    missing = [
        f"{where[0]}: {msgid!r}" for msgid, where in marked_messages().items() if msgid not in have
    ]
    assert missing == [], f"{len(missing)} messages lack Swedish:\n" + "\n".join(missing)


def test_an_error_renders_in_swedish_with_its_remedy() -> None:
    i18n.compile_language("sv")
    i18n.translation.cache_clear()
    typed = "19880320-0018"
    with pytest.raises(InvalidInput) as caught:
        personnummer.parse(typed)
    assert i18n.render(caught.value, "sv") == (
        f"Personnumret {typed} har fel kontrollsiffra. Kontrollera den sista siffran."
    )
    assert i18n.render(caught.value, "en") == (
        f"The personnummer {typed} has a wrong check digit. Check the last digit."
    )
