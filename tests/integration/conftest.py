"""Shared set-up of the integration tests that work on one worker's laptop profile."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fieldkit.domain.enums import Role
from fieldkit.domain.ids import new_id
from fieldkit.security import SecurityPolicy
from fieldkit.services.profile import Identity, Session, create_profile, open_session, wipe_profile

PASS = "korrekt häst batteri häftklammer"  # the profile's passphrase (tests use the same text)
FAST = SecurityPolicy(argon2_target_seconds=0.01)  # key derivation is not what is tested here


@pytest.fixture
def folder(real_keyring: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A worker's laptop profile (real SQLCipher vault, real keyring), locked; the CLI finds
    its passphrase in FIELDKIT_PASSPHRASE."""
    monkeypatch.setenv("FIELDKIT_PASSPHRASE", PASS)
    monkeypatch.setenv("FIELDKIT_LANG", "en")
    place = tmp_path / "anna"
    place.mkdir()
    identity = Identity(
        new_id(), "anna", "Anna", Role.WORKER, new_id(), "Fältgruppen Söder", new_id()
    )
    create_profile(place, PASS, identity, FAST).lock()
    yield place
    wipe_profile(place)


@pytest.fixture
def worker(folder: Path) -> Iterator[Session]:
    with open_session(folder, PASS) as s:
        yield s
