"""Passphrase rules and the strength meter."""

from __future__ import annotations

import pytest

from fieldkit.i18n import render
from fieldkit.security import SecurityPolicy, WeakPassphrase, check_passphrase, passphrase_strength

POLICY = SecurityPolicy()


@pytest.mark.parametrize(
    ("passphrase", "reason"),
    [
        ("kort fras", "too_short"),
        ("", "too_short"),
        ("aaaaaaaaaaaaaa", "one_character"),
        ("AaAaAaAaAaAaAa", "one_character"),
        ("123456789012", "sequence"),
        ("abcdefghijklmn", "sequence"),
        ("zyxwvutsrqpo", "sequence"),
        ("qwertyuiopå1", "sequence"),
        ("asdfghjklöä ", "sequence"),
        ("abcabcabcabc", "sequence"),
        ("121212121212", "sequence"),
        ("aaaaaaaaaaab", "sequence"),
    ],
)
def test_weak_passphrases_are_refused_with_a_reason(passphrase: str, reason: str) -> None:
    with pytest.raises(WeakPassphrase) as info:
        check_passphrase(passphrase, POLICY)
    assert info.value.reason == reason
    assert info.value.exit_code == 2


def test_too_short_names_the_minimum() -> None:
    with pytest.raises(WeakPassphrase) as info:
        check_passphrase("elva tecken", SecurityPolicy(min_passphrase_length=16))
    assert "16" in render(info.value, "en")


def test_passphrase_equal_to_username_is_refused() -> None:
    check_passphrase("anna.svensson.kommun", POLICY)
    with pytest.raises(WeakPassphrase) as info:
        check_passphrase("Anna.Svensson.Kommun", POLICY, username="anna.svensson.kommun")
    assert info.value.reason == "username"


@pytest.mark.parametrize(
    "passphrase",
    ["korv häst cykel lampa", "blå tåg och gröna äpplen", "Tr0ub4dor&3xyz", "sommar vid sjön 1987"],
)
def test_reasonable_passphrases_pass(passphrase: str) -> None:
    check_passphrase(passphrase, POLICY)


def test_length_counts_characters_not_bytes() -> None:
    # 12 characters, 16 UTF-8 bytes; the same in NFC and NFD
    check_passphrase("åäö kör vår", SecurityPolicy(min_passphrase_length=11))
    with pytest.raises(WeakPassphrase):
        check_passphrase("a\u0308a\u0308xyzklmnop", SecurityPolicy(min_passphrase_length=13))


def test_strength_orders_passphrases_sensibly() -> None:
    scores = {
        p: passphrase_strength(p)
        for p in [
            "",
            "kaffekopp",
            "123456789012",
            "hemligt123",
            "Sommar2024!!",
            "korv häst cykel lampa",
            "x7#Kp2!vQz9@Lm4&",
        ]
    }
    assert all(0 <= s <= 4 for s in scores.values())
    assert scores[""] == scores["123456789012"] == scores["kaffekopp"] == 0
    assert scores["hemligt123"] <= 1
    assert scores["Sommar2024!!"] < scores["korv häst cykel lampa"]
    assert scores["korv häst cykel lampa"] == 4
    assert scores["x7#Kp2!vQz9@Lm4&"] == 4


def test_strength_of_a_rule_breaking_passphrase_is_zero() -> None:
    assert passphrase_strength("abcabcabcabcabcabc") == 0
    assert passphrase_strength("zzzzzzzzzzzzzzzzzzzzzzz") == 0
