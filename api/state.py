"""Everything the API loads once: store, latest-run index, rule packs and models, caches.

Why one object: the FastAPI ``lifespan`` builds it before the first request and closes it after
the last; dependencies hand out its parts, and tests replace parts with
``app.dependency_overrides``. Nothing here runs at import time.

Two small helpers live here because they belong to the process, not to a request:

- :class:`PrincipalCache` keeps a key-hash → principal answer for ``ttl`` seconds so the look-up
  path does not hit the store on every request (a revoked key stops working within ``ttl``);
- :class:`AuditSink` queues audit records and writes them in batches from one thread (group
  commit: a thousand confidential look-ups a second cost a handful of transactions), flushing on
  shutdown. A write that fails is retried on the next flush and reported in the log by count.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from api.index import FirmIndex
from api.ratelimit import RateLimiter
from api.repository import AuditRecord, Repository
from api.response_cache import ResponseCache
from tiering.settings import Settings
from tiering.store.records import Principal, RunInfo

__all__ = ["ApiState", "AuditSink", "PrincipalCache"]

log = logging.getLogger("tiering.api")

_MISSING = object()


class PrincipalCache:
    """Key-hash → principal (or ``None`` for unknown keys) for a short time, bounded in size.

    >>> calls = []
    >>> cache = PrincipalCache(lambda h: calls.append(h) or None, ttl=30, clock=lambda: 0.0)
    >>> cache.get("h"), cache.get("h"), len(calls)
    (None, None, 1)
    """

    def __init__(
        self,
        loader: Callable[[str], Principal | None],
        *,
        ttl: float = 30.0,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._loader = loader
        self._ttl = ttl
        self._max = max_entries
        self._clock = clock
        self._data: dict[str, tuple[float, Principal | None]] = {}

    def get(self, key_hash: str) -> Principal | None:
        now = self._clock()
        hit = self._data.get(key_hash, _MISSING)
        if hit is not _MISSING and hit[0] > now:  # type: ignore[index]
            return hit[1]  # type: ignore[index]
        principal = self._loader(key_hash)
        if len(self._data) >= self._max:  # unknown keys must not grow memory without bound
            self._data.clear()
        # Unknown keys are remembered briefly only, so a new key works at once.
        self._data[key_hash] = (now + (self._ttl if principal else min(self._ttl, 2.0)), principal)
        return principal

    def clear(self) -> None:
        self._data.clear()


class AuditSink:
    """Queue of audit records written by a background thread every ``interval`` seconds."""

    def __init__(
        self, writer: Callable[[list[AuditRecord]], None], *, interval: float = 0.2
    ) -> None:
        self._writer = writer
        self._interval = interval
        self._pending: list[AuditRecord] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.written = 0
        self.failed = 0

    def add(self, record: AuditRecord) -> None:
        with self._lock:
            self._pending.append(record)

    def flush(self) -> int:
        """Write everything queued now; returns the number written."""
        with self._lock:
            batch, self._pending = self._pending, []
        if not batch:
            return 0
        try:
            self._writer(batch)
        except Exception as exc:  # keep the records, say how many, never their content
            with self._lock:
                self._pending[:0] = batch
            self.failed += 1
            log.error(
                "audit_write_failed",
                extra={"fields": {"pending": len(batch), "exc_type": type(exc).__name__}},
            )
            return 0
        self.written += len(batch)
        return len(batch)

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="audit-sink", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._interval)
            self._wake.clear()
            self.flush()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self.flush()


@dataclass
class ApiState:
    """The loaded service: built by :func:`api.app.load_state`, held on ``app.state.api``."""

    settings: Settings
    repo: Repository
    limiter: RateLimiter
    principals: PrincipalCache
    audit: AuditSink
    run: RunInfo | None = None
    index: FirmIndex | None = None
    assessor: Any = None  # api.whatif.Assessor when rule packs (and models) loaded
    problems: dict[str, str] = field(default_factory=dict)
    responses: ResponseCache = field(default_factory=ResponseCache)

    def reload_run(self) -> None:
        """(Re)load the latest published run into the in-memory index (no-op if unchanged).

        Called at start-up, then every ``run_poll_seconds`` (see ``create_app``) from a worker
        thread by the app's lifespan, so a newly published run is served without a restart.
        """
        run = self.repo.latest_run()
        if run is None:
            if self.run is None:
                self.problems["run"] = "尚无已发布的批次"
            return  # a run being served is never dropped for "nothing published"
        if self.run is None or self.run.run_id != run.run_id:
            for prepare, event in (
                (self.repo.prepare_criteria, "criteria_cache_failed"),
                (self.repo.prepare_details, "details_cache_failed"),
            ):
                try:
                    prepare(run)
                except Exception as exc:  # still readable from the run folder, slower
                    log.warning(event, extra={"fields": {"exc_type": type(exc).__name__}})
            index = FirmIndex(run.run_id, run.as_of, self.repo.firm_index(run.run_id))
            # swap together, then drop the old run's bodies (their keys name the old run anyway)
            self.run, self.index = run, index
            self.responses.clear()
            self.repo.prune_cache(run.run_id)
        self.problems.pop("run", None)
