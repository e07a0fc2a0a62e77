"""What the API reads from (and appends to) the store, behind one small class.

Why a repository over ``tiering.store.Store``: routes must not hold SQL; tests swap the whole
thing through ``app.dependency_overrides`` (or point it at a temporary SQLite store); and the
look-up path's cost is decided here — one primary-key read of ``firm_results`` and an O(1) slice
of the run's memory-mapped ``criteria.arrow`` (``tiering.store.criteria_index``), with no extra
"which run is latest" query (the API already holds the run it serves).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl
from sqlalchemy import select, text

from tiering.store import FirmRecord, Principal, RunInfo, Store, open_index
from tiering.store.models import FirmResult

__all__ = ["INDEX_COLUMNS", "AuditRecord", "Repository"]

# The light columns kept in memory for scope checks, search and paging (see api.index).
INDEX_COLUMNS = (
    "uscc",
    "name",
    "district",
    "district_name",
    "industry",
    "industry_name",
    "held_tier",
    "eligible_tier",
    "next_tier",
    "p_next_tier",
)


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One access to confidential fields, as queued by the API (written in batches)."""

    at: dt.datetime
    principal_id: int | None
    endpoint: str
    firms: tuple[str, ...]


class Repository:
    """Store access for the API (thread-safe: an engine, no shared session)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def ping(self) -> bool:
        """True when the store answers and its schema is current."""
        try:
            with self.store.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception:
            return False
        return self.store.is_current()

    def latest_run(self) -> RunInfo | None:
        return self.store.latest_run()

    def runs(self, limit: int = 100) -> list[RunInfo]:
        return self.store.runs(limit)

    def firm_index(self, run_id: str) -> pl.DataFrame:
        """The light columns of every firm of a run (loaded once at start-up, in chunks)."""
        schema = {c: (pl.Float64 if c == "p_next_tier" else pl.String) for c in INDEX_COLUMNS}
        cols = [getattr(FirmResult, c) for c in INDEX_COLUMNS]
        frames = [pl.DataFrame(schema=schema)]
        with self.store.engine.connect() as conn:
            result = conn.execute(select(*cols).where(FirmResult.run_id == run_id))
            while chunk := result.fetchmany(100_000):
                frames.append(pl.DataFrame([tuple(r) for r in chunk], schema=schema, orient="row"))
        return pl.concat(frames)

    def firm(self, run_id: str, uscc: str) -> FirmRecord | None:
        """One firm's full result row (primary-key read)."""
        return self.store.firm_result(uscc, run_id)

    def criteria(self, run: RunInfo, firm: FirmRecord) -> list[dict[str, Any]]:
        """The firm's criterion rows, sliced from the run folder's ``criteria.arrow``."""
        if firm.criteria_offset is None or not firm.criteria_count:
            return []
        try:
            index = open_index(run.run_dir)
        except FileNotFoundError:  # folder pruned: the stored row still answers
            return []
        return index.slice(firm.criteria_offset, firm.criteria_count)

    def principal_by_hash(self, key_hash: str) -> Principal | None:
        """The *active* principal whose key hashes to ``key_hash``, else ``None``."""
        p = self.store.get_principal_by_hash(key_hash)
        return p if p is not None and p.active else None

    def add_audit(self, records: Sequence[AuditRecord]) -> None:
        """Append audit records in one transaction."""
        self.store.add_audit_many((r.principal_id, r.endpoint, r.firms, r.at) for r in records)
