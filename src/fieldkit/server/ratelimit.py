"""Counting failed attempts in a sliding window, per key, in this process.

Used for /v1/auth/token: a device secret is 256 random bits, so guessing is hopeless, but
failed attempts should still be limited and visible. Counts live in memory, per server process
(with several workers the limit applies per worker); enrolment codes, which are short, are
limited in the database instead (``identity._check_rate``)."""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable

from fieldkit.protocol import ErrorCode
from fieldkit.server.errors import ApiError

MAX_KEYS = 100_000  # bound memory under a flood of distinct keys


class FailureLimiter:
    def __init__(
        self,
        limits: dict[str, int],
        window_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``limits`` maps a key prefix (before the first ':') to the failures it allows."""
        self._limits = limits
        self._window = window_seconds
        self._clock = clock
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures[key]
        while times and times[0] <= now - self._window:
            times.popleft()
        return times

    def check(self, keys: Iterable[str]) -> None:
        """Refuse with 429 when any key has used up its failures in the window."""
        now = self._clock()
        with self._lock:
            for key in keys:
                limit = self._limits.get(key.split(":", 1)[0])
                if limit is None:
                    continue
                times = self._recent(key, now)
                if len(times) >= limit:
                    retry = max(1, int(times[0] + self._window - now) + 1)
                    raise ApiError(
                        429,
                        ErrorCode.RATE_LIMITED,
                        "Too many failed attempts; wait and try again.",
                        {"retry_after": retry},
                    )

    def record(self, keys: Iterable[str]) -> None:
        now = self._clock()
        with self._lock:
            if len(self._failures) > MAX_KEYS:
                self._failures.clear()
            for key in keys:
                self._recent(key, now).append(now)
