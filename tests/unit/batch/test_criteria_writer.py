"""The firm-major criteria writer equals the engine's long frame regrouped by firm.

``write_criteria`` builds each chunk from per-criterion columns (``_firm_major_chunk``) and writes
it from a background thread; these tests pin that the file, offsets and gaps are exactly what the
engine's ``criteria_lazy`` rows regrouped by firm give, chunk boundaries included.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal, assert_series_equal

from tiering.batch import scores

AS_OF = dt.date(2025, 6, 30)


@pytest.fixture(scope="module")
def assessment():
    from features.asof import assessment_frame
    from tiering import engine
    from tiering.simulate import simulate

    frame = assessment_frame(simulate(150, seed=11, years=(2021, 2024)), AS_OF).collect()
    return engine.assess(frame, AS_OF, application="new")


def _engine_rows(a, part: pl.DataFrame) -> pl.DataFrame:
    """The reference: the engine's criterion-major rows (criterion ``j`` of firm ``i`` at
    ``j·n + i``), regrouped by firm with a stable sort on ``row mod n``."""
    lf = replace(a, wide=part).criteria_lazy().select(pl.exclude("gap_text"))
    df, n = lf.collect(), part.height
    return df.sort(pl.int_range(0, pl.len(), dtype=pl.Int64) % n, maintain_order=True)


@pytest.mark.parametrize("n", [1, 7, None])
def test_chunk_equals_engine_rows(assessment, n) -> None:
    part = assessment.wide if n is None else assessment.wide.head(n)
    got = scores._firm_major_chunk(scores._criteria_columns(assessment), part)
    want = _engine_rows(assessment, part)
    assert got.height == want.height > 0
    assert want["value"].null_count() > 0 and want["unit"].null_count() > 0  # nulls exercised
    assert_frame_equal(got, want)


def test_written_file_offsets_and_gaps_equal_the_engine_path(assessment, tmp_path: Path) -> None:
    a = assessment
    packs = scores.next_packs(a.tiers, a.firms)
    out = tmp_path / "criteria.parquet"
    written = scores.write_criteria(a, out, packs, 100, chunk_firms=17)  # several chunks
    k = written.rows // a.wide.height
    assert written.rows == k * a.wide.height
    assert_frame_equal(pl.read_parquet(out), _engine_rows(a, a.wide))
    assert written.offsets["criteria_offset"].to_list() == [i * k for i in range(a.wide.height)]
    want_gaps = scores.firm_gaps(
        replace(a, wide=a.wide).criteria.sort("uscc", maintain_order=True), packs
    )
    assert_frame_equal(written.gaps, want_gaps, check_row_order=False)
    # gaps come in the wide frame's firm order (so the scores can stack them)
    pos = dict(zip(a.wide["uscc"], range(a.wide.height), strict=True))
    order = [pos[u] for u in written.gaps["uscc"]]
    assert order == sorted(order)


def test_row_major_keeps_nulls_and_nan_apart() -> None:
    block = pl.DataFrame({"a": [1.0, None, float("nan")], "b": [None, 2.0, 3.0]})
    assert_series_equal(
        scores._row_major(block),
        pl.Series([1.0, None, None, 2.0, float("nan"), 3.0]),
        check_names=False,
    )


def test_writer_failure_reaches_the_caller(assessment, tmp_path: Path) -> None:
    packs = scores.next_packs(assessment.tiers, assessment.firms)
    with pytest.raises(OSError):
        scores.write_criteria(
            assessment, tmp_path / "missing" / "criteria.parquet", packs, 100, chunk_firms=17
        )
