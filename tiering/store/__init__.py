"""The store: published runs, per-firm results, criteria look-ups, API principals, audit log.

SQLAlchemy 2 with alembic migrations shipped in the package; SQLite by default (a file in
``Settings.home``), PostgreSQL via ``TIERING_DATABASE_URL``. See ``Store`` for the operations and
``models`` for why per-criterion rows are served from the run folder rather than from SQL.
"""

from __future__ import annotations

from tiering.store.criteria_index import CriteriaIndex, open_index
from tiering.store.publish import PublishResult, StoreError
from tiering.store.records import AuditEntry, FirmPage, FirmRecord, Principal, RunInfo
from tiering.store.store import ROLES, Store, hash_key

__all__ = [
    "ROLES",
    "AuditEntry",
    "CriteriaIndex",
    "FirmPage",
    "FirmRecord",
    "Principal",
    "PublishResult",
    "RunInfo",
    "Store",
    "StoreError",
    "hash_key",
    "open_index",
]
