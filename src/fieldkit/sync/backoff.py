"""Retry delays after failures: exponential with full jitter, capped.

Full jitter (a uniform draw between 0 and the exponential ceiling) spreads a fleet of laptops
that lost the server at the same moment, so they do not all come back at the same instant.
"""

from __future__ import annotations

import random


class Backoff:
    """``next_delay()`` after each failure, ``reset()`` after a success."""

    def __init__(
        self,
        base: float = 2.0,
        cap: float = 300.0,
        *,
        rng: random.Random | None = None,
    ) -> None:
        if base <= 0 or cap < base:
            raise ValueError("backoff needs 0 < base <= cap")
        self.base = base
        self.cap = cap
        self.failures = 0
        self._rng = rng or random.SystemRandom()

    def ceiling(self) -> float:
        """The upper bound of the next delay."""
        # 2**failures grows without bound; stop before the float overflows.
        exponent = min(self.failures, 62)
        return float(min(self.cap, self.base * (2**exponent)))

    def next_delay(self, retry_after: float | None = None) -> float:
        """The delay before the next attempt; counts one more failure.

        A server's ``Retry-After`` is honoured as a floor (still capped)."""
        delay = self._rng.uniform(0.0, self.ceiling())
        self.failures += 1
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.cap))
        return delay

    def reset(self) -> None:
        self.failures = 0
