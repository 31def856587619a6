"""Key slots against the real OS keyring (gnome-keyring's Secret Service under dbus-run-session).

Run: tests/env/with-services.sh .venv/bin/pytest tests/integration/test_keyslots.py -q
Argon2 parameters are tiny here (1 MiB, one pass) to keep the suite fast, except in the
calibration test.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import stat
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail, null

from fieldkit.i18n import render
from fieldkit.security import (
    Argon2Params,
    DeviceSecretMismatch,
    DeviceSecretMissing,
    InsecureKeyring,
    InvalidRecoveryKey,
    KeyringChanged,
    KeyringUnavailable,
    KeySlots,
    LockedOut,
    NoRotationPending,
    RecoveryFailed,
    SecurityPolicy,
    SlotFileCorrupt,
    SlotFileTooNew,
    SlotsExist,
    SlotsNotFound,
    TooSoon,
    WeakPassphrase,
    WrongPassphrase,
    calibrate,
    generate_recovery_keypair,
    recover,
)
from fieldkit.security.crypto import argon2id

pytestmark = pytest.mark.keyring

FAST = Argon2Params(time_cost=1, memory_cost=1024, parallelism=1)
PASS = "korv häst cykel lampa"
OTHER = "blå tåg och gröna äpplen"
POLICY = SecurityPolicy(lockout_limit=6)
SERVICE = "fieldkit"


class Clock:
    """Wall time we can move forward, so delays are tested without sleeping."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class PlaintextKeyring(KeyringBackend):
    """A real (if deliberately insecure) backend: secrets in a readable JSON file, like
    keyrings.alt's PlaintextKeyring. Used to stand for 'another, insecure backend'."""

    priority = -1  # never chosen by keyring's own detection  # type: ignore[assignment]

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path

    def _read(self) -> dict[str, str]:
        return json.loads(self.path.read_text()) if self.path.exists() else {}

    def get_password(self, service: str, username: str) -> str | None:
        return self._read().get(f"{service}/{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        data = self._read()
        data[f"{service}/{username}"] = password
        self.path.write_text(json.dumps(data))

    def delete_password(self, service: str, username: str) -> None:
        data = self._read()
        data.pop(f"{service}/{username}", None)
        self.path.write_text(json.dumps(data))


@pytest.fixture
def profile_id(real_keyring: str) -> Iterator[str]:
    pid = f"test-{uuid.uuid4()}"
    yield pid
    with contextlib.suppress(keyring.errors.PasswordDeleteError):
        keyring.delete_password(SERVICE, f"device-secret:{pid}")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def slots(data_dir: Path, profile_id: str, clock: Clock) -> KeySlots:
    return KeySlots(data_dir / "keyslots.json", profile_id, clock=clock)


@pytest.fixture(scope="module")
def swedish() -> None:
    """The Swedish catalogue compiled from the current .po files (as the build does)."""
    from fieldkit.i18n import compile_language, translation

    compile_language("sv")
    translation.cache_clear()


@pytest.fixture
def restore_keyring() -> Iterator[None]:
    original = keyring.get_keyring()
    try:
        yield
    finally:
        keyring.set_keyring(original)


def read_doc(slots: KeySlots) -> dict[str, Any]:
    return json.loads(slots.slot_path.read_text())


def write_doc(slots: KeySlots, doc: dict[str, Any]) -> None:
    slots.slot_path.write_text(json.dumps(doc))


def device_secret(profile_id: str) -> str | None:
    return keyring.get_password(SERVICE, f"device-secret:{profile_id}")


# --- round trip -------------------------------------------------------------------------------


def test_create_then_unlock_returns_the_same_data_key(slots: KeySlots, real_keyring: str) -> None:
    assert not slots.exists()
    key = slots.create(PASS, POLICY, argon2_params=FAST)
    assert isinstance(key, bytes) and len(key) == 32
    assert slots.exists()

    keys = KeySlots(slots.slot_path, slots.profile_id).unlock(PASS, POLICY)
    assert keys.current == key
    assert keys.pending is None

    status = slots.status()
    assert status.backend == real_keyring
    assert not status.insecure
    assert status.failed_attempts == 0 and not status.locked_out


def test_slot_file_is_private_and_holds_no_clear_key(slots: KeySlots, profile_id: str) -> None:
    key = slots.create(PASS, POLICY, argon2_params=FAST)
    raw = slots.slot_path.read_bytes()
    assert stat.S_IMODE(os.stat(slots.slot_path).st_mode) == 0o600
    for form in (key, key.hex().encode(), base64.b64encode(key)):
        assert form not in raw
    secret = device_secret(profile_id)
    assert secret is not None and len(base64.b64decode(secret)) == 32
    assert secret.encode() not in raw  # the device secret stays in the keyring
    assert PASS.encode() not in raw
    # nothing left behind by the atomic write
    assert sorted(p.name for p in slots.slot_path.parent.iterdir()) == ["keyslots.json"]
    doc = read_doc(slots)
    assert doc["version"] == 1 and doc["keyring"]["username"] == f"device-secret:{profile_id}"


def test_create_refuses_to_overwrite_and_unlock_needs_a_file(slots: KeySlots) -> None:
    with pytest.raises(SlotsNotFound):
        slots.unlock(PASS, POLICY)
    slots.create(PASS, POLICY, argon2_params=FAST)
    before = slots.slot_path.read_bytes()
    with pytest.raises(SlotsExist):
        slots.create(OTHER, POLICY, argon2_params=FAST)
    assert slots.slot_path.read_bytes() == before


def test_create_refuses_a_weak_passphrase(slots: KeySlots) -> None:
    with pytest.raises(WeakPassphrase) as info:
        slots.create("kort", POLICY, argon2_params=FAST)
    assert info.value.reason == "too_short"
    assert not slots.exists()


# --- wrong passphrase, delay, lockout --------------------------------------------------------


def test_wrong_passphrase_then_too_soon_then_locked_out(slots: KeySlots, clock: Clock) -> None:
    slots.create(PASS, POLICY, argon2_params=FAST)  # lockout_limit 6

    for attempt in (1, 2):
        with pytest.raises(WrongPassphrase) as info:
            slots.unlock(OTHER, POLICY)
        assert info.value.attempts_left == 6 - attempt
        assert info.value.retry_after == 0
    with pytest.raises(WrongPassphrase) as info:
        slots.unlock(OTHER, POLICY)
    assert info.value.attempts_left == 3
    assert info.value.retry_after == 2  # the third failure starts the delay

    # Immediately again: refused before any key derivation, even with the right passphrase.
    with pytest.raises(TooSoon) as soon:
        slots.unlock(PASS, POLICY)
    assert soon.value.retry_after == 2
    assert slots.status().retry_after_seconds == 2
    assert slots.status().failed_attempts == 3  # TooSoon is not counted

    clock.advance(1)
    with pytest.raises(TooSoon) as soon:
        slots.unlock(OTHER, POLICY)
    assert soon.value.retry_after == 1

    clock.advance(1)
    with pytest.raises(WrongPassphrase) as info:
        slots.unlock(OTHER, POLICY)
    assert info.value.retry_after == 4  # grows: 2, 4, 8 ...
    clock.advance(4)
    with pytest.raises(WrongPassphrase) as info:
        slots.unlock(OTHER, POLICY)
    assert info.value.retry_after == 8 and info.value.attempts_left == 1
    clock.advance(8)
    with pytest.raises(LockedOut) as locked:
        slots.unlock(OTHER, POLICY)  # the sixth failure
    assert locked.value.failed_attempts == 6

    status = slots.status()
    assert status.locked_out and status.failed_attempts == 6
    clock.advance(3600)
    with pytest.raises(LockedOut):
        slots.unlock(PASS, POLICY)  # even the right passphrase, even much later
    # The state survives a new process (it lives in the slot file).
    with pytest.raises(LockedOut):
        KeySlots(slots.slot_path, slots.profile_id, clock=clock).unlock(PASS, POLICY)


def test_success_resets_the_failure_count(slots: KeySlots, clock: Clock) -> None:
    key = slots.create(PASS, POLICY, argon2_params=FAST)
    for _ in range(3):
        with pytest.raises(WrongPassphrase):
            slots.unlock(OTHER, POLICY)
    clock.advance(2)
    assert slots.unlock(PASS, POLICY).current == key
    assert slots.status().failed_attempts == 0
    with pytest.raises(WrongPassphrase) as info:
        slots.unlock(OTHER, POLICY)
    assert info.value.attempts_left == 5 and info.value.retry_after == 0


def test_clock_set_back_restarts_the_wait_from_now(slots: KeySlots, clock: Clock) -> None:
    slots.create(PASS, POLICY, argon2_params=FAST)
    for _ in range(3):
        with pytest.raises(WrongPassphrase):
            slots.unlock(OTHER, POLICY)
    clock.advance(-86_400)
    with pytest.raises(TooSoon) as soon:
        slots.unlock(PASS, POLICY)
    assert soon.value.retry_after == 2
    clock.advance(2)  # counted from when the clock was seen to go back, not a day later
    assert slots.unlock(PASS, POLICY).current


def test_wipe_removes_slot_file_and_keyring_entry(slots: KeySlots, profile_id: str) -> None:
    slots.create(PASS, POLICY, argon2_params=FAST)
    assert device_secret(profile_id) is not None
    slots.wipe()
    assert not slots.exists()
    assert device_secret(profile_id) is None
    slots.wipe()  # idempotent


# --- keyring problems ------------------------------------------------------------------------


def test_deleted_keyring_entry_gives_device_secret_missing(
    slots: KeySlots, profile_id: str, swedish: None
) -> None:
    slots.create(PASS, POLICY, argon2_params=FAST)
    keyring.delete_password(SERVICE, f"device-secret:{profile_id}")
    before = slots.slot_path.read_bytes()
    with pytest.raises(DeviceSecretMissing) as info:
        slots.unlock(PASS, POLICY)
    text = render(info.value, "en")
    assert "copied to another computer" in text and "recovery key" in text
    assert "kopierats till en annan dator" in render(info.value, "sv")
    assert slots.slot_path.read_bytes() == before  # nothing overwritten


def test_replaced_keyring_entry_is_told_apart_from_a_changed_key_file(
    slots: KeySlots, profile_id: str, swedish: None
) -> None:
    slots.create(PASS, POLICY, argon2_params=FAST)
    original = device_secret(profile_id)
    assert original is not None
    before = slots.slot_path.read_bytes()
    keyring.set_password(
        SERVICE, f"device-secret:{profile_id}", base64.b64encode(os.urandom(32)).decode()
    )
    with pytest.raises(DeviceSecretMismatch) as info:
        slots.unlock(PASS, POLICY)
    assert info.value.exit_code == 4
    assert "keyring entry was replaced" in render(info.value, "en")
    assert "posten i nyckelringen har ersatts" in render(info.value, "sv")
    assert slots.slot_path.read_bytes() == before  # nothing overwritten
    # the right entry back: opens again
    keyring.set_password(SERVICE, f"device-secret:{profile_id}", original)
    slots.unlock(PASS, POLICY)
    # whereas a change to the key file itself (same keyring entry) is still "key file changed"
    _tamper(
        slots, lambda d: d["unlock"]["kdf"].update(time_cost=d["unlock"]["kdf"]["time_cost"] + 1)
    )
    with pytest.raises(SlotFileCorrupt):
        slots.unlock(PASS, POLICY)


def test_recorded_backend_changed_in_file_gives_keyring_changed(
    slots: KeySlots, real_keyring: str
) -> None:
    slots.create(PASS, POLICY, argon2_params=FAST)
    doc = read_doc(slots)
    doc["keyring"]["backend"] = "keyring.backends.Windows.WinVaultKeyring"
    write_doc(slots, doc)
    with pytest.raises(KeyringChanged) as info:
        slots.unlock(PASS, POLICY)
    assert info.value.recorded == "keyring.backends.Windows.WinVaultKeyring"
    assert info.value.active == real_keyring
    text = render(info.value, "en")
    assert "WinVaultKeyring" in text and real_keyring in text
    assert "same desktop session" in text and "IT support" in text


def test_active_backend_changed_to_plaintext(
    slots: KeySlots, tmp_path: Path, restore_keyring: None
) -> None:
    slots.create(PASS, POLICY, argon2_params=FAST)
    keyring.set_keyring(PlaintextKeyring(tmp_path / "plain.json"))
    with pytest.raises(KeyringChanged) as info:
        slots.unlock(PASS, POLICY)
    assert info.value.active.endswith("PlaintextKeyring")
    # allowing insecure keyrings does not make a different keyring acceptable
    with pytest.raises(KeyringChanged):
        slots.unlock(PASS, SecurityPolicy(allow_insecure_keyring=True))


def test_no_keyring_gives_keyring_unavailable(slots: KeySlots, restore_keyring: None) -> None:
    slots.create(PASS, POLICY, argon2_params=FAST)
    keyring.set_keyring(fail.Keyring())
    with pytest.raises(KeyringUnavailable) as info:
        slots.unlock(PASS, POLICY)
    assert "SecretService" in render(info.value, "en")


def test_insecure_backend_refused_unless_allowed(
    data_dir: Path, tmp_path: Path, clock: Clock, restore_keyring: None
) -> None:
    pid = f"test-{uuid.uuid4()}"
    plain = PlaintextKeyring(tmp_path / "plain.json")
    keyring.set_keyring(plain)
    slots = KeySlots(data_dir / "keyslots.json", pid, clock=clock)

    with pytest.raises(InsecureKeyring) as info:
        slots.create(PASS, POLICY, argon2_params=FAST)
    assert "PlaintextKeyring" in render(info.value, "en")
    assert not slots.exists()
    assert plain.get_password(SERVICE, f"device-secret:{pid}") is None  # nothing stored

    allowed = SecurityPolicy(allow_insecure_keyring=True)
    key = slots.create(PASS, allowed, argon2_params=FAST)
    status = slots.status()
    assert status.insecure and status.backend.endswith("PlaintextKeyring")
    assert slots.unlock(PASS, allowed).current == key
    # a later policy that forbids it is enforced at unlock
    with pytest.raises(InsecureKeyring):
        slots.unlock(PASS, POLICY)


class _BusHiccup(Exception):
    """What a D-Bus call of secretstorage raises when the bus is busy (not a KeyringError)."""


def _failing(real: Any, times: int) -> Any:
    calls = {"n": 0}

    def call(*args: Any) -> Any:
        calls["n"] += 1
        if calls["n"] <= times:
            raise _BusHiccup("org.freedesktop.DBus.Error.NoReply")
        return real(*args)

    return call


def test_one_keyring_hiccup_is_asked_again_and_the_secret_kept(
    slots: KeySlots, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = keyring.get_keyring()
    monkeypatch.setattr(backend, "set_password", _failing(backend.set_password, 1))
    key = slots.create(PASS, POLICY, argon2_params=FAST)
    monkeypatch.setattr(backend, "get_password", _failing(backend.get_password, 1))
    assert slots.unlock(PASS, POLICY).current == key


def test_a_keyring_that_fails_twice_is_unavailable_and_nothing_is_half_made(
    slots: KeySlots, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = keyring.get_keyring()
    monkeypatch.setattr(backend, "set_password", _failing(backend.set_password, 2))
    with pytest.raises(KeyringUnavailable):
        slots.create(PASS, POLICY, argon2_params=FAST)
    assert not slots.exists()


@pytest.mark.parametrize("backend", [fail.Keyring, null.Keyring])
def test_unusable_backends_refused_even_when_insecure_allowed(
    data_dir: Path, backend: type[KeyringBackend], restore_keyring: None
) -> None:
    keyring.set_keyring(backend())
    slots = KeySlots(data_dir / "keyslots.json", f"test-{uuid.uuid4()}")
    with pytest.raises(InsecureKeyring):
        slots.create(PASS, POLICY, argon2_params=FAST)
    with pytest.raises(KeyringUnavailable):
        slots.create(PASS, SecurityPolicy(allow_insecure_keyring=True), argon2_params=FAST)
    assert not slots.exists()


# --- passphrase change and rotation ----------------------------------------------------------


def test_change_passphrase_keeps_the_data_key(slots: KeySlots, profile_id: str) -> None:
    key = slots.create(PASS, POLICY, argon2_params=FAST)
    secret_before = device_secret(profile_id)
    old_salt = read_doc(slots)["unlock"]["kdf"]["salt"]
    slots.change_passphrase(PASS, OTHER, POLICY)
    assert slots.unlock(OTHER, POLICY).current == key
    with pytest.raises(WrongPassphrase):
        slots.unlock(PASS, POLICY)
    assert read_doc(slots)["unlock"]["kdf"]["salt"] != old_salt
    assert device_secret(profile_id) == secret_before


def test_change_passphrase_checks_old_and_new(slots: KeySlots) -> None:
    slots.create(PASS, POLICY, argon2_params=FAST)
    with pytest.raises(WeakPassphrase):
        slots.change_passphrase(PASS, "123456789012", POLICY)
    with pytest.raises(WrongPassphrase):
        slots.change_passphrase("inte rätt lösenfras", OTHER, POLICY)
    assert slots.unlock(PASS, POLICY).current  # unchanged


def test_rotation_survives_a_crash_between_begin_and_complete(slots: KeySlots) -> None:
    old = slots.create(PASS, POLICY, argon2_params=FAST)
    with pytest.raises(NoRotationPending):
        slots.complete_rotation(PASS, POLICY)

    begun = slots.begin_rotation(PASS, POLICY)
    assert begun.current == old and begun.pending is not None and begun.pending != old
    assert slots.status().rotation_pending

    # "crash": a new process only has the file. Both keys are there, so the vault opens
    # whether or not PRAGMA rekey had run.
    reopened = KeySlots(slots.slot_path, slots.profile_id)
    keys = reopened.unlock(PASS, POLICY)
    assert keys.current == old and keys.pending == begun.pending
    # beginning again resumes the same rotation instead of inventing a third key
    assert reopened.begin_rotation(PASS, POLICY).pending == begun.pending

    reopened.complete_rotation(PASS, POLICY)
    keys = reopened.unlock(PASS, POLICY)
    assert keys.current == begun.pending and keys.pending is None
    assert not reopened.status().rotation_pending


def test_passphrase_change_during_rotation_keeps_both_keys(slots: KeySlots) -> None:
    slots.create(PASS, POLICY, argon2_params=FAST)
    begun = slots.begin_rotation(PASS, POLICY)
    slots.change_passphrase(PASS, OTHER, POLICY)
    keys = slots.unlock(OTHER, POLICY)
    assert (keys.current, keys.pending) == (begun.current, begun.pending)


# --- recovery --------------------------------------------------------------------------------


def test_recovery_slot_round_trip(slots: KeySlots, profile_id: str, clock: Clock) -> None:
    private_pem, public_pem = generate_recovery_keypair()
    policy = SecurityPolicy(lockout_limit=3, recovery_public_key=public_pem)
    key = slots.create(PASS, policy, argon2_params=FAST)
    assert slots.status().has_recovery_slot

    # The worker forgets the passphrase and gets locked out; the keyring entry is gone too.
    for _ in range(2):
        with pytest.raises(WrongPassphrase):
            slots.unlock(OTHER, policy)
    with pytest.raises(LockedOut):
        slots.unlock(OTHER, policy)
    keyring.delete_password(SERVICE, f"device-secret:{profile_id}")

    recovered = recover(
        slots.slot_path,
        profile_id,
        private_pem,
        "ny lösenfras för hösten",
        policy,
        argon2_params=FAST,
    )
    assert recovered.current == key
    assert device_secret(profile_id) is not None  # a new device secret
    assert not slots.status().locked_out
    assert slots.unlock("ny lösenfras för hösten", policy).current == key
    assert slots.status().has_recovery_slot  # still recoverable next time


def test_recovery_with_wrong_key_or_no_slot_fails_clearly(slots: KeySlots, profile_id: str) -> None:
    _, public_pem = generate_recovery_keypair()
    other_private, _ = generate_recovery_keypair()
    policy = SecurityPolicy(recovery_public_key=public_pem)
    slots.create(PASS, policy, argon2_params=FAST)
    before = slots.slot_path.read_bytes()
    with pytest.raises(RecoveryFailed) as info:
        recover(slots.slot_path, profile_id, other_private, OTHER, policy, argon2_params=FAST)
    assert info.value.reason == "wrong_key"
    with pytest.raises(RecoveryFailed) as info:
        recover(slots.slot_path, profile_id, b"not a key", OTHER, policy, argon2_params=FAST)
    assert info.value.reason == "bad_private_key"
    assert slots.slot_path.read_bytes() == before

    slots.wipe()
    slots.create(PASS, POLICY, argon2_params=FAST)  # no recovery key in this policy
    with pytest.raises(RecoveryFailed) as info:
        recover(slots.slot_path, profile_id, other_private, OTHER, POLICY, argon2_params=FAST)
    assert info.value.reason == "no_slot"


def test_recovery_with_rsa_key_and_pending_rotation(slots: KeySlots, profile_id: str) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"it-secret"),
    )
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    policy = SecurityPolicy(recovery_public_key=public_pem)
    slots.create(PASS, policy, argon2_params=FAST)
    begun = slots.begin_rotation(PASS, policy)

    keys = recover(
        slots.slot_path,
        profile_id,
        private_pem,
        OTHER,
        policy,
        private_key_password=b"it-secret",
        argon2_params=FAST,
    )
    assert (keys.current, keys.pending) == (begun.current, begun.pending)
    slots.complete_rotation(OTHER, policy)
    assert (
        recover(
            slots.slot_path,
            profile_id,
            private_pem,
            PASS,
            policy,
            private_key_password=b"it-secret",
            argon2_params=FAST,
        ).current
        == begun.pending
    )


def test_recovery_key_added_by_a_later_policy_is_sealed_at_unlock(slots: KeySlots) -> None:
    key = slots.create(PASS, POLICY, argon2_params=FAST)
    assert not slots.status().has_recovery_slot
    private_pem, public_pem = generate_recovery_keypair()
    slots.unlock(PASS, SecurityPolicy(recovery_public_key=public_pem))
    assert slots.status().has_recovery_slot
    assert (
        recover(
            slots.slot_path, slots.profile_id, private_pem, OTHER, POLICY, argon2_params=FAST
        ).current
        == key
    )


def test_recovery_works_when_the_unlock_slot_is_damaged(slots: KeySlots, profile_id: str) -> None:
    private_pem, public_pem = generate_recovery_keypair()
    policy = SecurityPolicy(recovery_public_key=public_pem)
    key = slots.create(PASS, policy, argon2_params=FAST)

    def damage(d: dict[str, Any]) -> None:
        d["unlock"]["kdf"]["memory_cost"] = 10**12
        d["attempts"] = "garbage"
        d["keyring"]["backend"] = "x.Y"

    _tamper(slots, damage)
    with pytest.raises(SlotFileCorrupt):
        slots.unlock(PASS, policy)
    # the policy no longer names a key: the slot is re-sealed to the key that opened it
    keys = recover(slots.slot_path, profile_id, private_pem, OTHER, POLICY, argon2_params=FAST)
    assert keys.current == key
    assert slots.unlock(OTHER, POLICY).current == key
    assert slots.status().has_recovery_slot
    again = recover(slots.slot_path, profile_id, private_pem, PASS, POLICY, argon2_params=FAST)
    assert again.current == key


# --- tampering -------------------------------------------------------------------------------


def _tamper(slots: KeySlots, change: Any) -> None:
    doc = read_doc(slots)
    change(doc)
    write_doc(slots, doc)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda d: d["unlock"]["kdf"].update(time_cost=2), id="argon2-params"),
        pytest.param(
            lambda d: d["unlock"]["kdf"].update(salt="AAAAAAAAAAAAAAAAAAAAAA=="), id="salt"
        ),
        pytest.param(lambda d: d.update(recovery=None), id="recovery-removed"),
        pytest.param(lambda d: d["unlock"].update(pending=d["unlock"]["current"]), id="pending"),
        pytest.param(
            lambda d: d["unlock"]["current"].update(
                ciphertext=base64.b64encode(bytes(48)).decode()
            ),
            id="wrapped-key",
        ),
    ],
)
def test_tampered_metadata_is_corrupt_not_wrong_passphrase(slots: KeySlots, change: Any) -> None:
    _, public_pem = generate_recovery_keypair()
    policy = SecurityPolicy(recovery_public_key=public_pem)
    slots.create(PASS, policy, argon2_params=FAST)
    _tamper(slots, change)
    with pytest.raises(SlotFileCorrupt) as info:
        slots.unlock(PASS, policy)  # the right passphrase: still refused, and said why
    assert info.value.exit_code == 4
    assert "changed outside fieldkit" in render(info.value, "en")


