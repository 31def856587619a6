"""The device secret in the OS keyring, and which keyring backend that is.

We always talk to ONE concrete backend object: when keyring picks its chainer we resolve it to
the chainer's first (highest-priority) backend and use that directly, so a read never falls
through silently to a lower-priority (possibly plaintext) backend.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, TypeVar

import keyring
import keyring.errors
from keyring.backend import KeyringBackend
from keyring.backends.chainer import ChainerBackend

from fieldkit.security.crypto import KEY_BYTES, zero

SERVICE = "fieldkit"

Kind = Literal["secure", "insecure", "unusable"]

_UNUSABLE = {"keyring.backends.fail.Keyring", "keyring.backends.null.Keyring"}


def username_for(profile_id: str) -> str:
    return f"device-secret:{profile_id}"


def backend_name(backend: KeyringBackend | None) -> str:
    if backend is None:
        return "keyring.backends.chainer.ChainerBackend"
    return f"{type(backend).__module__}.{type(backend).__name__}"


def classify(name: str) -> Kind:
    """secure, insecure (stores secrets readably: keyrings.alt, any plaintext backend), or
    unusable (stores nothing: fail, null, an empty chainer)."""
    if name in _UNUSABLE or name == "keyring.backends.chainer.ChainerBackend":
        return "unusable"
    cls = name.rsplit(".", 1)[-1]
    if name.startswith("keyrings.alt.") or "plaintext" in cls.lower():
        return "insecure"
    return "secure"


@dataclass(frozen=True)
class ActiveBackend:
    backend: KeyringBackend | None
    name: str
    kind: Kind


def active_backend() -> ActiveBackend:
    """The backend keyring would use now, resolved through the chainer."""
    try:
        chosen: KeyringBackend | None = keyring.get_keyring()
    except Exception:  # keyring's own initialisation failed (broken config, no D-Bus...)
        chosen = None
    if isinstance(chosen, ChainerBackend):
        backends = list(chosen.backends)
        chosen = backends[0] if backends else None
    name = backend_name(chosen)
    return ActiveBackend(chosen, name, classify(name))


_R = TypeVar("_R")


class KeyringFailure(Exception):
    """The backend raised (locked, D-Bus gone, permission...). Internal: callers translate it."""


def store_secret(active: ActiveBackend, profile_id: str, secret: bytearray) -> None:
    """Store and read back; raises KeyringFailure if the backend did not keep it."""
    if active.backend is None:
        raise KeyringFailure("no backend")
    encoded = base64.b64encode(bytes(secret)).decode("ascii")
    backend = active.backend

    def store() -> str | None:
        backend.set_password(SERVICE, username_for(profile_id), encoded)
        return backend.get_password(SERVICE, username_for(profile_id))

    back = _once_more(store)
    if back != encoded:
        raise KeyringFailure("not stored")


RETRY_AFTER_SECONDS = 0.5


def _once_more(call: Callable[[], _R]) -> _R:
    """``call``, and once more after a moment if the keyring failed: a call over D-Bus can fail
    once while the keyring daemon starts or the bus is busy (seen under load: the store of a
    new profile's secret failed and the same call a moment later worked). Both calls store
    or read the same entry, so the second is safe; a second failure is the keyring's answer."""
    try:
        return call()
    except NotImplementedError as exc:  # a backend that cannot: no point in asking again
        raise KeyringFailure(type(exc).__name__) from exc
    except Exception:  # keyring's, OSError, or secretstorage/jeepney D-Bus errors
        time.sleep(RETRY_AFTER_SECONDS)
    try:
        return call()
    except Exception as exc:
        raise KeyringFailure(type(exc).__name__) from exc


def load_secret(active: ActiveBackend, profile_id: str) -> bytearray | None:
    """The 32-byte device secret, or None when there is no (valid) entry."""
    if active.backend is None:
        raise KeyringFailure("no backend")
    backend = active.backend
    encoded = _once_more(lambda: backend.get_password(SERVICE, username_for(profile_id)))
    if encoded is None:
        return None
    try:
        secret = bytearray(base64.b64decode(encoded.encode("ascii"), validate=True))
    except (binascii.Error, UnicodeEncodeError):
        return None
    if len(secret) != KEY_BYTES:
        zero(secret)
        return None
    return secret


def delete_secret(active: ActiveBackend, profile_id: str) -> None:
    """Best effort: a missing entry or an unreachable keyring is not an error here."""
    if active.backend is None:
        return
    # Wiping goes on whatever the keyring says; the slot file is removed regardless.
    with contextlib.suppress(Exception):
        active.backend.delete_password(SERVICE, username_for(profile_id))
