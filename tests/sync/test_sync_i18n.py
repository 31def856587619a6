"""Every user-facing text of sync has a Swedish translation in resources/locale/sv/sync.po."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from fieldkit import i18n
from fieldkit.sync.errors import NotAFieldkitServer

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [
    "src/fieldkit/sync/errors.py",
    "src/fieldkit/sync/transport.py",
    "src/fieldkit/sync/engine.py",
    "src/fieldkit/sync/scheduler.py",
    "src/fieldkit/services/sync.py",
    "src/fieldkit/cli/sync.py",
]


def test_every_sync_message_has_a_swedish_translation() -> None:
    with (ROOT / "resources/locale/sv/sync.po").open("rb") as fh:
        catalogue = read_po(fh, locale="sv")
    translated = {m.id for m in catalogue if m.id and m.string}
    missing = []
    for source in SOURCES:
        for _line, message, _comments, _context in extract_from_file(
            "python", str(ROOT / source), keywords={"_": None, "N_": None}
        ):
            if message not in translated:
                missing.append((source, message))
    assert missing == []


def test_placeholders_survive_translation() -> None:
    with (ROOT / "resources/locale/sv/sync.po").open("rb") as fh:
        catalogue = read_po(fh, locale="sv")
    import string

    for message in catalogue:
        if not message.id:
            continue
        names = {f[1] for f in string.Formatter().parse(message.id) if f[1]}
        translated = {f[1] for f in string.Formatter().parse(message.string) if f[1]}
        assert names == translated, message.id


def test_a_captive_portal_is_explained_in_swedish() -> None:
    error = NotAFieldkitServer(
        "The address {url} did not answer as a fieldkit server (HTTP {status}, {kind}).",
        "Check the address; if you are on a public Wi-Fi, log in to it in a web browser first, "
        "then sync again.",
        url="http://10.0.0.1",
        status=200,
        kind="text/html",
    )
    text = i18n.render(error, "sv")
    assert text.startswith("Adressen http://10.0.0.1 svarade inte som en fieldkit-server")
    assert "logga först in" in text