def test_resetting_the_attempt_counter_is_detected(slots: KeySlots, clock: Clock) -> None:
    slots.create(PASS, POLICY, argon2_params=FAST)
    for _ in range(3):
        with pytest.raises(WrongPassphrase):
            slots.unlock(OTHER, POLICY)
    _tamper(
        slots, lambda d: d.update(attempts={"failed": 0, "last_failure": None, "locked_out": False})
    )
    with pytest.raises(SlotFileCorrupt):
        slots.unlock(OTHER, POLICY)


@pytest.mark.parametrize(
    "content",
    [b"", b"{not json", b'{"format": "fieldkit-keyslots"', b"[]", b'{"format": "other"}'],
)
def test_unreadable_slot_file_is_corrupt(slots: KeySlots, content: bytes) -> None:
    slots.create(PASS, POLICY, argon2_params=FAST)
    slots.slot_path.write_bytes(content)
    with pytest.raises(SlotFileCorrupt):
        slots.unlock(PASS, POLICY)
    assert slots.slot_path.read_bytes() == content  # left for recovery


def test_structurally_broken_fields_are_corrupt(slots: KeySlots) -> None:
    slots.create(PASS, POLICY, argon2_params=FAST)
    _tamper(slots, lambda d: d["unlock"]["kdf"].update(memory_cost=10**12))
    with pytest.raises(SlotFileCorrupt):
        slots.status()
    with pytest.raises(SlotFileCorrupt):
        slots.unlock(PASS, POLICY)


