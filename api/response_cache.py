"""Bounded LRU of finished look-up bodies: the published run is immutable, so a firm's answer is too.

Why: a look-up's work (store row, criteria slice, gap wording, role view, JSON) depends only on
the served run, the firm and the view (``public`` / ``confidential``), and a published run never
changes. The finished JSON bytes are kept here, keyed by ``(run_id, uscc, view)``, bounded by total
bytes (least recently used out first); serving the run's successor clears everything. What is
*not* cached is everything about the caller: authentication, rate limit, district scope and the
audit record run on every request before (and after) the body is taken from here.

Only the event-loop thread touches the cache (the look-up route is ``async`` and never awaits
between ``get`` and ``put``), so no lock is needed.

>>> c = ResponseCache(max_bytes=10)
>>> c.put(("r", "A", "public"), b"12345"); c.put(("r", "B", "public"), b"1234")
>>> c.get(("r", "A", "public"))
b'12345'
>>> c.put(("r", "C", "public"), b"123")  # over 10 bytes: B, the least recently used, goes
>>> c.get(("r", "B", "public")) is None, len(c), c.bytes
(True, 2, 8)
"""

from __future__ import annotations

from collections import OrderedDict

__all__ = ["ResponseCache"]

Key = tuple[str, str, str]


class ResponseCache:
    """``(run_id, uscc, view)`` → response body, at most ``max_bytes`` in total (0 = off)."""

    def __init__(self, max_bytes: int = 64 * 2**20) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self.hits = 0
        self.misses = 0
        self._data: OrderedDict[Key, bytes] = OrderedDict()

    def __len__(self) -> int:
        return len(self._data)

    def get(self, key: Key) -> bytes | None:
        body = self._data.get(key)
        if body is None:
            self.misses += 1
            return None
        self._data.move_to_end(key)
        self.hits += 1
        return body

    def put(self, key: Key, body: bytes) -> None:
        if len(body) > self.max_bytes:  # also covers max_bytes == 0 (cache off)
            return
        old = self._data.pop(key, None)
        if old is not None:
            self.bytes -= len(old)
        self._data[key] = body
        self.bytes += len(body)
        while self.bytes > self.max_bytes:
            _, dropped = self._data.popitem(last=False)
            self.bytes -= len(dropped)

    def clear(self) -> None:
        """Forget everything (a new run is served)."""
        self._data.clear()
        self.bytes = 0
