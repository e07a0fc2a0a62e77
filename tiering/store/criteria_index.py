"""Per-firm criteria served from the run folder: ``criteria.parquet`` read one row group at a time.

Why not SQL: a run has one row per firm × pack × criterion (≈60 per firm, ≈60 M rows at 1 M
firms). Copying that into SQLite or PostgreSQL on every publish would dominate the batch's time
budget and the database's size, while the API only ever needs one firm's rows at a time. The batch
therefore writes ``criteria.parquet`` sorted by uscc in small row groups (``ROW_GROUP_ROWS``) and
records each firm's ``criteria_offset`` / ``criteria_count`` in ``firm_results``. A look-up finds
the row group(s) holding that range from the file's footer (parsed once, cached) and decompresses
only those — about a millisecond — and every criterion of every run still on disk stays available.
"""

from __future__ import annotations

import bisect
import functools
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

__all__ = [
    "CRITERIA_FILE",
    "ROW_GROUP_ROWS",
    "CriteriaIndex",
    "criterion_labels",
    "describe",
    "gap_phrase",
    "open_index",
]

CRITERIA_FILE = "criteria.parquet"
ROW_GROUP_ROWS = 16_384


class CriteriaIndex:
    """Random access by row range into one run's ``criteria.parquet``.

    >>> import polars as pl, tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> pl.DataFrame({"uscc": ["A", "A", "B"], "criterion_id": ["x", "y", "x"]}).write_parquet(
    ...     d / CRITERIA_FILE, row_group_size=2)
    >>> CriteriaIndex(d / CRITERIA_FILE).slice(1, 2)
    [{'uscc': 'A', 'criterion_id': 'y'}, {'uscc': 'B', 'criterion_id': 'x'}]
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._file = pq.ParquetFile(str(self.path))
        meta = self._file.metadata
        self._starts = [0]
        for i in range(meta.num_row_groups):
            self._starts.append(self._starts[-1] + meta.row_group(i).num_rows)
        self._lock = threading.Lock()  # a ParquetFile is not safe for concurrent reads

    @property
    def num_rows(self) -> int:
        return self._starts[-1]

    def slice(self, offset: int, count: int) -> list[dict[str, Any]]:
        """Rows ``offset … offset+count-1`` as dicts (what ``firm_results`` points at)."""
        if offset < 0 or count < 0 or offset + count > self.num_rows:
            raise IndexError(
                f"criteria rows {offset}+{count} outside {self.path} ({self.num_rows} rows)"
            )
        if count == 0:
            return []
        first = bisect.bisect_right(self._starts, offset) - 1
        last = bisect.bisect_right(self._starts, offset + count - 1) - 1
        with self._lock:
            table: pa.Table = self._file.read_row_groups(list(range(first, last + 1)))
        return table.slice(offset - self._starts[first], count).to_pylist()


_lock = threading.Lock()


@functools.lru_cache(maxsize=8)
def _cached(path: str, mtime_ns: int) -> CriteriaIndex:
    return CriteriaIndex(Path(path))


def open_index(run_dir: Path | str) -> CriteriaIndex:
    """The (cached) criteria index of a run folder; raises ``FileNotFoundError`` if it is gone."""
    path = Path(run_dir) / CRITERIA_FILE
    with _lock:
        return _cached(str(path.resolve()), path.stat().st_mtime_ns)


@functools.cache
def criterion_labels() -> dict[tuple[str, str], str]:
    """``(pack, criterion_id) -> Chinese label`` of every shipped rule pack."""
    from tiering.pack_loader import list_packs, load_pack

    out: dict[tuple[str, str], str] = {}
    for pid in list_packs():
        for c in getattr(load_pack(pid), "criteria", ()) or ():
            out[(pid, c.id)] = c.label
    return out


def _num(x: float) -> str:
    text = f"{x:.2f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def gap_phrase(label: str, status: str | None, gap: float | None, unit: str | None) -> str | None:
    """Plain-Chinese shortfall of a criterion that is not met (``None`` when it is met).

    >>> gap_phrase("研发费用占比", "unmet", 0.004, "ratio")
    '研发费用占比差 0.4 个百分点'
    >>> gap_phrase("营业收入", "unmet", 320.5, "万元")
    '营业收入差 320.5 万元'
    >>> gap_phrase("主导产品市场占有率", "manual_review", None, None)
    '主导产品市场占有率：需人工核实'
    """
    if status in (None, "met"):
        return None
    if status == "unknown":
        return f"{label}：数据缺失"
    if status == "manual_review":
        return f"{label}：需人工核实"
    if gap is None:
        return f"{label}：未达标"
    if unit == "ratio":
        return f"{label}差 {_num(gap * 100)} 个百分点"
    return f"{label}差 {_num(gap)} {unit or ''}".rstrip()


def describe(
    rows: Iterable[dict[str, Any]], gap_texts: Mapping[tuple[str, str], str] | None = None
) -> list[dict[str, Any]]:
    """Criterion rows with ``label`` and ``gap_text`` filled in for staff.

    The rules' own wording (``gap_texts``, from the firm's stored gaps, or a ``gap_text`` column)
    wins; otherwise the shortfall is phrased from the gap and its unit (``gap_phrase``).
    """
    labels = criterion_labels()
    texts = gap_texts or {}
    out = []
    for row in rows:
        label, text = label_and_text(row, labels, texts)
        out.append({**row, "label": label, "gap_text": text})
    return out


def label_and_text(
    row: Mapping[str, Any],
    labels: Mapping[tuple[str, str], str],
    texts: Mapping[tuple[str, str], str],
) -> tuple[str, str | None]:
    """One criterion row's label and gap text: the row's own, else the pack's label / the rules'
    wording from ``texts``, else the criterion id / a phrase from gap and unit."""
    key = (str(row.get("pack")), str(row.get("criterion_id")))
    label = row.get("label") or labels.get(key) or key[1]
    text = row.get("gap_text") or texts.get(key)
    if text is None:
        text = gap_phrase(label, row.get("status"), row.get("gap"), row.get("unit"))
    return label, text
