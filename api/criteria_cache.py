"""The served run's criteria as a memory-mapped Arrow file: a look-up is an O(1) zero-copy slice.

Why: the run folder keeps ``criteria.parquet`` (compressed, 16 k-row groups — right for disk and
for the batch), but a parquet row group must be decompressed whole, ~10 ms a look-up, which
caps one worker near 100 look-ups a second. At start-up (once per published run) the API streams
the parquet, row group by row group, into an uncompressed Arrow IPC file in its cache folder
(``<home>/api-cache/<run_id>/criteria.arrow``, written under a temporary name and renamed) and
memory-maps it: slicing a firm's rows then costs microseconds, memory stays bounded (the OS pages
the file in and out; nothing is copied onto the heap), and the run folder stays untouched.

>>> import polars as pl, tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> pl.DataFrame({"uscc": ["A", "A", "B"], "criterion_id": ["x", "y", "x"]}).write_parquet(
...     d / "criteria.parquet", row_group_size=2)
>>> c = MappedCriteria.build(d / "criteria.parquet", d / "cache" / "criteria.arrow")
>>> c.slice(1, 2)
[{'uscc': 'A', 'criterion_id': 'y'}, {'uscc': 'B', 'criterion_id': 'x'}]
"""

from __future__ import annotations

import bisect
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from api.arrow_file import write_atomically

__all__ = ["MappedCriteria"]


class MappedCriteria:
    """Read-only, memory-mapped criteria of one run."""

    def __init__(self, arrow_path: Path) -> None:
        self.path = Path(arrow_path)
        self._table: pa.Table = ipc.open_file(pa.memory_map(str(self.path), "r")).read_all()
        self._names = self._table.column_names
        self._columns = self._table.columns
        # the file's record batches: every column is chunked alike (one chunk per batch), so a
        # firm's rows are found by one bisection instead of one search per column
        self._chunks = [col.chunks for col in self._columns]
        self._starts = [0]
        for batch in self._table.column(0).chunks if self._columns else ():
            self._starts.append(self._starts[-1] + len(batch))
        self._dictionaries: dict[tuple[int, ...], list[Any]] = {}  # dictionary → its values
        self._aligned = all(
            [len(c) for c in chunks] == [len(c) for c in self._chunks[0]] for chunks in self._chunks
        )

    @property
    def num_rows(self) -> int:
        return self._table.num_rows

    @classmethod
    def build(cls, parquet_path: Path, arrow_path: Path) -> MappedCriteria:
        """Convert (if not yet converted) and map; safe against concurrent or crashed builds."""
        parquet_path, arrow_path = Path(parquet_path), Path(arrow_path)
        source = pq.ParquetFile(str(parquet_path))
        if arrow_path.is_file():
            mapped = cls(arrow_path)
            if mapped.num_rows == source.metadata.num_rows:
                return mapped
        groups = (source.read_row_group(i) for i in range(source.metadata.num_row_groups))
        write_atomically(arrow_path, source.schema_arrow, groups)
        return cls(arrow_path)

    def slice(self, offset: int, count: int) -> list[dict[str, Any]]:
        """Rows ``offset … offset+count-1`` as dicts (what ``firm_results`` points at)."""
        columns = self.columns(offset, count)
        values = columns.values()
        return [dict(zip(columns, row, strict=True)) for row in zip(*values, strict=True)]

    def columns(self, offset: int, count: int) -> dict[str, list[Any]]:
        """Rows ``offset … offset+count-1`` as one Python list per column.

        Why columns: a look-up builds each criterion's response row once from these
        (``api.views.describe_columns``); building dicts here first was about half of this
        call's cost, and the look-up copied them twice more.
        """
        if offset < 0 or count < 0 or offset + count > self._table.num_rows:
            raise IndexError(f"criteria rows {offset}+{count} outside {self.path}")
        i = bisect.bisect_right(self._starts, offset) - 1
        if self._aligned and count and offset + count <= self._starts[i + 1]:
            lo = offset - self._starts[i]  # within one record batch: slice that chunk only
            lists = [self._values(j, i, lo, count) for j in range(len(self._chunks))]
        else:
            lists = [col.slice(offset, count).to_pylist() for col in self._columns]
        return dict(zip(self._names, lists, strict=True))

    def _values(self, j: int, i: int, lo: int, count: int) -> list[Any]:
        """Column ``j``'s values ``lo … lo+count-1`` of record batch ``i`` as Python objects.

        Why the dictionary columns by hand: pyarrow's ``to_pylist`` on a dictionary-coded slice
        converts the whole dictionary (every pack id, criterion id …) each time — measured ~0.7 ms
        of a ~1.7 ms look-up on a batch run's file. The dictionary's Python values are built once
        here and the slice's codes looked up in them.
        """
        chunk = self._chunks[j][i]
        if not pa.types.is_dictionary(chunk.type):
            return chunk.slice(lo, count).to_pylist()
        # keyed by the dictionary's buffers: an Arrow IPC file's batches share one dictionary per
        # column, so this holds one list per column however many batches look-ups touch
        dictionary = chunk.dictionary
        key = (j, *(b.address if b is not None else 0 for b in dictionary.buffers()))
        values = self._dictionaries.get(key)
        if values is None:
            values = self._dictionaries[key] = dictionary.to_pylist()
        codes = chunk.indices.slice(lo, count).to_pylist()
        return [None if c is None else values[c] for c in codes]
