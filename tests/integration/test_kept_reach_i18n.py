"""Every user-facing string of the kept-work code (the case page's panel, the services' errors,
`fieldkit case kept`, `assess discard-kept`) has a Swedish translation, with the same
placeholders as the English text."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from fieldkit import i18n

ROOT = Path(__file__).resolve().parents[2]
FILES = [
    "src/fieldkit/services/kept.py",
    "src/fieldkit/services/assessments.py",
    "src/fieldkit/ui/case/kept.py",
    "src/fieldkit/ui/case/assessments.py",
    "src/fieldkit/ui/case/page.py",
    "src/fieldkit/cli/vault.py",
    "src/fieldkit/cli/assess.py",
]


def messages(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("_", "N_")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.add(node.args[0].value)
    return found


@pytest.mark.parametrize("name", FILES)
def test_every_message_has_swedish_with_the_same_placeholders(name: str) -> None:
    catalogue = i18n.read_catalogue("sv")  # every .po part, as the build compiles them
    for msgid in messages(ROOT / name):
        message = catalogue.get(msgid)
        assert message is not None and message.string, f"no Swedish for {msgid!r}"
        text = str(message.string)
        assert set(re.findall(r"\{\w+\}", text)) == set(re.findall(r"\{\w+\}", msgid)), msgid
