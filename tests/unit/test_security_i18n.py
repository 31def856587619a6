"""Every user-facing message of fieldkit.security has a Swedish translation with the same
placeholders (resources/locale/sv/security.po)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted((ROOT / "src" / "fieldkit" / "security").glob("*.py"))
PO = ROOT / "resources" / "locale" / "sv" / "security.po"


def _msgids() -> set[str]:
    found: set[str] = set()
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "N_":
                found.add(ast.literal_eval(node.args[0]))
    return found


def _placeholders(text: str) -> set[str]:
    return set(re.findall(r"\{(\w+)\}", text))


def test_every_security_message_has_a_swedish_translation() -> None:
    with PO.open("rb") as fh:
        catalogue = read_po(fh, locale="sv")
    translations: dict[str, str] = {
        m.id: m.string
        for m in catalogue
        if m.id and isinstance(m.id, str) and isinstance(m.string, str)
    }
    msgids = _msgids()
    assert len(msgids) >= 30  # the scan found the messages
    missing = sorted(m for m in msgids if not translations.get(m))
    assert not missing, missing
    for msgid in msgids:
        assert _placeholders(translations[msgid]) == _placeholders(msgid), msgid
    stale = sorted(set(translations) - msgids)
    assert not stale, stale