def test_slot_file_of_another_profile_or_newer_version(slots: KeySlots, data_dir: Path) -> None:
    slots.create(PASS, POLICY, argon2_params=FAST)
    with pytest.raises(SlotFileCorrupt):
        KeySlots(slots.slot_path, "another-profile").unlock(PASS, POLICY)
    _tamper(slots, lambda d: d.update(version=2))
    with pytest.raises(SlotFileTooNew):
        slots.unlock(PASS, POLICY)


# --- calibration -----------------------------------------------------------------------------


def test_calibration_lands_near_its_target() -> None:
    """Correctness of calibration, not a performance test: the chosen parameters must cost
    at least half the target on this machine, and stay within the documented bounds."""
    params = calibrate(0.5)
    assert 19 * 1024 <= params.memory_cost <= 64 * 1024
    assert 1 <= params.time_cost <= 64
    assert len(params.salt) == 16
    start = time.perf_counter()
    argon2id(b"measure", params)
    elapsed = time.perf_counter() - start
    assert elapsed >= 0.25, (params, elapsed)


def test_a_broken_recovery_key_in_the_policy_refuses_setup_but_not_unlock(slots: KeySlots) -> None:
    broken = SecurityPolicy(recovery_public_key="-----BEGIN PUBLIC KEY-----\nAAAA\n")
    with pytest.raises(InvalidRecoveryKey):
        slots.create(PASS, broken, argon2_params=FAST)
    assert not slots.exists()
    key = slots.create(PASS, POLICY, argon2_params=FAST)
    assert slots.unlock(PASS, broken).current == key
    assert not slots.status().has_recovery_slot
