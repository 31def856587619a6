"""The primitives under the key slots: wrapping, the recovery seal, parameter checks, delay."""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from fieldkit.security import Argon2Params, InvalidRecoveryKey, crypto, generate_recovery_keypair
from fieldkit.security.keystore import classify
from fieldkit.security.policy import SecurityPolicy
from fieldkit.security.slots import _ad, _recovery_key_from_policy, retry_delay


def test_retry_delay_grows_and_is_capped() -> None:
    assert [retry_delay(n) for n in range(0, 9)] == [0, 0, 0, 2, 4, 8, 16, 32, 64]
    assert retry_delay(11) == 300 and retry_delay(50) == 300


def test_wrapped_key_is_bound_to_slot_and_profile() -> None:
    key = bytearray(os.urandom(32))
    data = bytearray(os.urandom(32))
    box = crypto.wrap(key, data, _ad("unlock", "p1"))
    assert crypto.unwrap(key, box, _ad("unlock", "p1")) == data
    assert crypto.unwrap(key, box, _ad("unlock", "p2")) is None
    assert crypto.unwrap(key, box, _ad("recovery", "p1")) is None
    assert crypto.unwrap(bytearray(os.urandom(32)), box, _ad("unlock", "p1")) is None


def test_unlock_wrapping_key_needs_both_passphrase_and_device_secret() -> None:
    params = Argon2Params(1, 1024, 1, os.urandom(16))
    secret = bytearray(os.urandom(32))
    k1 = crypto.unlock_wrapping_key(b"pass", params, secret)
    assert k1 == crypto.unlock_wrapping_key(b"pass", params, secret)
    assert k1 != crypto.unlock_wrapping_key(b"pasS", params, secret)
    assert k1 != crypto.unlock_wrapping_key(b"pass", params, bytearray(os.urandom(32)))
    assert k1 != crypto.unlock_wrapping_key(b"pass", params.with_salt(os.urandom(16)), secret)


def test_x25519_seal_opens_only_with_the_private_key() -> None:
    private_pem, public_pem = generate_recovery_keypair()
    public = crypto.load_recovery_public_key(public_pem)
    data = os.urandom(32)
    box = crypto.seal(public, data, b"ad")
    assert crypto.unseal(crypto.load_private_key(private_pem), box, b"ad") == data
    assert crypto.unseal(crypto.load_private_key(private_pem), box, b"other") is None
    other, _ = generate_recovery_keypair()
    assert crypto.unseal(crypto.load_private_key(other), box, b"ad") is None
    assert crypto.seal(public, data, b"ad")["ephemeral"] != box["ephemeral"]  # fresh each time


def test_rsa_seal_round_trip() -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    box = crypto.seal(crypto.load_recovery_public_key(pem), b"k" * 32, b"ad")
    assert crypto.unseal(private, box, b"ad") == b"k" * 32
    assert crypto.unseal(private, box, b"bad") is None


def test_unusable_recovery_keys_are_refused() -> None:
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key()  # noqa: S505 - deliberately weak
    ecdsa = ec.generate_private_key(ec.SECP256R1()).public_key()
    for key in (small, ecdsa):
        pem = key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()
        with pytest.raises(InvalidRecoveryKey):
            _recovery_key_from_policy(SecurityPolicy(recovery_public_key=pem))
    with pytest.raises(InvalidRecoveryKey):
        _recovery_key_from_policy(SecurityPolicy(recovery_public_key="not pem"))


@pytest.mark.parametrize(
    "change",
    [
        {"time_cost": 0},
        {"time_cost": 10_000},
        {"memory_cost": 8},
        {"memory_cost": 10**12},
        {"parallelism": 0},
        {"time_cost": True},
        {"salt": "AAAA"},
        {"name": "argon2i"},
        {"version": 16},
    ],
)
def test_argon2_params_out_of_bounds_are_rejected(change: dict[str, object]) -> None:
    good = Argon2Params(2, 65536, 2, os.urandom(16)).to_json()
    assert Argon2Params.from_json(good).time_cost == 2
    with pytest.raises(ValueError):
        Argon2Params.from_json({**good, **change})


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("keyring.backends.SecretService.Keyring", "secure"),
        ("keyring.backends.Windows.WinVaultKeyring", "secure"),
        ("keyring.backends.macOS.Keyring", "secure"),
        ("keyring.backends.kwallet.DBusKeyring", "secure"),
        ("keyrings.alt.file.PlaintextKeyring", "insecure"),
        ("keyrings.alt.file.EncryptedKeyring", "insecure"),
        ("some.module.PlaintextKeyring", "insecure"),
        ("keyring.backends.fail.Keyring", "unusable"),
        ("keyring.backends.null.Keyring", "unusable"),
        ("keyring.backends.chainer.ChainerBackend", "unusable"),
    ],
)
def test_backend_classification(name: str, kind: str) -> None:
    assert classify(name) == kind


def test_zero_overwrites_in_place() -> None:
    buf = bytearray(b"secret")
    crypto.zero(buf)
    assert buf == bytearray(6)
    crypto.zero(None)
