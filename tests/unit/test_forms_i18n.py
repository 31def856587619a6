"""Every user-facing message of the forms engine, the assessments service and their commands
has a Swedish translation with the same placeholders."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from fieldkit.i18n import read_catalogue

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [
    *sorted((ROOT / "src/fieldkit/forms").glob("*.py")),
    ROOT / "src/fieldkit/services/assessments.py",
    ROOT / "src/fieldkit/cli/forms.py",
    ROOT / "src/fieldkit/cli/assess.py",
]


def message_ids() -> list[str]:
    found: list[str] = []
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", None) in ("N_", "_")
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
                and node.args[0].value not in found
            ):
                found.append(node.args[0].value)
    return found


MESSAGES = message_ids()


def test_messages_were_found() -> None:
    assert len(MESSAGES) > 100


@pytest.mark.parametrize("msgid", MESSAGES)
def test_swedish_translation_exists_with_same_placeholders(msgid: str) -> None:
    catalogue = read_catalogue("sv")
    message = catalogue.get(msgid)
    assert message is not None and message.string, f"no Swedish for: {msgid}"
    fields = lambda s: sorted(set(re.findall(r"(?<!\{)\{(\w+)\}(?!\})", s)))  # noqa: E731
    assert fields(message.string) == fields(msgid)
