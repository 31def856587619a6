"""The errors the vault can raise. Each names what happened and what to do; none of the paths
that raise them ever writes to, truncates or deletes the database file."""

from __future__ import annotations

from fieldkit.errors import N_, ExitCode, FieldkitError


class VaultError(FieldkitError):
    """Base of every vault problem."""

    code = "vault_error"


class VaultMissing(VaultError):
    exit_code = ExitCode.NOT_FOUND
    code = "vault_missing"


class VaultExists(VaultError):
    exit_code = ExitCode.USAGE
    code = "vault_exists"


class WrongKey(VaultError):
    """None of the keys given opens the vault."""

    exit_code = ExitCode.AUTH
    code = "wrong_key"


class NotAVault(VaultError):
    """The file is not an encrypted fieldkit vault (a plain SQLite file or something else)."""

    exit_code = ExitCode.INTEGRITY
    code = "not_a_vault"


NotEncrypted = NotAVault


class VaultCorrupt(VaultError):
    """Pages fail their authentication (SQLCipher HMAC) or the structure is damaged."""

    exit_code = ExitCode.INTEGRITY
    code = "vault_corrupt"

    def __init__(
        self,
        message: str,
        remedy: str | None = None,
        *,
        pages: tuple[int, ...] = (),
        **params: object,
    ) -> None:
        self.pages = pages
        super().__init__(message, remedy, **params)  # type: ignore[arg-type]


class VaultTruncated(VaultError):
    exit_code = ExitCode.INTEGRITY
    code = "vault_truncated"


class WalMissing(VaultError):
    exit_code = ExitCode.INTEGRITY
    code = "wal_missing"


class DiskFull(VaultError):
    exit_code = ExitCode.FAILURE
    code = "disk_full"


class VaultWriteFailed(VaultError):
    exit_code = ExitCode.FAILURE
    code = "vault_write_failed"


class SchemaTooNew(VaultError):
    exit_code = ExitCode.CONFIG
    code = "schema_too_new"


class Fts5Missing(VaultError):
    exit_code = ExitCode.CONFIG
    code = "fts5_missing"


class VaultClosed(VaultError):
    exit_code = ExitCode.FAILURE
    code = "vault_closed"


# --- the messages (English msgids; Swedish in resources/locale/sv/storage.po) ---------------

MSG_MISSING = N_("No vault was found at {path}.")
REM_MISSING = N_("Check the data folder, or create a new profile.")
MSG_EXISTS = N_("A vault already exists at {path}.")
REM_EXISTS = N_("Open the existing vault instead, or choose another data folder.")
MSG_WRONG_KEY = N_("The vault could not be unlocked with this key.")
REM_WRONG_KEY = N_(
    "Check the passphrase. If it is right, the key slot file may belong to another vault."
)
MSG_PLAIN_SQLITE = N_("The file {path} is an unencrypted SQLite database, not a fieldkit vault.")
REM_PLAIN_SQLITE = N_(
    "Do not use it for case data. Contact IT support; the file has been left untouched."
)
MSG_NOT_A_VAULT = N_("The file {path} is not a fieldkit vault.")
REM_NOT_A_VAULT = N_("Check the data folder. The file has been left untouched.")
MSG_TRUNCATED = N_("The vault {path} is truncated: it is {size} bytes, but should be {expected}.")
REM_KEEP_FILE = N_(
    "Do not delete or overwrite the file. Contact IT support to restore it from a backup or "
    "recover it; the file has been left untouched."
)
MSG_CORRUPT = N_(
    "The vault {path} is damaged: {count} page(s) fail their integrity check (page {page_list})."
)
MSG_CORRUPT_GENERIC = N_("The vault {path} is damaged: {detail}.")
MSG_WAL_MISSING = N_(
    "The vault {path} was not closed properly last time and its write-ahead log ({wal}) is "
    "missing. The most recent changes may be missing."
)
REM_WAL_MISSING = N_(
    "Do not use the vault now. Restore the missing log file if it was moved, or contact IT "
    "support; nothing has been changed."
)
MSG_DISK_FULL = N_("The disk is full; the change was not saved.")
REM_DISK_FULL = N_("Free some disk space and try again. Everything saved before is intact.")
MSG_WRITE_FAILED = N_("The vault could not be written ({detail}); the change was not saved.")
REM_WRITE_FAILED = N_("Check the disk and try again. Everything saved before is intact.")
MSG_SCHEMA_TOO_NEW = N_(
    "The vault was written by a newer version of fieldkit (schema {found}; this version knows "
    "up to {known})."
)
REM_SCHEMA_TOO_NEW = N_("Update fieldkit. The vault has been left untouched.")
MSG_FTS5_MISSING = N_("This build of the database library lacks full-text search (FTS5).")
REM_FTS5_MISSING = N_("Reinstall fieldkit; the installation is incomplete.")
MSG_NO_CIPHER = N_("The database library in use does not encrypt (SQLCipher is missing).")
REM_NO_CIPHER = N_("Reinstall fieldkit; the installation is incomplete. No data has been written.")
MSG_CLOSED = N_("The vault is locked.")
REM_CLOSED = N_("Unlock it again to continue.")
