"""Every text the documents print and every message of exporting has a Swedish translation
with the same placeholders; document texts live under the context "report" so they never
collide with another area's translation of the same English word."""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

import pytest

from fieldkit.i18n import read_catalogue
from fieldkit.reports.labels import ENUM_LABELS
from fieldkit.reports.text import CONTEXT, Text

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT_SOURCES = sorted((ROOT / "src/fieldkit/reports").glob("*.py"))
MESSAGE_SOURCES = [ROOT / "src/fieldkit/services/exports.py", ROOT / "src/fieldkit/cli/export.py"]


def marked(paths: list[Path], names: tuple[str, ...]) -> list[str]:
    found: list[str] = []
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", None) in names
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
                and node.args[0].value not in found
            ):
                found.append(node.args[0].value)
    return found


DOCUMENT_TEXTS = marked(DOCUMENT_SOURCES, ("N_",))
MESSAGES = marked(MESSAGE_SOURCES, ("N_", "_"))


@functools.cache
def swedish():  # type: ignore[no-untyped-def]
    return read_catalogue("sv")


def fields(text: str) -> list[str]:
    return sorted(set(re.findall(r"(?<!\{)\{(\w+)\}(?!\})", text)))


def test_texts_were_found() -> None:
    assert len(DOCUMENT_TEXTS) > 150 and len(MESSAGES) > 15


@pytest.mark.parametrize("msgid", DOCUMENT_TEXTS)
def test_document_text_has_swedish(msgid: str) -> None:
    message = swedish().get(msgid, context=CONTEXT)
    assert message is not None and message.string, f"no Swedish for: {msgid}"
    assert fields(str(message.string)) == fields(msgid)


@pytest.mark.parametrize("msgid", MESSAGES)
def test_export_message_has_swedish(msgid: str) -> None:
    message = swedish().get(msgid)
    assert message is not None and message.string, f"no Swedish for: {msgid}"
    assert fields(str(message.string)) == fields(msgid)


def test_every_vocabulary_value_has_a_printed_label_in_both_languages() -> None:
    sv, en = Text("sv"), Text("en")
    for (enum, code), _ in ENUM_LABELS.items():
        value = enum(code)
        assert sv.enum(value) != code or code in ("mentor",), (enum.__name__, code)
        assert en.enum(value)


def test_the_statute_reference_is_data_in_the_catalogue_not_code() -> None:
    for path in [*DOCUMENT_SOURCES, *MESSAGE_SOURCES]:
        assert "OSL" not in path.read_text(encoding="utf-8"), path
    assert Text("sv").tr("CONFIDENTIAL – social services secrecy") == "SEKRETESS – OSL 26 kap."
    assert Text("en").tr("CONFIDENTIAL – social services secrecy").startswith("CONFIDENTIAL")


def test_dates_follow_the_document_language() -> None:
    import datetime as dt

    day = dt.date(2026, 11, 28)
    moment = dt.datetime(2026, 6, 1, 12, 5, tzinfo=dt.UTC)
    assert Text("sv").date(day) == "2026-11-28"
    assert Text("sv").long_date(day) == "28 november 2026"
    assert Text("en").date(day) == "28 Nov 2026"
    assert Text("en").long_date(day) == "28 November 2026"
    assert Text("sv").datetime(moment) == "2026-06-01 14:05"  # Stockholm summer time
    assert Text("sv").iso_date("2026-03-02T10:15") == "2026-03-02 10:15"  # wall clock kept
