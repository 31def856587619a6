"""fieldkit.security: key management for the local vault (no Qt, no SQL).

The data key of the SQLCipher vault, wrapped in key slots beside the database (see
docs/keys.md): an unlock slot (Argon2id(passphrase) + a device secret in the OS keyring) and an
optional recovery slot sealed to the organisation's public key; the wrong-passphrase delay and
lockout; the passphrase rules.
"""

from fieldkit.security.crypto import Argon2Params, calibrate, generate_recovery_keypair
from fieldkit.security.errors import (
    DeviceSecretMismatch,
    DeviceSecretMissing,
    InsecureKeyring,
    InvalidRecoveryKey,
    KeyringChanged,
    KeyringUnavailable,
    LockedOut,
    NoRotationPending,
    RecoveryFailed,
    SecurityError,
    SlotFileCorrupt,
    SlotFileTooNew,
    SlotsExist,
    SlotsNotFound,
    TooSoon,
    WeakPassphrase,
    WrongPassphrase,
)
from fieldkit.security.passphrase import check_passphrase, passphrase_strength
from fieldkit.security.policy import SecurityPolicy
from fieldkit.security.slots import DataKeys, KeySlots, SlotStatus, recover, retry_delay

__all__ = [
    "Argon2Params",
    "DataKeys",
    "DeviceSecretMismatch",
    "DeviceSecretMissing",
    "InsecureKeyring",
    "InvalidRecoveryKey",
    "KeySlots",
    "KeyringChanged",
    "KeyringUnavailable",
    "LockedOut",
    "NoRotationPending",
    "RecoveryFailed",
    "SecurityError",
    "SecurityPolicy",
    "SlotFileCorrupt",
    "SlotFileTooNew",
    "SlotStatus",
    "SlotsExist",
    "SlotsNotFound",
    "TooSoon",
    "WeakPassphrase",
    "WrongPassphrase",
    "calibrate",
    "check_passphrase",
    "generate_recovery_keypair",
    "passphrase_strength",
    "recover",
    "retry_delay",
]
