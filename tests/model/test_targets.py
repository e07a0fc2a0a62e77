"""Targets are counted from the registers as staff count them."""

from __future__ import annotations

from datetime import date

import polars as pl

from models.backtest import split_years
from models.targets import make_targets


def _pop(**cols):
    base = {"uscc": ["A", "B", "C", "D"], "held_innovative": [False, True, False, False],
            "held_specialized": [False] * 4, "held_little_giant": [False] * 4,
            "in_four_above": [False, True, None, True]}  # fmt: skip
    base.update(cols)
    return pl.DataFrame(base)


def test_grants_outside_the_year_do_not_count():
    rec = pl.DataFrame({"uscc": ["A", "C", "D"], "tier": ["innovative"] * 3,
                        "granted": [date(2023, 12, 31), date(2024, 1, 1), date(2025, 1, 1)]})  # fmt: skip
    t = make_targets(_pop(), {"recognitions": rec}, 2024).collect()
    assert t["y_innovative"].to_list() == [0, None, 1, 0]
    assert t["at_risk_innovative"].to_list() == [True, False, True, True]


def test_unpublished_roster_year_gives_unknown_not_zero():
    ros = pl.DataFrame({"uscc": ["B"], "year": [2023], "in_roster": [True]})
    t = make_targets(
        _pop(),
        {
            "stats_roster": ros,
            "recognitions": pl.DataFrame(
                schema={"uscc": pl.String, "tier": pl.String, "granted": pl.Date}
            ),
        },
        2024,
    ).collect()
    assert t["y_upsize"].null_count() == 4 and t["y_delist"].null_count() == 4
    assert not t["at_risk_upsize"].any()


def test_unknown_roster_status_is_not_at_risk():
    ros = pl.DataFrame({"uscc": ["A", "C"], "year": [2024, 2024], "in_roster": [True, True]})
    t = make_targets(_pop(), {"stats_roster": ros}, 2024).collect()
    assert t["y_upsize"].to_list() == [1, None, None, None]
    assert t["y_delist"].to_list() == [None, 1, None, 1]


def test_time_only_splits_never_train_on_the_future():
    for train, cal, test in split_years(range(2019, 2026)):
        assert max(train) < cal < test
    assert [s[2] for s in split_years(range(2019, 2026))] == list(range(2021, 2026))
