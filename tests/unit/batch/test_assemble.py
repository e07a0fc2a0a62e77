"""Fast paths of ``assemble_scores`` equal the general joins they stand in for.

At a million firms the per-firm frames of a batch (firms, per-tier columns, gaps, offsets) all
come in the rules' firm order, so ``assemble_scores`` stacks them instead of joining, and the
per-tier columns are read from the engine's per-pack blocks; these tests pin that the result is
exactly that of the joins and the group-by, on aligned and on shuffled inputs.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from tiering.batch import scores

AS_OF = dt.date(2025, 6, 30)


@pytest.fixture(scope="module")
def city():
    from features.asof import assessment_frame
    from tiering import engine
    from tiering.simulate import simulate

    frame = assessment_frame(simulate(150, seed=11, years=(2021, 2024)), AS_OF).collect()
    frame = frame.sort("uscc")
    return frame, engine.assess(frame, AS_OF, application="new")


def test_tier_columns_from_blocks_equal_the_group_by(city, monkeypatch) -> None:
    _, a = city
    tiers = scores._strings(a.tiers)
    monkeypatch.setattr(scores, "_SMALL_TIER_ROWS", -1)  # not the what-if path
    assert scores._pack_blocks(tiers.with_columns(pl.col("pack").cast(pl.String))) is not None
    blocks = scores._tier_columns(tiers)
    monkeypatch.setattr(scores, "_pack_blocks", lambda t: None)
    general = scores._tier_columns(tiers)
    assert "little_giant_verdict" in blocks.columns
    assert_frame_equal(blocks, general, check_row_order=False)


def test_frames_not_in_blocks_take_the_general_path(city) -> None:
    _, a = city
    tiers = scores._strings(a.tiers).with_columns(pl.col("pack", "tier").cast(pl.String))
    assert scores._pack_blocks(tiers.sample(fraction=1.0, shuffle=True, seed=1)) is None
    assert scores._pack_blocks(tiers.head(tiers.height - 1)) is None
    two = pl.concat([tiers.head(10), tiers.slice(150, 10)])  # blocks of other firms
    assert scores._pack_blocks(two.with_columns(pl.col("uscc").shift(1, fill_value="x"))) is None


def test_assemble_aligned_equals_joined(city, monkeypatch) -> None:
    """Inputs in the frame's firm order (stacked) and shuffled (joined) give the same scores."""
    frame, a = city
    monkeypatch.setattr(scores, "_SMALL_TIER_ROWS", -1)
    crit = scores.sort_criteria(a.criteria)
    offsets = scores.criteria_offsets(crit)
    packs = scores.next_packs(a.tiers, a.firms)
    gaps = scores.firm_gaps(crit, packs)
    aligned_gaps = frame.select("uscc").join(gaps, on="uscc", how="left", maintain_order="left")
    aligned = scores.assemble_scores(frame, a.tiers, a.firms, None, offsets, aligned_gaps)

    def shuffled(df: pl.DataFrame) -> pl.DataFrame:
        return df.sample(fraction=1.0, shuffle=True, seed=3)

    joined = scores.assemble_scores(
        shuffled(frame), a.tiers, shuffled(a.firms), None, shuffled(offsets), shuffled(gaps)
    )
    assert aligned.height == frame.height and aligned["uscc"].is_sorted()
    assert set(aligned.n_chunks("all")) == {1}  # as the sort leaves it: same parquet bytes
    assert aligned["gaps"].null_count() < aligned.height
    assert_frame_equal(aligned, joined)
