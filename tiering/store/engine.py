"""Engine construction for the store: SQLite by default, PostgreSQL via ``TIERING_DATABASE_URL``.

Why a module: SQLite needs a few pragmas to behave as a service store (WAL so the API keeps
reading while a batch publishes, foreign keys on, a busy timeout instead of instant "database is
locked"), and its parent folder must exist; PostgreSQL needs none of that. Nothing connects at
import time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

__all__ = ["make_engine"]


SQLITE_PAGE_SIZE = 65536
"""Page size of a *new* SQLite store (an existing file keeps its own; WAL mode cannot change it).

Why the largest: a run published ~1 M rows of ~1.3 KB when the store still held each firm's
``detail``; with 4 KB pages SQLite fit three rows a page and spent its time splitting and
balancing B-tree pages. Measured then, loading 837 k firm rows with the store's indexes and
committing (WAL checkpoint included): 4 KB 28.9 s, 16 KB 23.4 s, 64 KB 21.2 s, and a 13 % smaller
file. The typed rows published now are ~0.2 KB; the page size was not measured again for them. The price is paid by small transactions, which write whole
pages to the WAL: a 100-record audit batch costs 0.84 ms of CPU instead of 0.73 ms, and the WAL
grows to ~64 MB (SQLite's 1000 pages) between automatic checkpoints instead of ~4 MB. A look-up by
primary key reads one 64 KB leaf instead of a 4 KB one; `bench_api` showed no difference."""


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA page_size={SQLITE_PAGE_SIZE}")  # before WAL: a no-op on existing files
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Build an engine for ``url``; SQLite files get their folder created and service pragmas.

    >>> make_engine("sqlite://").dialect.name
    'sqlite'
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        else:  # one shared in-memory database for every connection of this engine
            kwargs.setdefault("poolclass", StaticPool)
            kwargs.setdefault("connect_args", {"check_same_thread": False})
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)
