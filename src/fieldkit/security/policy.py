"""The security policy: set by the organisation (or a development setting), read by the vault."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SecurityPolicy:
    min_passphrase_length: int = 12
    lockout_limit: int = 10  # failed unlocks before lockout; 0 disables the lockout
    wipe_on_lockout: bool = False  # the caller wipes (KeySlots.wipe) when LockedOut is raised
    allow_insecure_keyring: bool = False  # policy or explicit development setting
    recovery_public_key: str | None = None  # PEM of the organisation's X25519 (or RSA) key
    argon2_target_seconds: float = 0.5  # calibration target on first setup
