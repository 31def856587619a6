"""Key slots: the vault's data key, wrapped, in a small JSON file beside the database.

See docs/keys.md for the key hierarchy and what each piece protects against. In short:

- data key: 32 random bytes, the raw SQLCipher key; never written anywhere in the clear.
- unlock slot: the data key under AES-256-GCM with a wrapping key
  HKDF-SHA256(Argon2id(passphrase, salt) || device secret, info "fieldkit unlock slot v1");
  the 32-byte device secret lives in the OS keyring (service "fieldkit",
  user "device-secret:<profile id>").
- recovery slot (optional, by policy): the data key sealed to the organisation's public key.
- an HMAC-SHA256 over the whole file with a key derived from the device secret, so a change to
  the parameters, the wrapped keys, the recorded backend or the attempt counter is detected
  (SlotFileCorrupt) by anyone who can read the keyring -- i.e. on every unlock.

Unlocking never sleeps: after repeated wrong passphrases it refuses with ``TooSoon`` and the
seconds to wait, so the GUI can show a countdown.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import math
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path
from typing import Any, NoReturn

from fieldkit.errors import N_
from fieldkit.security import crypto
from fieldkit.security.crypto import Argon2Params, zero
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
    SlotFileCorrupt,
    SlotFileTooNew,
    SlotsExist,
    SlotsNotFound,
    TooSoon,
    WrongPassphrase,
)
from fieldkit.security.keystore import (
    SERVICE,
    ActiveBackend,
    KeyringFailure,
    active_backend,
    classify,
    delete_secret,
    load_secret,
    store_secret,
    username_for,
)
from fieldkit.security.passphrase import check_passphrase, normalize
from fieldkit.security.policy import SecurityPolicy

log = logging.getLogger(__name__)

FORMAT = "fieldkit-keyslots"
FORMAT_VERSION = 1
SECRET_ID_INFO = b"fieldkit device secret id v1"
FREE_ATTEMPTS = 3  # wrong passphrases before any delay
MAX_DELAY_SECONDS = 300


def retry_delay(failed: int) -> int:
    """Seconds to wait after ``failed`` consecutive wrong passphrases: 0 for the first three,
    then 2, 4, 8, ... capped at 5 minutes."""
    if failed < FREE_ATTEMPTS:
        return 0
    return int(min(2 ** (failed - FREE_ATTEMPTS + 1), MAX_DELAY_SECONDS))


@dataclass(frozen=True)
class DataKeys:
    current: bytes  # 32-byte raw SQLCipher key
    pending: bytes | None  # set while a data-key rotation is half done


@dataclass(frozen=True)
class SlotStatus:
    failed_attempts: int
    locked_out: bool
    retry_after_seconds: int
    backend: str  # the keyring backend recorded at setup (module.class)
    insecure: bool  # the profile runs on an insecure keyring (allowed by policy/dev setting)
    rotation_pending: bool = False
    has_recovery_slot: bool = False


def _ad(slot: str, profile_id: str) -> bytes:
    """Associated data binding a wrapped key to its slot type, profile and format version."""
    return json.dumps(
        {"format": FORMAT_VERSION, "profile": profile_id, "slot": slot},
        sort_keys=True,
        separators=(",", ":"),
    ).encode("utf-8")


def _canonical(doc: dict[str, Any]) -> bytes:
    body = {k: v for k, v in doc.items() if k != "mac"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode(
        "ascii"
    )


def _mac(doc: dict[str, Any], device_secret: bytearray, profile_id: str) -> str:
    key = crypto.hkdf(device_secret, crypto.MAC_INFO, salt=profile_id.encode("utf-8"))
    try:
        return crypto.b64e(hmac.new(bytes(key), _canonical(doc), sha256).digest())
    finally:
        zero(key)


def _secret_id(device_secret: bytearray, profile_id: str) -> str:
    """A short public fingerprint of the device secret (HKDF, says nothing about the secret):
    tells "the keyring entry was replaced" apart from "the key file was changed"."""
    fingerprint = crypto.hkdf(device_secret, SECRET_ID_INFO, salt=profile_id.encode("utf-8"))
    try:
        return bytes(fingerprint[:8]).hex()
    finally:
        zero(fingerprint)


def _passphrase_bytes(passphrase: str) -> bytes:
    return normalize(passphrase).encode("utf-8")


def _recovery_key_from_policy(policy: SecurityPolicy) -> crypto.RecoveryPublicKey | None:
    if not policy.recovery_public_key:
        return None
    try:
        return crypto.load_recovery_public_key(policy.recovery_public_key)
    except ValueError as exc:
        raise InvalidRecoveryKey(str(exc)) from exc


def _seal_recovery(
    key: crypto.RecoveryPublicKey, profile_id: str, current: bytearray, pending: bytearray | None
) -> dict[str, Any]:
    ad = _ad("recovery", profile_id)
    return {
        "key_id": crypto.public_key_id(key),
        "public_key": crypto.public_key_pem(key),
        "current": crypto.seal(key, current, ad),
        "pending": crypto.seal(key, pending, ad) if pending is not None else None,
    }


def _write_atomic(path: Path, data: bytes) -> None:
    """Temp file in the same directory, fsync, os.replace, fsync the directory; mode 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with contextlib.suppress(AttributeError, OSError):
            os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if os.name == "posix":
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _check_box(value: Any, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if not isinstance(value, dict):
        raise TypeError("box")
    for field in ("nonce", "ciphertext", "ephemeral"):
        if field in value:
            crypto.b64d(value[field])
    if "ciphertext" not in value:
        raise KeyError("ciphertext")


class _Opened:
    """What a successful passphrase check yields; zero() when done."""

    def __init__(
        self,
        doc: dict[str, Any],
        secret: bytearray,
        wrapping_key: bytearray,
        current: bytearray,
        pending: bytearray | None,
    ) -> None:
        self.doc = doc
        self.secret = secret
        self.wrapping_key = wrapping_key
        self.current = current
        self.pending = pending

    def zero(self) -> None:
        zero(self.secret)
        zero(self.wrapping_key)
        zero(self.current)
        zero(self.pending)


class KeySlots:
    """The key-slot file of one profile (``<data_dir>/keyslots.json``).

    ``clock`` (seconds since the epoch) is injectable so the delay and lockout can be tested
    without sleeping; the app uses the default.
    """

    def __init__(
        self,
        slot_path: Path,
        profile_id: str,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not profile_id:
            raise ValueError("profile_id must not be empty")
        self.slot_path = Path(slot_path)
        self.profile_id = profile_id
        self._clock = clock

    # --- public API -------------------------------------------------------------------------

    def exists(self) -> bool:
        return self.slot_path.exists()

    def create(
        self,
        passphrase: str,
        policy: SecurityPolicy,
        *,
        argon2_params: Argon2Params | None = None,
        username: str | None = None,
    ) -> bytes:
        """A new data key; writes the slot file; the new device secret goes to the keyring.

        ``argon2_params`` skips calibration (tests, or IT pinning parameters); its salt is
        replaced by a fresh one.
        """
        if self.exists():
            raise SlotsExist(str(self.slot_path))
        check_passphrase(passphrase, policy, username)
        recovery_key = _recovery_key_from_policy(policy)
        active = self._backend_for_setup(policy)
        params = (argon2_params or crypto.calibrate(policy.argon2_target_seconds)).with_salt(
            os.urandom(crypto.SALT_BYTES)
        )
        secret = bytearray(os.urandom(crypto.KEY_BYTES))
        data_key = bytearray(os.urandom(crypto.KEY_BYTES))
        wrapping_key = bytearray()
        try:
            self._store_secret(active, secret)
            wrapping_key = crypto.unlock_wrapping_key(_passphrase_bytes(passphrase), params, secret)
            doc: dict[str, Any] = {
                "format": FORMAT,
                "version": FORMAT_VERSION,
                "profile_id": self.profile_id,
                "keyring": {
                    "backend": active.name,
                    "service": SERVICE,
                    "username": username_for(self.profile_id),
                },
                "unlock": {
                    "kdf": params.to_json(),
                    "current": crypto.wrap(wrapping_key, data_key, _ad("unlock", self.profile_id)),
                    "pending": None,
                },
                "recovery": (
                    _seal_recovery(recovery_key, self.profile_id, data_key, None)
                    if recovery_key is not None
                    else None
                ),
                "attempts": {"failed": 0, "last_failure": None, "locked_out": False},
            }
            self._save(doc, secret)
            return bytes(data_key)
        finally:
            zero(secret)
            zero(data_key)
            zero(wrapping_key)

    def unlock(self, passphrase: str, policy: SecurityPolicy) -> DataKeys:
        """The data key(s). Enforces the delay and the lockout; never sleeps.

        Raises, in this order of checks: SlotsNotFound, SlotFileCorrupt / SlotFileTooNew,
        KeyringUnavailable, KeyringChanged, InsecureKeyring, DeviceSecretMissing,
        SlotFileCorrupt (MAC), LockedOut, TooSoon, WrongPassphrase (or LockedOut on the attempt
        that reaches the limit). A success resets the failure count, and seals the data key to
        the policy's recovery key if the policy now names one the file lacks.
        """
        opened = self._open(passphrase, policy)
        try:
            changed = False
            try:
                recovery_key = _recovery_key_from_policy(policy)
            except InvalidRecoveryKey:
                # A broken policy must not lock the worker out of their own vault; create and
                # recover refuse it loudly, and the configuration layer validates it.
                log.warning("recovery public key in the policy is unusable; not sealing")
                recovery_key = None
            rec = opened.doc.get("recovery")
            if recovery_key is not None and (
                rec is None or rec.get("key_id") != crypto.public_key_id(recovery_key)
            ):
                opened.doc["recovery"] = _seal_recovery(
                    recovery_key, self.profile_id, opened.current, opened.pending
                )
                changed = True
            if changed:
                self._save(opened.doc, opened.secret)
            return DataKeys(
                bytes(opened.current),
                bytes(opened.pending) if opened.pending is not None else None,
            )
        finally:
            opened.zero()

    def change_passphrase(
        self, old: str, new: str, policy: SecurityPolicy, *, username: str | None = None
    ) -> None:
        """Re-wrap the same data key (and a pending one) under the new passphrase; new salt,
        same Argon2 cost. The vault file is not touched."""
        check_passphrase(new, policy, username)
        opened = self._open(old, policy)
        new_key = bytearray()
        try:
            old_params = Argon2Params.from_json(opened.doc["unlock"]["kdf"])
            params = old_params.with_salt(os.urandom(crypto.SALT_BYTES))
            new_key = crypto.unlock_wrapping_key(_passphrase_bytes(new), params, opened.secret)
            ad = _ad("unlock", self.profile_id)
            opened.doc["unlock"] = {
                "kdf": params.to_json(),
                "current": crypto.wrap(new_key, opened.current, ad),
                "pending": (
                    crypto.wrap(new_key, opened.pending, ad) if opened.pending is not None else None
                ),
            }
            self._save(opened.doc, opened.secret)
        finally:
            zero(new_key)
            opened.zero()

    def begin_rotation(self, passphrase: str, policy: SecurityPolicy) -> DataKeys:
        """Record a new random data key as ``pending`` (wrapped like the current one, and sealed
        to the recovery key if there is a recovery slot). The caller then runs PRAGMA rekey and
        calls complete_rotation. If a rotation is already pending (a crash in between), the same
        pending key is returned, so the caller can finish it: open the vault with
        [current, pending] and rekey only if the current key still opened it."""
        opened = self._open(passphrase, policy)
        try:
            if opened.pending is None:
                opened.pending = bytearray(os.urandom(crypto.KEY_BYTES))
                ad = _ad("unlock", self.profile_id)
                opened.doc["unlock"]["pending"] = crypto.wrap(
                    opened.wrapping_key, opened.pending, ad
                )
                rec = opened.doc.get("recovery")
                if rec is not None:
                    key = crypto.load_recovery_public_key(rec["public_key"])
                    rec["pending"] = crypto.seal(
                        key, opened.pending, _ad("recovery", self.profile_id)
                    )
                self._save(opened.doc, opened.secret)
            return DataKeys(bytes(opened.current), bytes(opened.pending))
        finally:
            opened.zero()

    def complete_rotation(self, passphrase: str, policy: SecurityPolicy) -> None:
        """The pending data key becomes the current one (after a successful PRAGMA rekey)."""
        opened = self._open(passphrase, policy)
        try:
            unlock = opened.doc["unlock"]
            if unlock.get("pending") is None:
                raise NoRotationPending()
            unlock["current"], unlock["pending"] = unlock["pending"], None
            rec = opened.doc.get("recovery")
            if rec is not None and rec.get("pending") is not None:
                rec["current"], rec["pending"] = rec["pending"], None
            self._save(opened.doc, opened.secret)
        finally:
            opened.zero()

    def status(self) -> SlotStatus:
        """Attempt state and keyring facts, without the passphrase or the keyring (the file's
        MAC is not checked here; unlock checks it)."""
        doc = self._load()
        attempts = doc["attempts"]
        backend = doc["keyring"]["backend"]
        return SlotStatus(
            failed_attempts=attempts["failed"],
            locked_out=attempts["locked_out"],
            retry_after_seconds=0 if attempts["locked_out"] else self._retry_after(attempts),
            backend=backend,
            insecure=classify(backend) != "secure",
            rotation_pending=doc["unlock"].get("pending") is not None,
            has_recovery_slot=doc.get("recovery") is not None,
        )

    def wipe(self) -> None:
        """Delete the keyring entry (best effort) and the slot file. Without the slot file the
        vault cannot be decrypted by anyone, the recovery key included: this is cryptographic
        erasure of the profile. The caller deletes the database files."""
        delete_secret(active_backend(), self.profile_id)
        with contextlib.suppress(FileNotFoundError):
            os.remove(self.slot_path)

    # --- internals --------------------------------------------------------------------------

    def _retry_after(self, attempts: dict[str, Any]) -> int:
        delay = retry_delay(attempts["failed"])
        last = attempts["last_failure"]
        if delay == 0 or last is None:
            return 0
        now = self._clock()
        if now < last:  # the clock went back: count the whole delay from now
            return delay
        return max(0, math.ceil(last + delay - now))

    def _load(self, *, recovery_only: bool = False) -> dict[str, Any]:
        """The parsed file, checked for shape (not for its MAC). ``recovery_only`` checks only
        what recovery needs, so a damaged unlock slot does not stand in the way of IT."""
        path = str(self.slot_path)
        try:
            raw = self.slot_path.read_bytes()
        except FileNotFoundError:
            raise SlotsNotFound(path) from None
        try:
            doc = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise SlotFileCorrupt(path, "not JSON") from None
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise SlotFileCorrupt(path, "not a fieldkit key file")
        version = doc.get("version")
        if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
            raise SlotFileTooNew(path, version)
        if version != FORMAT_VERSION:
            raise SlotFileCorrupt(path, "bad version")
        if doc.get("profile_id") != self.profile_id:
            raise SlotFileCorrupt(path, "belongs to another profile")
        try:
            if recovery_only:
                self._validate_recovery(doc.get("recovery"))
            else:
                self._validate(doc)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise SlotFileCorrupt(path, f"malformed: {exc}") from None
        return doc

    @staticmethod
    def _validate_recovery(rec: Any) -> None:
        if rec is None:
            return
        if not isinstance(rec["public_key"], str) or not isinstance(rec["key_id"], str):
            raise TypeError("recovery key")
        _check_box(rec["current"])
        _check_box(rec.get("pending"), optional=True)

    @classmethod
    def _validate(cls, doc: dict[str, Any]) -> None:
        box = _check_box
        if not isinstance(doc["keyring"]["backend"], str):
            raise TypeError("backend")
        unlock = doc["unlock"]
        Argon2Params.from_json(unlock["kdf"])
        box(unlock["current"])
        if "nonce" not in unlock["current"]:
            raise KeyError("nonce")
        box(unlock.get("pending"), optional=True)
        cls._validate_recovery(doc.get("recovery"))
        attempts = doc["attempts"]
        failed = attempts["failed"]
        if not isinstance(failed, int) or isinstance(failed, bool) or failed < 0:
            raise ValueError("failed")
        last = attempts["last_failure"]
        if last is not None and not isinstance(last, (int, float)):
            raise TypeError("last_failure")
        if not isinstance(attempts["locked_out"], bool):
            raise TypeError("locked_out")
        if not isinstance(doc.get("mac"), str):
            raise KeyError("mac")

    def _save(self, doc: dict[str, Any], secret: bytearray) -> None:
        doc["keyring"]["secret_id"] = _secret_id(secret, self.profile_id)
        doc["mac"] = _mac(doc, secret, self.profile_id)
        data = json.dumps(doc, indent=2, sort_keys=True).encode("utf-8") + b"\n"
        _write_atomic(self.slot_path, data)

    def _backend_for_setup(self, policy: SecurityPolicy) -> ActiveBackend:
        active = active_backend()
        if active.kind != "secure" and not policy.allow_insecure_keyring:
            raise InsecureKeyring(active.name)
        if active.kind == "unusable":
            raise KeyringUnavailable(active.name)
        return active

    def _store_secret(self, active: ActiveBackend, secret: bytearray) -> None:
        try:
            store_secret(active, self.profile_id, secret)
        except KeyringFailure:
            raise KeyringUnavailable(active.name) from None

    def _backend_for_unlock(self, doc: dict[str, Any], policy: SecurityPolicy) -> ActiveBackend:
        recorded = doc["keyring"]["backend"]
        active = active_backend()
        if active.kind == "unusable":
            raise KeyringUnavailable(recorded)
        if active.name != recorded:
            raise KeyringChanged(recorded, active.name)
        if active.kind == "insecure" and not policy.allow_insecure_keyring:
            raise InsecureKeyring(active.name)
        return active

    def _open(self, passphrase: str, policy: SecurityPolicy) -> _Opened:
        """Every check of unlock; on success the caller owns (and zeroes) the result."""
        doc = self._load()
        active = self._backend_for_unlock(doc, policy)
        try:
            secret = load_secret(active, self.profile_id)
        except KeyringFailure:
            raise KeyringUnavailable(active.name) from None
        if secret is None:
            raise DeviceSecretMissing(active.name)
        wrapping_key = bytearray()
        try:
            if not hmac.compare_digest(_mac(doc, secret, self.profile_id), doc["mac"]):
                recorded_id = doc["keyring"].get("secret_id")
                if isinstance(recorded_id, str) and not hmac.compare_digest(
                    recorded_id, _secret_id(secret, self.profile_id)
                ):
                    raise DeviceSecretMismatch(active.name)
                raise SlotFileCorrupt(str(self.slot_path), "MAC mismatch")
            attempts = doc["attempts"]
            if attempts["locked_out"]:
                raise LockedOut(attempts["failed"])
            last = attempts["last_failure"]
            if last is not None and self._clock() < last:
                # The clock went back: restart the wait from now rather than from a future
                # moment, or the user would wait until the clock caught up.
                attempts["last_failure"] = self._clock()
                self._save(doc, secret)
            wait = self._retry_after(attempts)
            if wait > 0:
                raise TooSoon(wait)
            params = Argon2Params.from_json(doc["unlock"]["kdf"])
            wrapping_key = crypto.unlock_wrapping_key(_passphrase_bytes(passphrase), params, secret)
            ad = _ad("unlock", self.profile_id)
            current = crypto.unwrap(wrapping_key, doc["unlock"]["current"], ad)
            if current is None:
                # The MAC proved the file (parameters, wrapped key) is as we wrote it, so an
                # AEAD failure here can only mean a wrong passphrase.
                self._record_failure(doc, secret, policy)  # raises
            pending = None
            if doc["unlock"].get("pending") is not None:
                pending = crypto.unwrap(wrapping_key, doc["unlock"]["pending"], ad)
                if pending is None:
                    zero(current)
                    raise SlotFileCorrupt(str(self.slot_path), "pending key does not unwrap")
            if attempts["failed"]:
                doc["attempts"] = {"failed": 0, "last_failure": None, "locked_out": False}
                self._save(doc, secret)
            return _Opened(doc, secret, wrapping_key, current, pending)
        except BaseException:
            zero(secret)
            zero(wrapping_key)
            raise

    def _record_failure(
        self, doc: dict[str, Any], secret: bytearray, policy: SecurityPolicy
    ) -> NoReturn:
        failed = doc["attempts"]["failed"] + 1
        limit = policy.lockout_limit
        locked = limit > 0 and failed >= limit
        doc["attempts"] = {"failed": failed, "last_failure": self._clock(), "locked_out": locked}
        self._save(doc, secret)
        if locked:
            raise LockedOut(failed)
        raise WrongPassphrase(
            attempts_left=(limit - failed) if limit > 0 else None,
            retry_after=retry_delay(failed),
        )


def _public_of(private_key: object) -> crypto.RecoveryPublicKey | None:
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    if isinstance(private_key, X25519PrivateKey | rsa.RSAPrivateKey):
        return private_key.public_key()
    return None


def recover(
    slot_path: Path,
    profile_id: str,
    private_key_pem: bytes | str,
    new_passphrase: str,
    policy: SecurityPolicy,
    *,
    private_key_password: bytes | None = None,
    argon2_params: Argon2Params | None = None,
    username: str | None = None,
) -> DataKeys:
    """IT's path for a lost passphrase, a lost keyring entry, a changed keyring or a lockout.

    Opens the recovery slot with the organisation's private key, then writes a new slot file:
    an unlock slot under ``new_passphrase`` with a NEW device secret in this session's keyring
    (recording the active backend), the attempts reset, and the recovery slot sealed afresh (to
    the policy's recovery key, or else to the key that just opened it). Returns the data keys.

    Only the recovery part of the old file is used: a damaged or tampered unlock slot does not
    stand in the way, and nothing from the old file but the sealed data keys is carried over.
    The file's MAC cannot be checked here (its key came from the lost device secret); the
    recovery seal's AEAD/OAEP with its associated data authenticates the data keys."""
    slots = KeySlots(slot_path, profile_id)
    path = str(slots.slot_path)
    old = slots._load(recovery_only=True)
    rec = old.get("recovery")
    if rec is None:
        raise RecoveryFailed(
            N_("This profile has no recovery slot, so it cannot be recovered."), "no_slot"
        )
    try:
        private_key = crypto.load_private_key(private_key_pem, private_key_password)
    except (ValueError, TypeError) as exc:
        raise RecoveryFailed(
            N_("The recovery private key could not be read."), "bad_private_key"
        ) from exc
    ad = _ad("recovery", profile_id)
    current = crypto.unseal(private_key, rec["current"], ad)
    if current is None:
        raise RecoveryFailed(
            N_("The recovery key does not open this profile's recovery slot."), "wrong_key"
        )
    pending: bytearray | None = None
    secret = bytearray(os.urandom(crypto.KEY_BYTES))
    wrapping_key = bytearray()
    try:
        if rec.get("pending") is not None:
            pending = crypto.unseal(private_key, rec["pending"], ad)
            if pending is None:
                raise SlotFileCorrupt(path, "pending recovery key does not open")
        check_passphrase(new_passphrase, policy, username)
        recovery_key = _recovery_key_from_policy(policy) or _public_of(private_key)
        assert recovery_key is not None  # unseal succeeded, so it is an X25519 or RSA key
        active = slots._backend_for_setup(policy)
        params = (argon2_params or crypto.calibrate(policy.argon2_target_seconds)).with_salt(
            os.urandom(crypto.SALT_BYTES)
        )
        slots._store_secret(active, secret)
        wrapping_key = crypto.unlock_wrapping_key(_passphrase_bytes(new_passphrase), params, secret)
        uad = _ad("unlock", profile_id)
        doc: dict[str, Any] = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "profile_id": profile_id,
            "keyring": {
                "backend": active.name,
                "service": SERVICE,
                "username": username_for(profile_id),
            },
            "unlock": {
                "kdf": params.to_json(),
                "current": crypto.wrap(wrapping_key, current, uad),
                "pending": (
                    crypto.wrap(wrapping_key, pending, uad) if pending is not None else None
                ),
            },
            "recovery": _seal_recovery(recovery_key, profile_id, current, pending),
            "attempts": {"failed": 0, "last_failure": None, "locked_out": False},
        }
        slots._save(doc, secret)
        return DataKeys(bytes(current), bytes(pending) if pending is not None else None)
    finally:
        zero(secret)
        zero(wrapping_key)
        zero(current)
        zero(pending)
