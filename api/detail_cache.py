"""The served run's per-firm ``detail`` as a memory-mapped Arrow file: a look-up is a binary search.

Why: the store keeps each firm's typed columns only (``tiering.store.publish.typed_rows``); its
``detail`` — verdicts, gaps, figures, probabilities, reasons — is in the run folder's
``scores.parquet``. Rebuilding one firm's detail from that file costs a filtered parquet scan
(milliseconds); a look-up has well under one. So, once per published run (next to
``criteria.arrow``, see :mod:`api.criteria_cache`), the API streams ``scores.parquet`` batch by
batch through ``detail_rows`` — the function that defines ``detail`` — into an uncompressed Arrow
IPC file ``<home>/api-cache/<run_id>/details.arrow`` of ``(uscc, detail)`` sorted by uscc, written
under a temporary name and renamed, and maps it. A look-up is then a binary search over the
mapped USCCs and one value read: microseconds, nothing copied onto the heap.

>>> import polars as pl, tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> pl.DataFrame({"uscc": ["B", "A"], "reasons": ['["x"]', None]}).write_parquet(d / "s.parquet")
>>> m = MappedDetails.build(d / "s.parquet", d / "cache" / "details.arrow")
>>> m.get("A").endswith(",null]"), m.get("B").endswith(',["x"]]'), m.get("C")
(True, True, None)
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from api.arrow_file import write_atomically
from tiering.store.models import DETAIL_FIELDS
from tiering.store.publish import detail_rows

__all__ = ["MappedDetails"]

_SCHEMA = pa.schema([("uscc", pa.string()), ("detail", pa.string())])
_BATCH_ROWS = 50_000
_USCC_BYTES = 18


class MappedDetails:
    """Read-only, memory-mapped ``uscc → detail`` of one run."""

    def __init__(self, arrow_path: Path) -> None:
        self.path = Path(arrow_path)
        table = ipc.open_file(pa.memory_map(str(self.path), "r")).read_all()
        if table.schema != _SCHEMA:
            raise ValueError(f"{self.path} is not a details file")
        self.num_rows = table.num_rows
        self._chunks = table.column("detail").chunks
        self._starts = [0]
        for chunk in self._chunks:
            self._starts.append(self._starts[-1] + len(chunk))
        self._keys = _search_keys(table.column("uscc"))

    @classmethod
    def build(cls, scores_path: Path, arrow_path: Path) -> MappedDetails:
        """Convert (if not yet converted) and map; safe against concurrent or crashed builds."""
        scores_path, arrow_path = Path(scores_path), Path(arrow_path)
        source = pq.ParquetFile(str(scores_path))
        if arrow_path.is_file():
            try:
                mapped = cls(arrow_path)
            except (OSError, ValueError, pa.ArrowException):
                mapped = None  # a file this build cannot read is rebuilt
            if mapped is not None and mapped.num_rows == source.metadata.num_rows:
                return mapped
        write_atomically(arrow_path, _SCHEMA, _sorted_batches(source))
        return cls(arrow_path)

    def get(self, uscc: str) -> str | None:
        """The firm's compact ``detail`` text, ``None`` if it is not in the run."""
        keys = self._keys
        if isinstance(keys, np.ndarray):
            key = uscc.encode()
            i = int(np.searchsorted(keys, key))
            if i >= len(keys) or keys[i] != key:
                return None
        else:
            i = bisect.bisect_left(keys, uscc)
            if i >= len(keys) or keys[i] != uscc:
                return None
        c = bisect.bisect_right(self._starts, i) - 1
        return self._chunks[c][i - self._starts[c]].as_py()


def _sorted_batches(source: pq.ParquetFile) -> Iterator[pa.Table]:
    """``(uscc, detail)`` tables in uscc order, ``_BATCH_ROWS`` firms at a time.

    The batch writes ``scores.parquet`` sorted by uscc, so it streams (its USCCs are read first
    to check that); a folder that is not sorted (made by hand) is read whole and sorted.
    """
    columns = [  # what ``detail_rows`` reads (probabilities and flags may come as p_* / *_learned)
        c
        for c in source.schema_arrow.names
        if c == "uscc" or c in DETAIL_FIELDS or c.startswith("p_") or c.endswith("_learned")
    ]
    usccs = pl.Series(source.read(columns=["uscc"]).column("uscc"))
    if usccs.null_count() == 0 and usccs.is_sorted():
        for batch in source.iter_batches(batch_size=_BATCH_ROWS, columns=columns):
            frame = pl.from_arrow(pa.Table.from_batches([batch]))
            assert isinstance(frame, pl.DataFrame)
            yield detail_rows(frame).to_arrow().cast(_SCHEMA)
        return
    whole = pl.from_arrow(source.read(columns=columns))
    assert isinstance(whole, pl.DataFrame)
    yield (
        detail_rows(whole.filter(pl.col("uscc").is_not_null()).sort("uscc"))
        .to_arrow()
        .cast(_SCHEMA)
    )


def _search_keys(column: pa.ChunkedArray) -> np.ndarray | list[str]:
    """The sorted USCCs as a numpy ``S18`` array over the mapped bytes (18-character codes, the
    batch's case), else as a Python list."""
    array = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    if len(array) and not array.null_count:
        offsets = np.frombuffer(array.buffers()[1], dtype=np.int32)[
            array.offset : array.offset + len(array) + 1
        ]
        if np.all(np.diff(offsets) == _USCC_BYTES):
            data = np.frombuffer(array.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
            return data.view(f"S{_USCC_BYTES}")
    return array.to_pylist()
