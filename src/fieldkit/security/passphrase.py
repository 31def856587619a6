"""Passphrase rules and a simple strength meter.

The rules refuse what is certainly weak (too short, one character repeated, a trivial sequence
or a repeated short pattern, the user name). The meter is a deliberately simple heuristic with
no dictionary (zxcvbn's dictionaries are English and would misjudge Swedish passphrases):
an estimate of entropy from the length and the kinds of characters used, with runs, sequences
and repeated characters counted as much less than their length. It guides the user; it does not
decide. The real brute-force cost is Argon2id plus the device secret (see docs/keys.md).
"""

from __future__ import annotations

import itertools
import math
import unicodedata

from fieldkit.errors import N_
from fieldkit.security.errors import WeakPassphrase
from fieldkit.security.policy import SecurityPolicy

# Rows of the Swedish keyboard, and the digits, for "trivial sequence" detection.
_KEYBOARD_ROWS = ("1234567890+", "qwertyuiopå", "asdfghjklöä", "<zxcvbnm,.-")
_TRIVIAL_MIN = 4  # a run of this many sequential characters counts as a sequence


def normalize(passphrase: str) -> str:
    """NFC, so the same passphrase typed on different systems gives the same bytes."""
    return unicodedata.normalize("NFC", passphrase)


def _is_step_sequence(text: str) -> bool:
    """abcdef, 123456, 987654: every character one code point from the previous one."""
    if len(text) < 2:
        return False
    steps = {ord(b) - ord(a) for a, b in itertools.pairwise(text)}
    return steps in ({1}, {-1})


def _is_keyboard_run(text: str) -> bool:
    return any(text in row or text in row[::-1] for row in _KEYBOARD_ROWS)


def _is_repeated_pattern(text: str) -> bool:
    """abcabcabcabc, 121212121212: a pattern of at most a third of the length, repeated."""
    n = len(text)
    return any(n % size == 0 and text[:size] * (n // size) == text for size in range(1, n // 3 + 1))


def _predictable_step(a: str, b: str) -> bool:
    """b follows a the way a lazy sequence does: same, next/previous, 9->0, keyboard neighbour."""
    if ord(b) - ord(a) in (-1, 0, 1) or {a, b} == {"9", "0"}:
        return True
    return _is_keyboard_run(a + b)


def _is_trivial(text: str) -> bool:
    """A step/keyboard sequence, a repeated pattern, or at least 85 % predictable steps
    (123456789012, qwertyuiop12, aaaaaaaaaaab)."""
    low = text.lower()
    if _is_step_sequence(low) or _is_keyboard_run(low) or _is_repeated_pattern(low):
        return True
    if len(low) < 2:
        return True
    steps = sum(_predictable_step(a, b) for a, b in itertools.pairwise(low))
    return steps >= 0.85 * (len(low) - 1)


def check_passphrase(passphrase: str, policy: SecurityPolicy, username: str | None = None) -> None:
    """Raise WeakPassphrase with a clear reason, or return."""
    text = normalize(passphrase)
    if len(text) < policy.min_passphrase_length:
        raise WeakPassphrase(
            N_("The passphrase is too short: use at least {min_length} characters."),
            "too_short",
            min_length=policy.min_passphrase_length,
        )
    stripped = text.strip()
    if len(set(stripped.lower())) <= 1:
        raise WeakPassphrase(
            N_("The passphrase must not be one character repeated."), "one_character"
        )
    if _is_trivial(stripped):
        raise WeakPassphrase(
            N_(
                "The passphrase must not be a simple sequence or pattern such as 123456, "
                "abcdef, qwerty or abcabc."
            ),
            "sequence",
        )
    if username and stripped.casefold() == normalize(username).strip().casefold():
        raise WeakPassphrase(
            N_("The passphrase must not be the same as the user name."), "username"
        )


def _pool_size(text: str) -> int:
    pool = 0
    if any(c.islower() for c in text):
        pool += 29  # a-z and å ä ö
    if any(c.isupper() for c in text):
        pool += 29
    if any(c.isdigit() for c in text):
        pool += 10
    if any(c.isspace() for c in text):
        pool += 1
    if any(not (c.isalnum() or c.isspace()) for c in text):
        pool += 33
    return max(pool, 1)


def _effective_length(text: str) -> float:
    """Length with runs, sequences and already-seen characters discounted."""
    low = text.lower()
    seen: dict[str, int] = {}
    total = 0.0
    for i, c in enumerate(low):
        weight = 1.0
        if i > 0:
            step = ord(c) - ord(low[i - 1])
            if step in (-1, 0, 1):
                weight = 0.2  # aaa, abc, 321
            elif _is_keyboard_run(low[i - 1 : i + 1]):
                weight = 0.3
        count = seen.get(c, 0)
        if count:
            weight *= 1.0 / (1 + count)  # the fifth 'e' adds less than the first
        seen[c] = count + 1
        total += weight
    return total


def passphrase_strength(passphrase: str) -> int:
    """0..4 for the UI meter: 0 very weak, 4 strong.

    bits = effective length x log2(size of the character pool); 0 below 28 bits or when a
    rule-breaking pattern; 1 below 45; 2 below 65; 3 below 85; 4 from 85 bits. Roughly: four
    unrelated words or 14+ varied characters reach 4.
    """
    text = normalize(passphrase).strip()
    if len(text) < 8 or len(set(text.lower())) <= 1 or _is_trivial(text):
        return 0
    bits = _effective_length(text) * math.log2(_pool_size(text))
    for score, limit in ((0, 28), (1, 45), (2, 65), (3, 85)):
        if bits < limit:
            return score
    return 4
