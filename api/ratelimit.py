"""Per-key rate limit: an in-process token bucket.

Why in-process: the service runs as one (or a few) uvicorn workers behind the bureau's gateway;
a bucket per key in memory costs a dict look-up and two float operations per request, and needs
no Redis. With several workers each enforces the limit on its own share (documented; the gateway
is the place for a global limit).

The bucket refills at ``per_minute / 60`` tokens a second and holds at most ``burst`` tokens
(default: ten seconds' worth), so a phone app's short bursts pass and a runaway script is cut
off with 429 and a ``Retry-After``.

>>> clock = iter([0.0, 0.0, 0.0, 0.5]).__next__
>>> b = RateLimiter(per_minute=60, burst=2, clock=clock)
>>> b.acquire("k"), b.acquire("k"), b.acquire("k")
(0.0, 0.0, 1.0)
>>> b.acquire("k")  # half a second later: half a token, still short
0.5
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

__all__ = ["RateLimiter"]


class RateLimiter:
    """Token buckets keyed by principal id; :meth:`acquire` returns 0 or seconds to wait."""

    __slots__ = ("_buckets", "_clock", "_lock", "burst", "rate")

    def __init__(
        self,
        per_minute: int,
        *,
        burst: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if per_minute <= 0:
            raise ValueError("api_rate_limit_per_minute must be positive")
        self.rate = per_minute / 60.0
        self.burst = float(burst if burst is not None else max(1, per_minute // 6))
        self._clock = clock
        self._buckets: dict[str, list[float]] = {}  # key -> [tokens, last refill time]
        self._lock = threading.Lock()

    def acquire(self, key: str) -> float:
        """Take one token for ``key``: ``0.0`` if allowed, else seconds until one is available."""
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                self._buckets[key] = [self.burst - 1.0, now]
                return 0.0
            tokens = min(self.burst, bucket[0] + (now - bucket[1]) * self.rate)
            bucket[1] = now
            if tokens >= 1.0:
                bucket[0] = tokens - 1.0
                return 0.0
            bucket[0] = tokens
            return (1.0 - tokens) / self.rate

    def reset(self) -> None:
        """Forget every bucket (tests; a key revoked and re-created)."""
        with self._lock:
            self._buckets.clear()
