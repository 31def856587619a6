"""The local profile: who this laptop's user is, and the unlocked session over their vault.

A profile is a directory holding ``profile.json`` (non-secret identity, written by this module),
``keyslots.json`` (fieldkit.security) and ``vault.db`` (fieldkit.storage). ``open_session`` is
the only way to a vault: it unlocks the key slots, opens the vault with the data key, finishes
a data-key rotation a crash left half done, and records the unlock in the audit log.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import tempfile
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from fieldkit.domain.enums import AuditAction, Role
from fieldkit.domain.ids import new_id, utcnow
from fieldkit.errors import N_, ExitCode, FieldkitError, InvalidInput, NotFound, Refused
from fieldkit.security import KeySlots, check_passphrase
from fieldkit.security.errors import LockedOut, WrongPassphrase
from fieldkit.security.policy import SecurityPolicy
from fieldkit.storage import Vault
from fieldkit.storage.errors import WrongKey

log = logging.getLogger(__name__)

PROFILE_FILE = "profile.json"
SLOT_FILE = "keyslots.json"
VAULT_FILE = "vault.db"
PROFILE_FORMAT = 1
_VAULT_SIDE_FILES = ("-wal", "-shm", "-journal", ".open", ".open.tmp")


# --- errors -------------------------------------------------------------------------------


class NoProfile(NotFound):
    code = "no_profile"


class ProfileExists(Refused):
    code = "profile_exists"


class ProfileCorrupt(FieldkitError):
    exit_code = ExitCode.INTEGRITY
    code = "profile_corrupt"


class SessionLocked(FieldkitError):
    exit_code = ExitCode.AUTH
    code = "locked"


class ProfileWiped(FieldkitError):
    exit_code = ExitCode.AUTH
    code = "profile_wiped"


class VaultKeyMismatch(FieldkitError):
    exit_code = ExitCode.INTEGRITY
    code = "vault_key_mismatch"


# --- identity and profile.json ------------------------------------------------------------


@dataclass(frozen=True)
class Identity:
    """The user of this profile. Non-secret: it is kept in the clear in profile.json."""

    user_id: str
    username: str
    display_name: str
    role: Role
    team_id: str
    team_name: str
    device_id: str
    server_url: str | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["role"] = self.role.value
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Identity:
        return cls(
            user_id=str(data["user_id"]),
            username=str(data["username"]),
            display_name=str(data.get("display_name") or data["username"]),
            role=Role(data["role"]),
            team_id=str(data.get("team_id") or ""),
            team_name=str(data.get("team_name") or ""),
            device_id=str(data["device_id"]),
            server_url=data.get("server_url"),
        )

    @classmethod
    def local(
        cls,
        username: str,
        display_name: str = "",
        role: Role | str = Role.WORKER,
        team_name: str = "",
    ) -> Identity:
        """A profile not yet enrolled with a server: ids are generated here."""
        username = username.strip()
        if not username:
            raise InvalidInput(N_("A user name is needed."))
        try:
            role = Role(role)
        except ValueError as exc:
            raise InvalidInput(
                N_("Unknown role {role} (choose worker or team_lead)."), role=role
            ) from exc
        if role is Role.ADMIN:
            raise InvalidInput(
                N_("An administrator does not keep case data on a laptop."),
                N_("Choose the role worker or team_lead."),
            )
        return cls(
            user_id=new_id(),
            username=username,
            display_name=display_name.strip() or username,
            role=role,
            team_id=new_id(),
            team_name=team_name.strip(),
            device_id=new_id(),
        )


@dataclass(frozen=True)
class ProfileInfo:
    """What profile.json holds."""

    profile_id: str
    identity: Identity
    created: dt.datetime
    format: int = PROFILE_FORMAT

    @property
    def server_url(self) -> str | None:
        return self.identity.server_url


def profile_exists(data_dir: Path) -> bool:
    return (Path(data_dir) / PROFILE_FILE).is_file()


def read_profile(data_dir: Path) -> ProfileInfo:
    path = Path(data_dir) / PROFILE_FILE
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        remains = [n for n in (SLOT_FILE, VAULT_FILE) if (Path(data_dir) / n).exists()]
        if remains:
            raise ProfileCorrupt(
                N_("The profile file {path} is missing, but the profile's {files} are there."),
                N_(
                    "Do not create a new profile here. Restore profile.json from a backup, or "
                    "contact IT support; the vault itself is untouched."
                ),
                path=str(path),
                files=", ".join(remains),
            ) from exc
        raise NoProfile(
            N_("There is no fieldkit profile in {path}."),
            N_("Create one with 'fieldkit init', or point --data-dir at an existing profile."),
            path=str(data_dir),
        ) from exc
    try:
        data = json.loads(raw)
        if int(data.get("format", 0)) > PROFILE_FORMAT:
            raise ProfileCorrupt(
                N_("The profile in {path} was written by a newer fieldkit."),
                N_("Update fieldkit to open it."),
                path=str(data_dir),
            )
        identity = Identity.from_json(data["identity"])
        if data.get("server_url") and not identity.server_url:
            identity = _replace_identity(identity, server_url=data["server_url"])
        created = dt.datetime.fromisoformat(data["created"].replace("Z", "+00:00"))
        return ProfileInfo(
            profile_id=str(data["profile_id"]),
            identity=identity,
            created=created,
            format=int(data.get("format", PROFILE_FORMAT)),
        )
    except ProfileCorrupt:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ProfileCorrupt(
            N_("The profile file {path} is damaged."),
            N_("Restore it from a backup, or contact IT support; the vault itself is untouched."),
            path=str(path),
        ) from exc


def _replace_identity(identity: Identity, **changes: Any) -> Identity:
    data = asdict(identity) | changes
    return Identity(**data)


def write_profile(data_dir: Path, info: ProfileInfo) -> None:
    """Write profile.json atomically: a temporary file beside it, fsync, rename, fsync dir."""
    data = {
        "format": info.format,
        "profile_id": info.profile_id,
        "identity": info.identity.to_json(),
        "server_url": info.identity.server_url,
        "created": info.created.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
    }
    _atomic_write(Path(data_dir) / PROFILE_FILE, json.dumps(data, indent=2, ensure_ascii=False))


def update_identity(data_dir: Path, identity: Identity) -> None:
    """Replace the identity (enrolment gives server ids and the server URL)."""
    info = read_profile(data_dir)
    write_profile(
        data_dir,
        ProfileInfo(profile_id=info.profile_id, identity=identity, created=info.created),
    )


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - Windows cannot open directories
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


# --- policy ---------------------------------------------------------------------------------

_POLICY_KEYS = {
    "min_passphrase_length": ("min_passphrase_length",),
    "lockout_limit": ("lockout_limit",),
    "wipe_on_lockout": ("wipe_on_lockout",),
    "allow_insecure_keyring": ("allow_insecure_keyring", "insecure_keyring_allowed"),
    "recovery_public_key": ("recovery_public_key",),
    "argon2_target_seconds": ("argon2_target_seconds",),
}


def setting(config: Any, name: str, default: Any = None) -> Any:
    """One configuration value from whatever ``config`` is (a fieldkit.config Config, a
    mapping, a SecurityPolicy, None); ``default`` when it does not say."""
    if config is None:
        return default
    value = _config_value(config, name)
    return default if value is None else value


def security_policy(config: Any = None) -> SecurityPolicy:
    """The key-handling rules from the configuration (policy layering is fieldkit.config's job).

    ``config`` may be a SecurityPolicy, a fieldkit.config Config, a mapping, or None (the
    built-in defaults)."""
    if config is None:
        config = _load_config()
    if isinstance(config, SecurityPolicy):
        return config
    if config is None:
        return SecurityPolicy()
    if hasattr(config, "security_policy") and callable(config.security_policy):
        policy = config.security_policy()
        if isinstance(policy, SecurityPolicy):
            return policy
    values: dict[str, Any] = {}
    for field_name, names in _POLICY_KEYS.items():
        for name in names:
            value = _config_value(config, name)
            if value is not None:
                values[field_name] = value
                break
    return SecurityPolicy(**values)


def _config_value(config: Any, name: str) -> Any:
    value: Any = None
    if isinstance(config, dict):
        value = config.get(name)
    else:
        getter = getattr(config, "get", None)
        if callable(getter):
            try:
                value = getter(name)
            except Exception:  # an unknown setting name: not configurable there
                value = None
        if value is None:
            value = getattr(config, name, None)
    # A resolved setting may carry its value and whether it is managed.
    if value is not None and hasattr(value, "value") and hasattr(value, "managed"):
        value = value.value
    return value


def _load_config() -> Any:
    """The layered configuration when fieldkit.config provides a loader, else None."""
    try:
        from fieldkit.config.loader import load_config
    except ImportError:  # pragma: no cover - a build without the configuration layer
        return None
    try:
        return load_config()
    except FieldkitError:
        raise
    except Exception:  # a broken policy file must not lock the user out of their notes
        log.warning("configuration could not be loaded; using built-in defaults", exc_info=True)
        return None


# --- profile lifecycle -----------------------------------------------------------------------


def _paths(data_dir: Path) -> tuple[Path, Path, Path]:
    data_dir = Path(data_dir)
    return data_dir / PROFILE_FILE, data_dir / SLOT_FILE, data_dir / VAULT_FILE


def create_profile(
    data_dir: Path, passphrase: str, identity: Identity, config: Any = None
) -> Session:
    """A new profile: key slots (data key, device secret in the OS keyring), an empty vault and
    profile.json, written last so that an interrupted setup is never taken for a profile."""
    data_dir = Path(data_dir)
    profile_path, slot_path, vault_path = _paths(data_dir)
    if profile_path.exists():
        raise ProfileExists(
            N_("A fieldkit profile already exists in {path}."),
            N_("Open it with your passphrase, or choose another --data-dir."),
            path=str(data_dir),
        )
    leftovers = [p.name for p in (slot_path, vault_path) if p.exists()]
    if leftovers:
        raise ProfileExists(
            N_("{path} holds files of an unfinished or damaged profile ({files})."),
            N_("Choose another --data-dir, or remove that directory if it holds nothing needed."),
            path=str(data_dir),
            files=", ".join(leftovers),
        )
    if config is None:
        config = _load_config()
    policy = security_policy(config)
    check_passphrase(passphrase, policy, identity.username)
    fresh = not data_dir.exists() or not any(data_dir.iterdir())
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    if fresh:  # a folder of our own: only this user may enter it
        with contextlib.suppress(OSError):
            data_dir.chmod(0o700)
    profile_id = new_id()
    slots = KeySlots(slot_path, profile_id)
    key = slots.create(passphrase, policy, username=identity.username)
    try:
        vault = Vault.create(vault_path, key)
    except BaseException:
        slots.wipe()
        _remove_vault_files(vault_path)
        raise
    try:
        write_profile(data_dir, ProfileInfo(profile_id, identity, utcnow()))
    except BaseException:
        vault.close()
        slots.wipe()
        _remove_vault_files(vault_path)
        raise
    session = Session(data_dir, profile_id, identity, vault, slots, policy, config)
    try:
        session.record(AuditAction.LOGIN, details={"profile": "created"})
    except BaseException:
        session._close_quietly()
        raise
    log.info("profile created")
    return session


def open_session(
    data_dir: Path, passphrase: str, config: Any = None, *, check_integrity: bool = False
) -> Session:
    """Unlock the profile and open its vault. Failed attempts are counted by the key slots and
    recorded in the vault at the next successful unlock.

    ``check_integrity`` authenticates every page of the vault before anything is written to
    it (slow on a large vault: for ``fieldkit check`` and IT), so a damaged file is reported
    and left exactly as it was."""
    data_dir = Path(data_dir)
    info = read_profile(data_dir)
    _, slot_path, vault_path = _paths(data_dir)
    if config is None:
        config = _load_config()
    policy = security_policy(config)
    slots = KeySlots(slot_path, info.profile_id)
    failed_before = _failed_attempts(slots)
    try:
        keys = slots.unlock(passphrase, policy)
    except LockedOut:
        if policy.wipe_on_lockout:
            _wipe_after_lockout(data_dir)
        raise
    except WrongPassphrase:
        if policy.wipe_on_lockout and _locked_out(slots):
            _wipe_after_lockout(data_dir)
        raise
    candidates = [keys.current] + ([keys.pending] if keys.pending else [])
    try:
        vault = Vault.open(vault_path, candidates)
    except WrongKey as exc:
        raise VaultKeyMismatch(
            N_("The passphrase is right, but the vault does not open with the key it unlocks."),
            N_(
                "The vault file may have been replaced or restored from another laptop. "
                "Leave the files as they are and contact IT support."
            ),
        ) from exc
    session = Session(data_dir, info.profile_id, info.identity, vault, slots, policy, config)
    try:
        if check_integrity:
            vault.check_integrity()
        rotation = session._finish_rotation(passphrase, keys.pending, _key_index(vault))
        with vault.transaction():
            if failed_before:
                session.record(AuditAction.UNLOCK_FAILED, details={"count": failed_before})
            details: dict[str, Any] = {}
            if rotation:
                details["rotation"] = rotation
            session.record(AuditAction.UNLOCK, details=details)
    except BaseException:
        session._close_quietly()
        raise
    log.info("profile unlocked")
    return session


def _key_index(vault: Vault) -> int:
    return int(getattr(vault, "key_index", 0) or 0)


def _failed_attempts(slots: KeySlots) -> int:
    try:
        return int(slots.status().failed_attempts)
    except FieldkitError:
        return 0  # unlock itself will report what is wrong with the slots


def _locked_out(slots: KeySlots) -> bool:
    try:
        return bool(slots.status().locked_out)
    except FieldkitError:
        return False


def _wipe_after_lockout(data_dir: Path) -> None:
    wipe_profile(data_dir)
    log.warning("profile wiped after lockout (policy)")
    raise ProfileWiped(
        N_(
            "Too many wrong passphrases: by your organisation's policy this laptop's profile "
            "has been wiped."
        ),
        N_("Nothing synced to the server is lost. Ask IT support to enrol the laptop again."),
    )


def wipe_profile(data_dir: Path) -> None:
    """Remove the profile: vault (and its -wal/-shm), key slots, the keyring entry, profile.json.

    The key slots go first: without them (and the device secret) any copy of the vault left
    behind by the file system cannot be decrypted."""
    data_dir = Path(data_dir)
    profile_path, slot_path, vault_path = _paths(data_dir)
    profile_id = None
    with contextlib.suppress(FieldkitError):
        profile_id = read_profile(data_dir).profile_id
    if profile_id is not None:
        KeySlots(slot_path, profile_id).wipe()
    else:
        with contextlib.suppress(FileNotFoundError):
            slot_path.unlink()
    _remove_vault_files(vault_path)
    with contextlib.suppress(FileNotFoundError):
        profile_path.unlink()
    for stray in data_dir.glob(f".{PROFILE_FILE}.*.tmp"):
        with contextlib.suppress(FileNotFoundError):
            stray.unlink()
    _fsync_dir(data_dir) if data_dir.exists() else None


def _remove_vault_files(vault_path: Path) -> None:
    for suffix in ("", *_VAULT_SIDE_FILES):
        with contextlib.suppress(FileNotFoundError):
            Path(f"{vault_path}{suffix}").unlink()


# --- the session ----------------------------------------------------------------------------


class Session:
    """An unlocked profile. ``lock()`` closes the vault and drops the key material; a locked
    session refuses every further use with a clear error."""

    def __init__(
        self,
        data_dir: Path,
        profile_id: str,
        identity: Identity,
        vault: Vault,
        slots: KeySlots,
        policy: SecurityPolicy,
        config: Any = None,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.profile_id = profile_id
        self.identity = identity
        self.policy = policy
        self.config = config
        self._vault: Vault | None = vault
        self._slots = slots
        self._lock = threading.RLock()

    # -- state

    @property
    def locked(self) -> bool:
        return self._vault is None

    @property
    def vault(self) -> Vault:
        vault = self._vault
        if vault is None:
            raise SessionLocked(
                N_("The profile is locked."), N_("Unlock it with your passphrase to continue.")
            )
        return vault

    @property
    def slots(self) -> KeySlots:
        return self._slots

    def lock(self) -> None:
        """Record the lock, close the vault (it drops its key), forget the vault."""
        with self._lock:
            vault = self._vault
            if vault is None:
                return
            try:
                with vault.transaction():
                    self.record(AuditAction.LOCK)
            finally:
                self._vault = None
                vault.close()
        log.info("profile locked")

    def _close_quietly(self) -> None:
        vault, self._vault = self._vault, None
        if vault is not None:
            with contextlib.suppress(Exception):
                vault.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            self.lock()
        else:
            self._close_quietly()

    # -- audit

    def record(
        self,
        action: AuditAction,
        *,
        record_type: str = "",
        record_id: str | None = None,
        case_id: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> Any:
        """Append an audit event and its ``audit.append`` outbox row, in one transaction (nested
        into the caller's when there is one)."""
        from fieldkit.domain.codec import to_dict
        from fieldkit.protocol.messages import MutationName

        vault = self.vault
        with vault.transaction():
            event = vault.audit.append(
                self.identity.user_id,
                action,
                self.identity.device_id,
                record_type=record_type,
                record_id=record_id,
                case_id=case_id,
                details=details or {},
            )
            vault.outbox.append(MutationName.AUDIT_APPEND, {"events": [to_dict(event)]})
        return event

    # -- keys

    def change_passphrase(self, old: str, new: str) -> None:
        """Re-wrap the data key under a new passphrase (the vault is not rewritten)."""
        self.vault  # noqa: B018 - a locked session refuses
        if old == new:
            raise InvalidInput(N_("The new passphrase is the same as the old one."))
        check_passphrase(new, self.policy, self.identity.username)
        self._slots.change_passphrase(old, new, self.policy, username=self.identity.username)
        self.record(AuditAction.KEY_CHANGE, details={"kind": "passphrase"})
        log.info("passphrase changed")

    def rotate_data_key(self, passphrase: str) -> None:
        """A new data key: recorded as pending in the key slots first, then the vault is
        re-encrypted (PRAGMA rekey), then the pending key becomes current. A crash at any point
        is finished by the next open_session."""
        with self._lock:
            vault = self.vault
            keys = self._slots.begin_rotation(passphrase, self.policy)
            if keys.pending is None:  # pragma: no cover - security contract
                raise RuntimeError("begin_rotation returned no pending key")
            vault.rekey(keys.pending)
            self._slots.complete_rotation(passphrase, self.policy)
            self.record(AuditAction.KEY_CHANGE, details={"kind": "data_key"})
        log.info("data key rotated")

    def _finish_rotation(self, passphrase: str, pending: bytes | None, key_index: int) -> str:
        """Finish a rotation a crash interrupted. Returns what was done ('' for nothing)."""
        if pending is None:
            return ""
        if key_index == 0:
            # The vault still opens with the old key: the re-encryption never happened (or was
            # rolled back). Do it now.
            self.vault.rekey(pending)
            self._slots.complete_rotation(passphrase, self.policy)
            log.info("interrupted data-key rotation redone")
            return "redone"
        # The vault already uses the pending key: only the slot update was missing.
        self._slots.complete_rotation(passphrase, self.policy)
        log.info("interrupted data-key rotation completed")
        return "completed"
