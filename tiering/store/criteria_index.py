"""Per-firm criteria served from the run folder: a memory-mapped Arrow file sliced by offset.

Why not SQL: a run has one row per firm × pack × criterion (≈60 per firm, ≈60 M rows at 1 M
firms). Copying that into SQLite or PostgreSQL on every publish would dominate the batch's time
budget and the database's size, while the API only ever needs one firm's rows at a time. The batch
therefore writes ``criteria.arrow`` (uncompressed Arrow IPC, sorted by uscc) into the immutable run
folder and records each firm's ``criteria_offset`` / ``criteria_count`` in ``firm_results``; a
look-up is a zero-copy slice of a memory-mapped file (microseconds, no parsing), and every
criterion of every run that is still on disk stays available.
"""

from __future__ import annotations

import functools
import threading
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.ipc as ipc

__all__ = ["CRITERIA_FILE", "CriteriaIndex", "open_index"]

CRITERIA_FILE = "criteria.arrow"


class CriteriaIndex:
    """Read-only view of one run's ``criteria.arrow``.

    >>> import polars as pl, tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> pl.DataFrame({"uscc": ["A", "A", "B"], "criterion_id": ["x", "y", "x"]}).write_ipc(
    ...     d / CRITERIA_FILE, compression="uncompressed")
    >>> CriteriaIndex(d / CRITERIA_FILE).slice(2, 1)
    [{'uscc': 'B', 'criterion_id': 'x'}]
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._source = pa.memory_map(str(self.path), "r")
        self._table: pa.Table = ipc.open_file(self._source).read_all()

    @property
    def num_rows(self) -> int:
        return self._table.num_rows

    def slice(self, offset: int, count: int) -> list[dict[str, Any]]:
        """Rows ``offset … offset+count-1`` as dicts (what ``firm_results`` points at)."""
        if offset < 0 or count < 0 or offset + count > self._table.num_rows:
            raise IndexError(
                f"criteria slice {offset}+{count} outside {self.path} ({self._table.num_rows} rows)"
            )
        return self._table.slice(offset, count).to_pylist()


_lock = threading.Lock()


@functools.lru_cache(maxsize=8)
def _cached(path: str, mtime_ns: int) -> CriteriaIndex:
    return CriteriaIndex(Path(path))


def open_index(run_dir: Path | str) -> CriteriaIndex:
    """The (cached) criteria index of a run folder; raises ``FileNotFoundError`` if it is gone."""
    path = Path(run_dir) / CRITERIA_FILE
    with _lock:
        return _cached(str(path.resolve()), path.stat().st_mtime_ns)
