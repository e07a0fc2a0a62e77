"""What the API reads from (and appends to) the store, behind one small class.

Why a repository over ``tiering.store.Store``: routes must not hold SQL; tests swap the whole
thing through ``app.dependency_overrides`` (or point it at a temporary SQLite store); and the
look-up path's cost is decided here — one primary-key read of ``firm_results`` (the typed
columns), one binary search in the run's memory-mapped ``details.arrow`` (the firm's ``detail``,
:mod:`api.detail_cache`) and an O(1) slice of its memory-mapped ``criteria.arrow``
(:mod:`api.criteria_cache`), with no extra "which run is latest" query (the API already holds
the run it serves). Without the mapped files (no cache folder, a failed conversion) both are
read from the run folder, slower.
"""

from __future__ import annotations

import datetime as dt
import shutil
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import select, text

from api.criteria_cache import MappedCriteria
from api.detail_cache import MappedDetails
from api.views import describe_columns, describe_criteria
from tiering.store import FirmRecord, Principal, RunInfo, Store, open_index
from tiering.store.details import SCORES_FILE, folder_details
from tiering.store.models import FirmResult
from tiering.store.publish import FIRM_COLUMNS

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

    def __init__(self, store: Store, cache_dir: Path | None = None) -> None:
        self.store = store
        self.cache_dir = cache_dir
        self._local = threading.local()
        self._mapped: tuple[str, MappedCriteria] | None = None
        self._details: tuple[str, MappedDetails] | None = None
        style = store.engine.dialect.paramstyle
        marks = ("?", "?") if style == "qmark" else ("%(run_id)s", "%(uscc)s")
        self._firm_sql = (
            f"SELECT {', '.join(FIRM_COLUMNS)} FROM firm_results "
            f"WHERE run_id = {marks[0]} AND uscc = {marks[1]}"
        )
        self._qmark = style == "qmark"

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
        """One firm's full result row: a primary-key read on a per-thread DBAPI connection.

        Why raw DBAPI: the look-up path runs this once per request; SQLAlchemy's statement and
        result machinery costs ~15x the query itself on SQLite (0.7 ms vs 0.05 ms).
        """
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self.store.engine.raw_connection()
        params: Any = (run_id, uscc) if self._qmark else {"run_id": run_id, "uscc": uscc}
        cur = conn.cursor()
        try:
            cur.execute(self._firm_sql, params)
            row = cur.fetchone()
        except Exception:
            self._local.conn = None  # a broken connection is not reused
            conn.invalidate()
            raise
        finally:
            cur.close()
        if not self._qmark:
            conn.rollback()  # end the read transaction (PostgreSQL)
        if row is None:
            return None
        m = dict(zip(FIRM_COLUMNS, row, strict=True))
        if m["detail"] is None:  # kept in the run folder (runs published before: in the row)
            m["detail"] = self._detail(run_id, uscc)
        return FirmRecord.from_mapping(m)

    def _detail(self, run_id: str, uscc: str) -> str | None:
        """The firm's compact ``detail``: from the mapped file, else from the run folder."""
        if self._details is not None and self._details[0] == run_id:
            return self._details[1].get(uscc)
        run = self.store.get_run(run_id)
        return folder_details(run.run_dir if run else None, [uscc]).get(uscc)

    def prepare_criteria(self, run: RunInfo) -> None:
        """Map the run's criteria for O(1) slices (converting them once into the cache folder)."""
        source = Path(run.run_dir) / "criteria.parquet"
        if self.cache_dir is None or not source.is_file():
            self._mapped = None
            return
        arrow = self.cache_dir / run.run_id / "criteria.arrow"
        self._mapped = (run.run_id, MappedCriteria.build(source, arrow))

    def prepare_details(self, run: RunInfo) -> None:
        """Map the run's per-firm ``detail`` (converting ``scores.parquet`` once into the cache
        folder: ~12 s of CPU at a million firms, in the start-up or the run poller's thread)."""
        source = Path(run.run_dir) / SCORES_FILE
        if self.cache_dir is None or not source.is_file():
            self._details = None
            return
        arrow = self.cache_dir / run.run_id / "details.arrow"
        self._details = (run.run_id, MappedDetails.build(source, arrow))

    def prune_cache(self, run_id: str) -> None:
        """Remove the cache folders of every run but ``run_id`` (what start-up or a new run left).

        Why: each run's mapped files take ~1 KB (details) and ~0.5 KB (criteria) a firm, so a
        city's runs would fill the disk one by one. A worker still serving the previous run
        keeps reading its files after they are unlinked (a mapping holds the file, POSIX).
        """
        if self.cache_dir is None or not self.cache_dir.is_dir():
            return
        for folder in self.cache_dir.iterdir():
            if folder.is_dir() and folder.name != run_id:
                shutil.rmtree(folder, ignore_errors=True)

    def criteria(self, run: RunInfo, firm: FirmRecord) -> list[dict[str, Any]]:
        """The firm's criterion rows: from the mapped cache, else from the run folder."""
        if firm.criteria_offset is None or not firm.criteria_count:
            return []
        if self._mapped is not None and self._mapped[0] == run.run_id:
            columns = self._mapped[1].columns(firm.criteria_offset, firm.criteria_count)
            return describe_columns(columns, range(firm.criteria_count), firm.gaps)
        try:
            index = open_index(run.run_dir)
        except FileNotFoundError:  # folder pruned: the stored row still answers
            return []
        rows = index.slice(firm.criteria_offset, firm.criteria_count)
        return describe_criteria(rows, firm.gaps)

    def principal_by_hash(self, key_hash: str) -> Principal | None:
        """The *active* principal whose key hashes to ``key_hash``, else ``None``."""
        p = self.store.get_principal_by_hash(key_hash)
        return p if p is not None and p.active else None

    def add_audit(self, records: Sequence[AuditRecord]) -> None:
        """Append audit records in one transaction."""
        self.store.add_audit_many((r.principal_id, r.endpoint, r.firms, r.at) for r in records)
