"""``learned_columns``: the models' probabilities turned into learned 小进规 / 退规 flags."""

from __future__ import annotations

import polars as pl

from tiering.batch.stages import FLAG_THRESHOLD, learned_columns


def test_at_risk_flags_follow_the_threshold_and_null_means_not_at_risk() -> None:
    raw = pl.DataFrame(
        {
            "uscc": ["A", "B", "C", "D"],
            "p_upsize": [FLAG_THRESHOLD, FLAG_THRESHOLD - 1e-9, None, 0.9],
            "p_delist": [0.1, 0.95, None, None],
            "p_specialized": [0.99, 0.99, 0.99, 0.99],
        }
    )
    out = learned_columns(raw)
    assert out["upsize_learned"].to_list() == [True, False, False, True]
    assert out["delist_learned"].to_list() == [False, True, False, False]
    assert "specialized_learned" not in out.columns  # tiers are placed by rules, not flagged
    assert learned_columns(raw, threshold=0.05)["delist_learned"].to_list() == [
        True,
        True,
        False,
        False,
    ]


def test_flags_only_for_targets_the_models_scored_and_reasons_merge_across_targets() -> None:
    raw = pl.DataFrame(
        {
            "uscc": ["A", "B"],
            "p_upsize": [0.7, 0.2],
            "reasons_upsize": [["营业收入接近 2000 万元"], None],
            "reasons_specialized": [None, ["研发投入强度高", "有效发明专利"]],
        }
    )
    out = learned_columns(raw)
    assert "delist_learned" not in out.columns
    assert out["upsize_learned"].to_list() == [True, False]
    assert out["reasons"].to_list() == [
        [{"target": "upsize", "text": "营业收入接近 2000 万元"}],
        [
            {"target": "specialized", "text": "研发投入强度高"},
            {"target": "specialized", "text": "有效发明专利"},
        ],
    ]


def test_reasons_merged_on_the_rows_that_have_some_equal_the_full_merge():
    """Only rows with reasons are merged; the others get an empty list, as merging all would."""
    raw = pl.DataFrame(
        {
            "uscc": ["A", "B", "C", "D"],
            "p_upsize": [0.9, None, 0.1, 0.6],
            "reasons_upsize": [["规上门槛"], None, [], None],
            "reasons_delist": [None, ["营收下降", "人数下降"], None, None],
        }
    )
    out = learned_columns(raw)
    assert out["reasons"].to_list() == [
        [{"target": "upsize", "text": "规上门槛"}],
        [{"target": "delist", "text": "营收下降"}, {"target": "delist", "text": "人数下降"}],
        [],
        [],
    ]
    assert out["upsize_learned"].to_list() == [True, False, False, True]
