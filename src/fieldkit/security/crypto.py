"""The primitives of the key slots: Argon2id, HKDF, AES-256-GCM wrapping, the recovery seal.

Memory hygiene: secrets we hold are ``bytearray`` and zeroed with ``zero()`` when done. Python
cannot promise more: argon2-cffi and cryptography take and return immutable ``bytes`` copies
(the passphrase as UTF-8, the Argon2 output, HKDF output inside the library), ``str``
passphrases are immutable and interned at the caller's discretion, and the garbage collector
may have moved or copied any object. Zeroing shortens the lifetime of the copies we own; it is
not a guarantee. See docs/keys.md.
"""

from __future__ import annotations

import base64
import hashlib
import os
import time
from dataclasses import dataclass

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_BYTES = 32
NONCE_BYTES = 12
SALT_BYTES = 16
UNLOCK_INFO = b"fieldkit unlock slot v1"
MAC_INFO = b"fieldkit slot file mac v1"
RECOVERY_INFO = b"fieldkit recovery slot v1"
X25519_ALG = "x25519-hkdf-sha256-aes256gcm"
RSA_ALG = "rsa-oaep-sha256"

# Calibration bounds: 64 MiB by default; down to the OWASP floor (19 MiB) on a slow machine;
# time_cost raised until one derivation takes the target time, at most MAX_TIME_COST.
DEFAULT_MEMORY_KIB = 64 * 1024
MIN_CALIBRATED_MEMORY_KIB = 19 * 1024
MAX_TIME_COST = 64
# What a slot file may ask for (sanity, so a damaged file cannot make unlock run for hours).
PARAM_BOUNDS = {
    "time_cost": (1, MAX_TIME_COST),
    "memory_cost": (1024, 4 * 1024 * 1024),
    "parallelism": (1, 16),
}


def zero(buf: bytearray | None) -> None:
    """Overwrite a secret we own in place."""
    if buf is not None:
        buf[:] = bytes(len(buf))


def b64e(data: bytes | bytearray) -> str:
    return base64.b64encode(bytes(data)).decode("ascii")


