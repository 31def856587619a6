"""fieldkit.storage: the encrypted local vault (SQLCipher 4), its schema and migrations, the
repositories, full-text search, the audit log and the sync outbox. Nothing else opens the
database file. See docs/storage.md."""

from fieldkit.storage.errors import (
    DiskFull,
    Fts5Missing,
    NotAVault,
    NotEncrypted,
    SchemaTooNew,
    VaultClosed,
    VaultCorrupt,
    VaultError,
    VaultExists,
    VaultMissing,
    VaultTruncated,
    VaultWriteFailed,
    WalMissing,
    WrongKey,
)
from fieldkit.storage.repos import CaseSummary, OutboxRow
from fieldkit.storage.search import SearchHit
from fieldkit.storage.vault import Vault

__all__ = [
    "CaseSummary",
    "DiskFull",
    "Fts5Missing",
    "NotAVault",
    "NotEncrypted",
    "OutboxRow",
    "SchemaTooNew",
    "SearchHit",
    "Vault",
    "VaultClosed",
    "VaultCorrupt",
    "VaultError",
    "VaultExists",
    "VaultMissing",
    "VaultTruncated",
    "VaultWriteFailed",
    "WalMissing",
    "WrongKey",
]
