"""Counting failed attempts in a sliding window, per key, in this process.

Used for /v1/auth/token. A device secret is 256 random bits, stored as its SHA-256
(``identity.hash_secret``): guessing one is hopeless, and checking one costs a primary-key
read and a microsecond of hashing, no slow password hash. So the limit never refuses a right
secret: the secret is checked first, and only a wrong one is counted and, once the address has
used up its failures in the window, answered 429 instead of 401. One misbehaving laptop behind
a municipality's NAT then slows nobody else down (the others' secrets are right), and a
guesser still meets 429s it cannot learn anything from. Counts live in memory, per server
process (with several workers the limit applies per worker); enrolment codes, which are short,
are limited in the database instead, before the code is checked (``identity._check_rate``)."""

from __future__ import annotations

import ipaddress
import threading
import time
from collections import deque
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
        # each key keeps the times of its last ``limit`` failures: enough to tell whether it is
        # over the limit and when it will be under it again, and bounded however long a
        # client goes on failing
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, limit: int, now: float) -> deque[float]:
        times = self._failures.get(key)
        if times is None:
            times = self._failures[key] = deque(maxlen=limit)
        while times and times[0] <= now - self._window:
            times.popleft()
        return times

    def _refusal(self, times: deque[float], now: float) -> ApiError:
        retry = max(1, int(times[0] + self._window - now) + 1)
        return ApiError(
            429,
            ErrorCode.RATE_LIMITED,
            "Too many failed attempts; wait and try again.",
            {"retry_after": retry},
        )

    def check(self, keys: Iterable[str]) -> None:
        """Refuse with 429 when any key has used up its failures in the window."""
        now = self._clock()
        with self._lock:
            for key in keys:
                limit = self._limits.get(key.split(":", 1)[0])
                if limit is None:
                    continue
                times = self._recent(key, limit, now)
                if len(times) >= limit:
                    raise self._refusal(times, now)

    def record(self, keys: Iterable[str]) -> None:
        self.fail(keys)

    def fail(self, keys: Iterable[str]) -> ApiError | None:
        """Count a failed attempt for each key; a 429 to answer it with instead of its own
        refusal if a key had already used up its failures in the window, else None."""
        now = self._clock()
        refusal = None
        with self._lock:
            if len(self._failures) > MAX_KEYS:
                self._failures.clear()
            for key in keys:
                limit = self._limits.get(key.split(":", 1)[0])
                if limit is None or limit < 1:
                    continue
                times = self._recent(key, limit, now)
                over = len(times) >= limit
                times.append(now)  # the oldest drops out: the window slides on while it fails
                if over and refusal is None:
                    refusal = self._refusal(times, now)
        return refusal


def client_source(host: str) -> str:
    """Whom a failed attempt is counted against: an IPv4 address, or the /64 network of an
    IPv6 address (one household or office is given a whole /64 and picks any address in it,
    so a per-address count would let one client rotate past it). Anything else (a proxy's
    name, the test client) as it is, cut to the column's 64 characters."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)
