"""Every user-facing message of fieldkit.storage has a Swedish translation with the same
placeholders, and the storage errors carry the exit codes the CLI promises."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest

from fieldkit.errors import ExitCode
from fieldkit.i18n import read_catalogue
from fieldkit.storage import errors as E

STORAGE = Path(__file__).resolve().parents[2] / "src" / "fieldkit" / "storage"
OWN = ("errors.py", "vault.py", "repos.py", "search.py")


def storage_messages() -> set[str]:
    found = set()
    for name in OWN:
        tree = ast.parse((STORAGE / name).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "N_":
                found.add(ast.literal_eval(node.args[0]))
    return found


def fields(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


def test_every_storage_message_is_translated_with_the_same_placeholders() -> None:
    catalogue = read_catalogue("sv")
    messages = storage_messages()
    assert len(messages) > 30
    for msgid in sorted(messages):
        entry = catalogue.get(msgid)
        assert entry is not None and entry.string, f"no Swedish for: {msgid}"
        assert fields(entry.string) == fields(msgid), msgid
        assert not re.search(r"\b(the|vault|file)\b", entry.string), entry.string


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (E.WrongKey, ExitCode.AUTH),
        (E.NotAVault, ExitCode.INTEGRITY),
        (E.VaultCorrupt, ExitCode.INTEGRITY),
        (E.VaultTruncated, ExitCode.INTEGRITY),
        (E.WalMissing, ExitCode.INTEGRITY),
        (E.SchemaTooNew, ExitCode.CONFIG),
    ],
)
def test_exit_codes(error: type[E.VaultError], code: int) -> None:
    assert error.exit_code == code


def test_distinct_error_codes() -> None:
    classes = [
        E.WrongKey,
        E.NotAVault,
        E.VaultCorrupt,
        E.VaultTruncated,
        E.WalMissing,
        E.DiskFull,
        E.SchemaTooNew,
        E.Fts5Missing,
        E.VaultWriteFailed,
        E.VaultMissing,
    ]
    assert len({c.code for c in classes}) == len(classes)


def test_rendered_in_swedish() -> None:
    from fieldkit.i18n import gettext_for

    catalogue = read_catalogue("sv")

    def sv(text: str) -> str:
        entry = catalogue.get(text)
        return entry.string if entry and entry.string else gettext_for("en")(text)

    err = E.WalMissing(
        E.MSG_WAL_MISSING, E.REM_WAL_MISSING, path="/p/vault.db", wal="/p/vault.db-wal"
    )
    text = err.render(sv)
    assert "transaktionslogg" in text and "/p/vault.db-wal" in text