def b64d(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


@dataclass(frozen=True)
class Argon2Params:
    time_cost: int
    memory_cost: int  # KiB
    parallelism: int
    salt: bytes = b""

    def with_salt(self, salt: bytes) -> Argon2Params:
        return Argon2Params(self.time_cost, self.memory_cost, self.parallelism, salt)

    def to_json(self) -> dict[str, object]:
        return {
            "name": "argon2id",
            "version": 19,
            "time_cost": self.time_cost,
            "memory_cost": self.memory_cost,
            "parallelism": self.parallelism,
            "salt": b64e(self.salt),
        }

    @classmethod
    def from_json(cls, data: object) -> Argon2Params:
        """Raises ValueError on anything but a sane argon2id parameter set."""
        if not isinstance(data, dict) or data.get("name") != "argon2id":
            raise ValueError("kdf is not argon2id")
        if data.get("version") != 19:
            raise ValueError("unknown argon2 version")
        values = {}
        for name, (low, high) in PARAM_BOUNDS.items():
            value = data.get(name)
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                raise ValueError(f"argon2 {name} out of bounds")
            values[name] = value
        salt = b64d(str(data.get("salt", "")))
        if not 16 <= len(salt) <= 64:
            raise ValueError("argon2 salt length")
        return cls(values["time_cost"], values["memory_cost"], values["parallelism"], salt)


def default_parallelism() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def argon2id(secret: bytes, params: Argon2Params) -> bytes:
    return hash_secret_raw(
        secret,
        params.salt,
        time_cost=params.time_cost,
        memory_cost=params.memory_cost,
        parallelism=params.parallelism,
        hash_len=KEY_BYTES,
        type=Type.ID,
    )


def calibrate(
    target_seconds: float,
    *,
    memory_kib: int = DEFAULT_MEMORY_KIB,
    parallelism: int | None = None,
) -> Argon2Params:
    """Parameters (with a fresh salt) for which one derivation takes about ``target_seconds``.

    Memory first (64 MiB, halved down to 19 MiB only when one pass already exceeds the target),
    then time_cost raised until a measured derivation reaches the target (at most MAX_TIME_COST,
    at most 8 measurements).
    """
    p = parallelism or default_parallelism()
    probe = Argon2Params(1, memory_kib, p, os.urandom(SALT_BYTES))

    def measure(params: Argon2Params) -> float:
        start = time.perf_counter()
        argon2id(b"fieldkit calibration", params)
        return time.perf_counter() - start

    elapsed = measure(probe)
    while elapsed > target_seconds and probe.memory_cost > MIN_CALIBRATED_MEMORY_KIB:
        probe = Argon2Params(
            1, max(MIN_CALIBRATED_MEMORY_KIB, probe.memory_cost // 2), p, probe.salt
        )
        elapsed = measure(probe)
    t = 1
    for _ in range(8):
        if elapsed >= target_seconds or t >= MAX_TIME_COST:
            break
        estimate = int(t * target_seconds / max(elapsed, 1e-6)) + 1
        t = min(MAX_TIME_COST, max(t + 1, estimate))
        elapsed = measure(Argon2Params(t, probe.memory_cost, p, probe.salt))
    return Argon2Params(t, probe.memory_cost, p, os.urandom(SALT_BYTES))


def hkdf(ikm: bytes | bytearray, info: bytes, salt: bytes | None = None) -> bytearray:
    out = HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=salt, info=info).derive(bytes(ikm))
    return bytearray(out)


def unlock_wrapping_key(
    passphrase_utf8: bytes, params: Argon2Params, device_secret: bytearray
) -> bytearray:
    """HKDF-SHA256(Argon2id(passphrase, salt) || device_secret, info='fieldkit unlock slot v1')."""
    ikm = bytearray(argon2id(passphrase_utf8, params))
    ikm += device_secret
    try:
        return hkdf(ikm, UNLOCK_INFO)
    finally:
        zero(ikm)


def wrap(key: bytearray, plaintext: bytes | bytearray, ad: bytes) -> dict[str, str]:
    nonce = os.urandom(NONCE_BYTES)
    ct = AESGCM(bytes(key)).encrypt(nonce, bytes(plaintext), ad)
    return {"nonce": b64e(nonce), "ciphertext": b64e(ct)}


def unwrap(key: bytearray, box: dict[str, str], ad: bytes) -> bytearray | None:
    """The plaintext, or None if the key or associated data is wrong (or the box altered)."""
    try:
        return bytearray(
            AESGCM(bytes(key)).decrypt(b64d(box["nonce"]), b64d(box["ciphertext"]), ad)
        )
    except InvalidTag:
        return None


# --- recovery seal ----------------------------------------------------------------------------

RecoveryPublicKey = X25519PublicKey | rsa.RSAPublicKey


def load_recovery_public_key(pem: str) -> RecoveryPublicKey:
    """Raises ValueError unless the PEM is an X25519 key or an RSA key of at least 2048 bits."""
    try:
        key = serialization.load_pem_public_key(pem.encode("ascii"))
    except (ValueError, TypeError, UnicodeEncodeError) as exc:
        raise ValueError("not a PEM public key") from exc
    if isinstance(key, X25519PublicKey):
        return key
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < 2048:
            raise ValueError("RSA key shorter than 2048 bits")
        return key
    raise ValueError("neither X25519 nor RSA")


def public_key_id(key: RecoveryPublicKey) -> str:
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()


def public_key_pem(key: RecoveryPublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def _oaep(ad: bytes) -> padding.OAEP:
    return padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=ad)


def seal(key: RecoveryPublicKey, plaintext: bytes | bytearray, ad: bytes) -> dict[str, str]:
    """Like a sealed box: only the holder of the private key can open it.

    X25519: a fresh ephemeral key pair, shared secret -> HKDF-SHA256 (salt = ephemeral public ||
    recipient public) -> AES-256-GCM with the associated data. RSA: OAEP-SHA256 with the
    associated data as the OAEP label.
    """
    if isinstance(key, X25519PublicKey):
        eph = X25519PrivateKey.generate()
        eph_pub = eph.public_key().public_bytes_raw()
        shared = bytearray(eph.exchange(key))
        box_key = hkdf(shared, RECOVERY_INFO, salt=eph_pub + key.public_bytes_raw())
        try:
            box = wrap(box_key, plaintext, ad)
        finally:
            zero(shared)
            zero(box_key)
        return {"algorithm": X25519_ALG, "ephemeral": b64e(eph_pub), **box}
    ct = key.encrypt(bytes(plaintext), _oaep(ad))
    return {"algorithm": RSA_ALG, "ciphertext": b64e(ct)}


def load_private_key(pem: bytes | str, password: bytes | None = None) -> object:
    data = pem.encode("ascii") if isinstance(pem, str) else pem
    return serialization.load_pem_private_key(data, password=password)


def unseal(private_key: object, box: dict[str, str], ad: bytes) -> bytearray | None:
    """The sealed plaintext, or None when this private key does not open the box."""
    alg = box.get("algorithm")
    if alg == X25519_ALG and isinstance(private_key, X25519PrivateKey):
        eph_pub = b64d(box["ephemeral"])
        own_pub = private_key.public_key().public_bytes_raw()
        shared = bytearray(private_key.exchange(X25519PublicKey.from_public_bytes(eph_pub)))
        box_key = hkdf(shared, RECOVERY_INFO, salt=eph_pub + own_pub)
        try:
            return unwrap(box_key, box, ad)
        finally:
            zero(shared)
            zero(box_key)
    if alg == RSA_ALG and isinstance(private_key, rsa.RSAPrivateKey):
        try:
            return bytearray(private_key.decrypt(b64d(box["ciphertext"]), _oaep(ad)))
        except ValueError:
            return None
    return None


def generate_recovery_keypair() -> tuple[bytes, str]:
    """A new X25519 recovery key pair for IT: (private key PEM, unencrypted; public key PEM).

    The private key belongs offline with IT (encrypt it at rest with their own tooling).
    """
    private = X25519PrivateKey.generate()
    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return private_pem, public_key_pem(private.public_key())
