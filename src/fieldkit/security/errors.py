"""The errors of key management. Each names what happened and what to do, in English message
ids translated through ``resources/locale/sv/security.po``.

The GUI reads the attributes (``attempts_left``, ``retry_after``, ``recorded``, ``active``...)
to show a countdown or pick a dialog; the CLI renders the message and exits with the code.
"""

from __future__ import annotations

from typing import Any

from fieldkit.errors import N_, ExitCode, FieldkitError, NotFound, Refused


class SecurityError(FieldkitError):
    """Base of the key-management errors (all AUTH unless said)."""

    exit_code = ExitCode.AUTH
    code = "auth"


class WrongPassphrase(SecurityError):
    code = "wrong_passphrase"

    def __init__(self, attempts_left: int | None, retry_after: int) -> None:
        self.attempts_left = attempts_left
        self.retry_after = retry_after
        if attempts_left is None:
            message = N_("The passphrase is wrong.")
        else:
            message = N_(
                "The passphrase is wrong. Attempts left before the profile is locked: "
                "{attempts_left}."
            )
        if retry_after > 0:
            remedy = N_(
                "Check Caps Lock and the keyboard layout. You can try again in {retry_after} s."
            )
        else:
            remedy = N_("Check Caps Lock and the keyboard layout and try again.")
        super().__init__(message, remedy, attempts_left=attempts_left, retry_after=retry_after)


class TooSoon(SecurityError):
    code = "too_soon"

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(
            N_("Too many wrong passphrases in a row."),
            N_("Wait {retry_after} s before you try again."),
            retry_after=retry_after,
        )


class LockedOut(SecurityError):
    code = "locked_out"

    def __init__(self, failed_attempts: int) -> None:
        self.failed_attempts = failed_attempts
        super().__init__(
            N_("The profile is locked after too many wrong passphrases ({failed_attempts})."),
            N_("Contact IT support: they can restore access with the organisation's recovery key."),
            failed_attempts=failed_attempts,
        )


class KeyringUnavailable(SecurityError):
    code = "keyring_unavailable"

    def __init__(self, recorded: str) -> None:
        self.recorded = recorded
        super().__init__(
            N_(
                "The system keyring ({recorded}) that holds this profile's device secret "
                "cannot be reached."
            ),
            N_(
                "Log in to your ordinary desktop session, where the keyring is unlocked when "
                "you log in, and try again. If it still fails, contact IT support."
            ),
            recorded=recorded,
        )


class KeyringChanged(SecurityError):
    code = "keyring_changed"

    def __init__(self, recorded: str, active: str) -> None:
        self.recorded = recorded
        self.active = active
        super().__init__(
            N_(
                "This profile's device secret is kept in the keyring {recorded}, but the "
                "keyring in use now is {active}."
            ),
            N_(
                "Log in to the same desktop session, with the same user account on the same "
                "computer, that created the profile. If the profile has been moved to another "
                "computer, contact IT support for recovery."
            ),
            recorded=recorded,
            active=active,
        )


class DeviceSecretMissing(SecurityError):
    code = "device_secret_missing"

    def __init__(self, backend: str) -> None:
        self.backend = backend
        super().__init__(
            N_(
                "This profile's device secret is missing from the system keyring ({backend}). "
                "That happens when the profile files were copied to another computer or user "
                "account, or when the keyring entry was deleted."
            ),
            N_(
                "The passphrase alone cannot open the profile. Contact IT support to restore "
                "access with the organisation's recovery key."
            ),
            backend=backend,
        )


class DeviceSecretMismatch(SecurityError):
    """The keyring holds a device secret, but not the one this key file was written with."""

    exit_code = ExitCode.INTEGRITY
    code = "device_secret_mismatch"

    def __init__(self, backend: str) -> None:
        self.backend = backend
        super().__init__(
            N_(
                "The device secret in the system keyring ({backend}) does not belong to this "
                "profile's key file: the keyring entry was replaced, for example by restoring "
                "the keyring from another computer or another installation."
            ),
            N_(
                "Do not delete anything. If the keyring was restored or copied, put back the "
                "entry this computer had; otherwise contact IT support to restore access with "
                "the organisation's recovery key."
            ),
            backend=backend,
        )


class InsecureKeyring(SecurityError):
    code = "insecure_keyring"

    def __init__(self, backend: str) -> None:
        self.backend = backend
        super().__init__(
            N_(
                "The keyring {backend} does not protect secrets: it keeps them unencrypted "
                "or not at all, so fieldkit refuses to use it."
            ),
            N_(
                "Use the keyring of your desktop session (GNOME Keyring, KWallet, Windows "
                "Credential Manager or the macOS Keychain). For development only, an insecure "
                "keyring can be allowed explicitly in the settings."
            ),
            backend=backend,
        )


class SlotFileCorrupt(SecurityError):
    """The key file is unreadable or was changed outside fieldkit. ``reason`` is for logs."""

    exit_code = ExitCode.INTEGRITY
    code = "slot_file_corrupt"

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(
            N_("The key file {path} is damaged or has been changed outside fieldkit."),
            N_(
                "Do not delete anything. Restore the key file from a backup, or contact IT "
                "support for recovery with the organisation's recovery key."
            ),
            path=path,
        )


class SlotFileTooNew(SecurityError):
    exit_code = ExitCode.CONFIG
    code = "slot_file_too_new"

    def __init__(self, path: str, version: object) -> None:
        self.path = path
        super().__init__(
            N_("The key file {path} was written by a newer version of fieldkit."),
            N_("Update fieldkit to the latest version and try again."),
            path=path,
            version=version,
        )


class SlotsNotFound(NotFound):
    code = "slots_not_found"

    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__(
            N_("There is no key file at {path}: this profile has not been set up."),
            N_("Create the profile first, or choose the right data folder."),
            path=path,
        )


class SlotsExist(Refused):
    code = "slots_exist"

    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__(
            N_("A key file already exists at {path}; fieldkit will not overwrite it."),
            N_("Open the existing profile, or choose an empty data folder."),
            path=path,
        )


class NoRotationPending(Refused):
    code = "no_rotation_pending"

    def __init__(self) -> None:
        super().__init__(
            N_("No data key rotation is in progress."),
            N_("Start a rotation before completing it."),
        )


class WeakPassphrase(SecurityError):
    exit_code = ExitCode.USAGE
    code = "weak_passphrase"

    def __init__(self, message: str, reason: str, **params: Any) -> None:
        self.reason = reason
        super().__init__(
            message,
            N_("A few unrelated words make a long passphrase that is easy to remember."),
            **params,
        )


class RecoveryFailed(SecurityError):
    code = "recovery_failed"

    def __init__(self, message: str, reason: str, **params: Any) -> None:
        self.reason = reason
        super().__init__(
            message,
            N_("Check that you use this organisation's recovery key and the right profile."),
            **params,
        )


class InvalidRecoveryKey(SecurityError):
    exit_code = ExitCode.CONFIG
    code = "invalid_recovery_key"

    def __init__(self, what: str) -> None:
        self.what = what
        super().__init__(
            N_("The recovery key is not a usable X25519 or RSA key in PEM form."),
            N_(
                "Ask IT support for the organisation's recovery key: X25519, or RSA with at "
                "least 2048 bits, in PEM form."
            ),
        )
