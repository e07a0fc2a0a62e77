"""The small-frame path of the per-tier columns (what-if micro-batches) equals the polars path."""

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
    return frame, engine.assess(frame, AS_OF, application="new")


def _both(fn, monkeypatch):
    small = fn()
    monkeypatch.setattr(scores, "_SMALL_TIER_ROWS", -1)  # force the polars path
    return small, fn()


@pytest.mark.parametrize("n", [1, 16, None])
def test_tier_columns_small_equals_polars(city, monkeypatch, n):
    frame, a = city
    tiers = scores._strings(
        a.tiers if n is None else a.tiers.filter(pl.col("uscc").is_in(frame["uscc"][:n].implode()))
    )
    small, big = _both(lambda: scores._tier_columns(tiers), monkeypatch)
    assert small.height == tiers["uscc"].n_unique() and "little_giant_verdict" in small.columns
    assert_frame_equal(small, big, check_row_order=False)


@pytest.mark.parametrize("n", [1, 16])
def test_build_scores_small_equals_polars(city, monkeypatch, n):
    from tiering import engine

    frame, _ = city
    sub = frame.head(n)
    a = engine.assess(sub, AS_OF, application="new")
    run = lambda: scores.build_scores(sub, a.criteria, a.tiers, a.firms)  # noqa: E731
    (s_small, c_small), (s_big, c_big) = _both(run, monkeypatch)
    assert s_small.height == n
    assert_frame_equal(s_small, s_big)
    assert_frame_equal(c_small, c_big)


def test_tier_columns_small_keeps_the_first_pack_of_a_tier(city, monkeypatch):
    """Two packs of one tier (old and new criteria both in force): the first one decides."""
    _, a = city
    tiers = scores._strings(a.tiers)
    dup = tiers.filter(pl.col("tier") == "specialized").with_columns(
        pl.lit("specialized-later").alias("pack"), pl.col("score") + 1.0
    )
    tiers = pl.concat([tiers, dup])
    small, big = _both(lambda: scores._tier_columns(tiers), monkeypatch)
    assert set(small["specialized_pack"].unique()) == {"specialized-2022"}
    assert_frame_equal(small, big, check_row_order=False)


def test_gaps_one_pass_equals_the_split_wording(city, monkeypatch):
    """Open criteria worded in one pass (small frames) read exactly as the split path words them."""
    _, a = city
    crit = scores.sort_criteria(a.criteria)
    open_rows = crit.join(scores.next_packs(a.tiers, a.firms), on="uscc").filter(
        pl.col("status").cast(pl.String).is_in(scores.GAP_STATUSES)
    )
    # both kinds of row: with the rules' own text and worded from label, gap and unit
    assert 0 < open_rows["gap_text"].null_count() < open_rows.height
    monkeypatch.setattr(scores, "_SMALL_TIER_ROWS", 10**9)
    small, split = _both(lambda: scores.gaps_from_rows(open_rows), monkeypatch)
    assert small.height == open_rows["uscc"].n_unique()
    assert_frame_equal(small, split)
