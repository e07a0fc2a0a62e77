"""The mapped criteria cache returns exactly the file's rows, wherever its record batches split."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from api.criteria_cache import MappedCriteria


def test_columns_and_slices_equal_the_file_across_record_batches(tmp_path: Path) -> None:
    frame = pl.DataFrame(
        {
            "uscc": [f"F{i // 3:03d}" for i in range(23)],
            "status": pl.Series(["met", "unmet", None] * 7 + ["met", "unknown"]).cast(
                pl.Enum(["met", "unmet", "unknown"])
            ),
            "value": [None if i % 4 == 0 else i / 2 for i in range(23)],
        }
    )
    frame.write_parquet(tmp_path / "criteria.parquet", row_group_size=5)  # 5 record batches
    mapped = MappedCriteria.build(tmp_path / "criteria.parquet", tmp_path / "c" / "c.arrow")
    assert len(mapped._starts) == 6  # the split this test is about
    want = frame.to_dicts()
    for offset in range(24):
        for count in range(24 - offset):
            columns = mapped.columns(offset, count)
            assert list(columns) == frame.columns
            assert [
                dict(zip(columns, r, strict=True)) for r in zip(*columns.values(), strict=True)
            ] == (want[offset : offset + count])
            assert mapped.slice(offset, count) == want[offset : offset + count]
    with pytest.raises(IndexError):
        mapped.columns(20, 4)
    # the dictionary-coded column's values are held once, whichever batches were read
    assert len(mapped._dictionaries) == 1
