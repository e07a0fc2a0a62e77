"""Serving guard: a frame without the history the models were trained on is refused."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from models.estimator import TierScorer
from models.scoring import Champions, MissingHistoryError, history_features


@pytest.fixture(scope="module")
def champions() -> Champions:
    rng = np.random.default_rng(0)
    X = pl.DataFrame(
        {"revenue_trend_4y": rng.normal(size=400), "rd_expense_y1": rng.gamma(2, 50, 400)}
    )
    y = (X["revenue_trend_4y"].to_numpy() + rng.normal(size=400) > 1).astype(int)
    return Champions(models={"innovative": TierScorer(max_iter=10).fit(X, y)})


def _frame(trend: list[float | None]) -> pl.DataFrame:
    n = len(trend)
    return pl.DataFrame(
        {
            "uscc": [f"F{i}" for i in range(n)],
            "revenue_trend_4y": pl.Series(trend, dtype=pl.Float64),
            "rd_expense_y1": [100.0] * n,
        }
    )


def test_history_features_come_from_the_catalog():
    assert history_features(["revenue_trend_4y", "rd_expense_y1"]) == ["revenue_trend_4y"]


def test_features_computed_without_history_are_refused(champions):
    with pytest.raises(MissingHistoryError, match="history=True") as err:
        champions.predict(_frame([None, None, None]), reasons=False)
    assert err.value.rule == "MODEL-HISTORY" and err.value.field


def test_explicit_opt_in_scores_history_as_unknown(champions):
    out = champions.predict(_frame([None, None]), reasons=False, missing_history="unknown")
    assert out["p_innovative"].null_count() == 0


def test_precomputed_features_with_history_are_scored(champions):
    out = champions.predict(_frame([2.0, None, -1.0]), reasons=False)
    p = out["p_innovative"].to_list()
    assert p[0] > p[2]  # the history feature is read, not ignored
