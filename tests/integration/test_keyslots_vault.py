"""Key slots with the real SQLCipher vault: the data key opens the vault, and a data-key
rotation interrupted at either point leaves a vault that still opens (storage tries
DataKeys.current, then .pending)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest

from fieldkit.security import Argon2Params, KeySlots, SecurityPolicy
from fieldkit.storage.errors import WrongKey
from fieldkit.storage.vault import Vault

pytestmark = pytest.mark.keyring

FAST = Argon2Params(time_cost=1, memory_cost=1024, parallelism=1)
PASS = "korv häst cykel lampa"
POLICY = SecurityPolicy()


@pytest.fixture
def slots(data_dir: Path, real_keyring: str) -> Iterator[KeySlots]:
    pid = f"test-{uuid.uuid4()}"
    yield KeySlots(data_dir / "keyslots.json", pid)
    with contextlib.suppress(keyring.errors.PasswordDeleteError):
        keyring.delete_password("fieldkit", f"device-secret:{pid}")


def _new_vault(slots: KeySlots) -> Path:
    key = slots.create(PASS, POLICY, argon2_params=FAST)
    path = slots.slot_path.with_name("vault.db")
    with Vault.create(path, key) as vault:
        vault.meta.set("marker", "rotation-test")
    return path


def test_crash_after_rekey_before_complete(slots: KeySlots) -> None:
    path = _new_vault(slots)
    begun = slots.begin_rotation(PASS, POLICY)
    assert begun.pending is not None
    with Vault.open(path, [begun.current, begun.pending]) as vault:
        assert vault.key_index == 0
        vault.rekey(begun.pending)
    # -- crash here: complete_rotation never ran --

    keys = KeySlots(slots.slot_path, slots.profile_id).unlock(PASS, POLICY)
    assert keys.pending == begun.pending
    with Vault.open(path, [keys.current, keys.pending]) as vault:
        assert vault.key_index == 1  # already rekeyed: only completing is left
        assert vault.meta.get("marker") == "rotation-test"
    slots.complete_rotation(PASS, POLICY)

    keys = slots.unlock(PASS, POLICY)
    assert keys.current == begun.pending and keys.pending is None
    with Vault.open(path, keys.current) as vault:
        assert vault.meta.get("marker") == "rotation-test"
    with pytest.raises(WrongKey):
        Vault.open(path, begun.current)  # the old data key no longer opens it


def test_crash_after_begin_before_rekey(slots: KeySlots) -> None:
    path = _new_vault(slots)
    begun = slots.begin_rotation(PASS, POLICY)
    # -- crash here: PRAGMA rekey never ran --
    keys = KeySlots(slots.slot_path, slots.profile_id).unlock(PASS, POLICY)
    assert keys.pending is not None
    with Vault.open(path, [keys.current, keys.pending]) as vault:
        assert vault.key_index == 0
        # resume: the same pending key, then rekey and complete
        assert slots.begin_rotation(PASS, POLICY).pending == begun.pending
        vault.rekey(keys.pending)
    slots.complete_rotation(PASS, POLICY)
    with Vault.open(path, slots.unlock(PASS, POLICY).current) as vault:
        assert vault.meta.get("marker") == "rotation-test"


def test_passphrase_change_does_not_touch_the_vault(slots: KeySlots) -> None:
    path = _new_vault(slots)
    before = path.read_bytes()
    slots.change_passphrase(PASS, "blå tåg och gröna äpplen", POLICY)
    assert path.read_bytes() == before
    with Vault.open(path, slots.unlock("blå tåg och gröna äpplen", POLICY).current) as vault:
        assert vault.meta.get("marker") == "rotation-test"
